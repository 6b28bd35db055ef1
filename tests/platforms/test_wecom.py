"""WeCom end to end: encrypted, signed callbacks over real HTTP in; a local fake /cgi-bin/* API out."""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pytest

from bot.chat.adapters.base import ChatBot, UndeliverableError
from bot.chat.adapters.wecom import RobotSender, WecomAdapter, WecomApi, WecomApiError, WecomChannel
from bot.chat.adapters.wecom_crypto import WecomCrypto
from bot.chat.platforms import Platforms
from bot.chat.settings import PlatformSettings
from bot.chat.web import WebServer
from bot.core.reply import Reply
from bot.outbox import DeliveryError, Destination
from bot.scheduler import run_scheduler_once
from bot.services import Services
from tests.fakes.chat_helpers import (
    WECOM_AES_KEY,
    WECOM_CORP,
    WECOM_TOKEN,
    Answer,
    FakeApi,
    http,
    wecom_card_click_xml,
    wecom_post,
    wecom_responder,
    wecom_text_xml,
)


@dataclass
class WecomRig:
    api: FakeApi
    server: WebServer
    bot: ChatBot
    executor: ThreadPoolExecutor
    platforms: Platforms

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/wecom/callback"

    def post(self, query: str, body: bytes) -> tuple[int, bytes]:
        return http("POST", f"{self.url}?{query}", body, {"Content-Type": "text/xml"})

    def drain(self) -> None:
        self.executor.shutdown(wait=True)

    def sent(self) -> list[dict]:
        return [c.json for c in self.api.to("/cgi-bin/message/send")]


def wecom_settings(api_url: str) -> PlatformSettings:
    return PlatformSettings(wecom_corp_id=WECOM_CORP, wecom_agent_id=1000002, wecom_secret="corp-secret",
                            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_url=api_url)


@pytest.fixture
def wecom(demo_services: Services) -> Iterator[WecomRig]:
    api = FakeApi(wecom_responder)
    executor = ThreadPoolExecutor(max_workers=2)
    bot = ChatBot(demo_services)
    platforms = Platforms(bot, wecom_settings(api.url), listen=False, executor=executor)
    server = WebServer(platforms.routes())
    server.start()
    yield WecomRig(api, server, bot, executor, platforms)
    server.stop()
    executor.shutdown(wait=True)
    api.stop()


def test_url_verification_echoes_the_decrypted_echostr(wecom: WecomRig) -> None:
    crypto = WecomCrypto(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP)
    ts = str(int(time.time()))
    echostr, signature = crypto.seal("4975512851203375591", ts, "5556")
    query = f"msg_signature={signature}&timestamp={ts}&nonce=5556&echostr={echostr.replace('+', '%2B')}"
    status, body = http("GET", f"{wecom.url}?{query}")
    assert (status, body) == (200, b"4975512851203375591")


def test_text_command_is_answered_through_the_app_message_api(wecom: WecomRig) -> None:
    query, body = wecom_post(wecom_text_xml("/owner acme", user="LiWei"))
    assert wecom.post(query, body) == (200, b"")
    wecom.drain()
    (sent,) = wecom.sent()
    assert sent["touser"] == "LiWei"
    assert sent["msgtype"] == "markdown"
    assert sent["agentid"] == 1000002
    assert "Amy Zhang" in sent["markdown"]["content"]
    (token_call,) = wecom.api.to("/cgi-bin/gettoken")
    assert token_call.query == {"corpid": WECOM_CORP, "corpsecret": "corp-secret"}
    assert all(c.query["access_token"] == "ACCESS1" for c in wecom.api.to("/cgi-bin/message/send"))


def test_unknown_member_is_refused_politely(wecom: WecomRig) -> None:
    query, body = wecom_post(wecom_text_xml("/owner acme", user="Stranger"))
    assert wecom.post(query, body)[0] == 200
    wecom.drain()
    (sent,) = wecom.sent()
    assert "don't know you yet" in sent["markdown"]["content"]


