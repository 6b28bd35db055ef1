"""IMAP sync against a real Dovecot: incremental, crash-safe, read-only, watching, reconnecting."""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.core.clock import Clock
from bot.core.config import load_config
from bot.core.errors import SyncError
from bot.mail.imap_connect import fetch_raw, sync_targets, uid_set
from bot.mail.imap_sync import MailboxResult, sync_once
from bot.mail.imap_watch import Backoff, Watcher
from bot.services import Services
from tests.fakes.dns_server import FakeDns, good_zone
from tests.fakes.dovecot import SENT_FOLDER, DovecotServer, ImapUser
from tests.fakes.sync_helpers import DOMAIN, Account, SyncSetup, mail, query, wait_for, write_config

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
INQUIRY, ORDER, SUPPORT = f"inquiry@{DOMAIN}", f"order@{DOMAIN}", f"support@{DOMAIN}"
ROOT = Path(__file__).resolve().parents[2]
PROJECTS = "项目 Projects"  # a non-ASCII name travels as modified UTF-7


@pytest.fixture
def user(dovecot: DovecotServer) -> ImapUser:
    return dovecot.add_user()


@pytest.fixture
def other_user(dovecot: DovecotServer) -> ImapUser:
    return dovecot.add_user()


def setup_env(setup: SyncSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)


def services_for(setup: SyncSetup, monkeypatch: pytest.MonkeyPatch) -> Services:
    setup_env(setup, monkeypatch)
    return Services(load_config(setup.config), Clock(NOW))


def run_sync(services: Services, **options: object) -> list[MailboxResult]:
    return sync_once(services.archive, services.clock, sync_targets(services.config), **options)  # type: ignore[arg-type]


def count(services: Services, sql: str, *params: object) -> int:
    return int(services.db.execute(sql, list(params)).fetchone()[0])


def mailroom(setup: SyncSetup, *args: str) -> subprocess.Popen[str]:
    """The real entry point (the `mailroom` console script's `bot.cli.main:main`) in a child process."""
    env = {**os.environ, **setup.env, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from bot.cli.main import main; main()", "--config", str(setup.config), *args]
    return subprocess.Popen(command, cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ── one-shot sync ─────────────────────────────────────────────────────────────────────────────


def test_first_sync_reads_inbox_and_the_folder_marked_sent(user: ImapUser, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    user.append_many([mail(i) for i in range(3)])
    user.append_many([mail(i, tag="sent", sender=f"amy@{DOMAIN}", to="buyer@acme-trading.de") for i in range(2)],
                     folder=SENT_FOLDER)
    user.create_folder("Sent")  # named like a sent folder, but not marked \Sent: must not be synced
    user.append(mail(1, tag="decoy"), folder="Sent")
    setup = write_config(tmp_path, [Account(INQUIRY, user)])
    setup_env(setup, monkeypatch)

    result = CliRunner().invoke(cli, ["--config", str(setup.config), "sync"])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"{INQUIRY}: INBOX 3 new, {SENT_FOLDER} 2 new (5 fetched")
    services = Services(load_config(setup.config), Clock(NOW))
    sightings = services.db.execute("SELECT folder, uid FROM sightings ORDER BY folder, uid").fetchall()
    assert sightings == [("INBOX", 1), ("INBOX", 2), ("INBOX", 3), (SENT_FOLDER, 1), (SENT_FOLDER, 2)]
    assert count(services, "SELECT count(*) FROM messages") == 5
    assert count(services, "SELECT count(*) FROM messages WHERE direction = 'outbound'") == 2
    state = services.db.execute("SELECT mailbox, folder, last_uid FROM sync_state ORDER BY folder").fetchall()
    assert state == [(INQUIRY, "INBOX", 3), (INQUIRY, SENT_FOLDER, 2)]


def test_incremental_sync_fetches_only_newer_uids(user: ImapUser, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    user.append_many([mail(i) for i in range(4)])
    services = services_for(write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])]), monkeypatch)
    assert run_sync(services)[0].fetched == 4

    user.append_many([mail(i) for i in range(4, 6)])
    second = run_sync(services)[0]
    assert (second.ok, second.fetched, second.new) == (True, 2, 2)
    assert second.folders[0].last_uid == 6

    # the newest message is expunged: UIDNEXT (8) is past the checkpoint (6) but nothing is newer, and
    # `UID 7:*` makes the server answer with UID 6 anyway — it must be dropped, not fetched again
    user.append(mail(6))
    with user.connect() as box:
        box.folder.set("INBOX")
        box.delete([str(7)])
    third = run_sync(services)[0]
    assert (third.ok, third.fetched) == (True, 0)
    assert count(services, "SELECT count(*) FROM messages") == 6

    assert run_sync(services)[0].fetched == 0  # unchanged: STATUS only


