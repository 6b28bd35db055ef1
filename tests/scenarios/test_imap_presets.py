"""`[mailboxes.imap] provider = …` fills host, port and TLS (explicit keys win); a failed login says the
provider's rule in one line; Microsoft 365 is refused before any password is sent."""

from pathlib import Path

import pytest

from bot.core.config import IMAP_PRESETS, load_config
from bot.core.errors import ConfigError, SyncError
from bot.mail.imap_connect import connect, describe, sync_targets
from bot.mail.providers import PROVIDERS
from tests.fakes.dovecot import DovecotServer

BASE = '[organization]\nname = "T"\ndomains = ["t.example"]\n[[mailboxes]]\naddress = "order@t.example"\n'


def config_with(tmp_path: Path, imap: str) -> Path:
    path = tmp_path / "mailroom.toml"
    path.write_text(BASE + "[mailboxes.imap]\n" + imap + 'username = "order@t.example"\npassword_env = "PW"\n')
    return path


def test_every_preset_has_its_provider_rules() -> None:
    assert set(IMAP_PRESETS) == set(PROVIDERS)
    for provider in PROVIDERS.values():
        assert provider.login_rule and provider.mfa_setting


@pytest.mark.parametrize(("name", "host"), [("exmail", "imap.exmail.qq.com"), ("aliyun", "imap.qiye.aliyun.com"),
                                             ("netease", "imap.qiye.163.com"), ("zoho", "imappro.zoho.com"),
                                             ("zoho-cn", "imappro.zoho.com.cn"), ("gmail", "imap.gmail.com"),
                                             ("outlook", "outlook.office365.com"), ("qq", "imap.qq.com")])
def test_provider_fills_host_port_and_tls(tmp_path: Path, name: str, host: str) -> None:
    imap = load_config(config_with(tmp_path, f'provider = "{name}"\n')).mailboxes[0].imap
    assert imap is not None
    assert (imap.host, imap.port, imap.ssl, imap.starttls, imap.provider) == (host, 993, True, False, name)


def test_explicit_keys_win(tmp_path: Path) -> None:
    imap = load_config(config_with(tmp_path, 'provider = "exmail"\nhost = "127.0.0.1"\nport = 1143\nssl = false\n'
                                   )).mailboxes[0].imap
    assert imap is not None and (imap.host, imap.port, imap.ssl) == ("127.0.0.1", 1143, False)


def test_unknown_provider_and_missing_host_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_with(tmp_path, 'provider = "yahoo"\n'))
    (line,) = info.value.problems
    assert "mailboxes.0.imap.provider: Input should be 'exmail', 'aliyun'" in line
    with pytest.raises(ConfigError) as info:
        load_config(config_with(tmp_path, ""))
    assert [p.split(": ", 1)[1] for p in info.value.problems] == ["mailboxes.0.imap.host: missing (required)"]


def test_microsoft_365_is_refused_before_any_password_is_sent(tmp_path: Path) -> None:
    (target,) = sync_targets(load_config(config_with(tmp_path, 'provider = "outlook"\n')))
    with pytest.raises(SyncError) as info:
        connect(target)
    assert "refuses password (basic) login" in str(info.value) and "[mailboxes.imap.oauth2]" in str(info.value)


def test_failed_login_explains_the_providers_rule(dovecot: DovecotServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    user = dovecot.add_user()
    path = config_with(tmp_path, f'provider = "exmail"\nhost = "127.0.0.1"\nport = {dovecot.port}\nssl = false\n')
    path.write_text(path.read_text().replace('username = "order@t.example"', f'username = "{user.name}"'))
    monkeypatch.setenv("PW", "the-web-password")
    (target,) = sync_targets(load_config(path))
    with pytest.raises(Exception) as info:  # noqa: PT011 - whatever the server said, describe() names it
        connect(target, timeout=10)
    line = describe(info.value, target)
    assert line.startswith(f"login failed for '{user.name}': ")
    assert line.endswith("; 腾讯企业邮 (Tencent Exmail): " + PROVIDERS["exmail"].login_rule)
    assert "客户端专用密码" in line and "\n" not in line
