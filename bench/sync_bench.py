"""IMAP sync benchmark: a local Dovecot holding 20,000 messages, synced into a fresh archive.

    python bench/sync_bench.py            # 20,000 messages (a few minutes on 2 cores)
    python bench/sync_bench.py --quick    # 1,000 messages (smoke test)
    python bench/sync_bench.py --profile  # also print where our full sync spends its time

Measured in the same run, each in a child process of its own (so each peak RSS is its own):
- raw bulk FETCH: imaplib, `UID FETCH a:b (BODY.PEEK[])` 500 at a time, nothing done with the bytes —
  what the server and the socket cost;
- naive baseline: imaplib, one `UID FETCH n (RFC822)` per message (folder EXAMINEd, so no flag changes),
  `email` with policy=default, one INSERT and one COMMIT per message;
- ours, full sync: `bot.mail.imap_sync.sync_once` into a fresh archive with every indexer on;
- ours, re-sync of the unchanged mailbox; ours, incremental sync after 100 new messages (APPEND).
Targets (issue 3): full ≥ 1,500 msg/s and ≥ 4× the baseline; re-sync ≤ 0.5 s; 100 new ≤ 1 s; RSS < 300 MB.

Messages come from bench/mailgen.py (English and Chinese, ~5 KB, threads, 10 % attachments) and are
written straight into the Dovecot user's Maildir (APPENDing 20,000 takes minutes); Dovecot indexes them
on first access, before any timing starts.
"""

import argparse
import imaplib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from mailgen import generate  # noqa: E402

from tests.fakes.dovecot import HOST, DovecotServer  # noqa: E402

PASSWORD_ENV = "MAILROOM_BENCH_IMAP_PASSWORD"
MAILBOX = "inquiry@hengda-valves.com"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its finished children (the parse helper)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


# ── phases, each run in a child process ───────────────────────────────────────────────────────


def phase_raw(state: dict[str, Any]) -> dict[str, Any]:
    client = imaplib.IMAP4(HOST, state["port"])
    client.login(state["user"], state["password"])
    client.select("INBOX", readonly=True)
    typ, data = client.uid("SEARCH", "ALL")
    uids = [int(u) for u in data[0].split()]
    started = time.perf_counter()
    count = 0
    for i in range(0, len(uids), 500):
        chunk = uids[i : i + 500]
        typ, data = client.uid("FETCH", f"{chunk[0]}:{chunk[-1]}", "(BODY.PEEK[])")
        count += sum(1 for item in data if isinstance(item, tuple))
    seconds = time.perf_counter() - started
    client.logout()
    return {"messages": count, "seconds": seconds}


def phase_baseline(state: dict[str, Any]) -> dict[str, Any]:
    """What a first, naive sync would do."""
    db = sqlite3.connect(state["baseline_db"])
    db.execute("CREATE TABLE messages (uid INTEGER, message_id TEXT, sender TEXT, recipients TEXT, "
               "subject TEXT, date TEXT, body TEXT)")
    db.commit()
    client = imaplib.IMAP4(HOST, state["port"])
    client.login(state["user"], state["password"])
    client.select("INBOX", readonly=True)  # EXAMINE: RFC822 would otherwise set \Seen
    started = time.perf_counter()
    cpu_before = cpu_seconds()[0]
    typ, data = client.uid("SEARCH", "ALL")
    count = 0
    for uid in data[0].split():
        typ, fetched = client.uid("FETCH", uid, "(RFC822)")
        raw = next(item[1] for item in fetched if isinstance(item, tuple))
        msg = message_from_bytes(raw, policy=policy.default)
        try:
            part = msg.get_body(preferencelist=("plain", "html"))
            body = part.get_content() if part is not None else ""
        except Exception:  # noqa: BLE001
            body = ""
        db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [int(uid), str(msg["Message-ID"]), str(msg["From"]), str(msg["To"]), str(msg["Subject"]),
                    str(msg["Date"]), body])
        db.commit()
        count += 1
    seconds = time.perf_counter() - started
    cpu = cpu_seconds()[0] - cpu_before
    client.logout()
    db.close()
    return {"messages": count, "seconds": seconds, "cpu_main": cpu}