def test_uidvalidity_change_rescans_the_folder_without_duplicates(user: ImapUser, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    user.create_folder(PROJECTS)
    user.append_many([mail(i, tag="p") for i in range(5)], folder=PROJECTS)
    services = services_for(write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX", PROJECTS])]),
                            monkeypatch)
    run_sync(services)
    before = services.db.execute("SELECT uidvalidity FROM sync_state WHERE folder = ?", [PROJECTS]).fetchone()[0]

    # the folder is deleted and made again: UIDs restart at 1, all below the old checkpoint (5)
    with user.connect() as box:
        box.folder.delete(PROJECTS)
        box.folder.create(PROJECTS)
    user.append_many([mail(3, tag="p"), mail(4, tag="p"), mail(9, tag="p-new")], folder=PROJECTS)

    folder = run_sync(services)[0].folders[1]

    assert folder.folder == PROJECTS and folder.rescanned
    assert (folder.fetched, folder.new, folder.already, folder.last_uid) == (3, 1, 2, 3)
    assert folder.uidvalidity != before
    assert count(services, "SELECT count(*) FROM messages") == 6
    rows = services.db.execute(
        "SELECT m.message_id, s.uid FROM sightings s JOIN messages m ON m.id = s.message "
        "WHERE s.folder = ? AND s.uid IS NOT NULL ORDER BY m.message_id", [PROJECTS]
    ).fetchall()
    uids = dict(rows)
    assert (uids["p-3@acme-trading.de"], uids["p-4@acme-trading.de"], uids["p-new-9@acme-trading.de"]) == (1, 2, 3)
    state = services.db.execute("SELECT uidvalidity, last_uid FROM sync_state WHERE folder = ?", [PROJECTS]).fetchone()
    assert state == (folder.uidvalidity, 3)


def test_sync_never_changes_a_flag(user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag_sets = [(), ("\\Seen",), ("\\Flagged",), ("\\Answered", "$Label1"), ("\\Draft",), ()]
    with user.connect() as box:
        for i, flags in enumerate(flag_sets):
            box.append(mail(i), "INBOX", None, flags)
            box.append(mail(i, tag="s", sender=f"amy@{DOMAIN}"), SENT_FOLDER, None, flags)
    before = (user.flags("INBOX"), user.flags(SENT_FOLDER))
    assert sum("\\Seen" not in f for f in before[0].values()) == 5
    services = services_for(write_config(tmp_path, [Account(INQUIRY, user)]), monkeypatch)

    first = run_sync(services, batch_size=2)
    user.append(mail(50))
    second = run_sync(services, batch_size=2)

    assert first[0].fetched == 12 and second[0].fetched == 1
    after = (user.flags("INBOX"), user.flags(SENT_FOLDER))
    assert after[0] == {**before[0], 7: frozenset()}
    assert after[1] == before[1]


def test_failures_are_one_line_per_mailbox_and_the_others_still_sync(
    dovecot: DovecotServer, user: ImapUser, other_user: ImapUser, tmp_path: Path
) -> None:
    user.append_many([mail(i) for i in range(3)])
    other_user.append(mail(1, tag="o"))
    accounts = [
        Account(f"wrong-password@{DOMAIN}", other_user, password="not-the-password"),
        Account(f"no-env@{DOMAIN}", other_user, password=""),
        Account(f"unknown-host@{DOMAIN}", other_user, host="imap.nonexistent.invalid", ssl=True, port=993),
        Account(f"tls-to-plain-port@{DOMAIN}", other_user, ssl=True, port=dovecot.port),
        Account(f"untrusted-cert@{DOMAIN}", other_user, ssl=True),
        Account(f"missing-folder@{DOMAIN}", other_user, folders=["INBOX", "Archive/2025"]),
        Account(INQUIRY, user),
    ]
    setup = write_config(tmp_path, accounts)

    result = CliRunner().invoke(cli, ["--config", str(setup.config), "sync"], env=setup.env)

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 6, errors
    expected = {
        "wrong-password": "login failed", "no-env": "MAILROOM_TEST_PW_1", "unknown-host": "unknown host",
        "tls-to-plain-port": "TLS failure", "untrusted-cert": "certificate not trusted",
        "missing-folder": "folder 'Archive/2025' not found",
    }
    for line, (name, words) in zip(errors, expected.items(), strict=True):
        assert line.startswith(f"{name}@{DOMAIN}: FAILED: ") and words in line, line
    assert "missing-folder" in errors[-1] and "INBOX 1 new" in errors[-1]  # the folders that exist were synced
    assert result.stdout.strip().startswith(f"{INQUIRY}: INBOX 3 new")
    assert query(setup.archive, "SELECT count(*) FROM sightings WHERE mailbox = ?", (INQUIRY,)) == [(3,)]


def test_tls_and_starttls_work_with_a_trusted_certificate(dovecot: DovecotServer, user: ImapUser,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user.append_many([mail(i) for i in range(2)])
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert_file))
    services = services_for(
        write_config(tmp_path, [Account(INQUIRY, user, ssl=True), Account(ORDER, user, starttls=True)]), monkeypatch
    )
    results = run_sync(services)
    assert [(r.ok, r.new, r.fetched) for r in results] == [(True, 2, 2), (True, 0, 2)]
    assert count(services, "SELECT count(*) FROM sightings") == 4


def test_plain_text_to_a_remote_host_is_refused_before_connecting(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake = ImapUser(server=None, name="inquiry", password="x")  # type: ignore[arg-type]
    setup = write_config(tmp_path, [Account(INQUIRY, fake, host="imap.example.com", port=143)])
    result = run_sync(services_for(setup, monkeypatch))[0]
    assert not result.ok and "plain-text IMAP" in (result.error or "") and "starttls" in (result.error or "")


def test_progress_is_told_totals_and_batches(user: ImapUser, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    user.append_many([mail(i) for i in range(5)])
    services = services_for(write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])]), monkeypatch)
    events: list[tuple[str, object]] = []

    class Recorder:
        def begin(self, address: str, folder: str, total: int) -> None:
            events.append(("begin", (address, folder, total)))

        def advance(self, n: int) -> None:
            events.append(("advance", n))

        def end(self) -> None:
            events.append(("end", None))

    run_sync(services, batch_size=2, progress=Recorder())
    assert events == [("begin", (INQUIRY, "INBOX", 5)), ("advance", 2), ("advance", 2), ("advance", 1),
                      ("end", None)]


