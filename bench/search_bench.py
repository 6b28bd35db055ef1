"""Search benchmark: latency of /search over a generated archive, against SQL LIKE in the same run.

    python bench/search_bench.py              # 1,000,000 messages (built once, cached in bench/.cache/)
    python bench/search_bench.py --quick      # 20,000 messages, a smoke run
    python bench/search_bench.py --size 300000 --rebuild
    python bench/search_bench.py --quick --vocabulary-ab 3   # old six synonym groups vs the trade vocabulary

Prints: build time, index size, p50/p95 per query class and overall for 200 mixed queries (half of
them asked by a sales member, so the rights filter runs too), the common-word class against plain
FTS5 top-20 by bm25, the LIKE '%term%' baseline (subject and body) and our speed-up over it, and
Chinese recall with LIKE as the ground truth; peak memory (ru_maxrss).
"""

import argparse
import os
import random
import resource
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import search_notmuch  # noqa: E402
from bench.search_corpus import MESSAGE_COLUMNS, PHRASES, Corpus  # noqa: E402
from bot.core.clock import Clock  # noqa: E402
from bot.core.config import load_config  # noqa: E402
from bot.demo.files import write_starter  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.store.db import write_transaction  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
CHUNK = 20_000
ZH_TWO = ["发票", "补发", "报价", "返修", "交期", "样品", "付款", "订单", "质量", "包装", "退货", "验货", "模具",
          "出货", "尾款", "定金", "合同", "客户", "工厂", "价格"]
ZH_THREE = ["不锈钢", "装箱单", "报价单", "止回阀", "说明书", "合格证", "集装箱", "截止阀", "原产地", "检验员",
            "供应商", "交货期", "生产线", "铸造件", "预付款"]
COMMON_WORDS = ["order", "price", "delivery", "valve", "please", "quotation", "sample", "payment", "goods",
                "steel", "container", "inspection", "regards", "confirm", "attached", "production", "week",
                "quality", "drawing", "customer", "factory", "schedule", "report", "update", "thanks", "pressure",
                "shipment", "time", "send", "best"]
TYPOS = ["quotaton", "invioce", "packng lst", "shipmnet", "delivry", "contaner", "inspecton", "sampel", "paymnet",
         "certifcate", "warrenty", "complant", "frieght", "discont", "replacment", "stainles steel", "pressur test",
         "proforma invioce", "bil of lading", "purchse order"]
SYNONYMS = ["B/L", "bill of lading", "提单", "PI", "proforma invoice", "RFQ", "询价", "packing list", "装箱单",
            "purchase order", "CI", "commercial invoice", "PO", "PL", "request for quotation"]


