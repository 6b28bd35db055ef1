"""How fast the managers' report is on the SLA bench archive (100,000 open threads), against a baseline.

    python bench/report_bench.py            # 100,000 open threads (bench/sla_bench.py's archive)
    python bench/report_bench.py --quick    # 5,000 open threads (smoke test)

The archive is bench/sla_bench.py's (same generator, demo config), evaluated once by the SLA engine so its
items exist; the CRM owners of a third of the customers are loaded and our replies carry their sender,
so owners are part explicit, part inferred from mail, as in a real archive. Measured in one run:

- figures for one team (sales: inquiry@, half of all clocks) over 90 days, `bot.report.figures.compute`,
  median of 3 runs (target ≤ 2 s);
- baseline: the same figures with each customer's owner looked up one by one (`effective_owner`, the
  obvious way, as `/owner` does it) — checked to give the same figures;
- the dashboard's team page and overview (the WSGI app called in-process, a manager's session), 20 requests
  each: the first (figures computed), p50 and p95 (target p95 ≤ 300 ms; the app keeps a page's figures
  for a minute while the SLA engine has not run again);
- peak memory: ru_maxrss of the process, and tracemalloc's peak during one (untimed) figures run.
"""

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sla_bench import DOMAIN, NOW, generate, write_archive  # noqa: E402

from bot.core.clock import Clock  # noqa: E402
from bot.core.config import load_config  # noqa: E402
from bot.customers.inference import effective_owner  # noqa: E402
from bot.demo.files import write_starter  # noqa: E402
from bot.report.access import issue_link  # noqa: E402
from bot.report.dashboard import COOKIE, Dashboard  # noqa: E402
from bot.report.figures import compute  # noqa: E402
from bot.schema import open_archive  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.sla.engine import evaluate  # noqa: E402
from bot.store.db import write_transaction  # noqa: E402

TEAM = "sales"
DAYS = 90
PEOPLE = ["amy", "li", "chen", "lucy"]


def prepare(folder: Path, open_threads: int) -> Services:
    write_starter(folder / "mailroom.toml")
    config = load_config(folder / "mailroom.toml")
    config.archive.path = folder / "bench.db"
    db = open_archive(config.archive_path)
    g = generate(random.Random(5), open_threads)
    rng = random.Random(7)
    people = {f"{p}@{DOMAIN}": p for p in PEOPLE}
    addresses = list(people)
    # our replies from several people (the generator writes them all as amy@), so owners can be inferred
    g.messages = [(*m[:4], rng.choice(addresses), *m[5:]) if m[11] == "outbound" else m for m in g.messages]
    write_archive(db, g)
    with write_transaction(db):
        db.execute("UPDATE messages SET person_id = substr(from_addr, 1, instr(from_addr, '@') - 1) "
                   "WHERE direction = 'outbound'")
        db.conn.executemany("INSERT INTO customers (id, name, country, source, created_at) VALUES (?, ?, ?, 'crm', ?)",
                            [(c, f"Customer {c}", rng.choice(["DE", "US", "CN", "PL", "TR", ""]), "2026-01-01T00:00:00Z")
                             for c in range(1, g.customers + 1)])
        db.conn.executemany("INSERT INTO ownership (customer_id, person_id, source, since) VALUES (?, ?, 'crm', ?)",
                            [(c, rng.choice(PEOPLE), "2026-01-01T00:00:00Z") for c in range(1, g.customers + 1, 3)])
    db.execute("ANALYZE")
    t = time.perf_counter()
    services = Services(config, Clock(NOW), db=db)
    evaluate(db, services.sla.policies, NOW, full=True)
    print(f"archive: {db.execute('SELECT count(*) FROM threads').fetchone()[0]:,} threads, "
          f"{db.execute('SELECT count(*) FROM messages').fetchone()[0]:,} messages, "
          f"{db.execute('SELECT count(*) FROM sla_items').fetchone()[0]:,} SLA items "
          f"(first evaluation {time.perf_counter() - t:.1f} s)")
    return services