def test_json_summary(user: ImapUser, tmp_path: Path) -> None:
    user.append(mail(1))
    setup = write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])])
    result = CliRunner().invoke(cli, ["--config", str(setup.config), "sync", "--once", "--json",
                                      "--mailbox", INQUIRY], env=setup.env)
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["ok"] is True
    [box] = data["mailboxes"]
    assert (box["mailbox"], box["new"], box["error"]) == (INQUIRY, 1, None)
    assert box["folders"][0] | {"uidvalidity": 0} == {
        "folder": "INBOX", "uidvalidity": 0, "last_uid": 1, "fetched": 1, "new": 1, "already_archived": 0,
        "with_defects": 0, "rescanned": False,
    }
    assert box["with_defects"] == 0


def test_unknown_mailbox_option_is_a_clear_error(user: ImapUser, tmp_path: Path) -> None:
    setup = write_config(tmp_path, [Account(INQUIRY, user)])
    result = CliRunner().invoke(cli, ["--config", str(setup.config), "sync", "--mailbox", "nobody@x.com"],
                                env=setup.env)
    assert result.exit_code == 1
    assert "--mailbox nobody@x.com: no IMAP account" in result.stderr and INQUIRY in result.stderr


def test_personal_sent_folder_is_synced_opt_in(user: ImapUser, other_user: ImapUser, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    other_user.append(mail(1, tag="private"))  # a person's INBOX is not read by default
    other_user.append(mail(2, tag="amy-sent", sender=f"amy@{DOMAIN}", to="buyer@acme-trading.de"),
                      folder=SENT_FOLDER)
    setup = write_config(tmp_path, [Account(INQUIRY, user)], people=[Account(f"amy@{DOMAIN}", other_user)])
    services = services_for(setup, monkeypatch)

    results = run_sync(services)

    assert [(r.address, r.ok) for r in results] == [(INQUIRY, True), (f"amy@{DOMAIN}", True)]
    rows = services.db.execute("SELECT m.message_id, s.mailbox, s.folder FROM sightings s "
                               "JOIN messages m ON m.id = s.message").fetchall()
    assert rows == [("amy-sent-2@acme-trading.de", f"amy@{DOMAIN}", SENT_FOLDER)]
    assert [t.address for t in sync_targets(services.config, "p0")] == [f"amy@{DOMAIN}"]


def test_doctor_logs_in_and_lists_folders_with_counts(user: ImapUser, other_user: ImapUser,
                                                      tmp_path: Path) -> None:
    user.append_many([mail(i) for i in range(3)])
    setup = write_config(tmp_path, [Account(INQUIRY, user), Account(ORDER, other_user, password="wrong")])
    before = user.flags()

    with FakeDns(good_zone(DOMAIN)) as dns:  # no test asks the internet's DNS
        result = CliRunner().invoke(cli, ["--config", str(setup.config), "doctor"],
                                    env={**setup.env, "MAILROOM_DNS": dns.address})

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"  ✓ {INQUIRY}: IMAP 127.0.0.1:{user.server.port} (plain text) login ok; sync reads INBOX, " \
           f"{SENT_FOLDER}" in lines, lines
    assert f"  ! {INQUIRY} INBOX: 3 on the server, 0 archived, 3 not fetched yet → run mailroom sync" in lines
    assert any(line.startswith(f"  ✗ {ORDER}: ") and "login failed" in line for line in lines), lines
    assert user.flags() == before


def test_fetch_keeps_each_body_with_its_uid_among_unsolicited_flag_updates(user: ImapUser) -> None:
    user.append_many([mail(i) for i in range(4)])
    with user.connect() as ours:
        ours.folder.set("INBOX", readonly=True)
        with user.connect() as other:  # another mail client flags messages while we read
            other.folder.set("INBOX")
            other.flag(["2", "3"], "\\Flagged", True)
        fetched = fetch_raw(ours, [1, 2, 3, 4])
    assert [(uid, f"<t-{uid - 1}@acme-trading.de>".encode() in raw) for uid, raw in fetched] == [
        (1, True), (2, True), (3, True), (4, True)
    ]


def test_fetch_reads_a_uid_sent_after_the_literal_and_ignores_strangers() -> None:
    """The shape some servers answer with (not Dovecot's): `* 1 FETCH (BODY[] {n} … UID 7)`."""

    class Client:
        def uid(self, command: str, uids: str, parts: str) -> tuple[str, list[object]]:
            assert (command, uids, parts) == ("FETCH", "7:8,10", "(UID BODY.PEEK[])")
            return "OK", [b"5 (FLAGS (\\Seen) UID 99)", (b"1 (BODY[] {3}", b"abc"), b" UID 7)",
                          (b"2 (UID 8 BODY[] {3}", b"def"), b")", (b"3 (BODY[] {3}", b"ghi"), b" UID 10)"]

    class Box:
        client = Client()

    assert fetch_raw(Box(), [7, 8, 10]) == [(7, b"abc"), (8, b"def"), (10, b"ghi")]  # type: ignore[arg-type]
    assert uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10" and uid_set([5]) == "5"

    class Nameless(Client):
        def uid(self, command: str, uids: str, parts: str) -> tuple[str, list[object]]:
            return "OK", [(b"1 (BODY[] {3}", b"abc"), b")"]

    Box.client = Nameless()
    with pytest.raises(SyncError, match="without its UID"):  # never guessed: the checkpoint would skip it
        fetch_raw(Box(), [7])  # type: ignore[arg-type]


# ── crash safety ──────────────────────────────────────────────────────────────────────────────


def test_kill_9_mid_sync_then_rerun_loses_nothing_and_doubles_nothing(user: ImapUser, tmp_path: Path) -> None:
    total = 1500
    user.write_maildir(mail(i, tag="k") for i in range(total))
    setup = write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])])

    child = mailroom(setup, "sync", "--batch-size", "20")
    try:
        wait_for(lambda: bool(query(setup.archive, "SELECT 1 FROM sync_state WHERE last_uid >= 60")),
                 timeout=30, what="the first batches to commit")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL

    [(checkpoint,)] = query(setup.archive, "SELECT last_uid FROM sync_state")
    assert 60 <= checkpoint < total, "the sync finished before the kill: make the folder bigger"
    uids = {uid for (uid,) in query(setup.archive, "SELECT uid FROM sightings")}
    assert set(range(1, checkpoint + 1)) <= uids  # everything up to the checkpoint is archived

    rerun = mailroom(setup, "sync", "--batch-size", "20")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err

    assert query(setup.archive, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(total, total)]
    assert query(setup.archive, "SELECT count(*), count(DISTINCT uid), min(uid), max(uid) FROM sightings") == [
        (total, total, 1, total)
    ]
    assert query(setup.archive, "SELECT last_uid FROM sync_state") == [(total,)]


