"""Migration completeness against a real Dovecot: the server's count per folder (STATUS, UID SEARCH above
the checkpoint) against what the archive holds, before and after `sync`, with nothing downloaded."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.core.config import load_config
from bot.doctor.migration import migration_checks
from bot.doctor.model import Check
from bot.mail.imap_connect import sync_targets
from bot.mail.imap_sync import sync_once
from bot.services import Services
from tests.fakes.dovecot import SENT_FOLDER, DovecotServer, ImapUser
from tests.fakes.sync_helpers import DOMAIN, Account, mail, write_config

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
INQUIRY = f"inquiry@{DOMAIN}"


def rows(services: Services) -> dict[str, Check]:
    return {c.name: c for c in migration_checks(services.config, services.db, timeout=10)}


def test_counts_per_folder_before_and_after_sync(dovecot: DovecotServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    user: ImapUser = dovecot.add_user()
    user.append_many([mail(i) for i in range(3)] + [mail(0)])  # the 4th repeats the 1st's Message-ID
    user.append_many([mail(i, tag="sent", sender=f"amy@{DOMAIN}", to="buyer@acme-trading.de") for i in range(2)],
                     folder=SENT_FOLDER)
    user.create_folder("Old 2019")
    user.append_many([mail(i, tag="old") for i in range(3)], folder="Old 2019")
    setup = write_config(tmp_path, [Account(INQUIRY, user)])
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    services = Services(load_config(setup.config), Clock(NOW))

    before = rows(services)
    assert before[INQUIRY].detail.endswith("login ok; sync reads INBOX, Sent Items")
    assert before[f"{INQUIRY} INBOX"].detail == "4 on the server, 0 archived, 4 not fetched yet"
    assert before[f"{INQUIRY} Sent Items"].status == "warn"
    other = before[f"{INQUIRY} other folders"]
    assert (other.status, other.detail) == ("warn", "mail that sync does not read: Old 2019 (3)")
    assert other.fix == 'to archive it, set [mailboxes.imap] folders = ["INBOX", "Sent Items", "Old 2019"]'

    sync_once(services.archive, services.clock, sync_targets(services.config))
    user.append_many([mail(i, tag="later") for i in range(2)])
    middle = rows(services)
    assert middle[f"{INQUIRY} INBOX"].detail == "6 on the server, 3 archived, 2 not fetched yet"
    assert middle[f"{INQUIRY} Sent Items"].detail == "2 on the server, 2 archived: complete"
    assert middle[f"{INQUIRY} Sent Items"].status == "ok"

    sync_once(services.archive, services.clock, sync_targets(services.config))
    with user.connect() as box:  # a message deleted on the server stays in the archive
        box.folder.set(SENT_FOLDER)
        box.delete([next(iter(box.uids()))])
    after = rows(services)
    inbox = after[f"{INQUIRY} INBOX"]
    assert inbox.status == "warn"
    assert inbox.detail == ("6 on the server, 5 archived: 1 fetched but not archived under this folder "
                            "(duplicates by Message-ID are stored once)")
    assert after[f"{INQUIRY} Sent Items"].detail == \
        "1 on the server, 2 archived (1 deleted on the server since; the archive keeps them)"
    # nothing was marked read: doctor only looks
    assert all("\\Seen" not in flags for flags in user.flags().values())
    services.db.conn.close()


def test_a_failed_login_is_one_fail_row(dovecot: DovecotServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    user = dovecot.add_user()
    setup = write_config(tmp_path, [Account(INQUIRY, user, password="wrong")])
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    config = load_config(setup.config)
    services = Services(config, Clock(NOW))
    checks = list(migration_checks(config, services.db, timeout=10))
    assert len(checks) == 1 and checks[0].status == "fail"
    assert f"login failed for '{user.name}'" in checks[0].detail and "\n" not in checks[0].detail
    services.db.conn.close()
