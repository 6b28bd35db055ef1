"""Every environment variable is checked at start: one line naming it, exit 2 when unusable (issue 17 item 5)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.settings import environment_warnings, load_platform_settings
from bot.core.config import load_config
from bot.core.errors import ConfigError
from bot.demo.files import write_starter
from tests.conftest import ROOT

PLATFORM_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "SLACK_COMMANDS",
                 "SLACK_MODE", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_URL",
                 "TELEGRAM_API_URL", "WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY",
                 "WECOM_API_URL", "PORT", "MAILROOM_NOW")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PLATFORM_VARS:
        monkeypatch.delenv(name, raising=False)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARS}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_COMMANDS": '{"/owner": "owner",'},
         'environment: SLACK_COMMANDS: not valid JSON (expected e.g. {"/owner":"owner","/sla":"sla"})'),
        ({"SLACK_COMMANDS": '["/owner"]'}, "environment: SLACK_COMMANDS: must be a JSON object"),
        ({"SLACK_COMMANDS": '{"/who is": "owner"}'}, "environment: SLACK_COMMANDS: '/who is' is not a slash command"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "environment: slack: SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN (Socket Mode) "
                                        "or SLACK_SIGNING_SECRET (HTTP mode) is missing"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "environment: slack: SLACK_APP_TOKEN set but SLACK_BOT_TOKEN (xoxb-…) is missing"),
        ({"SLACK_BOT_TOKEN": "xapp-1", "SLACK_APP_TOKEN": "xoxb-1"},
         "environment: SLACK_BOT_TOKEN: holds a xapp-… token; it takes the xoxb-… one"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_MODE": "http"},
         "environment: SLACK_MODE=http needs SLACK_SIGNING_SECRET"),
        ({"SLACK_MODE": "websocket"}, "environment: SLACK_MODE: Input should be 'socket' or 'http'"),
        ({"SLACK_API_URL": "slack.internal"}, "environment: SLACK_API_URL: 'slack.internal' is not an http(s):// URL"),
        ({"WECOM_CORP_ID": "ww1"}, "environment: wecom: WECOM_CORP_ID set but WECOM_AGENT_ID, WECOM_SECRET, "
                                   "WECOM_TOKEN, WECOM_AES_KEY missing"),
        ({"WECOM_AGENT_ID": "abc"}, "environment: WECOM_AGENT_ID: Input should be a valid integer"),
        ({"TELEGRAM_WEBHOOK_SECRET": "abc"}, "environment: telegram: TELEGRAM_WEBHOOK_SECRET set but "
                                             "TELEGRAM_BOT_TOKEN is missing"),
        ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://bot.example/telegram/webhook"},
         "environment: telegram: TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is missing"),
    ],
)
def test_each_unusable_variable_is_one_line(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                            expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_platform_settings()
    assert any(line.startswith(expected) for line in info.value.problems), info.value.problems
    assert all("\n" not in line for line in info.value.problems)


def test_complete_credentials_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_APP_TOKEN", "xapp-1"), ("TELEGRAM_BOT_TOKEN", "1:x"),
                        ("WECOM_CORP_ID", "ww1"), ("WECOM_AGENT_ID", "1000002"), ("WECOM_SECRET", "s"),
                        ("WECOM_TOKEN", "t"), ("WECOM_AES_KEY", "a" * 43),
                        ("SLACK_COMMANDS", '{"/who": "owner", "mailsearch": "search"}')):
        monkeypatch.setenv(name, value)
    settings = load_platform_settings()
    assert settings.enabled == ["slack", "telegram", "wecom"]
    assert settings.slack_commands == {"/who": "owner", "/mailsearch": "search"}


def test_variables_the_config_names_are_warned_about(tmp_path: Path) -> None:
    path = write_starter(tmp_path / "mailroom.toml")[0]
    text = path.read_text(encoding="utf-8")
    text = text.replace('channels = { slack = "C0MERCH" }',
                        'channels = { slack = "C0MERCH", wecom_robot_key_env = "WECOM_ROBOT_MERCH" }')
    text = text.replace('sla = "inquiry"', 'sla = "inquiry"\nimap = { host = "imap.example", username = "inquiry", '
                        'password_env = "IMAP_PASSWORD_INQUIRY" }', 1)
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    settings = load_platform_settings(wecom_corp_id="ww1", wecom_agent_id=1, wecom_secret="s", wecom_token="t",
                                      wecom_aes_key="a" * 43)
    lines = environment_warnings(config, settings, environ={})
    assert lines == [
        "environment: IMAP_PASSWORD_INQUIRY (mailboxes.0.imap.password_env) is not set: inquiry@hengda-valves.com "
        "will not sync",
        "environment: WECOM_ROBOT_MERCH (teams.1.channels.wecom_robot_key_env) is not set: alerts to team merch's "
        "WeCom group robot cannot be delivered",
    ]
    assert environment_warnings(config, settings, sync=False, environ={"WECOM_ROBOT_MERCH": "k"}) == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_COMMANDS": "{not json"}, "environment: SLACK_COMMANDS: not valid JSON"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) is missing"),
        ({"WECOM_CORP_ID": "ww1"}, "environment: wecom: WECOM_CORP_ID set but"),
    ],
)
@pytest.mark.parametrize("command", ["run", "serve"])
def test_run_and_serve_exit_2_with_one_line(tmp_path: Path, env: dict[str, str], expected: str, command: str) -> None:
    path = write_starter(tmp_path / "mailroom.toml")[0]
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(path), command, "--port", "0"],
                            capture_output=True, text=True, timeout=60, env=clean_env(**env), stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "mailroom.db").exists()  # stopped before anything was opened


def test_port_variable_is_checked(tmp_path: Path) -> None:
    path = write_starter(tmp_path / "mailroom.toml")[0]
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(path), "serve"],
                            capture_output=True, text=True, timeout=60, env=clean_env(PORT="eighty"))
    assert result.returncode == 2 and "'eighty' is not a valid integer" in result.stderr
    assert "Traceback" not in result.stderr
