"""Import benchmark: N generated messages as a Maildir → `mailroom import`, against a naive baseline
(stdlib email with policy=default, one INSERT and one COMMIT per message) and, when installed, the
peers `mu index` and `notmuch new` on the same Maildir. Each contender runs in its own process, so
peak RSS is its own.

    python bench/import_bench.py            # 100,000 messages (the Maildir is cached in bench/.cache)
    python bench/import_bench.py --quick    # 5,000 messages
"""

import argparse
import email
import email.policy
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"


def build_maildir(count: int) -> Path:
    sys.path.insert(0, str(HERE))
    from mailgen import generate

    folder = CACHE / f"maildir-{count}"
    if (folder / "complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for part in ("cur", "new", "tmp"):
        (folder / part).mkdir(parents=True)
    for i, raw in enumerate(generate(count)):
        (folder / "cur" / f"{1700000000 + i}.{i}.bench:2,S").write_bytes(raw)
    (folder / "complete").write_text(str(count))
    return folder


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return own / 1024


def run_ours(maildir: Path, workers: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from bot.demo.files import write_starter

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    write_starter(work / "mailroom.toml")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "--config", str(work / "mailroom.toml"), "import",
                    str(maildir), "--workers", str(workers)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = (work / "mailroom.db").stat().st_size / 2**20
    shutil.rmtree(work)
    return {"seconds": seconds, "rss_mb": children, "db_mb": size}


def run_baseline(maildir: Path, limit: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="import-baseline-"))
    db = sqlite3.connect(work / "naive.db")
    db.execute("CREATE TABLE messages (message_id TEXT, sender TEXT, subject TEXT, date TEXT, body TEXT)")
    files = sorted((maildir / "cur").iterdir())[:limit]
    start = time.perf_counter()
    for file in files:
        msg = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        body = msg.get_body(("plain", "html"))
        text = body.get_content() if body is not None else ""
        db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
                   [str(msg["Message-ID"]), str(msg["From"]), str(msg["Subject"]), str(msg["Date"]), text])
        db.commit()
    seconds = time.perf_counter() - start
    db.close()
    shutil.rmtree(work)
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), "count": len(files)}


def run_peer(name: str, maildir: Path) -> dict[str, float] | None:
    if shutil.which(name if name != "mu" else "mu") is None:
        return None
    work = Path(tempfile.mkdtemp(prefix=f"{name}-bench-"))
    if name == "mu":
        subprocess.run(["mu", "init", f"--maildir={maildir}", f"--muhome={work}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        command = ["mu", "index", f"--muhome={work}"]
    else:
        config = work / "notmuch-config"
        config.write_text(f"[database]\npath={maildir}\nmail_root={maildir}\n[new]\ntags=\n")
        os.environ["NOTMUCH_CONFIG"] = str(config)
        command = ["notmuch", "new"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for leftover in (maildir / ".notmuch",):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "rss_mb": rss}


def in_child(*args: str) -> dict[str, float] | None:
    """Run one contender in a fresh process so its peak RSS is its own."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="5,000 messages")
    parser.add_argument("--baseline-count", type=int, default=5_000,
                        help="messages for the naive baseline (its rate is per message)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, maildir, extra = args.child[0], Path(args.child[1]), args.child[2:]
        if kind == "ours":
            result = run_ours(maildir, int(extra[0]))
        elif kind == "baseline":
            result = run_baseline(maildir, int(extra[0]))
        else:
            result = run_peer(kind, maildir)
        print(json.dumps(result))
        return

    count = 5_000 if args.quick else args.count
    maildir = build_maildir(count)
    size_mb = sum(f.stat().st_size for f in (maildir / "cur").iterdir()) / 2**20
    print(f"import benchmark: {count:,} messages, {size_mb:,.0f} MiB Maildir ({size_mb * 2**20 / count / 1024:.1f} KiB avg)")

    baseline = in_child("baseline", str(maildir), str(min(args.baseline_count, count)))
    assert baseline is not None
    base_rate = baseline["count"] / baseline["seconds"]
    print(f"  naive baseline (policy=default, INSERT+COMMIT each): {base_rate:8,.0f} msg/s  "
          f"peak RSS {baseline['rss_mb']:.0f} MiB  ({baseline['count']:,} messages)")

    for workers in sorted({1, args.workers}):
        ours = in_child("ours", str(maildir), str(workers))
        assert ours is not None
        rate = count / ours["seconds"]
        print(f"  mailroom import, {workers} parser process(es):       {rate:8,.0f} msg/s  "
              f"peak RSS {ours['rss_mb']:.0f} MiB  archive {ours['db_mb']:.0f} MiB  "
              f"= {rate / base_rate:.1f}× baseline")

    for peer in ("mu", "notmuch"):
        result = in_child(peer, str(maildir))
        if result is None:
            print(f"  {peer}: not installed (apt-get install {'maildir-utils' if peer == 'mu' else 'notmuch'})")
            continue
        rate = count / result["seconds"]
        print(f"  {peer:<8} on the same Maildir:                    {rate:8,.0f} msg/s  peak RSS {result['rss_mb']:.0f} MiB"
              f"  = {rate / base_rate:.1f}× baseline")


if __name__ == "__main__":
    main()