def build(folder: Path, size: int) -> dict[str, float]:
    """Config + archive of `size` generated messages + the index, timed phase by phase."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_starter(folder / "mailroom.toml")
    services = Services(load_config(folder / "mailroom.toml"), Clock(NOW))
    db = services.db
    corpus = Corpus(size)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    with db.conn:
        db.execute("DELETE FROM customers")
        db.conn.executemany(
            "INSERT INTO customers (id, name, domains, aliases, contacts, country, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            corpus.customer_rows(),
        )
    marks = ", ".join("?" for _ in MESSAGE_COLUMNS.split(","))
    for start in range(0, size, CHUNK):
        rows, sightings = [], []
        for row, seen in corpus.messages(start, min(size, start + CHUNK)):
            rows.append(row)
            sightings.extend(seen)
        with db.conn:
            db.conn.executemany(f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({marks})", rows)
            db.conn.executemany("INSERT INTO sightings (message, mailbox, folder) VALUES (?, ?, ?)", sightings)
        print(f"  generated {start + len(rows):,} messages ({time.perf_counter() - started:.0f} s)", flush=True)
    figures["generate_s"] = time.perf_counter() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    figures["archive_bytes_before_index"] = (folder / "mailroom.db").stat().st_size
    started = time.perf_counter()
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if done % 100_000 < count:
            print(f"  indexed {done:,} ({time.perf_counter() - started:.0f} s)", flush=True)

    with write_transaction(db):
        services.search.index.catch_up(progress=progress)
    figures["index_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.conn:
        services.search.index.optimize()
    figures["optimize_s"] = time.perf_counter() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.conn.close()
    (folder / "built.txt").write_text(" ".join(f"{k}={v}" for k, v in figures.items()))
    return figures


def queries(corpus: Corpus, size: int, rng: random.Random) -> list[tuple[str, str]]:
    """200 (class, query) pairs."""
    po = lambda: corpus.po_of(rng.randrange(size))  # noqa: E731
    rare = [corpus.tail[rng.randrange(3000, len(corpus.tail))] for _ in range(30)]
    phrases = [f'"{p}"' for p in PHRASES] + ['"delivery date"', '"payment terms"', '"packing list"']
    customer = lambda: corpus.customers[rng.randrange(len(corpus.customers))][1].split()[0].lower()  # noqa: E731
    filters = [
        "valve mailbox:order", "price mailbox:support", "delivery after:2026-01-01", "inspection has:attachment",
        "quotation in:sent", "发票 mailbox:shipping", "from:amy sample", "to:order shipment", "category:po",
        "category:exception valve", "mailbox:audit", "leaking before:2024-01-01", "交期 after:2025-06-01",
        "payment from:li", "container mailbox:shipping after:2025-01-01", "has:attachment mailbox:order",
        "in:sent mailbox:inquiry", "报价 in:sent", "steel before:2023-06-01 mailbox:inquiry",
        "drawing to:inquiry has:attachment",
    ] + [f"customer:{customer()}" for _ in range(5)] + [f"price customer:{customer()}" for _ in range(5)]
    numbers = ([f"PO {po()}" for _ in range(8)] + [corpus.pi_of(po()) for _ in range(6)]
               + [corpus.bl_of(po()) for _ in range(6)])
    mix = ([("rare", q) for q in rare] + [("common", q) for q in COMMON_WORDS] + [("phrase", q) for q in phrases]
           + [("typo", q) for q in TYPOS] + [("zh2", q) for q in ZH_TWO] + [("zh3", q) for q in ZH_THREE]
           + [("filter", q) for q in filters] + [("docno", q) for q in numbers] + [("synonym", q) for q in SYNONYMS])
    return mix[:200]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def like_ids(db: sqlite3.Connection, term: str) -> tuple[set[int], float]:
    started = time.perf_counter()
    pattern = f"%{term}%"
    ids = {r[0] for r in db.execute("SELECT id FROM messages WHERE subject LIKE ? OR body LIKE ?", [pattern, pattern])}
    return ids, time.perf_counter() - started


def compare_notmuch(raw: sqlite3.Connection, size: int, count: int, truths: dict[str, set[int]],
                    ours_found: dict[str, set[int]], mix: list[tuple[str, str]],
                    timings: dict[str, list[float]]) -> None:
    """notmuch's recall and latency on the first `count` messages, beside ours."""
    folder = CACHE / f"notmuch-{size}-{count}"
    print(f"\nnotmuch {subprocess_version()} on the first {count:,} messages (built once into {folder.name}) …",
          flush=True)
    index_s = search_notmuch.build(folder, raw, count)
    theirs = ours = total = 0
    two = [0, 0, 0]
    for term, truth in truths.items():
        subset = {pk for pk in truth if pk <= count}
        found, _seconds = search_notmuch.search(folder, term)
        theirs += len(found & subset)
        ours += len(ours_found[term] & subset)
        total += len(subset)
        if len(term) == 2:
            two[0] += len(found & subset)
            two[1] += len(ours_found[term] & subset)
            two[2] += len(subset)
    _none, startup = search_notmuch.search(folder, "id:no-such-message@example.invalid")
    plain = [(cls, q) for cls, q in mix if cls in ("rare", "common", "phrase", "zh2", "zh3", "docno")]
    latency = [search_notmuch.search(folder, q, limit=20)[1] * 1000 for _cls, q in plain]
    ours_plain = [ms for cls in ("rare", "common", "phrase", "zh2", "zh3", "docno") for ms in timings.get(cls, [])]
    print(f"  notmuch new: {index_s:.0f} s for {count:,} messages")
    print(f"  Chinese recall vs LIKE on those messages: notmuch {theirs}/{total} = {theirs / max(total, 1):.1%} "
          f"(two-character words {two[0] / max(two[2], 1):.1%}); ours {ours}/{total} = {ours / max(total, 1):.1%} "
          f"(two-character words {two[1] / max(two[2], 1):.1%})")
    print(f"  latency of `notmuch search --limit=20` over {len(plain)} plain queries: p50 {pct(latency, 50):.0f} ms, "
          f"p95 {pct(latency, 95):.0f} ms (process start-up ≈ {startup * 1000:.0f} ms of that), on {count:,} "
          f"messages; ours on the same queries over all {size:,}: p50 {pct(ours_plain, 50):.1f} ms, "
          f"p95 {pct(ours_plain, 95):.1f} ms")


def subprocess_version() -> str:
    import subprocess

    done = subprocess.run(["notmuch", "--version"], capture_output=True, text=True)
    return done.stdout.strip().removeprefix("notmuch ")


