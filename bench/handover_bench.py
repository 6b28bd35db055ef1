"""How long a big handover takes — and holds the archive's write lock — against the naive path.

    python bench/handover_bench.py            # 20,000 customers, the leaver owns 500: ~5 min on 2 cores
    python bench/handover_bench.py --quick    # 2,000 customers, the leaver owns 100 (smoke test)

Generates an archive directly (executemany into customers / messages / sightings / threads / ownership,
as the importer and the CRM loader would have left them) on the demo factory's config: every customer
has three inquiry threads (quotation answered, the customer's thanks; PO and PO confirmation through
order@; one still waiting on us), so the SLA engine has an open item per customer and alerts queued.
`chen` owns `--owned` of them (CRM), the rest belong to amy, li and lucy.

Measured in one run, on copies of the same archive:
- ours: `/handover chen lucy all` (the preview: plan, SLA refresh, waiting threads, pending alerts) and
  `/handover confirm` — the brief built (contacts, waiting threads with SLA state, milestones), then the
  one write transaction: compare-and-set per customer, alerts re-routed, brief queued, audit entry (the
  time the write lock is held is printed apart);
- baseline: the naive path a person would script today — one `/assign` per customer (its own
  transaction and audit entry each), then a brief assembled from what `/owner` computes per customer
  (`bot.customers.report.customer_facts`, whose SLA lookup reads every open item) plus the same milestones;
- the milestone detector alone: `bot.customers.milestones.detect` over the archive's messages against a naive
  detector (every keyword its own regular expression, tried one after another);
- peak memory: ru_maxrss of the process, tracemalloc's peak during our confirm.
"""

import argparse
import json
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.chat.router import Router  # noqa: E402
from bot.core.clock import Clock, iso  # noqa: E402
from bot.core.config import load_config  # noqa: E402
from bot.customers.milestones import RULES, customer_milestones, detect  # noqa: E402
from bot.customers.ownership import set_owner  # noqa: E402
from bot.customers.report import customer_facts  # noqa: E402
from bot.demo.files import write_starter  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.store.db import write_transaction  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DOMAIN = "hengda-valves.com"
INQUIRY, ORDER = f"inquiry@{DOMAIN}", f"order@{DOMAIN}"
SALES = {"chen": "chen.sales@hengda-valves.com", "amy": "amy@hengda-valves.com", "li": "li@hengda-valves.com",
         "lucy": "lucy@hengda-valves.com"}


