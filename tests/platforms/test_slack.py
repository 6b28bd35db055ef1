"""Slack end to end over real HTTP: signed requests into `Platforms.routes()`, a local fake Web API out."""

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pytest

from bot.chat.adapters.base import ChatBot, UndeliverableError
from bot.chat.adapters.slack import RateLimitRetry, SlackChannel, make_client
from bot.chat.platforms import Platforms
from bot.chat.settings import PlatformSettings
from bot.chat.web import WebServer
from bot.core.reply import Reply
from bot.outbox import DeliveryError, Destination
from bot.scheduler import run_scheduler_once
from bot.services import Services
from tests.fakes.chat_helpers import (
    Answer,
    Call,
    FakeApi,
    FakeSocketMode,
    app_mention,
    block_action,
    http,
    slack_headers,
    slack_responder,
    slash_command,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class SlackRig:
    api: FakeApi
    server: WebServer
    bot: ChatBot
    executor: ThreadPoolExecutor
    settings: PlatformSettings
    platforms: Platforms | None = None

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    def post(self, body: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return http("POST", self.events_url, body, headers or slack_headers(SECRET, body))

    def drain(self) -> None:
        """Wait until every request was handed to Bolt, then every lazy listener has finished."""
        if self.platforms is not None and self.platforms.slack is not None:
            assert self.platforms.slack.drain()
        self.executor.shutdown(wait=True)

    def claims(self) -> int:
        return self.bot.services.db.execute("SELECT count(*) FROM chat_deliveries WHERE platform = 'slack'").fetchone()[0]


@pytest.fixture
def slack(demo_services: Services) -> Iterator[SlackRig]:
    api = FakeApi(slack_responder)
    settings = PlatformSettings(slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                                slack_api_url=f"{api.url}/api/", slack_mode="http")
    executor = ThreadPoolExecutor(max_workers=4)
    bot = ChatBot(demo_services)
    platforms = Platforms(bot, settings, listen=False, executor=executor)
    server = WebServer(platforms.routes())
    server.start()
    yield SlackRig(api, server, bot, executor, settings, platforms)
    server.stop()
    executor.shutdown(wait=True)
    api.stop()


def test_app_checks_its_token_with_auth_test(slack: SlackRig) -> None:
    assert slack.api.to("/api/auth.test")


def test_slash_command_answers_through_response_url(slack: SlackRig) -> None:
    body = slash_command("/owner", "acme", user="U0LI", response_url=f"{slack.api.url}/respond/1")
    status, _ = slack.post(body)
    assert status == 200
    (call,) = slack.api.wait_for("/respond/1")
    payload = call.json
    assert "Amy Zhang" in payload["text"]
    assert payload["response_type"] == "ephemeral"
    assert any(b["type"] in ("section", "header") for b in payload["blocks"])


def test_configured_command_name_maps_to_mailroom_command(slack: SlackRig) -> None:
    body = slash_command("/mailsearch", "", user="U0LI", response_url=f"{slack.api.url}/respond/s")
    assert slack.post(body)[0] == 200
    (call,) = slack.api.wait_for("/respond/s")
    assert "I don't know" not in call.json["text"]  # /mailsearch reached the search command


def test_unknown_slack_user_is_refused_politely(slack: SlackRig) -> None:
    body = slash_command("/owner", "acme", user="U0STRANGER", response_url=f"{slack.api.url}/respond/2")
    assert slack.post(body)[0] == 200
    (call,) = slack.api.wait_for("/respond/2")
    assert "don't know you yet" in call.json["text"]
    assert "Amy Zhang" not in call.json["text"]


def test_button_press_runs_its_command_as_the_presser(slack: SlackRig) -> None:
    body = block_action("/owner acme", user="U0AMY", response_url=f"{slack.api.url}/respond/3")
    assert slack.post(body)[0] == 200
    (call,) = slack.api.wait_for("/respond/3")
    assert "Amy Zhang" in call.json["text"]
    assert call.json["replace_original"] is False


def test_mention_in_a_channel_answers_the_asker_alone_in_thread(slack: SlackRig) -> None:
    """The answer carries what the asker may read, so the channel does not see it: an ephemeral message."""
    body = app_mention("<@U0BOT> who owns acme?", user="U0LI")
    status, _ = slack.post(body, slack_headers(SECRET, body, content_type="application/json"))
    assert status == 200
    (call,) = slack.api.wait_for("/chat.postEphemeral")
    sent = call.payload()
    assert (sent["channel"], sent["user"], sent["thread_ts"]) == ("C0SALES", "U0LI", "1700000000.000300")
    assert "Amy Zhang" in sent["text"]
    slack.drain()
    assert slack.api.to("/chat.postMessage") == []


def test_event_retry_is_acted_on_once(slack: SlackRig) -> None:
    body = app_mention("<@U0BOT> /help", user="U0LI", event_id="Ev0RETRY")
    headers = slack_headers(SECRET, body, content_type="application/json")
    assert slack.post(body, headers)[0] == 200
    retry = {**slack_headers(SECRET, body, content_type="application/json"),
             "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert slack.post(body, retry)[0] == 200
    slack.drain()
    assert len(slack.api.to("/chat.postEphemeral")) == 1


@pytest.mark.parametrize("case", ["wrong secret", "stale", "tampered", "unsigned"])
def test_forged_or_stale_requests_are_rejected_with_nothing_run(slack: SlackRig, case: str) -> None:
    body = slash_command("/owner", "acme", user="U0AMY", response_url=f"{slack.api.url}/respond/x")
    if case == "wrong secret":
        headers = slack_headers("not-the-secret", body)
    elif case == "stale":
        headers = slack_headers(SECRET, body, timestamp=int(time.time()) - 600)
    elif case == "tampered":
        headers = slack_headers(SECRET, body)
        body = body.replace("acme", "mueller")
    else:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = slack.post(body, headers)
    assert status == 401
    slack.drain()
    assert slack.api.to("/respond/x") == []
    assert slack.claims() == 0


def test_url_verification_challenge(slack: SlackRig) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    status, answer = slack.post(body, slack_headers(SECRET, body, content_type="application/json"))
    assert status == 200
    assert b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in answer


# ── SLA alerts through the outbox ─────────────────────────────────────────────────────────────
def _channel(slack: SlackRig, slept: list[float]) -> SlackChannel:
    client = make_client(slack.settings, rate_limit=RateLimitRetry(sleep=slept.append))
    return SlackChannel(client, slack.bot)


def test_sla_alerts_go_out_with_buttons_and_the_ack_button_works(slack: SlackRig) -> None:
    services = slack.bot.services
    report = run_scheduler_once(services, [_channel(slack, [])])
    assert report.delivery.failed == 0 and report.delivery.sent > 0
    posts = [c.payload() for c in slack.api.to("/chat.postMessage")]
    breached = [p for p in posts if p["channel"] == "C0SALES" and "breached" in p["text"] and "Huatong" in p["text"]]
    assert len(breached) == 1
    blocks = json.loads(breached[0]["blocks"]) if isinstance(breached[0]["blocks"], str) else breached[0]["blocks"]
    values = [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    item = values[0].split()[-1]
    assert values == [f"/sla ack {item}", f"/sla snooze {item} 4h"]
    assert any(p["channel"] == "U0AMY" for p in posts)  # the owner's warning, as a DM

    body = block_action(values[0], user="U0AMY", response_url=f"{slack.api.url}/respond/ack")
    assert slack.post(body)[0] == 200
    (call,) = slack.api.wait_for("/respond/ack")
    assert f"#{item} acknowledged by Amy Zhang" in call.json["text"]

    again = run_scheduler_once(services, [_channel(slack, [])])
    assert again.delivery.sent == 0
    assert len(slack.api.to("/chat.postMessage")) == len(posts)


def test_short_429_is_waited_out_in_place(slack: SlackRig) -> None:
    slept: list[float] = []
    slack.api.queue("/api/chat.postMessage", Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"}))
    _channel(slack, slept).send(Destination("team", None, "sales"), Reply(command="t", text="hello"),
                                idempotency_key="k-short")
    assert slept == [2.0]
    assert len(slack.api.to("/chat.postMessage")) == 2


def test_long_429_goes_back_to_the_outbox_with_retry_after(slack: SlackRig) -> None:
    channel = _channel(slack, [])
    slack.api.queue("/api/chat.postMessage", Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "120"}))
    destination, reply = Destination("person", "li", None), Reply(command="t", text="hello")
    with pytest.raises(DeliveryError) as caught:
        channel.send(destination, reply, idempotency_key="k-long")
    assert caught.value.retry_after == 120
    channel.send(destination, reply, idempotency_key="k-long")
    channel.send(destination, reply, idempotency_key="k-long")  # already sent: the sent-keys table drops it
    assert [c.payload()["channel"] for c in slack.api.to("/chat.postMessage")] == ["U0LI", "U0LI"]


def test_destination_without_a_slack_id_is_undeliverable(slack: SlackRig) -> None:
    with pytest.raises(UndeliverableError):
        _channel(slack, []).send(Destination("person", "qiang", None), Reply(command="t", text="x"),
                                 idempotency_key="k-none")


# ── Socket Mode (the default): envelopes over a WebSocket, no public URL ─────────────────────
def test_socket_mode_command_and_event_retry(demo_services: Services) -> None:
    socket_mode = FakeSocketMode()

    def responder(call: Call) -> Answer:
        if call.path.endswith("/apps.connections.open"):
            assert call.headers["authorization"] == "Bearer xapp-1-test"
            return Answer(body={"ok": True, "url": socket_mode.url})
        return slack_responder(call)

    api = FakeApi(responder)
    settings = PlatformSettings(slack_bot_token="xoxb-test", slack_app_token="xapp-1-test",
                                slack_api_url=f"{api.url}/api/")
    platforms = Platforms(ChatBot(demo_services), settings, listen=True)
    try:
        assert settings.slack_socket_mode and "/slack/events" not in " ".join(platforms.routes().paths())
        platforms.start()
        assert socket_mode.connected.wait(10)
        command = dict(parse_qsl(slash_command("/help", "", user="U0AMY",
                                               response_url=f"{api.url}/respond/socket")))
        socket_mode.push({"envelope_id": "env-1", "type": "slash_commands", "payload": command,
                          "accepts_response_payload": True})
        (answer,) = api.wait_for("/respond/socket")
        assert "Mailroom commands" in answer.json["text"]
        event = json.loads(app_mention("<@U0BOT> /help", user="U0LI", event_id="Ev0SOCKET"))
        for attempt in (0, 1):  # Slack re-sends an unacked event as a new envelope with retry_attempt
            socket_mode.push({"envelope_id": f"env-ev-{attempt}", "type": "events_api", "payload": event,
                              "accepts_response_payload": False, "retry_attempt": attempt,
                              "retry_reason": "timeout" if attempt else ""})
        api.wait_for("/chat.postEphemeral")
        deadline = time.monotonic() + 10
        while len(socket_mode.acks) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert {a["envelope_id"] for a in socket_mode.acks} == {"env-1", "env-ev-0", "env-ev-1"}
    finally:
        platforms.stop()
        socket_mode.stop()
        api.stop()
    assert len(api.to("/chat.postEphemeral")) == 1  # the retried event was acted on once