# The six groups built in before the trade vocabulary (issue 17), for --vocabulary-ab.
OLD_SYNONYMS = (
    ("B/L", "BL", "bill of lading", "提单"),
    ("PI", "proforma invoice", "pro forma invoice", "形式发票"),
    ("PO", "purchase order", "采购订单"),
    ("CI", "commercial invoice", "商业发票"),
    ("PL", "packing list", "装箱单"),
    ("RFQ", "request for quotation", "询价"),
)


def vocabulary_ab(services: Services, mix: list[tuple[str, str]], rounds: int) -> None:
    """The same 200 queries with the old six synonym groups and with the trade vocabulary, alternating
    query by query in one process, so load on a shared machine hits both alike; best of `rounds` each."""
    from bot.search import synonyms as module

    engine = services.search.engine
    new = engine.synonyms
    old = module.Synonyms.__new__(module.Synonyms)
    saved = module.BUILT_IN
    module.BUILT_IN = OLD_SYNONYMS
    try:
        old.__init__(services.config.search.synonyms)  # type: ignore[misc]
    finally:
        module.BUILT_IN = saved
    directory = services.directory
    admin, member = directory.find_person("zhou"), directory.find_person("li")
    best: dict[str, dict[int, float]] = {"old": {}, "new": {}}
    matched: dict[str, int] = {"old": 0, "new": 0}
    for _ in range(rounds):
        for number, (_cls, text) in enumerate(mix):
            person = member if number % 2 else admin
            for name, synonyms in (("old", old), ("new", new)):
                engine.synonyms = synonyms
                started = time.perf_counter()
                result = services.search.search(person, text)
                elapsed = (time.perf_counter() - started) * 1000
                best[name][number] = min(elapsed, best[name].get(number, elapsed))
                if _ == 0:
                    matched[name] += result.matched
    engine.synonyms = new
    print(f"\nvocabulary A/B — the same {len(mix)} queries, alternating, best of {rounds}: old = the six groups before "
          f"issue 17, new = the trade vocabulary ({len(new.groups)} groups); load average {os.getloadavg()[0]:.1f}")
    print(f"{'class':<10}{'n':>4}{'old p50':>9}{'new p50':>9}{'old p95':>9}{'new p95':>9}")
    classes = list(dict.fromkeys(cls for cls, _ in mix))
    for cls in [*classes, "ALL"]:
        numbers = [i for i, (c, _) in enumerate(mix) if cls in (c, "ALL")]
        o = [best["old"][i] for i in numbers]
        n = [best["new"][i] for i in numbers]
        print(f"{cls:<10}{len(numbers):>4}{pct(o, 50):>9.1f}{pct(n, 50):>9.1f}{pct(o, 95):>9.1f}{pct(n, 95):>9.1f}")
    print(f"matches summed over the queries: old {matched['old']:,}, new {matched['new']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 messages")
    parser.add_argument("--rebuild", action="store_true", help="build the cached archive again")
    parser.add_argument("--like-sample", type=int, default=0, help="LIKE over only this many terms (0: all)")
    parser.add_argument("--notmuch", type=int, default=50_000, metavar="N",
                        help="compare with notmuch on the first N messages when it is installed (0: skip)")
    parser.add_argument("--vocabulary-ab", type=int, default=0, metavar="ROUNDS",
                        help="only: the query mix with the old six synonym groups vs the trade vocabulary, alternating")
    args = parser.parse_args()
    size = 20_000 if args.quick else args.size
    folder = CACHE / f"search-{size}"
    if args.rebuild or not (folder / "built.txt").exists():
        print(f"building a {size:,}-message archive in {folder} …", flush=True)
        build(folder, size)
    built = dict(item.split("=") for item in (folder / "built.txt").read_text().split())
    services = Services(load_config(folder / "mailroom.toml"), Clock(NOW))
    db = services.db
    index_bytes = sum(r[0] for r in db.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_fts%' OR name LIKE 'search_terms%'"))
    messages_bytes = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'messages'").fetchone()[0]
    directory = services.directory
    admin, member = directory.find_person("zhou"), directory.find_person("li")
    assert admin and member
    rng = random.Random(7)
    corpus = Corpus(size)
    mix = queries(corpus, size, rng)
    if args.vocabulary_ab:
        for _cls, text in mix[:20]:  # warm the page cache
            services.search.search(admin, text)
        vocabulary_ab(services, mix, args.vocabulary_ab)
        db.conn.close()
        return

    # one-time loads of a fresh process, reported apart: the typo vocabulary and the customer names
    engine = services.search.engine
    started = time.perf_counter()
    engine.vocabulary.ensure(services.search.index.watermark())
    vocab_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    engine.customers.names()
    customers_ms = (time.perf_counter() - started) * 1000
    for _cls, text in mix[:20]:  # warm the page cache
        services.search.search(admin, text)

    timings: dict[str, list[float]] = {}
    everything: list[float] = []
    hits_found = 0
    for number, (cls, text) in enumerate(mix):
        person = member if number % 2 else admin
        started = time.perf_counter()
        result = services.search.search(person, text)
        elapsed = (time.perf_counter() - started) * 1000
        hits_found += bool(result.hits)
        timings.setdefault(cls, []).append(elapsed)
        everything.append(elapsed)

    rss_queries_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # plain FTS5 top-20 by bm25 for the common words: what the window avoids
    plain: list[float] = []
    for word in COMMON_WORDS[:10]:
        started = time.perf_counter()
        db.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY bm25(search_fts) LIMIT 20",
                   [f'"{word}"']).fetchall()
        plain.append((time.perf_counter() - started) * 1000)

    # LIKE baseline and Chinese recall (LIKE is the ground truth)
    terms = ZH_TWO + ZH_THREE
    if args.like_sample:
        terms = terms[: args.like_sample]
    like_ms: list[float] = []
    ours_ms: list[float] = []
    recall: dict[str, tuple[int, int]] = {}
    truths: dict[str, set[int]] = {}
    ours_found: dict[str, set[int]] = {}
    raw = sqlite3.connect(str(services.config.archive_path))
    for term in terms + ["quotation", "inspection", corpus.tail[5000], corpus.tail[9000]]:
        truth, seconds = like_ids(raw, term)
        like_ms.append(seconds * 1000)
        started = time.perf_counter()
        services.search.search(admin, term)
        ours_ms.append((time.perf_counter() - started) * 1000)
        if term in terms:
            found = set(services.search.engine.match_ids(term, admin, now=NOW, limit=10**9))
            recall[term] = (len(truth & found), len(truth))
            truths[term], ours_found[term] = truth, found
    hit_total = sum(h for h, _ in recall.values())
    truth_total = sum(t for _, t in recall.values())
    per_term = [h / t for h, t in recall.values() if t]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\nsearch benchmark — {size:,} messages (~30 % Chinese), SQLite {sqlite3.sqlite_version}")
    print(f"build: generate {float(built['generate_s']):.0f} s, index {float(built['index_s']):.0f} s, "
          f"optimize {float(built['optimize_s']):.0f} s")
    print(f"sizes: messages table {messages_bytes / 1e6:.0f} MB, search index {index_bytes / 1e6:.0f} MB "
          f"({index_bytes / messages_bytes:.2f}× the messages table)")
    print(f"once per process: typo vocabulary load {vocab_ms:.0f} ms, customer names {customers_ms:.0f} ms; "
          f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"\n{'class':<10}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for cls, values in timings.items():
        print(f"{cls:<10}{len(values):>4}{pct(values, 50):>10.1f}{pct(values, 95):>10.1f}{max(values):>10.1f}")
    print(f"{'ALL':<10}{len(everything):>4}{pct(everything, 50):>10.1f}{pct(everything, 95):>10.1f}"
          f"{max(everything):>10.1f}   ({hits_found} of {len(everything)} queries found something)")
    print(f"\ncommon words: ours p95 {pct(timings['common'], 95):.1f} ms vs plain FTS5 top-20 by bm25 "
          f"p50 {pct(plain, 50):.0f} ms / p95 {pct(plain, 95):.0f} ms")
    print(f"LIKE '%term%' baseline over subject+body ({len(like_ms)} terms): p50 {pct(like_ms, 50):.0f} ms, "
          f"p95 {pct(like_ms, 95):.0f} ms; ours on the same terms p50 {pct(ours_ms, 50):.1f} ms, "
          f"p95 {pct(ours_ms, 95):.1f} ms → {pct(like_ms, 50) / pct(ours_ms, 50):.0f}× faster (p50), "
          f"{pct(like_ms, 95) / pct(ours_ms, 95):.0f}× (p95)")
    print(f"Chinese recall vs LIKE: {hit_total}/{truth_total} = {hit_total / max(truth_total, 1):.4%} overall, "
          f"worst term {min(per_term, default=1):.4%}")
    for term, (hit, total) in recall.items():
        if hit < total:
            print(f"  missed: {term} {hit}/{total}")
    if search_notmuch.available() and args.notmuch:
        compare_notmuch(raw, size, min(args.notmuch, size), truths, ours_found, mix, timings)
    else:
        print("notmuch: " + ("skipped (--notmuch 0)" if search_notmuch.available() else "not installed here"))
    print(f"peak memory (ru_maxrss): {rss_queries_mb:.0f} MB through the 200 queries; {rss_mb:.0f} MB for the whole "
          "run (the recall check holds every LIKE and search result id set in memory)")
    db.conn.close()


if __name__ == "__main__":
    main()