def build(folder: Path, customers: int, owned: int, seed: int = 11) -> Path:
    """The demo config with a generated archive; returns the config path."""
    rng = random.Random(seed)
    config_path = folder / "mailroom.toml"
    write_starter(config_path)
    (folder / "customers.csv").write_text("name,domains,aliases,country,owner,contacts\n", encoding="utf-8")
    services = Services(load_config(config_path), Clock(NOW))
    db = services.db
    cust_rows, owner_rows, thread_rows, message_rows, sighting_rows = [], [], [], [], []
    msg_id = thread_id = 0
    for c in range(1, customers + 1):
        domain = f"buyer{c}.example.com"
        contact = f"purchasing@{domain}"
        owner = "chen" if c <= owned else rng.choice(["amy", "li", "lucy"])
        cust_rows.append((c, f"Buyer {c} Trading GmbH", json.dumps([domain]), json.dumps([contact]), iso(NOW)))
        owner_rows.append((c, owner, iso(NOW)))
        base = NOW - timedelta(days=rng.randint(5, 60))
        for kind in ("quote", "po", "waiting"):
            thread_id += 1
            t0 = base + timedelta(hours=rng.randint(0, 48))
            if kind == "quote":
                mail = [("inbound", contact, f"[RFQ]-Buyer{c}-Ball Valve", "Please quote 500 pcs DN50.", INQUIRY, "[]"),
                        ("outbound", SALES[owner], f"Re: [RFQ]-Buyer{c}-Ball Valve",
                         "Please find our quotation attached, payment terms 30% T/T deposit.", INQUIRY,
                         json.dumps([{"name": "BV-DN50-USD-30d-V1.pdf"}])),
                        ("inbound", contact, f"Re: [RFQ]-Buyer{c}-Ball Valve", "Thanks, we will check and revert.",
                         INQUIRY, "[]")]
            elif kind == "po":
                mail = [("inbound", contact, f"PO {4000 + c} - Ball Valve", "Please find attached our purchase order.",
                         ORDER, json.dumps([{"name": f"PO-{4000 + c}.pdf"}])),
                        ("outbound", f"mei.merch@{DOMAIN}", f"Re: PO {4000 + c} - Ball Valve",
                         f"PO confirmation: we confirm PO {4000 + c}.", ORDER, json.dumps([{"name": "PI-1.pdf"}]))]
            else:
                t0 = NOW - timedelta(hours=rng.randint(2, 40))
                mail = [("inbound", contact, f"[RFQ]-Buyer{c}-Gate Valve", "Please quote 200 pcs gate valves DN100.",
                         INQUIRY, "[]")]
            for n, (direction, sender, subject, body, box, attachments) in enumerate(mail):
                msg_id += 1
                at = iso(t0 + timedelta(hours=5 * n))
                person = next((p for p, a in SALES.items() if a == sender), "mei" if "mei" in sender else None)
                message_rows.append((msg_id, f"m{msg_id}@bench", thread_id, at, sender, "", json.dumps([contact]),
                                     "[]", subject, subject.lower(), direction, person, c, body, attachments,
                                     int(attachments != "[]"), iso(NOW)))
                sighting_rows.append((msg_id, box))
            thread_rows.append((thread_id, mail[0][2], mail[0][2].lower(), c, iso(t0), iso(t0), len(mail)))
    with db.conn:
        db.conn.executemany("INSERT INTO customers (id, name, domains, contacts, source, created_at) "
                            "VALUES (?, ?, ?, ?, 'crm', ?)", cust_rows)
        db.conn.executemany("INSERT INTO customer_keys (key, customer_id) VALUES (?, ?)",
                            [(json.loads(r[2])[0], r[0]) for r in cust_rows])
        db.conn.executemany("INSERT INTO ownership (customer_id, person_id, source, since, by, reason) "
                            "VALUES (?, ?, 'crm', ?, 'crm', 'CRM export')", owner_rows)
        db.conn.executemany("INSERT INTO threads (id, subject, subject_norm, customer_id, first_date, last_date, "
                            "message_count) VALUES (?, ?, ?, ?, ?, ?, ?)", thread_rows)
        db.conn.executemany(
            "INSERT INTO messages (id, message_id, thread_id, date, from_addr, from_name, to_addrs, cc_addrs, subject, "
            "subject_norm, direction, person_id, customer_id, body, attachments, has_attachments, archived_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", message_rows)
        db.conn.executemany("INSERT INTO sightings (message, mailbox) VALUES (?, ?)", sighting_rows)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('crm_loaded', 'bench')")
    services.sla.evaluate(NOW, full=True)
    services.sla_alerts.enqueue(NOW)
    db.conn.close()
    return config_path


def open_copy(source: Path, target: Path) -> Services:
    shutil.copytree(source, target)
    return Services(load_config(target / "mailroom.toml"), Clock(NOW))


def ours(services: Services) -> dict[str, float]:
    import bot.handover.service as handover_module

    held: list[float] = []
    real = handover_module.write_transaction

    @contextmanager
    def timed(db: Any) -> Iterator[None]:
        start = time.perf_counter()
        with real(db):
            yield
        held.append(time.perf_counter() - start)

    handover_module.write_transaction = timed  # type: ignore[assignment]
    router, boss = Router(services), services.directory.people["boss"]
    t0 = time.perf_counter()
    preview = router.handle("/handover chen lucy all", boss)
    t1 = time.perf_counter()
    tracemalloc.start()
    done = router.handle(f"/handover confirm {preview.data['handover_id']}", boss)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t2 = time.perf_counter()
    handover_module.write_transaction = real  # type: ignore[assignment]
    assert done.ok, done.text
    return {"preview": t1 - t0, "confirm": t2 - t1, "lock": max(held), "customers": len(done.data["customers"]),
            "rerouted": len(done.data["rerouted_alerts"]), "peak_mb": peak / 2**20}