def figures(services: Services, owners: dict[int, str | None] | None = None) -> Any:
    rights = list(services.directory.mailboxes)
    return compute(services.db, services.config, now=NOW, rights=rights, team=TEAM, days=DAYS,
                   policies=services.sla.policies, owners=owners)


def baseline(services: Services) -> Any:
    """The same figures, each customer's owner looked up one by one (as /owner does for one customer)."""
    inquiry = [m.address for m in services.config.mailboxes if m.team == TEAM]
    marks = ", ".join("?" for _ in inquiry)
    customers = [c for (c,) in services.db.execute(
        f"SELECT DISTINCT m.customer_id FROM sla_items i JOIN messages m ON m.id = i.message "
        f"WHERE i.closed_at IS NULL AND i.mailbox IN ({marks}) AND m.customer_id IS NOT NULL", inquiry)]
    owners = {c: effective_owner(services.db, services.directory, c, now=NOW)[0] for c in customers}
    return figures(services, owners)


def timed(work: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    result = work()
    return result, time.perf_counter() - t


def page_times(app: Dashboard, path: str, query: str, cookie: str, n: int = 20) -> list[float]:
    times = []
    for _ in range(n):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "/dashboard",
                   "HTTP_COOKIE": f"{COOKIE}={cookie}", "wsgi.input": BytesIO(b""), "wsgi.url_scheme": "http"}
        status: list[str] = []
        t = time.perf_counter()
        body = b"".join(app(environ, lambda s, h, seen=status: seen.append(s)))
        times.append(time.perf_counter() - t)
        assert status[0] == "200 OK" and len(body) > 1000, status
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 open threads instead of 100,000")
    args = parser.parse_args()
    open_threads = 5_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        services = prepare(Path(tmp), open_threads)
        report, _ = timed(lambda: figures(services))  # warm SQLite's cache and the calendars, as for the baseline
        runs = [timed(lambda: figures(services))[1] for _ in range(3)]
        base, t_base = timed(lambda: baseline(services))
        assert base.figures == report.figures, "the baseline's figures differ"
        t_fig = statistics.median(runs)
        f = report.figures
        print(f"figures, team {TEAM}, {DAYS} days: {f.first_response.count:,} first responses, "
              f"{sum(f.open_by_state.values()):,} open items, {f.breaches:,} breaches, {f.volume.total:,} inquiries, "
              f"{sum(p.open_items for p in f.people):,} open items with an owner in the team")
        print(f"  compute (median of 3)        {t_fig:7.3f} s   target ≤ 2 s: {'met' if t_fig <= 2 else 'NOT met'}")
        print(f"  baseline (owners one by one) {t_base:7.3f} s   {t_base / t_fig:5.1f}× the baseline's speed")

        app = services.dashboard
        token = issue_link(services.db, services.audit, "boss", NOW).token
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/signin", "QUERY_STRING": f"t={token}",
                   "SCRIPT_NAME": "/dashboard", "wsgi.input": BytesIO(b""), "wsgi.url_scheme": "http"}
        headers: list[Any] = []
        b"".join(app(environ, lambda s, h: headers.extend(h)))
        cookie = dict(headers)["Set-Cookie"].split(";")[0].split("=", 1)[1]
        for label, path, query in (("team page, 7 days", f"/team/{TEAM}", "days=7"),
                                   ("overview, 7 days", "/", "days=7"),
                                   ("team page, 90 days", f"/team/{TEAM}", "days=90")):
            times = page_times(app, path, query, cookie)
            print(f"  dashboard {label:<20} first {times[0] * 1000:7.1f} ms   p50 {statistics.median(times) * 1000:6.1f} ms"
                  f"   p95 {p95(times) * 1000:6.1f} ms   target p95 ≤ 300 ms: {'met' if p95(times) <= 0.3 else 'NOT met'}")
        tracemalloc.start()
        figures(services)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: ru_maxrss {rss:.0f} MB (archive generation included); Python allocations during one "
              f"figures run (tracemalloc) {peak / 2**20:.1f} MB")
        services.db.conn.close()


if __name__ == "__main__":
    main()
