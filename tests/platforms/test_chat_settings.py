"""Platform settings from the environment, request verification helpers, and the HTTP server's edges."""

import http.client
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.chat.adapters import slack, telegram
from bot.chat.settings import DEFAULT_SLACK_COMMANDS, PlatformSettings
from bot.chat.web import DEFAULT_LIMITS, Limits, Routes, WebResponse, WebServer
from bot.core.errors import ConfigError
from tests.fakes.chat_helpers import http as request
from tests.fakes.chat_helpers import slack_headers

ROOT = Path(__file__).resolve().parents[2]
ALL_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "SLACK_COMMANDS",
            "SLACK_MODE", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_API_URL",
            "WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_API_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)


def test_nothing_configured_means_no_platform() -> None:
    assert PlatformSettings().enabled == []


def test_platforms_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-secret-value")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:telegram-secret-value")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "tg_Value-1")
    for name, value in (("WECOM_CORP_ID", "ww1"), ("WECOM_AGENT_ID", "1000002"), ("WECOM_SECRET", "wecom-secret-value"),
                        ("WECOM_TOKEN", "tok"), ("WECOM_AES_KEY", "a" * 43), ("WECOM_API_URL", "https://wecom.internal")):
        monkeypatch.setenv(name, value)
    settings = PlatformSettings()
    assert settings.enabled == ["slack", "telegram", "wecom"]
    assert settings.slack_socket_mode and settings.telegram_webhook_mode
    assert settings.wecom_agent_id == 1000002 and settings.wecom_api_url == "https://wecom.internal"
    shown = repr(settings) + "\n".join(settings.describe())
    assert "secret-value" not in shown and "tg_Value" not in shown


def test_slack_http_mode_and_command_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_COMMANDS", '{"who": "owner", "/MailSearch": "/search"}')
    settings = PlatformSettings()
    assert settings.slack_enabled and not settings.slack_socket_mode
    assert settings.slack_commands == {"/who": "owner", "/mailsearch": "search"}


def test_slack_needs_a_way_in() -> None:
    assert not PlatformSettings(slack_bot_token="xoxb-1").slack_enabled  # neither app token nor signing secret


@pytest.mark.parametrize(("name", "value"), [("TELEGRAM_WEBHOOK_SECRET", "has space"),
                                             ("TELEGRAM_WEBHOOK_SECRET", "x" * 257),
                                             ("WECOM_AES_KEY", "short"), ("WECOM_AGENT_ID", "abc")])
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        PlatformSettings()


def test_slack_signature_verification_with_a_fixed_clock() -> None:
    body = "command=%2Fowner&text=acme"
    headers = slack_headers("sekrit", body, timestamp=1_700_000_000)
    assert slack.verify("sekrit", headers, body, now=1_700_000_100)
    assert not slack.verify("sekrit", headers, body, now=1_700_000_000 + 301)  # older than five minutes
    assert not slack.verify("other", headers, body, now=1_700_000_100)
    assert not slack.verify("sekrit", headers, body + "x", now=1_700_000_100)
    assert slack.verify("sekrit", slack_headers("sekrit", body), body)


def test_telegram_secret_token_check() -> None:
    assert telegram.verify_secret({"X-Telegram-Bot-Api-Secret-Token": "abc"}, "abc")
    assert not telegram.verify_secret({"X-Telegram-Bot-Api-Secret-Token": "abd"}, "abc")
    assert not telegram.verify_secret({}, "abc")
    assert not telegram.verify_secret({"X-Telegram-Bot-Api-Secret-Token": ""}, "")  # no secret configured: refuse


def test_web_server_edges() -> None:
    routes = Routes()
    routes.add("POST", "/echo", lambda request: WebResponse(200, request.body))
    routes.add("GET", "/boom", lambda request: 1 / 0)  # type: ignore[arg-type,return-value]
    server = WebServer(routes)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert request("POST", f"{base}/echo", b"hello") == (200, b"hello")
        assert request("GET", f"{base}/echo")[0] == 405
        assert request("GET", f"{base}/missing")[0] == 404
        assert request("GET", f"{base}/boom") == (500, b"internal error")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", "/echo")
        connection.putheader("Content-Length", str(DEFAULT_LIMITS.max_body + 1))
        connection.endheaders()  # the body is never sent: the server must answer from the header alone
        assert connection.getresponse().status == 413
        connection.close()
        started = time.monotonic()
    finally:
        server.stop()
    assert time.monotonic() - started < 2


def test_a_wsgi_app_mounts_under_a_prefix_behind_the_same_limits() -> None:
    """The hook for the read-only dashboard: `extra_apps` / `Routes.mount`."""
    seen: list[tuple[str, str]] = []

    def dashboard(environ: dict, start_response) -> list[bytes]:  # noqa: ANN001
        seen.append((environ["SCRIPT_NAME"], environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"dashboard"]

    routes = Routes()
    routes.mount("/dashboard/", dashboard)
    server = WebServer(routes, limits=Limits(max_body=100))
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert request("GET", f"{base}/dashboard/team/sales") == (200, b"dashboard")
        assert seen == [("/dashboard", "/team/sales")]
        assert request("GET", f"{base}/dashboard")[0] in (200, 308)
        assert request("POST", f"{base}/dashboard/x", b"y" * 101)[0] == 413  # waitress's cap, from Limits
        assert "* /dashboard/" in routes.paths()
    finally:
        server.stop()


def test_limits_from_the_environment() -> None:
    limits = Limits.from_env({"MAILROOM_HTTP_MAX_BODY": "2048", "MAILROOM_HTTP_REQUEST_TIMEOUT": "2.5"})
    assert (limits.max_body, limits.request_timeout, limits.threads) == (2048, 2.5, Limits().threads)
    with pytest.raises(ConfigError, match="MAILROOM_HTTP_THREADS"):
        Limits.from_env({"MAILROOM_HTTP_THREADS": "many"})


def test_slack_manifest_matches_what_the_adapter_handles() -> None:
    """Read line by line (no YAML dependency): commands, events, Socket Mode, interactivity, scopes."""
    lines = [line.split("#", 1)[0].strip() for line in
             (ROOT / "config" / "slack-manifest.yml").read_text(encoding="utf-8").splitlines()]
    commands = [line.split(":", 1)[1].strip() for line in lines if line.startswith("- command:")]
    assert sorted(commands) == sorted(DEFAULT_SLACK_COMMANDS)
    events = lines[lines.index("bot_events:") + 1:][:2]
    assert events == ["- app_mention", "- message.im"]
    assert "socket_mode_enabled: true" in lines and "is_enabled: true" in lines
    scopes = {line[2:] for line in lines[lines.index("bot:") + 1:] if line.startswith("- ")}
    assert {"chat:write", "commands", "app_mentions:read", "im:history"} <= scopes


def test_env_example_documents_every_variable() -> None:
    text = (ROOT / "config" / "env.example").read_text(encoding="utf-8")
    assert all(name in text for name in ALL_VARS)
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    assert "web: mailroom serve --port $PORT" in procfile and "worker: mailroom run --no-http" in procfile