def phase_ours(state: dict[str, Any]) -> dict[str, Any]:
    from bot.core.clock import Clock
    from bot.core.config import load_config
    from bot.mail.imap_connect import sync_targets
    from bot.mail.imap_sync import sync_once
    from bot.services import Services

    os.environ[PASSWORD_ENV] = state["password"]
    started_all = time.perf_counter()
    config = load_config(state["config"])
    services = Services(config, Clock(datetime(2026, 11, 25, tzinfo=UTC)))
    archive = services.archive  # builds the indexers (search …) before the clock starts
    started = time.perf_counter()
    cpu_before = cpu_seconds()
    if state.get("profile"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    results = sync_once(archive, services.clock, sync_targets(config))
    seconds = time.perf_counter() - started
    cpu_after = cpu_seconds()
    if state.get("profile"):
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    [result] = results
    if not result.ok:
        raise SystemExit(f"sync failed: {result.error}")
    services.db.conn.close()
    return {"messages": result.fetched, "new": result.new, "seconds": seconds,
            "seconds_with_setup": time.perf_counter() - started_all,
            "cpu_main": cpu_after[0] - cpu_before[0], "cpu_helper": cpu_after[1] - cpu_before[1]}


PHASES = {"raw": phase_raw, "baseline": phase_baseline, "ours": phase_ours}


def run_phase(name: str, state: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--phase", name, "--state", json.dumps(state)],
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(name: str, state: dict[str, Any]) -> None:
    figures = PHASES[name](state)
    figures["rss_mb"] = rss_mb()
    figures["helper_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(figures))


# ── the run ─────────────────────────────────────────────────────────────────────────────────


def write_config(folder: Path, port: int, user: str) -> Path:
    config = folder / "mailroom.toml"
    config.write_text(
        '[organization]\nname = "Bench Valve Co."\ndomains = ["hengda-valves.com"]\n\n'
        '[archive]\npath = "mailroom.db"\n\n'
        f'[[mailboxes]]\naddress = "{MAILBOX}"\nrole = "inquiry"\n'
        f'[mailboxes.imap]\nhost = "{HOST}"\nport = {port}\nssl = false\nstarttls = false\n'
        f'username = "{user}"\npassword_env = "{PASSWORD_ENV}"\nfolders = ["INBOX"]\n',
        encoding="utf-8",
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="1,000 messages")
    parser.add_argument("--profile", action="store_true", help="cProfile our full sync (to stderr)")
    parser.add_argument("--skip-baseline", action="store_true", help="(for profiling runs only)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, json.loads(args.state))
        return
    count = 1_000 if args.quick else args.count

    root = Path(tempfile.mkdtemp(prefix="mailroom-sync-bench-"))
    root.chmod(0o755)  # Dovecot reads the Maildir as 'nobody'
    server = DovecotServer(root / "dovecot").start()
    try:
        user = server.add_user("bench", "bench-secret")
        started = time.perf_counter()
        sizes = 0

        def messages():  # type: ignore[no-untyped-def]
            nonlocal sizes
            for raw in generate(count, seed=3):
                sizes += len(raw)
                yield raw

        user.write_maildir(messages())
        print(f"{count:,} messages ({sizes / count / 1024:.1f} KB on average) written to the Maildir "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        with user.connect() as box:
            box.folder.set("INBOX", readonly=True)  # Dovecot indexes the new files here
        print(f"Dovecot indexed them in {time.perf_counter() - started:.1f} s", flush=True)

        work = root / "work"
        work.mkdir()
        state = {"port": server.port, "user": user.name, "password": user.password,
                 "config": str(write_config(work, server.port, user.name)),
                 "baseline_db": str(work / "baseline.db"), "profile": args.profile}

        raw = run_phase("raw", state)
        raw_rate = raw["messages"] / raw["seconds"]
        print(f"raw bulk FETCH (server + socket only): {raw_rate:,.0f} msg/s", flush=True)

        baseline = None
        if not args.skip_baseline:
            baseline = run_phase("baseline", state)
            print(f"naive baseline: {baseline['messages']:,} in {baseline['seconds']:.1f} s", flush=True)
        ours = run_phase("ours", state)
        assert ours["new"] == count, ours
        print(f"ours, full sync: {ours['messages']:,} in {ours['seconds']:.1f} s", flush=True)
        state["profile"] = False
        resync = run_phase("ours", state)
        assert resync["messages"] == 0, resync

        with user.connect() as box:
            for raw_mail in generate(100, seed=99):
                box.append(raw_mail, "INBOX", None, ())
        incremental = run_phase("ours", state)
        assert incremental["new"] == 100, incremental

        ours_rate = ours["messages"] / ours["seconds"]
        print()
        print(f"IMAP sync of {count:,} messages from a local Dovecot (os.cpu_count() = {os.cpu_count()}, "
              f"load average {os.getloadavg()[0]:.1f})")
        print(f"  {'':34} {'msg/s':>9} {'seconds':>9} {'peak RSS':>10}")
        print(f"  {'raw bulk FETCH (reference)':34} {raw_rate:9,.0f} {raw['seconds']:9.2f} "
              f"{raw['rss_mb']:8.0f} MB")
        if baseline:
            base_rate = baseline["messages"] / baseline["seconds"]
            print(f"  {'naive baseline (imaplib, 1 by 1)':34} {base_rate:9,.0f} {baseline['seconds']:9.2f} "
                  f"{baseline['rss_mb']:8.0f} MB")
        print(f"  {'ours, full sync':34} {ours_rate:9,.0f} {ours['seconds']:9.2f} {ours['rss_mb']:8.0f} MB"
              f"   (+ parse helper process: {ours['helper_rss_mb']:.0f} MB)")
        print(f"  {'ours, re-sync unchanged':34} {'':9} {resync['seconds']:9.3f} {resync['rss_mb']:8.0f} MB"
              f"   (with config + archive open: {resync['seconds_with_setup']:.3f} s)")
        print(f"  {'ours, 100 new messages':34} {'':9} {incremental['seconds']:9.3f} "
              f"{incremental['rss_mb']:8.0f} MB   (with config + archive open: "
              f"{incremental['seconds_with_setup']:.3f} s)")
        per_msg = 1000 / ours["messages"]
        print(f"  ours, full sync CPU: {ours['cpu_main'] * per_msg:.2f} ms/msg in the syncing process "
              f"+ {ours['cpu_helper'] * per_msg:.2f} ms/msg in the parse helper (the two overlap)")
        if baseline:
            print(f"  naive baseline CPU: {baseline['cpu_main'] * 1000 / baseline['messages']:.2f} ms/msg "
                  "(plus Dovecot's time for each round trip)")
            print(f"  full sync vs naive baseline: {ours_rate / base_rate:.1f}×  (target ≥ 4×, ≥ 1,500 msg/s)")
        print("  targets: re-sync ≤ 0.5 s, 100 new ≤ 1 s, peak RSS < 300 MB")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
