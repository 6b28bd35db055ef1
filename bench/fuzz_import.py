"""A long fuzzing run of the import (tests/unit/test_fuzz_import.py runs a few hundred examples in CI):
structured hostile mail and mutated corpus messages from tests/fakes/fuzz_mail.py, each imported between
two normal messages into one archive. Every example must end as a row or a counted skip, the normal
mail around it must be stored, and no message may take longer than --seconds.

    python bench/fuzz_import.py                 # 2,000 structured + 2,000 mutated examples
    python bench/fuzz_import.py --examples 500
"""

import argparse
import itertools
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from bot.mail.importer import import_messages  # noqa: E402
from tests.fakes import fuzz_mail  # noqa: E402
from tests.unit.test_import import eml, fresh_services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000, help="per strategy (structured, mutated)")
    parser.add_argument("--verbose", action="store_true", help="name examples that raise the peak RSS")
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per hostile message")
    args = parser.parse_args()

    services = fresh_services(Path(tempfile.mkdtemp(prefix="mailroom-fuzz-bench-")))
    numbers = itertools.count()
    figures = {"examples": 0, "stored": 0, "skipped": 0, "with_defects": 0, "bytes": 0, "slowest": 0.0,
               "slowest_size": 0}
    problems: list[str] = []

    def check(raw: bytes) -> None:
        n = next(numbers)
        before = eml("a@acme-trading.de", "inquiry@hengda-valves.com", f"before {n}", msgid=f"before-{n}@fuzz")
        after = eml("a@acme-trading.de", "inquiry@hengda-valves.com", f"after {n}", msgid=f"after-{n}@fuzz")
        started = time.perf_counter()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        summary = import_messages(services.archive, iter([("before", before), ("hostile", raw), ("after", after)]))
        took = time.perf_counter() - started
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        if grew > 100 and args.verbose:
            print(f"  peak RSS +{grew:.0f} MiB on {len(raw):,} bytes: {raw[:150]!r}")
        figures["examples"] += 1
        figures["bytes"] += len(raw)
        figures["skipped"] += len(summary.skipped)
        figures["stored"] += 1 - len(summary.skipped)
        figures["with_defects"] += summary.with_defects  # (the two normal messages have none)
        if took > figures["slowest"]:
            figures["slowest"], figures["slowest_size"] = took, len(raw)
        stored = services.db.execute("SELECT count(*) FROM messages WHERE message_id IN (?, ?)",
                                     [f"before-{n}@fuzz", f"after-{n}@fuzz"]).fetchone()[0]
        if took > args.seconds or stored != 2 or summary.read != 3:
            problems.append(f"example {n}: {took:.2f} s, {stored} of 2 normal stored, {raw[:120]!r}")

    run = settings(max_examples=args.examples, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))
    started = time.perf_counter()
    for strategy in (fuzz_mail.structured, fuzz_mail.mutated(fuzz_mail.corpus_files())):
        run(given(strategy)(lambda raw: check(raw)))()
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fuzz import: {figures['examples']:,} hostile examples ({figures['bytes'] / 2**20:,.0f} MiB) in "
          f"{seconds:,.0f} s: {figures['stored']:,} stored ({figures['with_defects']:,} with defects), "
          f"{figures['skipped']:,} skipped as not mail; slowest {figures['slowest']:.2f} s "
          f"({figures['slowest_size'] / 2**20:.1f} MiB); peak RSS {rss:.0f} MiB; problems: {len(problems)}")
    for problem in problems[:20]:
        print("  " + problem)
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