# ── watching ─────────────────────────────────────────────────────────────────────────────────


def test_watch_archives_a_new_message_within_seconds(user: ImapUser, tmp_path: Path) -> None:
    user.append_many([mail(i) for i in range(2)])
    setup = write_config(tmp_path, [Account(INQUIRY, user)])
    child = mailroom(setup, "sync", "--watch")
    try:
        wait_for(lambda: query(setup.archive, "SELECT count(*) FROM messages") == [(2,)], timeout=20,
                 what="the catch-up sync")
        time.sleep(0.5)  # let the watcher settle into IDLE (what we test is the wake-up)
        user.append(mail(7, tag="live"))
        took = wait_for(lambda: bool(query(setup.archive, "SELECT 1 FROM messages WHERE message_id = ?",
                                           ("live-7@acme-trading.de",))), timeout=10, what="the live message")
        assert took < 5
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=15)
    assert child.returncode == 0, err
    assert "Traceback" not in err
    assert f"{INQUIRY}: watching INBOX, {SENT_FOLDER} (IDLE on INBOX)" in err
    assert f"{INQUIRY}: stopped watching" in err


def run_watcher(watcher: Watcher) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def stop_watcher(stop: threading.Event, thread: threading.Thread) -> None:
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_watch_polls_when_idle_is_not_used(user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])])
    services = services_for(setup, monkeypatch)
    stop, thread = run_watcher(Watcher(services, use_idle=False, poll_interval=0.1))
    try:
        wait_for(lambda: bool(query(setup.archive, "SELECT 1 FROM sync_state")), what="the first sync")
        user.append(mail(3))
        wait_for(lambda: query(setup.archive, "SELECT count(*) FROM messages") == [(1,)], what="the polled message")
    finally:
        stop_watcher(stop, thread)