def test_card_button_click_runs_its_command_as_the_clicker(wecom: WecomRig) -> None:
    query, body = wecom_post(wecom_card_click_xml("/owner acme", user="AmyZhang"))
    assert wecom.post(query, body)[0] == 200
    wecom.drain()
    (sent,) = wecom.sent()
    assert sent["touser"] == "AmyZhang"
    assert "Amy Zhang" in sent["markdown"]["content"]


def test_retried_message_is_acted_on_once(wecom: WecomRig) -> None:
    inner = wecom_text_xml("/help", user="LiWei", msg_id="7777")
    for nonce in ("1", "2"):  # WeCom's retry carries a new nonce and signature, the same MsgId
        query, body = wecom_post(inner, nonce=nonce)
        assert wecom.post(query, body)[0] == 200
    wecom.drain()
    # one answer (which may take several 2,048-byte messages), not two
    assert sum("Mailroom commands" in m["markdown"]["content"] for m in wecom.sent()) == 1


@pytest.mark.parametrize("case", ["forged signature", "wrong key", "stale", "tampered", "dtd"])
def test_forged_or_stale_callbacks_get_403_and_nothing_runs(wecom: WecomRig, case: str) -> None:
    inner = wecom_text_xml("/owner acme", user="LiWei", msg_id="666")
    if case == "forged signature":
        query, body = wecom_post(inner)
        params = dict(parse_qsl(query))
        query = query.replace(params["msg_signature"], "0" * 40)
    elif case == "wrong key":
        other = WecomCrypto(WECOM_TOKEN, "a" * 43, WECOM_CORP)
        query, body = wecom_post(inner, crypto=other)
    elif case == "stale":
        query, body = wecom_post(inner, timestamp=int(time.time()) - 3600)
    elif case == "tampered":
        query, body = wecom_post(inner)
        body = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
    else:  # entities are never expanded, not even before the signature check
        query, body = wecom_post(inner)
        body = b'<!DOCTYPE xml [<!ENTITY e "x">]>' + body
    status, _ = wecom.post(query, body)
    assert status == 403
    wecom.drain()
    assert wecom.sent() == []
    assert wecom.bot.store.claim("wecom", "msg:666")  # never claimed


def test_access_token_is_cached_and_refreshed_when_expired() -> None:
    api = FakeApi(wecom_responder)
    now = [1000.0]
    try:
        client = WecomApi(api.url, WECOM_CORP, "s", 1000002, monotonic=lambda: now[0])
        client.send_markdown("LiWei", "one")
        client.send_markdown("LiWei", "two")
        assert len(api.to("/gettoken")) == 1
        now[0] += 7200  # past expires_in
        client.send_markdown("LiWei", "three")
        assert len(api.to("/gettoken")) == 2
        # WeCom says the token expired early (42001): fetch a new one and retry once
        api.queue("/cgi-bin/message/send", Answer(body={"errcode": 42001, "errmsg": "access_token expired"}))
        client.send_markdown("LiWei", "four")
        assert len(api.to("/gettoken")) == 3
        assert [c.json["markdown"]["content"] for c in api.to("/message/send")][-1] == "four"
    finally:
        api.stop()


def test_errcode_with_http_200_is_an_error() -> None:
    api = FakeApi(wecom_responder)
    try:
        api.queue("/cgi-bin/message/send", Answer(body={"errcode": 81013, "errmsg": "user not found"}))
        with pytest.raises(WecomApiError) as caught:
            WecomApi(api.url, WECOM_CORP, "s", 1000002).send_markdown("Nobody", "x")
        assert caught.value.errcode == 81013
    finally:
        api.stop()


def test_group_robot_is_paced_to_one_message_per_three_seconds() -> None:
    api = FakeApi(wecom_responder)
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    try:
        robots = RobotSender(api.url, monotonic=lambda: clock[0], sleep=sleep)
        for i in range(4):
            robots.send_markdown("KEY1", f"alert {i}")
        robots.send_markdown("KEY2", "another robot is not held up")
        assert slept == [3.0, 3.0, 3.0]
        calls = api.to("/cgi-bin/webhook/send")
        assert [c.query["key"] for c in calls] == ["KEY1"] * 4 + ["KEY2"]
        assert calls[0].json == {"msgtype": "markdown", "markdown": {"content": "alert 0"}}
    finally:
        api.stop()


