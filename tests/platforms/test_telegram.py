"""Telegram end to end: webhook updates over real HTTP in, a local fake Bot API (/bot<token>/<method>) out."""

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.chat.adapters.base import ChatBot
from bot.chat.adapters.telegram import TelegramChannel, callback_data
from bot.chat.platforms import Platforms
from bot.chat.settings import PlatformSettings
from bot.chat.web import WebServer
from bot.core.reply import Button, Reply, bullets
from bot.outbox import DeliveryError, Destination
from bot.scheduler import run_scheduler_once
from bot.services import Services
from tests.fakes.chat_helpers import (
    Answer,
    FakeApi,
    http,
    telegram_callback,
    telegram_message,
    telegram_responder,
)

TOKEN = "123456:TEST-token_abc"
WEBHOOK_SECRET = "s3cr3t_Token-1"


@dataclass
class TelegramRig:
    api: FakeApi
    server: WebServer
    bot: ChatBot
    platforms: Platforms

    def post(self, update: dict, secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        url = f"http://127.0.0.1:{self.server.port}/telegram/webhook"
        return http("POST", url, json.dumps(update), headers)[0]

    def sent(self) -> list[dict]:
        """What was sent, once every update posted so far has been processed (the webhook answers first)."""
        assert self.platforms.telegram is not None and self.platforms.telegram.drain()
        return [c.payload() for c in self.api.to("/sendMessage")]


@pytest.fixture
def telegram(demo_services: Services) -> Iterator[TelegramRig]:
    api = FakeApi(telegram_responder)
    settings = PlatformSettings(telegram_bot_token=TOKEN, telegram_webhook_secret=WEBHOOK_SECRET,
                                telegram_api_url=api.url)
    bot = ChatBot(demo_services)
    platforms = Platforms(bot, settings, listen=False)
    platforms.start()
    server = WebServer(platforms.routes())
    server.start()
    yield TelegramRig(api, server, bot, platforms)
    server.stop()
    platforms.stop()
    api.stop()


def test_bot_api_is_called_at_the_local_base_url(telegram: TelegramRig) -> None:
    (call,) = telegram.api.to("/getMe")
    assert call.path == f"/bot{TOKEN}/getMe"


def test_command_in_private_chat_answers_with_owner(telegram: TelegramRig) -> None:
    assert telegram.post(telegram_message("/owner acme", user=100003)) == 200
    (sent,) = telegram.sent()
    assert int(sent["chat_id"]) == 100003
    assert sent["parse_mode"] == "HTML"
    assert "Amy Zhang" in sent["text"]


def test_command_addressed_to_our_bot_in_a_group(telegram: TelegramRig) -> None:
    assert telegram.post(telegram_message("/owner@MailroomBot acme", user=100003, chat=-1001001)) == 200
    assert telegram.post(telegram_message("/owner@OtherBot acme", user=100003, chat=-1001001, update_id=2)) == 200
    assert telegram.post(telegram_message("chatting about acme", user=100003, chat=-1001001, update_id=3)) == 200
    answer, pointer = telegram.sent()
    assert int(answer["chat_id"]) == 100003 and "Amy Zhang" in answer["text"]  # the asker's private chat
    assert int(pointer["chat_id"]) == -1001001 and "private chat" in pointer["text"]
    assert "Amy Zhang" not in pointer["text"]


def test_unknown_telegram_user_is_refused_politely(telegram: TelegramRig) -> None:
    assert telegram.post(telegram_message("/owner acme", user=999999)) == 200
    (sent,) = telegram.sent()
    assert "don't know you yet" in sent["text"]


def test_button_press_runs_its_command_as_the_presser(telegram: TelegramRig) -> None:
    data, key = callback_data("/owner acme")
    assert key is None
    assert telegram.post(telegram_callback(data, user=100002)) == 200
    (sent,) = telegram.sent()
    assert telegram.api.to("/answerCallbackQuery")
    assert int(sent["chat_id"]) == 100002
    assert "Amy Zhang" in sent["text"]


def test_long_button_command_goes_through_the_stored_key(telegram: TelegramRig) -> None:
    command = "/owner acme " + "x" * 80
    data, key = callback_data(command)
    assert key is not None and len(data.encode()) <= 64
    telegram.bot.store.remember_callbacks({key: "/owner acme"})
    assert telegram.post(telegram_callback(data, user=100002)) == 200
    (sent,) = telegram.sent()
    assert "Amy Zhang" in sent["text"]


def test_expired_button_key_says_so(telegram: TelegramRig) -> None:
    assert telegram.post(telegram_callback("k:unknownkey000000", user=100002)) == 200
    (sent,) = telegram.sent()
    assert "expired" in sent["text"]


def test_duplicate_update_is_acted_on_once(telegram: TelegramRig) -> None:
    update = telegram_message("/help", user=100003, update_id=77)
    assert telegram.post(update) == 200
    assert telegram.post(update) == 200
    assert len(telegram.sent()) == 1


@pytest.mark.parametrize("secret", ["wrong-secret", None, ""])
def test_wrong_secret_token_gets_403_and_nothing_runs(telegram: TelegramRig, secret: str | None) -> None:
    assert telegram.post(telegram_message("/owner acme", user=100003, update_id=9), secret=secret) == 403
    assert telegram.sent() == []
    assert telegram.bot.store.claim("telegram", "9")  # the update was never claimed


def test_polling_mode_reads_updates_from_get_updates(demo_services: Services) -> None:
    api = FakeApi(telegram_responder)
    update = telegram_message("/owner acme", user=100003, update_id=500)
    api.queue(f"/bot{TOKEN}/getUpdates", Answer(body={"ok": True, "result": [update]}))
    settings = PlatformSettings(telegram_bot_token=TOKEN, telegram_api_url=api.url)
    platforms = Platforms(ChatBot(demo_services), settings, listen=True)
    try:
        platforms.start()
        (call,) = api.wait_for("/sendMessage")
        assert "Amy Zhang" in call.payload()["text"]
        assert "/telegram/webhook" not in " ".join(platforms.routes().paths())
    finally:
        platforms.stop()
        api.stop()


# ── SLA alerts through the outbox ─────────────────────────────────────────────────────────────
def _markup(sent: dict) -> dict:
    markup = sent.get("reply_markup") or "{}"
    return json.loads(markup) if isinstance(markup, str) else markup


def test_sla_alerts_reach_the_group_and_the_ack_button_works(telegram: TelegramRig) -> None:
    channel = TelegramChannel(telegram.platforms.telegram)
    report = run_scheduler_once(telegram.bot.services, [channel])
    assert report.delivery.failed == 0 and report.delivery.sent > 0
    sent = telegram.sent()
    group = [s for s in sent if int(s["chat_id"]) == -1001001 and "breached" in s["text"] and "Huatong" in s["text"]]
    assert len(group) == 1
    data = [b["callback_data"] for row in _markup(group[0])["inline_keyboard"] for b in row]
    item = data[0].split()[-1]
    assert data == [f"c:/sla ack {item}", f"c:/sla snooze {item} 4h"]
    assert any(int(s["chat_id"]) == 100002 for s in sent)  # Amy's warning in her private chat
    assert report.delivery.skipped > 0  # merch has no Telegram group: skipped, not retried

    assert telegram.post(telegram_callback(data[0], user=100002, update_id=900)) == 200
    assert f"#{item} acknowledged by Amy Zhang" in telegram.sent()[-1]["text"]
    assert run_scheduler_once(telegram.bot.services, [channel]).delivery.sent == 0


def test_telegram_429_becomes_a_retryable_delivery_error(telegram: TelegramRig) -> None:
    channel = TelegramChannel(telegram.platforms.telegram)
    telegram.api.queue(f"/bot{TOKEN}/sendMessage", Answer(429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7}}))
    with pytest.raises(DeliveryError) as caught:
        channel.send(Destination("team", None, "sales"), Reply(command="t", text="hi"), idempotency_key="t-429")
    assert caught.value.retry_after == 7
    channel.send(Destination("team", None, "sales"), Reply(command="t", text="hi"), idempotency_key="t-429")
    channel.send(Destination("team", None, "sales"), Reply(command="t", text="hi"), idempotency_key="t-429")
    assert len(telegram.sent()) == 2  # the refused call and the one that went through; the third was dropped