def test_idle_is_reissued_and_then_the_other_folders_are_checked(user: ImapUser, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    setup = write_config(tmp_path, [Account(INQUIRY, user)])
    services = services_for(setup, monkeypatch)
    # IDLE watches INBOX only; a Sent message shows up when IDLE is renewed (here every 0.3 s)
    stop, thread = run_watcher(Watcher(services, idle_renew=0.3, poll_interval=3600, tick=0.05))
    try:
        wait_for(lambda: query(setup.archive, "SELECT count(*) FROM sync_state") == [(2,)], what="the first sync")
        user.append(mail(4, tag="sent", sender=f"amy@{DOMAIN}"), folder=SENT_FOLDER)
        wait_for(lambda: query(setup.archive, "SELECT count(*) FROM messages") == [(1,)], what="the Sent message")
    finally:
        stop_watcher(stop, thread)


def test_watcher_reconnects_when_the_server_comes_back_and_others_keep_going(
    user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root = Path(tempfile.mkdtemp(prefix="mailroom-dovecot-flaky-"))
    root.chmod(0o755)
    flaky = DovecotServer(root).start()
    try:
        flaky_user = flaky.add_user()
        flaky_user.append(mail(1, tag="f"))
        setup = write_config(tmp_path, [Account(ORDER, flaky_user, folders=["INBOX"]),
                                        Account(INQUIRY, user, folders=["INBOX"])])
        services = services_for(setup, monkeypatch)
        caplog.set_level(logging.INFO, logger="bot.mail.sync")
        sleeps: list[float] = []

        def sleep(seconds: float, stop: threading.Event) -> None:
            sleeps.append(seconds)
            stop.wait(min(seconds, 0.05))

        watcher = Watcher(services, backoff=Backoff(initial=1, factor=2, maximum=8), sleep=sleep, tick=0.05)
        stop, thread = run_watcher(watcher)
        try:
            wait_for(lambda: query(setup.archive, "SELECT count(*) FROM sync_state") == [(2,)], what="first sync")

            flaky.stop()
            wait_for(lambda: len(sleeps) >= 4, what="a few reconnect attempts")
            user.append(mail(2, tag="i"))  # the healthy mailbox goes on while the other one is down
            wait_for(lambda: bool(query(setup.archive, "SELECT 1 FROM messages WHERE message_id = ?",
                                        ("i-2@acme-trading.de",))), what="mail of the healthy mailbox")

            flaky.start()
            flaky_user.append(mail(3, tag="f"))
            wait_for(lambda: bool(query(setup.archive, "SELECT 1 FROM messages WHERE message_id = ?",
                                        ("f-3@acme-trading.de",))), what="mail after the reconnect")
        finally:
            stop_watcher(stop, thread)
    finally:
        flaky.stop()
        shutil.rmtree(root, ignore_errors=True)

    assert sleeps[:4] == [1, 2, 4, 8]  # exponential backoff, capped
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(w.startswith(f"{ORDER}: ") and "next try in" in w for w in warnings), warnings
    assert any("connection refused" in w for w in warnings), warnings
    assert "Traceback" not in caplog.text


# ── hostile mail and a watcher that keeps failing ───────────────────────────────────────────


def test_a_hostile_message_between_normal_ones_never_stops_the_sync(user: ImapUser, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """RecursionError-deep nesting, 100k References, 500-deep multiparts, a 5 MB header line: archived with
    their defects; the checkpoint moves past them; a second sync adds nothing; the watcher goes on after."""
    from tests.fakes import hostile_mail as hostile

    user.append_many([mail(1), hostile.deep_nesting(3000), mail(2), hostile.many_references(100_000), mail(3),
                      hostile.deep_nesting(500), hostile.giant_header_line(), mail(4)])
    setup = write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])])
    child = mailroom(setup, "sync", "--once")
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "Traceback" not in err
    assert out.startswith(f"{INQUIRY}: INBOX 8 new (8 fetched, 0 already archived, 4 stored with defects)"), out
    assert query(setup.archive, "SELECT last_uid FROM sync_state") == [(8,)]
    assert query(setup.archive, "SELECT count(*) FROM messages") == [(8,)]
    rows = dict(query(setup.archive, "SELECT message_id, defects FROM messages WHERE message_id LIKE '%evil%'"))
    assert "RecursionError" in rows["deep-3000@evil.example"] and "References" in rows["refs-100000@evil.example"]

    again = mailroom(setup, "sync", "--once", "--json")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert json.loads(out)["mailboxes"][0]["new"] == 0

    services = services_for(setup, monkeypatch)
    stop, thread = run_watcher(Watcher(services, use_idle=False, poll_interval=0.1))
    try:
        user.append_many([hostile.self_rfc822(3000), mail(5)])
        wait_for(lambda: query(setup.archive, "SELECT count(*) FROM messages") == [(10,)], timeout=20,
                 what="the watcher archiving after hostile mail")
    finally:
        stop_watcher(stop, thread)
    assert query(setup.archive, "SELECT last_uid FROM sync_state") == [(10,)]


