"""`mailroom serve` and `mailroom run` as real processes, against local stand-ins for all three platforms."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
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
    FakeApi,
    http,
    slack_headers,
    slack_responder,
    slash_command,
    telegram_message,
    telegram_responder,
    wecom_post,
    wecom_responder,
    wecom_text_xml,
)

SLACK_SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
TG_TOKEN = "987654:SERVE-token"
TG_SECRET = "serve_secret-42"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "WECOM_", "MAILROOM_"))}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Process:
    """A `mailroom` subprocess whose stderr is read line by line on a thread."""

    def __init__(self, args: list[str], env: dict[str, str], stdin: str | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli.main import main; main()", *args], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, text=True,
        )
        if stdin is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(stdin)
            self.proc.stdin.close()
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr; got:\n{''.join(self.seen)}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@dataclass
class Fakes:
    slack: FakeApi
    telegram: FakeApi
    wecom: FakeApi


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    f = Fakes(FakeApi(slack_responder), FakeApi(telegram_responder), FakeApi(wecom_responder))
    yield f
    for api in (f.slack, f.telegram, f.wecom):
        api.stop()


def test_serve_answers_each_platform_and_rejects_forgeries(demo_dir: Path, fakes: Fakes) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-serve", SLACK_SIGNING_SECRET=SLACK_SECRET, SLACK_API_URL=f"{fakes.slack.url}/api/",
        TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_API_URL=fakes.telegram.url,
        WECOM_CORP_ID=WECOM_CORP, WECOM_AGENT_ID="1000002", WECOM_SECRET="corp-secret", WECOM_TOKEN=WECOM_TOKEN,
        WECOM_AES_KEY=WECOM_AES_KEY, WECOM_API_URL=fakes.wecom.url,
    )
    process = Process(["--config", str(demo_dir / "mailroom.toml"), "--now", iso(DEMO_NOW),
                       "serve", "--host", "127.0.0.1", "--port", "0"], env)
    try:
        line = process.wait_for("listening on http://127.0.0.1:")
        base = line.split("listening on ", 1)[1].split(" ", 1)[0]

        status, body = http("GET", f"{base}/healthz")
        assert status == 200 and json.loads(body)["platforms"] == ["slack", "telegram", "wecom"]

        # Slack: a signed /owner command is answered through its response_url
        command = slash_command("/owner", "acme", user="U0LI", response_url=f"{fakes.slack.url}/respond/serve")
        assert http("POST", f"{base}/slack/events", command, slack_headers(SLACK_SECRET, command))[0] == 200
        (answer,) = fakes.slack.wait_for("/respond/serve")
        assert "Amy Zhang" in answer.json["text"]
        forged = slash_command("/owner", "acme", user="U0LI", response_url=f"{fakes.slack.url}/respond/forged")
        assert http("POST", f"{base}/slack/events", forged, slack_headers("wrong", forged))[0] == 401

        # Telegram: a webhook update with the secret token
        update = json.dumps(telegram_message("/owner acme", user=100003))
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        assert http("POST", f"{base}/telegram/webhook", update, headers)[0] == 200
        (sent,) = fakes.telegram.wait_for("/sendMessage")
        assert "Amy Zhang" in sent.payload()["text"]
        bad = {**headers, "X-Telegram-Bot-Api-Secret-Token": "guess"}
        forged_update = json.dumps(telegram_message("/owner acme", user=100003, update_id=2))
        assert http("POST", f"{base}/telegram/webhook", forged_update, bad)[0] == 403

        # WeCom: an encrypted text message from a member
        query, body_xml = wecom_post(wecom_text_xml("/owner acme", user="LiWei"))
        assert http("POST", f"{base}/wecom/callback?{query}", body_xml, {"Content-Type": "text/xml"}) == (200, b"")
        (message,) = fakes.wecom.wait_for("/message/send")
        assert "Amy Zhang" in message.json["markdown"]["content"]
        query, body_xml = wecom_post(wecom_text_xml("/owner acme", user="LiWei", msg_id="2"))
        forged_query = query.replace("msg_signature=", "msg_signature=0")
        assert http("POST", f"{base}/wecom/callback?{forged_query}", body_xml)[0] == 403

        assert http("GET", f"{base}/nowhere")[0] == 404
        # the read-only dashboard is mounted under /dashboard/: without a session it asks for a sign-in link
        status, page = http("GET", f"{base}/dashboard/")
        assert status in (401, 403) and b"/dashboard" in page, (status, page[:200])
        # nothing the forged requests asked for was done
        assert fakes.slack.to("/respond/forged") == []
        assert len(fakes.telegram.to("/sendMessage")) == 1
        assert len(fakes.wecom.to("/message/send")) == 1
    finally:
        assert process.stop() == 0


def test_run_polls_telegram_and_delivers_sla_alerts(demo_dir: Path, fakes: Fakes) -> None:
    fakes.telegram.queue(f"/bot{TG_TOKEN}/getUpdates",
                         Answer(body={"ok": True, "result": [telegram_message("/owner acme", user=100003, update_id=7)]}))
    env = clean_env(TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_API_URL=fakes.telegram.url)
    process = Process(["--config", str(demo_dir / "mailroom.toml"), "--now", iso(DEMO_NOW), "run", "--no-http"], env)
    try:
        process.wait_for("mailroom run: telegram")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            texts = [(int(c.payload()["chat_id"]), c.payload()["text"]) for c in fakes.telegram.to("/sendMessage")]
            answered = any(chat == 100003 and "Amy Zhang" in text for chat, text in texts)
            alerted = any(chat == -1001001 and "breached" in text for chat, text in texts)
            if answered and alerted:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"telegram got: {texts}")
    finally:
        assert process.stop() == 0


def test_run_without_credentials_opens_the_console(demo_dir: Path) -> None:
    process = Process(["--config", str(demo_dir / "mailroom.toml"), "--now", iso(DEMO_NOW), "run", "--no-sync"],
                      clean_env(), stdin="/help\n")
    process.wait_for("console chat")
    assert process.proc.wait(timeout=30) == 0
    assert process.proc.stdout is not None
    assert "Mailroom commands" in process.proc.stdout.read()


def test_bad_platform_variable_is_named(demo_dir: Path) -> None:
    env = clean_env(WECOM_AES_KEY="short", TELEGRAM_WEBHOOK_SECRET="has spaces")
    result = subprocess.run([sys.executable, "-c", "from bot.cli.main import main; main()", "--config", str(demo_dir / "mailroom.toml"), "serve"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in result.stderr and "WECOM_AES_KEY" in result.stderr
