"""OAuth2 (XOAUTH2) login against a real Dovecot whose oauth2 passdb asks a local token service: sync and
doctor work with `provider = "outlook"` (which refuses passwords), tokens are refreshed and cached, and each
failure is one line."""

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.core.config import load_config
from bot.core.errors import ConfigError, SyncError
from bot.doctor.migration import migration_checks
from bot.mail.imap_connect import close_quietly, connect, describe, sync_targets
from bot.mail.imap_sync import sync_once
from bot.mail.oauth import forget_tokens
from bot.services import Services
from tests.fakes.dovecot import DovecotServer, ImapUser
from tests.fakes.oauth_server import FakeOAuth, oauth_dovecot
from tests.fakes.sync_helpers import mail

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SUPPORT = "support@t.example"
CLIENT = "mailroom-app"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOAuth]:
    with FakeOAuth() as server:
        yield server


@pytest.fixture(scope="module")
def dovecot(fake: FakeOAuth) -> Iterator[DovecotServer]:
    root = Path(tempfile.mkdtemp(prefix="mailroom-dovecot-oauth-"))
    root.chmod(0o755)
    server = oauth_dovecot(root, fake)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    forget_tokens()
    yield
    forget_tokens()


def write(tmp_path: Path, user: ImapUser, port: int, token_url: str, extra: str = "") -> Path:
    path = tmp_path / "mailroom.toml"
    path.write_text(
        '[organization]\nname = "T"\ndomains = ["t.example"]\n'
        f'[[mailboxes]]\naddress = "{SUPPORT}"\nrole = "support"\n'
        f'[mailboxes.imap]\nprovider = "outlook"\nhost = "127.0.0.1"\nport = {port}\nssl = false\n'
        f'username = "{user.name}"\n'
        f'[mailboxes.imap.oauth2]\nclient_id = "{CLIENT}"\nrefresh_token_env = "MAILROOM_TEST_RT"\n'
        f'token_url = "{token_url}"\n{extra}', encoding="utf-8")
    return path


@pytest.fixture
def account(dovecot: DovecotServer, fake: FakeOAuth, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> tuple[ImapUser, Path]:
    user = dovecot.add_user()
    fake.grant(CLIENT, f"rt-{user.name}", user.name)
    monkeypatch.setenv("MAILROOM_TEST_RT", f"rt-{user.name}")
    return user, write(tmp_path, user, dovecot.port, f"{fake.url}/token")


def test_sync_and_doctor_over_xoauth2(account: tuple[ImapUser, Path], fake: FakeOAuth,
                                      dovecot: DovecotServer) -> None:
    user, path = account
    user.append_many([mail(i) for i in range(3)])
    requests_before = len(fake.token_requests)
    services = Services(load_config(path), Clock(NOW))
    (result,) = sync_once(services.archive, services.clock, sync_targets(services.config))
    assert result.error is None and result.new == 3
    checks = {c.name: c for c in migration_checks(services.config, services.db, timeout=10)}
    assert checks[SUPPORT].status == "ok" and "login ok" in checks[SUPPORT].detail
    assert checks[f"{SUPPORT} INBOX"].detail == "3 on the server, 3 archived: complete"
    # one refresh for both logins (the access token is cached), with Microsoft's IMAP scope from the preset
    (request,) = fake.token_requests[requests_before:]
    assert request == {"grant_type": "refresh_token", "refresh_token": f"rt-{user.name}", "client_id": CLIENT,
                       "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"}
    log = (dovecot.root / "dovecot.log").read_text(errors="replace")
    assert log.count(f"Login: user=<{user.name}>, method=XOAUTH2") == 2  # sync and doctor (PLAIN: the test's APPEND)
    services.db.conn.close()


def test_a_refused_refresh_token_is_one_line(account: tuple[ImapUser, Path], fake: FakeOAuth,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _, path = account
    monkeypatch.setenv("MAILROOM_TEST_RT", "rt-stolen")
    (target,) = sync_targets(load_config(path))
    with pytest.raises(SyncError) as info:
        connect(target, timeout=10)
    assert str(info.value) == (f"OAuth2 token endpoint {fake.url}/token refused the refresh token: "
                               "HTTP 400 invalid_grant: refresh token expired or revoked")


def test_a_revoked_access_token_is_refused_then_refreshed(account: tuple[ImapUser, Path], fake: FakeOAuth) -> None:
    _, path = account
    (target,) = sync_targets(load_config(path))
    close_quietly(connect(target, timeout=10))
    fake.revoked.update(fake.tokens)  # the server stops accepting every token issued so far
    with pytest.raises(Exception) as info:  # noqa: PT011 - imaplib's bare error: describe() names it
        connect(target, timeout=10)
    line = describe(info.value, target)
    assert line.startswith(f"XOAUTH2 login refused for '{target.imap.username}': ") and "oauth2.scope" in line
    close_quietly(connect(target, timeout=10))  # describe() dropped the cached token: a fresh one works


def test_oauth_config_rules(account: tuple[ImapUser, Path], dovecot: DovecotServer, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    user, path = account
    imap = load_config(path).mailboxes[0].imap
    assert imap is not None and imap.password_env == "" and imap.oauth2 is not None  # no password needed
    text = path.read_text().replace('provider = "outlook"\n', "")
    no_url = text.replace(f'token_url = "{imap.oauth2.token_url}"\n', "")
    path.write_text(no_url)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].endswith("mailboxes.0.imap.oauth2: token_url missing: set it to your "
                                           "provider's OAuth2 token endpoint")
    path.write_text(text.replace(imap.oauth2.token_url, "http://login.example/token"))
    (target,) = sync_targets(load_config(path))
    with pytest.raises(SyncError, match="must use https"):
        connect(target, timeout=10)
    monkeypatch.delenv("MAILROOM_TEST_RT")
    path.write_text(text)
    (target,) = sync_targets(load_config(path))
    with pytest.raises(SyncError, match=r"MAILROOM_TEST_RT \(oauth2.refresh_token_env\) is not set"):
        connect(target, timeout=10)