def with_admin(setup: SyncSetup) -> SyncSetup:
    with setup.config.open("a", encoding="utf-8") as config:
        config.write(f'\n[[people]]\nid = "boss"\nname = "Boss"\nemail = "boss@{DOMAIN}"\nrole = "admin"\n')
    return setup


def test_a_watcher_failing_the_same_way_alerts_the_admins_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    from tests.fakes.dovecot import free_port

    down = ImapUser.__new__(ImapUser)  # an account on a port where no server listens
    down.name, down.password = "nobody", "x"
    setup = with_admin(write_config(tmp_path, [Account(ORDER, down, folders=["INBOX"], port=free_port())]))
    services = services_for(setup, monkeypatch)
    sleeps: list[float] = []

    def sleep(seconds: float, stop: threading.Event) -> None:
        sleeps.append(seconds)
        stop.wait(0.01)

    caplog.set_level(logging.WARNING, logger="bot.mail.sync")
    stop, thread = run_watcher(Watcher(services, backoff=Backoff(initial=0.01, maximum=0.01), sleep=sleep,
                                       alert_after=3))
    try:
        wait_for(lambda: len(sleeps) >= 8, what="eight failures")
    finally:
        stop_watcher(stop, thread)
    alerts = query(setup.archive, "SELECT kind, level, dest_person, reply FROM sla_alerts")
    assert [(kind, level, person) for kind, level, person, _ in alerts] == [("sync", "failing", "boss")]
    assert "failed 3 times in a row: connection refused" in json.loads(alerts[0][3])["text"]
    assert sum("the admins are alerted" in r.getMessage() for r in caplog.records) == 1
    assert "Traceback" not in caplog.text  # a refused connection is expected trouble: one line each


def test_an_unexpected_watcher_error_is_logged_with_its_traceback(user: ImapUser, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from bot.mail.imap_sync import MailboxSync

    def broken(self: MailboxSync) -> None:
        raise ZeroDivisionError("a bug in the sync")

    monkeypatch.setattr(MailboxSync, "sync", broken)  # stands in for any bug: not the network, not the mail
    services = services_for(write_config(tmp_path, [Account(INQUIRY, user, folders=["INBOX"])]), monkeypatch)
    caplog.set_level(logging.WARNING, logger="bot.mail.sync")
    sleeps: list[float] = []
    stop, thread = run_watcher(Watcher(services, sleep=lambda s, e: sleeps.append(s) or e.wait(0.01)))
    try:
        wait_for(lambda: len(sleeps) >= 2, what="two failures")
    finally:
        stop_watcher(stop, thread)
    failures = [r for r in caplog.records if "unexpected ZeroDivisionError: a bug in the sync" in r.getMessage()]
    assert failures and all(r.levelno == logging.WARNING and r.exc_info for r in failures)
    assert "Traceback" in caplog.text and "a bug in the sync" in caplog.text