def baseline(services: Services, customer_ids: list[int]) -> dict[str, float]:
    db, now = services.db, services.clock.now()
    roles = {m.address: m.role for m in services.config.mailboxes}
    t0 = time.perf_counter()
    for cid in customer_ids:  # one /assign each: its own transaction and audit entry
        with write_transaction(db):
            audit_id = services.audit.record("boss", "assign", {"customer_id": cid, "to": "lucy"}, "assigned")
            set_owner(db, cid, "lucy", source="assignment", at=now, by="boss", ref=f"audit:{audit_id}",
                      expect_from="chen", check_expected=True)
    t1 = time.perf_counter()
    for cid in customer_ids:  # the brief from what /owner computes, plus the same milestones
        customer_facts(db, services.directory, services.visibility, services.sla, cid, now=now)
        customer_milestones(db, cid, now=now, roles=roles)
    t2 = time.perf_counter()
    return {"assign": t1 - t0, "brief": t2 - t1}


def top_level_alternatives(pattern: str) -> list[str]:
    """'a|b(c|d)|e' → ['a', 'b(c|d)', 'e']."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def naive_detector() -> list[tuple[str, list[re.Pattern[str]]]]:
    """Every alternative of every rule as its own compiled expression, tried one after another."""
    table = []
    for rule in RULES:
        assert rule.text is not None
        parts = [p for p in top_level_alternatives(rule.text.pattern.replace("(?m)", "")) if p]
        table.append((rule.kind, [re.compile(p, re.IGNORECASE | re.ASCII) for p in parts]))
    return table


def detector(services: Services, limit: int) -> dict[str, float]:
    rows = services.db.execute("SELECT subject, body, attachments, direction FROM messages LIMIT ?", [limit]).fetchall()
    mails = [(s, b, [a["name"] for a in json.loads(att)], d) for s, b, att, d in rows]
    t0 = time.perf_counter()
    found = sum(len(detect(s, b, names, direction=d, roles=[])) for s, b, names, d in mails)
    t1 = time.perf_counter()
    table = naive_detector()
    naive = 0
    for subject, body, _, _ in mails:
        text = f"{subject}\n{body}"
        for _, patterns in table:
            naive += any(p.search(text) for p in patterns)
    t2 = time.perf_counter()
    return {"messages": len(mails), "ours": t1 - t0, "naive": t2 - t1, "found": found, "naive_found": naive}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 customers, 100 owned by the leaver")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--owned", type=int)
    args = parser.parse_args()
    customers = args.customers or (2_000 if args.quick else 20_000)
    owned = args.owned or (100 if args.quick else 500)
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        build(root / "source", customers, owned)
        built = time.perf_counter() - t0
        print(f"archive: {customers:,} customers ({owned:,} owned by chen), "
              f"{customers * 6:,} messages, built in {built:.1f}s")

        mine = open_copy(root / "source", root / "ours")
        result = ours(mine)
        det = detector(mine, 60_000)
        mine.db.conn.close()

        naive = open_copy(root / "source", root / "naive")
        ids = [r[0] for r in naive.db.execute("SELECT customer_id FROM ownership WHERE person_id = 'chen'")]
        base = baseline(naive, ids)
        naive.db.conn.close()

    total, base_total = result["preview"] + result["confirm"], base["assign"] + base["brief"]
    print(f"ours: preview {result['preview']:.2f}s, confirm {result['confirm']:.2f}s "
          f"(one transaction: {result['customers']:,} customers moved, {result['rerouted']:,} alerts re-routed, "
          f"brief queued) = {total:.2f}s")
    print(f"baseline: {len(ids):,} × /assign {base['assign']:.2f}s + brief from /owner facts {base['brief']:.2f}s "
          f"= {base_total:.2f}s")
    print(f"handover vs baseline: {base_total / total:.1f}× faster "
          f"(write lock held {result['lock']:.2f}s once vs {len(ids):,} commits)")
    print(f"milestone detector: {det['messages']:,} messages in {det['ours']:.2f}s "
          f"({det['messages'] / det['ours']:,.0f}/s) vs naive one-regex-per-keyword {det['naive']:.2f}s: "
          f"{det['naive'] / det['ours']:.1f}×")
    print(f"peak memory: ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"tracemalloc peak during confirm {result['peak_mb']:.1f} MB")


if __name__ == "__main__":
    main()