# ── SLA alerts through the outbox ─────────────────────────────────────────────────────────────
def _adapter(rig: WecomRig) -> WecomAdapter:
    assert rig.platforms.wecom is not None
    return rig.platforms.wecom


def test_sla_alerts_via_app_messages_and_group_robot(wecom: WecomRig) -> None:
    services = wecom.bot.services
    sales = next(t for t in services.config.teams if t.id == "sales")
    sales.channels.wecom_robot_key_env = "WECOM_SALES_ROBOT"
    clock, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    robots = RobotSender(wecom.api.url, monotonic=lambda: clock[0], sleep=sleep)
    channel = WecomChannel(_adapter(wecom), robots, environ={"WECOM_SALES_ROBOT": "ROBOT-KEY"})
    report = run_scheduler_once(services, [channel])
    assert report.delivery.failed == 0 and report.delivery.sent > 0

    robot_calls = wecom.api.to("/cgi-bin/webhook/send")
    assert {c.query["key"] for c in robot_calls} == {"ROBOT-KEY"}
    assert len(robot_calls) >= 2
    assert slept == [3.0] * (len(robot_calls) - 1)  # paced: one message per 3 s per robot
    assert all(len(c.json["markdown"]["content"].encode()) <= 4096 for c in robot_calls)
    assert any("breached" in c.json["markdown"]["content"] for c in robot_calls)

    to_amy = [m for m in wecom.sent() if m["touser"] == "AmyZhang"]
    card = next(m["template_card"] for m in to_amy if m["msgtype"] == "template_card")
    keys = [b["key"] for b in card["button_list"]]
    item = keys[0].split()[-1]
    assert keys == [f"/sla ack {item}", f"/sla snooze {item} 4h"]

    query, body = wecom_post(wecom_card_click_xml(keys[0], user="AmyZhang", task_id=card["task_id"]))
    assert wecom.post(query, body)[0] == 200
    wecom.drain()
    assert f"#{item} acknowledged by Amy Zhang" in wecom.sent()[-1]["markdown"]["content"]
    assert run_scheduler_once(services, [channel]).delivery.sent == 0


def test_robot_over_its_limit_is_retried_later(wecom: WecomRig) -> None:
    services = wecom.bot.services
    next(t for t in services.config.teams if t.id == "sales").channels.wecom_robot_key_env = "WECOM_SALES_ROBOT"
    robots = RobotSender(wecom.api.url, sleep=lambda s: None)
    channel = WecomChannel(_adapter(wecom), robots, environ={"WECOM_SALES_ROBOT": "ROBOT-KEY"})
    wecom.api.queue("/cgi-bin/webhook/send", Answer(body={"errcode": 130101, "errmsg": "send too frequently"}))
    with pytest.raises(DeliveryError) as caught:
        channel.send(Destination("team", None, "sales"), Reply(command="t", text="hi"), idempotency_key="w-1")
    assert caught.value.retry_after == 60
    channel.send(Destination("team", None, "sales"), Reply(command="t", text="hi"), idempotency_key="w-1")
    assert len(wecom.api.to("/cgi-bin/webhook/send")) == 2


def test_missing_robot_key_is_undeliverable_not_retried(wecom: WecomRig) -> None:
    services = wecom.bot.services
    next(t for t in services.config.teams if t.id == "sales").channels.wecom_robot_key_env = "WECOM_SALES_ROBOT"
    channel = WecomChannel(_adapter(wecom), RobotSender(wecom.api.url), environ={})
    with pytest.raises(UndeliverableError, match="WECOM_SALES_ROBOT"):
        channel.send(Destination("team", None, "sales"), Reply(command="t", text="hi"), idempotency_key="w-2")
