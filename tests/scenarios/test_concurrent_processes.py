"""Processes started together on one archive (issue 14): migrations, syncs of one mailbox, chat and warm-up.

Each test runs a few rounds; `MAILROOM_CONCURRENCY_ROUNDS=20` (or more) repeats them, as the issue asks.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.chat.adapters.base import ChatBot
from bot.core.clock import Clock
from bot.core.config import load_config
from bot.services import Services
from tests.conftest import DEMO_NOW, ROOT
from tests.fakes.chat_helpers import FakeApi, telegram_responder
from tests.fakes.dovecot import DovecotServer, ImapUser
from tests.fakes.sync_helpers import DOMAIN, Account, mail, query, write_config

ROUNDS = int(os.environ.get("MAILROOM_CONCURRENCY_ROUNDS", "2"))


def mailroom(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    # stdin stays open: `run` without chat credentials is the console chat, which would end at EOF
    return subprocess.Popen([sys.executable, "-c", "from bot.cli.main import main; main()", "--config", str(config),
                             *args], cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_web_and_worker_start_together_on_a_fresh_archive(demo_template: Path, tmp_path: Path, round_: int) -> None:
    """The Procfile's fresh deploy: `serve`, `run --no-http` and another `serve` at once on a new archive."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_template, folder)
    config = folder / "mailroom.toml"
    for archive in folder.rglob("*.db*"):
        archive.unlink()  # a brand-new archive: every migration still to run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "WECOM_"))}
    env["MAILROOM_NOW"] = DEMO_NOW.isoformat()
    telegram = FakeApi(telegram_responder)  # the worker polls Telegram, as a real deploy's would
    worker_env = {**env, "TELEGRAM_BOT_TOKEN": "4242:worker-token", "TELEGRAM_API_URL": telegram.url}
    web = mailroom(config, "serve", "--host", "127.0.0.1", "--port", "0", env=env)
    worker = mailroom(config, "run", "--no-http", "--no-sync", env=worker_env)
    second_web = mailroom(config, "serve", "--host", "127.0.0.1", "--port", "0", env=env)
    try:
        for process, ready in ((web, "listening on"), (worker, "mailroom run: telegram"),
                               (second_web, "listening on")):
            deadline = time.monotonic() + 60
            assert process.stderr is not None
            line = ""
            while ready not in line and time.monotonic() < deadline:
                line = process.stderr.readline()
                assert line or process.poll() is None, f"exited {process.poll()}"
            assert ready in line
        time.sleep(0.5)
        assert worker.poll() is None and web.poll() is None and second_web.poll() is None  # none lost a race
    finally:
        for process in (web, worker, second_web):
            process.terminate()
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        telegram.stop()
    assert web.returncode == 0 and worker.returncode == 0 and second_web.returncode == 0
    verify = mailroom(config, "audit", "verify", env=env)
    out, err = verify.communicate(timeout=120)
    assert verify.returncode == 0, err


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_three_syncs_of_one_mailbox_at_once(dovecot: DovecotServer, tmp_path: Path, round_: int) -> None:
    user: ImapUser = dovecot.add_user()
    total = 1500
    user.write_maildir(mail(i, tag=f"three{round_}") for i in range(total))
    setup = write_config(tmp_path, [Account(f"inquiry@{DOMAIN}", user, folders=["INBOX"])])
    children = [mailroom(setup.config, "sync", "--once", "--json", "--batch-size", "200", env=setup.env)
                for _ in range(3)]
    fetched = new = 0
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err
        (box,) = json.loads(out)["mailboxes"]
        fetched, new = fetched + box["fetched"], new + box["new"]
    assert (fetched, new) == (total, total)  # one sync at a time: the later ones found nothing left to fetch
    assert query(setup.archive, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(total, total)]
    assert query(setup.archive, "SELECT count(*), count(DISTINCT uid) FROM sightings") == [(total, total)]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_commands_run_while_the_customer_index_is_being_built(demo_dir: Path, round_: int) -> None:
    """The warm-up holds only the matcher's own lock: /sla and /search answer meanwhile, each thread on its
    own connection."""
    services = Services(load_config(demo_dir / "mailroom.toml"), Clock(DEMO_NOW))
    bot = ChatBot(services)
    index = services.customer_index
    try:
        with index._lock:  # as if the warm-up were building the index right now
            answers: dict[str, str] = {}

            def ask(text: str) -> None:
                answers[text] = bot.answer("slack", "U0LI", text).text

            threads = [threading.Thread(target=ask, args=(t,)) for t in ("/sla", "/search quotation", "/help")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert set(answers) == {"/sla", "/search quotation", "/help"}
        owner = bot.answer("slack", "U0LI", "/owner acme")  # and /owner works once the index is there
        assert "Amy Zhang" in owner.text
        connections = {id(s.db.conn) for s in bot._opened}
        assert len(connections) == 3 and id(services.db.conn) not in connections
    finally:
        bot.close()
        services.db.conn.close()
