"""Issue 14's attacks, each against a running `mailroom serve` on 127.0.0.1 (bounded: every loop ends).

Each gets the right status quickly, and afterwards the server still answers /healthz in under a second
with its memory bounded. The server runs with short timeouts (MAILROOM_HTTP_*) so the test stays short.
"""

import hashlib
import hmac
import json
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.clock import iso
from tests.conftest import DEMO_NOW
from tests.fakes.chat_helpers import (
    WECOM_AES_KEY,
    WECOM_CORP,
    WECOM_TOKEN,
    Answer,
    Call,
    FakeApi,
    http,
    slack_responder,
    slash_command,
    telegram_message,
    telegram_responder,
    wecom_post,
    wecom_responder,
    wecom_text_xml,
)
from tests.platforms.test_serve import SLACK_SECRET, TG_SECRET, TG_TOKEN, Process, clean_env

REQUEST_TIMEOUT = 2
WECOM_SECRET = "corp-secret-abcdef123"
SLACK_TOKEN = "xoxb-serve-attack-0001"


def slow_telegram(call: Call) -> Answer:
    """The Bot API, taking 3 s to send a message: the webhook must not wait for it."""
    if call.path.endswith("/sendMessage"):
        time.sleep(3)
    return telegram_responder(call)


@dataclass
class Served:
    base: str
    port: int
    process: Process
    slack: FakeApi
    telegram: FakeApi
    wecom: FakeApi

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def healthz_seconds(self) -> float:
        started = time.monotonic()
        status, body = http("GET", f"{self.base}/healthz")
        assert status == 200 and json.loads(body)["archive"] == "readable"
        return time.monotonic() - started


def start_serve(folder: Path, *, verbose: bool = False, telegram_responder_fn=slow_telegram) -> Served:  # noqa: ANN001
    slack, telegram, wecom = FakeApi(slack_responder), FakeApi(telegram_responder_fn), FakeApi(wecom_responder)
    env = clean_env(
        SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET, SLACK_API_URL=f"{slack.url}/api/",
        TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_API_URL=telegram.url,
        WECOM_CORP_ID=WECOM_CORP, WECOM_AGENT_ID="1000002", WECOM_SECRET=WECOM_SECRET, WECOM_TOKEN=WECOM_TOKEN,
        WECOM_AES_KEY=WECOM_AES_KEY, WECOM_API_URL=wecom.url,
        MAILROOM_HTTP_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT), MAILROOM_HTTP_IDLE_TIMEOUT="3",
    )
    args = ["--config", str(folder / "mailroom.toml"), "--now", iso(DEMO_NOW)] + (["-v"] if verbose else [])
    process = Process([*args, "serve", "--host", "127.0.0.1", "--port", "0"], env)
    line = process.wait_for("listening on http://127.0.0.1:")
    base = line.split("listening on ", 1)[1].split(" ", 1)[0]
    return Served(base, int(base.rsplit(":", 1)[1]), process, slack, telegram, wecom)


def stop_serve(served: Served) -> None:
    try:
        assert served.process.stop() == 0
    finally:
        for fake in (served.slack, served.telegram, served.wecom):
            fake.stop()