def test_long_reply_is_split_and_the_keyboard_rides_on_the_last_part(telegram: TelegramRig) -> None:
    adapter = telegram.platforms.telegram
    assert adapter is not None
    reply = Reply(command="search", blocks=[bullets([f"message {i}: " + "阀门 valve " * 12 for i in range(150)])],
                  buttons=[Button(label="More", command="/search more")])
    adapter.call(adapter.deliver(100002, reply))
    sent = telegram.sent()
    assert len(sent) >= 3
    assert all(len(s["text"]) <= 4096 for s in sent)
    assert [("reply_markup" in s) for s in sent] == [False] * (len(sent) - 1) + [True]
    assert "message 0:" in sent[0]["text"] and "message 149:" in sent[-1]["text"]


def test_webhook_is_registered_with_its_secret_when_a_url_is_given(demo_services: Services) -> None:
    api = FakeApi(telegram_responder)
    settings = PlatformSettings(telegram_bot_token=TOKEN, telegram_webhook_secret=WEBHOOK_SECRET,
                                telegram_webhook_url="https://mailroom.example.com/telegram/webhook",
                                telegram_api_url=api.url)
    platforms = Platforms(ChatBot(demo_services), settings, listen=True)
    try:
        platforms.start()
        (call,) = api.to("/setWebhook")
        sent = call.payload()
        assert sent["url"] == "https://mailroom.example.com/telegram/webhook"
        assert sent["secret_token"] == WEBHOOK_SECRET
        assert api.to("/getUpdates") == []  # webhook mode never polls
    finally:
        platforms.stop()
        api.stop()
