"""`mailroom serve` under load: ours (waitress, concurrent commands) against the old server, in one run.

    python bench/serve_bench.py                 # demo archive: 200 commands + 500 idle connections, both servers
    python bench/serve_bench.py --quick         # 40 commands + 100 idle connections
    python bench/serve_bench.py --customers 100000   # the demo + the owner bench's 100,000 generated customers
    python bench/serve_bench.py --archive-config PATH/mailroom.toml   # another archive
    python bench/serve_bench.py --baseline-rev REV                    # what "old" is (default: 270cc33)

For each server, a real `mailroom serve` process on 127.0.0.1 with Slack in HTTP mode against a local fake
Web API: first `--idle` connections are opened and held (nothing sent), then `--commands` signed slash
commands (/owner, /mailsearch, /sla in turn) are sent at once, each on its own connection. Measured:
time to the HTTP ack, time until the answer reaches the response_url, GET /healthz latency polled every
50 ms during the run, failed requests, and the server's RSS growth. (Ours keeps a connection that has sent
nothing in the kernel, TCP_DEFER_ACCEPT, so the idle ones cost its event loop nothing; the old server holds
a thread for each.) The old server is the code of
`--baseline-rev` (the standard library's ThreadingHTTPServer, one lock for all chat), extracted with
`git archive` into a temporary folder and run the same way. Every wait is bounded.
"""

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.demo.files import build_demo  # noqa: E402
from tests.fakes.chat_helpers import Answer, Call, FakeApi, slack_responder, slash_command  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SECRET = "bench-signing-secret"
COMMANDS = [("/owner", "acme"), ("/mailsearch", "quotation"), ("/sla", "")]


@dataclass
class Result:
    name: str
    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    failed: int = 0
    health_failed: int = 0
    unanswered: int = 0
    idle_open: int = 0
    rss_before: float = 0.0
    rss_peak: float = 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def signed_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


SERVER_ENV: dict[str, str] = {}
"""More environment for the servers (--server-env NAME=VALUE, e.g. MAILROOM_HTTP_THREADS=8)."""