@pytest.fixture(scope="module")
def served(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("attacks") / "demo"
    shutil.copytree(demo_template, folder)
    running = start_serve(folder)
    yield running
    stop_serve(running)


def raw(port: int, data: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send raw bytes, read until the server closes or the response is complete; (status, whole answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def signed(body: bytes, secret: str = SLACK_SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def request_bytes(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body


@pytest.mark.parametrize(("length", "status"), [("-1", 400), ("ten", 400), ("1e3", 400), (None, 411),
                                                 (str(300 << 20), 413), (str((1 << 20) + 1), 413)])
def test_content_length_is_checked_before_any_body_is_read(served: Served, length: str | None,
                                                           status: int) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    if length is not None:
        headers["Content-Length"] = length
    started = time.monotonic()
    got, _ = raw(served.port, request_bytes("/telegram/webhook", b"", headers))  # no body ever sent
    assert got == status
    assert time.monotonic() - started < 1
    assert served.healthz_seconds() < 1


def test_a_huge_body_pushed_anyway_is_not_taken_in(served: Served) -> None:
    before = served.rss_mb()
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(request_bytes("/slack/events", b"", {"Content-Length": str(300 << 20)}))
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413")
        pushed = 0
        with pytest.raises(OSError):  # the server closed the connection: writing fails soon
            for _ in range(2000):  # at most 128 MiB, and it stops long before
                sock.sendall(b"x" * 65536)
                pushed += 65536
    assert pushed < 64 << 20
    assert served.rss_mb() - before < 20
    assert served.healthz_seconds() < 1


def test_stalled_connections_cost_no_thread_and_are_closed(served: Served) -> None:
    """1,023 connections each stalled 3 bytes into a 10-byte body: /healthz stays fast; they are cut."""
    before = served.rss_mb()
    stalled: list[socket.socket] = []
    try:
        for _ in range(1023):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
            sock.sendall(request_bytes("/wecom/callback", b"abc", {"Content-Length": "10"}))
            stalled.append(sock)
        assert max(served.healthz_seconds() for _ in range(5)) < 1
        # and a real platform request is still answered at once
        update = json.dumps(telegram_message("/help", user=100003, update_id=4242)).encode()
        started = time.monotonic()
        status, _ = http("POST", f"{served.base}/telegram/webhook", update,
                         {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
        assert status == 200 and time.monotonic() - started < 1
        assert served.rss_mb() - before < 100
        # the request timeout closes them (the server sends nothing and hangs up)
        deadline = time.monotonic() + REQUEST_TIMEOUT + 5
        sample = stalled[::100]
        for sock in sample:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert sock.recv(1024) == b""
    finally:
        for sock in stalled:
            sock.close()
    assert served.healthz_seconds() < 1


def test_idle_keep_alive_connections_are_closed(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b"}"):  # the whole JSON answer (it may come in more than one segment)
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed by the server after the idle timeout (3 s here)
        assert time.monotonic() - started < 8


def test_chunked_body_is_de_chunked_and_the_connection_stays_in_step(served: Served) -> None:
    update = json.dumps(telegram_message("/help", user=100003, update_id=5151)).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(update[i:i + 40]), update[i:i + 40]) for i in range(0, len(update), 40))
    request = request_bytes("/telegram/webhook", chunks + b"0\r\n\r\n", {
        "Transfer-Encoding": "chunked", "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(request + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while answer.count(b"HTTP/1.1 ") < 2 or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    first, second = answer.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"200") and first.endswith(b"ok")
    assert second.startswith(b"200") and b'"archive": "readable"' in second


def test_a_chunked_body_over_the_cap_gets_413(served: Served) -> None:
    piece = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(17)) + b"0\r\n\r\n"
    status, _ = raw(served.port, request_bytes("/slack/events", body, {"Transfer-Encoding": "chunked"}))
    assert status == 413


@pytest.mark.parametrize("case", ["slack bad json", "slack not utf-8", "slack unsigned not utf-8", "slack list",
                                  "telegram not json", "telegram not utf-8", "telegram missing fields",
                                  "telegram update_id text", "wecom garbage", "wecom not utf-8"])
def test_bad_bodies_get_4xx_never_500(served: Served, case: str) -> None:
    expected = 400
    if case == "slack bad json":
        body = b'{"type": "event_callback", "event": '
        status, _ = http("POST", f"{served.base}/slack/events", body,
                         {**signed(body), "Content-Type": "application/json"})
    elif case == "slack not utf-8":
        body = b"command=%2Fowner&text=\xff\xfe\xfa"
        status, _ = http("POST", f"{served.base}/slack/events", body,
                         {**signed(body), "Content-Type": "application/x-www-form-urlencoded"})
    elif case == "slack unsigned not utf-8":
        expected = 401
        status, _ = http("POST", f"{served.base}/slack/events", b"\xff\xfe" * 100,
                         {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "1",
                          "X-Slack-Signature": "v0=00"})
    elif case == "slack list":
        body = b"[1, 2]"
        status, _ = http("POST", f"{served.base}/slack/events", body,
                         {**signed(body), "Content-Type": "application/json"})
    else:
        tg = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        bodies = {
            "telegram not json": b"{update_id: 1",
            "telegram not utf-8": b'{"update_id": 1, "message": "\xff\xfe"}',
            "telegram missing fields": b'{"update_id": 7, "message": {"text": "/owner acme"}}',
            "telegram update_id text": b'{"update_id": "7"}',
        }
        if case in bodies:
            status, _ = http("POST", f"{served.base}/telegram/webhook", bodies[case], tg)
        else:
            expected = 403  # nothing in the body is believed before msg_signature is checked
            query, _ = wecom_post(wecom_text_xml("/help", user="LiWei"))
            body = b"<xml><Encrypt>\xff\xfe not base64 </Encrypt>" if case == "wecom not utf-8" else b"<<>>&&"
            status, _ = http("POST", f"{served.base}/wecom/callback?{query}", body)
    assert status == expected
    assert served.healthz_seconds() < 1


def test_every_platform_answers_its_request_at_once(served: Served) -> None:
    """The fake Bot API takes 3 s per sendMessage: the webhook's 200 does not wait for it."""
    update = json.dumps(telegram_message("/owner acme", user=100003, update_id=9090)).encode()
    started = time.monotonic()
    status, _ = http("POST", f"{served.base}/telegram/webhook", update,
                     {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert status == 200 and time.monotonic() - started < 1
    deadline = time.monotonic() + 15
    while not any("Amy Zhang" in c.payload()["text"] for c in served.telegram.to("/sendMessage")):
        assert time.monotonic() < deadline, "the /owner answer never reached Telegram"
        time.sleep(0.05)
    command = slash_command("/owner", "acme", user="U0LI", response_url=f"{served.slack.url}/respond/at-once",
                            trigger_id="t-at-once")
    started = time.monotonic()
    assert http("POST", f"{served.base}/slack/events", command, signed(command.encode()))[0] == 200
    assert time.monotonic() - started < 1
    served.slack.wait_for("/respond/at-once")


def test_healthz_says_the_archive_is_readable(served: Served) -> None:
    status, body = http("GET", f"{served.base}/healthz")
    assert status == 200
    assert json.loads(body) == {"ok": True, "platforms": ["slack", "telegram", "wecom"], "archive": "readable"}


def test_no_secret_in_the_log_at_verbose(demo_dir: Path) -> None:
    """-v (DEBUG): each platform's inbound request and outbound call; no token, secret or key in stderr."""
    running = start_serve(demo_dir, verbose=True, telegram_responder_fn=telegram_responder)
    try:
        command = slash_command("/owner", "acme", user="U0LI", response_url=f"{running.slack.url}/respond/v",
                                trigger_id="t-verbose")
        assert http("POST", f"{running.base}/slack/events", command, signed(command.encode()))[0] == 200
        running.slack.wait_for("/respond/v")
        update = json.dumps(telegram_message("/owner acme", user=100003, update_id=31337)).encode()
        assert http("POST", f"{running.base}/telegram/webhook", update,
                    {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})[0] == 200
        running.telegram.wait_for("/sendMessage")
        query, body = wecom_post(wecom_text_xml("/owner acme", user="LiWei", msg_id="v1"))
        assert http("POST", f"{running.base}/wecom/callback?{query}", body)[0] == 200
        running.wecom.wait_for("/message/send")
        forged = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "wrong-one"}
        assert http("POST", f"{running.base}/telegram/webhook", update, forged)[0] == 403
    finally:
        stop_serve(running)
    while not running.process.lines.empty():
        running.process.seen.append(running.process.lines.get())
    log = "".join(running.process.seen)
    assert "sendMessage" in log and "DEBUG" in log  # the HTTP libraries did log their calls
    assert "/bot[redacted]/sendMessage" in log  # httpx's URL, token masked
    for secret in (SLACK_TOKEN, SLACK_SECRET, TG_TOKEN, TG_TOKEN.split(":")[1], TG_SECRET, WECOM_SECRET,
                   WECOM_TOKEN, WECOM_AES_KEY, "ACCESS1"):
        assert secret not in log, f"{secret!r} is in the log"
