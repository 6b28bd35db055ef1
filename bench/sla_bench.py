"""How fast the SLA engine evaluates 100,000 open threads, against a naive per-thread loop.

    python bench/sla_bench.py            # 100,000 open threads (+50,000 answered, noise): ~2 min on 2 cores
    python bench/sla_bench.py --quick    # 5,000 open threads (smoke test)

Generates an archive directly (executemany into messages / sightings / threads, as the importer would
have left them) on the demo factory's config: inquiry@ and order@ on 24 h calendar-time policies,
support@ (and its aliases rma@ / complaint@ / spare@) on business hours in Asia/Shanghai with holidays
and 调休, first response and initial solution. Threads: a single waiting inquiry; a customer writing
twice; a reply followed by a new question; after-sales mail with our auto-reply; answered threads
(some with a solution); bounces, newsletters and internal mail.

Measured in one run, on the same archive:
- full evaluation: `bot.sla.engine.evaluate(full=True)` from an empty item table (find every clock, compute
  each level's instant on the policy's calendar, persist the items, set states);
- the engine's pure part alone: `waiting_items` (clocks, instants, states; what the baseline computes);
- baseline: a Python loop over every thread, one query per thread for its messages and sightings,
  then the same rules in Python (same calendar, same text rules) — its result is checked to equal the
  engine's, clock for clock;
- a steady-state tick (nothing new: states only), and an incremental evaluation after 100 new
  messages (replies, new inquiries, customers writing again) — checked against a full re-evaluation;
- peak memory: the process's ru_maxrss, and tracemalloc's peak during a (separate, untimed) full run.
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.clock import iso  # noqa: E402
from bot.core.config import load_config  # noqa: E402
from bot.demo.files import write_starter  # noqa: E402
from bot.schema import open_archive  # noqa: E402
from bot.sla.engine import Policies, evaluate, waiting_items  # noqa: E402
from bot.sla.text_rules import has_solution, is_acknowledgement, level_of  # noqa: E402
from bot.store.db import write_transaction  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Ningbo
DOMAIN = "hengda-valves.com"
INQUIRY, ORDER, SUPPORT = (f"{n}@{DOMAIN}" for n in ("inquiry", "order", "support"))
ALIASES = [None, f"rma@{DOMAIN}", f"complaint@{DOMAIN}", f"spare@{DOMAIN}"]
BODIES = {
    "inbound": "Hello, please send your best quotation for 500 pcs ball valve DN50, FOB Ningbo. Regards, Hans",
    "again": "Any news on our request? We need the offer this week.",
    "complaint": "12 pcs of the check valves from PO 4521 are leaking at the stem. Photos attached.",
    "auto": "We received your mail and will answer within 24 hours (initial solution within 48 hours).",
    "reply": "Dear Hans, thank you for your inquiry, our quotation is attached. Best regards, Amy",
    "checking": "Dear customer, we are sorry for the trouble and are checking with QA.",
    "solution": "Conclusion: we will send 12 pcs replacement (补发) with the next shipment.",
    "thanks": "Thanks, we will check and revert.",
    "news": "This week: new API 6D rules, steel prices, trade fair calendar.",
}


class Generator:
    """Rows for messages, sightings and threads, with ids assigned here (fast executemany)."""

    def __init__(self, rng: random.Random, customers: int):
        self.rng = rng
        self.customers = customers
        self.messages: list[tuple] = []
        self.sightings: list[tuple] = []
        self.threads: list[tuple] = []
        self.next_message = 1
        self.next_thread = 1

    def thread(self, subject: str, customer: int | None) -> int:
        tid = self.next_thread
        self.next_thread += 1
        self.threads.append((tid, subject, subject.lower(), customer))
        return tid

    def message(self, tid: int, at: datetime, direction: str, body: str, mailbox: str, *, via: str | None = None,
                auto: int = 0, bounce: int = 0, lst: int = 0, customer: int | None = None, subject: str = "") -> int:
        mid = self.next_message
        self.next_message += 1
        sender = ("Hans Weber", f"buyer{customer}@customer{customer}.example") if direction == "inbound" else (
            "Amy Zhang", f"amy@{DOMAIN}")
        self.messages.append((mid, f"bench-{mid}@bench.example", tid, iso(at), sender[1], sender[0], subject,
                              subject.lower(), auto, bounce, lst, direction, customer, body, iso(NOW)))
        self.sightings.append((mid, mailbox, "INBOX", via))
        return mid

    def ago(self, low_h: float, high_h: float) -> datetime:
        return NOW - timedelta(seconds=int(self.rng.uniform(low_h, high_h) * 3600))


def generate(rng: random.Random, open_threads: int) -> Generator:
    g = Generator(rng, customers=max(100, open_threads // 5))
    for n in range(open_threads):
        customer = rng.randrange(1, g.customers + 1)
        box = (INQUIRY, INQUIRY, ORDER, SUPPORT)[n % 4]
        via = rng.choice(ALIASES) if box == SUPPORT else None
        subject = f"RFQ {n} ball valve" if box != SUPPORT else f"Leaking valves PO {n}"
        tid = g.thread(subject, customer)
        start = g.ago(1, 240)
        body = BODIES["complaint" if box == SUPPORT else "inbound"]
        g.message(tid, start, "inbound", body, box, via=via, customer=customer, subject=subject)
        if box == SUPPORT:
            g.message(tid, start + timedelta(seconds=30), "outbound", BODIES["auto"], box, auto=1, customer=customer,
                      subject="Auto: " + subject)
        pattern = n % 5
        if pattern == 1:  # the customer writes again: the oldest unreplied keeps its clock
            g.message(tid, start + timedelta(hours=rng.uniform(0.5, 1)), "inbound", BODIES["again"], box,
                      customer=customer, subject="Re: " + subject)
        elif pattern == 2:  # we answered, then a new question: a new clock
            g.message(tid, start + timedelta(minutes=30), "outbound", BODIES["reply"], box, customer=customer,
                      subject="Re: " + subject)
            g.message(tid, start + timedelta(minutes=50), "inbound", BODIES["again"], box, customer=customer,
                      subject="Re: " + subject)
        elif pattern == 3:  # a thank-you after the question: does not restart or add anything
            g.message(tid, start + timedelta(minutes=20), "inbound", BODIES["thanks"], box, customer=customer,
                      subject="Re: " + subject)
    for n in range(open_threads // 2):  # answered threads
        customer = rng.randrange(1, g.customers + 1)
        box = (INQUIRY, ORDER, SUPPORT)[n % 3]
        subject = f"Old request {n}"
        tid = g.thread(subject, customer)
        start = g.ago(24, 24 * 30)
        g.message(tid, start, "inbound", BODIES["inbound"], box, customer=customer, subject=subject)
        answer = BODIES["solution"] if box == SUPPORT and n % 2 else BODIES["reply"]
        g.message(tid, start + timedelta(hours=rng.uniform(1, 30)), "outbound", answer, box, customer=customer,
                  subject="Re: " + subject)
        if box == SUPPORT and not n % 2:  # first response given, no solution yet: initial_solution waits
            pass
    for n in range(max(10, open_threads // 20)):  # noise that must never start a clock
        tid = g.thread(f"noise {n}", None)
        kind = n % 3
        if kind == 0:
            g.message(tid, g.ago(1, 200), "inbound", "Undelivered Mail Returned to Sender", INQUIRY, auto=1, bounce=1)
        elif kind == 1:
            g.message(tid, g.ago(1, 200), "inbound", BODIES["news"], INQUIRY, lst=1)
        else:
            g.message(tid, g.ago(1, 200), "internal", "Agenda: weekly sales meeting", INQUIRY)
    return g


def write_archive(db, g: Generator) -> None:  # noqa: ANN001 - sqlite_utils Database
    with db.conn:
        db.conn.executemany("INSERT INTO threads (id, subject, subject_norm, customer_id) VALUES (?, ?, ?, ?)",
                            g.threads)
        db.conn.executemany(
            "INSERT INTO messages (id, message_id, thread_id, date, from_addr, from_name, subject, subject_norm,"
            " auto_submitted, is_bounce, is_list, direction, customer_id, body, archived_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            g.messages,
        )
        db.conn.executemany("INSERT INTO sightings (message, mailbox, folder, via) VALUES (?, ?, ?, ?)", g.sightings)
    db.execute("ANALYZE")


# ── the naive baseline: one query per thread, the same rules in Python ─────────────────────────────


def naive(db, policies: Policies, now: datetime) -> dict[tuple[int, str, str], str]:  # noqa: ANN001
    """{(message, mailbox, kind): state}, thread by thread."""
    now_s = int(now.timestamp())
    out: dict[tuple[int, str, str], str] = {}
    first = policies.mailboxes("first_response")
    solution = policies.mailboxes("initial_solution")
    for (tid,) in db.execute("SELECT id FROM threads").fetchall():
        rows = db.execute(
            "SELECT m.id, COALESCE(m.date, m.archived_at), m.direction, m.auto_submitted, m.is_bounce, m.is_list,"
            " m.body, m.from_name, m.subject, s.mailbox FROM messages m LEFT JOIN sightings s ON s.message = m.id"
            " WHERE m.thread_id = ? ORDER BY m.date, m.id",
            [tid],
        ).fetchall()
        messages: dict[int, list] = {}
        for mid, at, direction, auto, bounce, lst, body, name, subject, mailbox in rows:
            entry = messages.setdefault(mid, [int(datetime.fromisoformat(at).timestamp()), direction,
                                              auto or bounce or lst, body, name, subject, set()])
            if mailbox:
                entry[6].add(mailbox)
        replies = [(e[0], e[3], e[5]) for e in messages.values() if e[1] == "outbound" and not e[2]]
        last_reply = max((r[0] for r in replies), default=None)
        customer = [(mid, e) for mid, e in messages.items() if e[1] == "inbound" and not e[2]]
        for mailbox, clock in first.items():
            waiting = [(e[0], mid) for mid, e in customer if mailbox in e[6]
                       and (last_reply is None or e[0] > last_reply) and not is_acknowledgement(e[3], e[4])]
            if waiting:
                started, mid = min(waiting)
                out[(mid, mailbox, "first_response")] = _state(clock, started, now_s)
        for mailbox, clock in solution.items():
            mine = [(e[0], mid) for mid, e in customer if mailbox in e[6]]
            if not mine:
                continue
            started, mid = min(mine)
            if any(at >= started and has_solution(subject, body, clock.keywords) for at, body, subject in replies):
                continue
            out[(mid, mailbox, "initial_solution")] = _state(clock, started, now_s)
    return out


def _state(clock, started: int, now_s: int) -> str:  # noqa: ANN001
    warn, due, esc = (clock.calendar.add(started, s) for s in (clock.warn, clock.seconds, clock.escalate))
    return level_of(now_s, warn, due, esc)


def engine_pure(db, policies: Policies, now: datetime) -> dict[tuple[int, str, str], str]:  # noqa: ANN001
    return {(c.message, c.mailbox, c.kind): c.state for c in waiting_items(db, policies, now)}


def persisted(db, now: datetime) -> dict[tuple[int, str, str], str]:  # noqa: ANN001
    now_s = int(now.timestamp())
    return {(m, box, kind): level_of(now_s, w, d, e) for m, box, kind, w, d, e in db.execute(
        "SELECT message, mailbox, kind, warn_at, due_at, escalate_at FROM sla_items WHERE closed_at IS NULL")}


def add_new_messages(db, rng: random.Random, open_threads: int, count: int = 100) -> None:  # noqa: ANN001
    """Replies to open inquiries, new inquiries, and customers writing again — `count` messages."""
    g = Generator(rng, customers=10)
    g.next_message = db.execute("SELECT max(id) FROM messages").fetchone()[0] + 1
    g.next_thread = db.execute("SELECT max(id) FROM threads").fetchone()[0] + 1
    later = NOW + timedelta(minutes=5)
    for i in range(count):
        kind = i % 3
        if kind == 0:  # our reply to an open inquiry thread
            tid = rng.randrange(0, open_threads // 4) * 4 + 1
            g.message(tid, later, "outbound", BODIES["reply"], INQUIRY, subject="Re: RFQ")
        elif kind == 1:  # a new inquiry
            tid = g.thread(f"new RFQ {i}", 1)
            g.message(tid, later, "inbound", BODIES["inbound"], INQUIRY, customer=1, subject=f"new RFQ {i}")
        else:  # a customer writes again in an open order thread
            tid = rng.randrange(0, open_threads // 4) * 4 + 3
            g.message(tid, later, "inbound", BODIES["again"], ORDER, customer=2, subject="Re: PO")
    write_archive(db, g)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 open threads instead of 100,000")
    parser.add_argument("--threads", type=int, default=None, help="open threads (default 100,000)")
    parser.add_argument("--measure", metavar="FOLDER", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    open_threads = args.threads or (5_000 if args.quick else 100_000)
    if args.measure:
        measure(Path(args.measure), open_threads)
        return
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        write_starter(Path(tmp) / "mailroom.toml")
        db = open_archive(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        write_archive(db, generate(random.Random(5), open_threads))
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("threads", "messages")}
        db.conn.close()
        print(f"archive: {counts['threads']:,} threads, {counts['messages']:,} messages "
              f"({open_threads:,} open threads) written in {time.perf_counter() - t0:.1f} s")
        # Measured in a fresh process, so its peak memory is the evaluation's, not the generator's.
        subprocess.run([sys.executable, __file__, "--measure", tmp, "--threads", str(open_threads)], check=True)


def measure(folder: Path, open_threads: int) -> None:
    policies = Policies(load_config(folder / "mailroom.toml"))
    db = open_archive(folder / "bench.db")
    rng = random.Random(6)
    # warm the calendars' precomputed ranges and SQLite's page cache the same way for both sides
    engine_pure(db, policies, NOW)

    base, t_naive = timed(lambda: naive(db, policies, NOW))
    pure, t_pure = timed(lambda: engine_pure(db, policies, NOW))
    assert pure == base, _diff(pure, base)

    cold, t_cold = timed(lambda: evaluate(db, policies, NOW, full=True))
    assert persisted(db, NOW) == base, "persisted items differ from the baseline"
    warm, t_warm = timed(lambda: evaluate(db, policies, NOW, full=True))
    assert persisted(db, NOW) == base and warm.opened == 0
    idle, t_idle = timed(lambda: evaluate(db, policies, NOW + timedelta(minutes=1)))

    add_new_messages(db, rng, open_threads)
    later = NOW + timedelta(minutes=6)
    inc, t_inc = timed(lambda: evaluate(db, policies, later))
    after = persisted(db, later)
    expected = engine_pure(db, policies, later)
    assert after == expected, "incremental evaluation differs from a full one: " + _diff(after, expected)
    _, t_naive_again = timed(lambda: naive(db, policies, later))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with write_transaction(db):  # once more from empty, untimed, to trace Python's allocations
        db.execute("DELETE FROM sla_items")
    tracemalloc.start()
    evaluate(db, policies, NOW, full=True)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    states = defaultdict(int)
    for state in base.values():
        states[state] += 1
    print(f"clocks running: {len(base):,} ({json.dumps(dict(sorted(states.items())))}); "
          f"engine and baseline agree clock for clock")
    print("                                                       wall        cpu   vs baseline (wall)")
    line("baseline: one query per thread, rules in Python", t_naive)
    line("engine, pure (waiting_items: no writes)", t_pure, t_naive)
    line(f"engine, full evaluation, first run ({cold.opened:,} opened)", t_cold, t_naive, target=True)
    line("engine, full evaluation again (all threads re-read)", t_warm, t_naive, target=True)
    line(f"steady-state tick ({idle.scope}: states only)", t_idle, t_naive)
    line(f"incremental, 100 new messages ({inc.threads} threads)", t_inc, t_naive_again)
    print(f"  incremental: {inc.opened} opened, {inc.closed} closed; the baseline's full loop then took "
          f"{t_naive_again[0]:.2f} s")
    print(f"peak memory of the measuring process: ru_maxrss {rss_mb:.0f} MB (baseline and engine, SQLite cache "
          f"included); Python allocations during the first full evaluation (tracemalloc): {traced_peak / 2**20:.1f} MB")
    db.conn.close()


def timed(work):  # noqa: ANN001, ANN201
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, (time.perf_counter() - wall, time.process_time() - cpu)


def line(label: str, t: tuple[float, float], baseline: tuple[float, float] | None = None, *, target: bool = False) -> None:
    ratio = f"{baseline[0] / t[0]:8.1f}×" if baseline else "        "
    goal = f"   target ≤ 1 s: {'met' if t[0] <= 1 else 'NOT met'}" if target else ""
    print(f"{label:<54}{t[0]:7.3f} s {t[1]:7.3f} s {ratio}{goal}")


def _diff(a: dict, b: dict) -> str:
    only_a = set(a) - set(b)
    only_b = set(b) - set(a)
    differ = [k for k in set(a) & set(b) if a[k] != b[k]]
    return f"engine-only {list(only_a)[:5]} ({len(only_a)}), baseline-only {list(only_b)[:5]} ({len(only_b)}), " \
           f"states differ {differ[:5]} ({len(differ)})"


if __name__ == "__main__":
    main()