def start(code_root: Path, config: Path, fake_url: str) -> tuple[subprocess.Popen[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "WECOM_", "MAILROOM_"))}
    env.update(SERVER_ENV)
    env.update(PYTHONPATH=str(code_root), SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=f"{fake_url}/api/", SLACK_MODE="http", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli.main import main; main()", "--config", str(config),
         "--now", NOW.isoformat(), "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=code_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise SystemExit(f"{code_root}: serve exited {process.returncode}")
        if "listening on http://127.0.0.1:" in line:
            port = int(line.split("listening on http://127.0.0.1:", 1)[1].split(" ", 1)[0])
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return process, port
    process.kill()
    raise SystemExit("serve did not start within 120 s")


def fake_slack_api(log_path: str, ready: Any) -> None:
    """Child process: the fake Slack Web API; each response_url arrival is written as `path monotonic`."""
    out = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    lock = threading.Lock()

    def responder(call: Call) -> Answer:
        if call.path.startswith("/respond/"):
            with lock:
                out.write(f"{call.path} {time.monotonic()}\n")
        return slack_responder(call)

    fake = FakeApi(responder)
    ready.put(fake.url)
    threading.Event().wait(3600)


async def _request(port: int, data: bytes, timeout: float) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(data)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        return int(line.split(b" ", 2)[1]) if line.startswith(b"HTTP/") else 0
    finally:
        writer.close()


def slack_request(body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
    return (f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{head}\r\n").encode() + body


def arrivals_of(path: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in path.read_text().splitlines():
        name, _, at = line.partition(" ")
        found.setdefault(name, float(at))
    return found


def run_load(name: str, code_root: Path, config: Path, commands: int, idle: int, folder: Path) -> Result:
    """The load from one asyncio thread (a light client: the server, not the client, is measured), the
    fake Slack API in a child process of its own."""
    log_path = folder / f"arrivals-{name}.txt"
    ready: Any = multiprocessing.get_context("fork").Queue()
    api = multiprocessing.get_context("fork").Process(target=fake_slack_api, args=(str(log_path), ready), daemon=True)
    api.start()
    fake_url = ready.get(timeout=30)
    process, port = start(code_root, config, fake_url)
    result = Result(name)
    try:
        asyncio.run(_load(result, process.pid, port, fake_url, commands, idle, log_path, name))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        api.terminate()
        api.join(timeout=10)
    return result


async def _load(result: Result, pid: int, port: int, fake_url: str, commands: int, idle: int, log_path: Path,
                name: str) -> None:
    for i, (command, text) in enumerate(COMMANDS):  # warm up: the matchers are built once per process
        body = slash_command(command, text, user="U0LI", response_url=f"{fake_url}/respond/warm{i}",
                             trigger_id=f"warm{i}").encode()
        await _request(port, slack_request(body), 30)
    deadline = time.monotonic() + 120
    while sum(1 for k in arrivals_of(log_path) if "warm" in k) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    result.rss_before = rss_mb(pid)
    held = []
    for _ in range(idle):
        try:
            held.append(await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10))
        except (TimeoutError, OSError):
            break
    result.idle_open = len(held)
    stop = asyncio.Event()

    async def poll_health() -> None:
        get_data = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        while not stop.is_set():
            started = time.monotonic()
            try:
                ok = await _request(port, get_data, 10) == 200
            except (TimeoutError, OSError):
                ok = False
            if ok:
                result.health.append(time.monotonic() - started)
            else:
                result.health_failed += 1
            result.rss_peak = max(result.rss_peak, rss_mb(pid))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)

    poller = asyncio.create_task(poll_health())
    await asyncio.sleep(0.3)
    payloads = []
    for i in range(commands):
        command, text = COMMANDS[i % len(COMMANDS)]
        body = slash_command(command, text, user="U0LI", response_url=f"{fake_url}/respond/{i}",
                             trigger_id=f"{name}-{i}").encode()
        payloads.append((f"/respond/{i}", slack_request(body)))
    sent_at: dict[str, float] = {}

    async def one(path: str, data: bytes) -> None:
        started = time.monotonic()
        sent_at[path] = started
        try:
            status = await _request(port, data, 30)
        except (TimeoutError, OSError):
            status = 0
        if status == 200:
            result.acks.append(time.monotonic() - started)
        else:
            result.failed += 1

    await asyncio.gather(*(one(path, data) for path, data in payloads))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = arrivals_of(log_path)
        if sum(1 for p in sent_at if p in got) >= len(result.acks):
            break
        await asyncio.sleep(0.1)
    got = arrivals_of(log_path)
    result.answers = [got[p] - sent_at[p] for p in sent_at if p in got]
    result.unanswered = commands - len(result.answers)
    stop.set()
    await poller
    result.rss_peak = max(result.rss_peak, rss_mb(pid))
    for _, writer in held:
        writer.close()


def add_customers(config: Path, count: int) -> None:
    """`count` more customers in the archive beside `config` (mailroom.db), made by the owner bench's
    generator (100,000 is the owner bench's archive), after the demo's own. Plain SQL, so the same works on
    the old code's archive."""
    import json as json_
    import sqlite3

    sys.path.insert(0, str(ROOT / "bench"))
    from owner_bench import Generator

    conn = sqlite3.connect(config.parent / "mailroom.db")
    offset = int(conn.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()[0]) + 1000
    customers = Generator(4).customers(count)
    with conn:
        conn.executemany(
            "INSERT INTO customers (id, name, domains, aliases, contacts, country, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'mail', '2026-01-01T00:00:00Z')",
            [(offset + c.id, c.name, json_.dumps(c.domains), json_.dumps(c.aliases, ensure_ascii=False),
              json_.dumps(c.contacts), c.country) for c in customers])
        conn.executemany("INSERT OR IGNORE INTO customer_keys (key, customer_id) VALUES (?, ?)",
                         [(k, offset + c.id) for c in customers for k in (*c.domains, *c.contacts)])
    conn.close()


def build_demo_with(code_root: Path, folder: Path) -> Path:
    """The demo factory as the code at `code_root` builds it (the old server reads only its own config)."""
    script = ("import sys; from pathlib import Path; from datetime import datetime; "
              "from bot.demo.files import build_demo; "
              f"print(build_demo(Path({str(folder)!r}), now=datetime.fromisoformat({NOW.isoformat()!r})))")
    out = subprocess.run([sys.executable, "-c", script], cwd=code_root, env={**os.environ, "PYTHONPATH": str(code_root)},
                         capture_output=True, text=True, timeout=600, check=True).stdout
    return Path(out.strip().splitlines()[-1])


def baseline_tree(rev: str, folder: Path) -> Path | None:
    """The code of `rev` (the old server), extracted with `git archive`; None when git cannot give it."""
    try:
        data = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True,
                              timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    target = folder / f"baseline-{rev}"
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(target, filter="data")
    return target


def row(r: Result) -> str:
    ms = 1000
    return (f"{r.name:<6} {pct(r.acks, 50) * ms:7.1f} {pct(r.acks, 95) * ms:7.1f} {pct(r.acks, 99) * ms:7.1f}   "
            f"{pct(r.answers, 50) * ms:7.0f} {pct(r.answers, 95) * ms:7.0f} {pct(r.answers, 99) * ms:7.0f}   "
            f"{pct(r.health, 50) * ms:6.1f} {max(r.health, default=float('nan')) * ms:7.1f} {r.health_failed:5d}   "
            f"{r.failed:5d} {r.unanswered:6d} {r.idle_open:5d}   {r.rss_peak - r.rss_before:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="40 commands, 100 idle connections")
    parser.add_argument("--commands", type=int, default=None)
    parser.add_argument("--idle", type=int, default=None)
    parser.add_argument("--archive-config", type=Path, help="mailroom.toml of another archive (default: demo)")
    parser.add_argument("--customers", type=int, default=0,
                        help="add this many generated customers (100000: the owner bench's archive)")
    parser.add_argument("--baseline-rev", default="270cc33", help="git revision of the old server")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    SERVER_ENV.update(item.split("=", 1) for item in args.server_env)
    commands = args.commands if args.commands is not None else (40 if args.quick else 200)
    idle = args.idle if args.idle is not None else (100 if args.quick else 500)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours_config = args.archive_config or build_demo(folder / "ours", now=NOW)
        if args.customers:
            add_customers(ours_config, args.customers)
        print(f"serve bench: {commands} concurrent signed Slack commands ({', '.join(c for c, _ in COMMANDS)}) "
              f"+ {idle} idle connections; archive {ours_config}"
              + (f" + {args.customers:,} generated customers" if args.customers else ""))
        results = [run_load("ours", ROOT, ours_config, commands, idle, folder)]
        if not args.no_baseline:
            tree = baseline_tree(args.baseline_rev, folder)
            if tree is None:
                print(f"(no baseline: git archive {args.baseline_rev} failed)")
            else:
                if args.archive_config:
                    old_config = folder / "old" / args.archive_config.name
                    shutil.copytree(args.archive_config.parent, old_config.parent)
                else:
                    old_config = build_demo_with(tree, folder / "old")
                    if args.customers:
                        add_customers(old_config, args.customers)
                results.append(run_load("old", tree, old_config, commands, idle, folder))
    print("               ack ms               answer ms          /healthz ms (polled)   requests           RSS MB")
    print("server     p50     p95     p99       p50     p95     p99     p50     max  fail    fail  unans  idle    growth")
    for result in results:
        print(row(result))
    ours = results[0]
    print(f"targets (ours): ack p99 ≤ 100 ms: {pct(ours.acks, 99) * 1000 <= 100}; answer p95 ≤ 1 s: "
          f"{pct(ours.answers, 95) <= 1}; no failed request: {ours.failed == 0 and ours.unanswered == 0}; "
          f"RSS growth < 100 MB: {ours.rss_peak - ours.rss_before < 100}")
    print(json.dumps({r.name: {"ack_p99_ms": round(pct(r.acks, 99) * 1000, 1),
                               "answer_p95_ms": round(pct(r.answers, 95) * 1000, 1),
                               "failed": r.failed, "unanswered": r.unanswered} for r in results}))


if __name__ == "__main__":
    main()
