"""Hostile mail text (issue 16): a customer message whose subject and body carry Slack, WeCom and Telegram
markup, mentions, links, HTML and terminal escape sequences is alerted and searched on every platform
against the fake platform APIs. The payloads carry it inert (escaped), and our own mention of the owner
still pings: Slack (blocks and top-level text), Telegram HTML, WeCom (app markdown, template card, group
robot) and the console.
"""

import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.chat.adapters import console, slack, telegram, wecom
from bot.chat.adapters.slack import SlackChannel, make_client
from bot.chat.adapters.telegram import TelegramChannel
from bot.chat.adapters.wecom import RobotSender, WecomChannel
from bot.chat.router import Router
from bot.cli.main import quiet_chat_sdks
from bot.core.reply import Button, Mention, Reply, bullets, fields, heading
from bot.mail.importer import import_messages
from bot.scheduler import run_scheduler_once
from bot.services import Services
from tests.conftest import DEMO_NOW
from tests.fakes.chat_helpers import slash_command, telegram_message, wecom_post, wecom_text_xml
from tests.fakes.rules_helpers import HANS, eml
from tests.platforms.test_slack import SlackRig
from tests.platforms.test_slack import slack as slack_rig  # noqa: F401 - the platform tests' rigs, as fixtures
from tests.platforms.test_telegram import TelegramRig
from tests.platforms.test_telegram import telegram as telegram_rig  # noqa: F401
from tests.platforms.test_wecom import WecomRig
from tests.platforms.test_wecom import wecom as wecom_rig  # noqa: F401

MARK = "Zorblax"
"""A word only the hostile message has: what we search for, and how its payloads are found."""
HOSTILE_SUBJECT = (f"{MARK} <!channel> <!here> <@U0BOSS> <#C0SALES> <http://evil.example|Click here> "
                   "<@LiWei> [点此查看](http://evil.example/x) <font color=\"warning\">URGENT</font> @all "
                   "<b>bold</b> <a href=\"http://evil.example\">link</a> &amp; \x1b[31mRED\x1b[0m \u202eexe.fdp")
HOSTILE_BODY = (f"Dear team, {MARK} again:\n<!channel> <@U0BOSS> <http://evil.example|verify your account>\n"
                "[点此查看](http://evil.example/y) <@LiWei> <font color=\"info\">green</font> @all @所有人\n"
                "<script>alert(1)</script> <i>x</i>\n\x1b]0;owned\x07\x1b[2J\rOverwritten line \u202egnp.exe\n")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plant(services: Services) -> None:
    """The hostile message: from Acme (owner Amy) to inquiry@, 30 h ago — a warning to Amy and a breach
    in the sales channel are due."""
    raw = eml(HOSTILE_SUBJECT, HOSTILE_BODY, frm=HANS, to=["inquiry@hengda-valves.com"],
              when=DEMO_NOW - timedelta(hours=30), attachments=["<@U0BOSS>[x](http:evil).pdf"])
    import_messages(services.archive, [("hostile", raw)])
    row = services.db.execute("SELECT subject, body FROM messages WHERE subject LIKE ?", [f"{MARK}%"]).fetchone()
    assert row and "<!channel>" in row[0] and "<@LiWei>" in row[1]  # it reached the archive as written
    assert "\x1b[2J" in row[1] and "\u202e" in row[1]  # (a lone CR arrives as a line end: MIME normalises it)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# ── Slack ─────────────────────────────────────────────────────────────────────────────────────
def slack_live(text: str) -> list[str]:
    """Every live `<…>` token in Slack mrkdwn (mentions, channel links, specials, links)."""
    return re.findall(r"<[^<>]*>", text)


def _mrkdwn(value: Any) -> list[str]:
    """The texts Slack parses: mrkdwn objects (plain_text ones — headers, button labels — parse nothing)."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            return [value.get("text", "")]
        return [s for v in value.values() for s in _mrkdwn(v)]
    if isinstance(value, list):
        return [s for v in value for s in _mrkdwn(v)]
    return []


def _slack_texts(payload: dict[str, Any]) -> list[str]:
    """The top-level `text` (notifications, fallback: parsed as mrkdwn) and every mrkdwn object."""
    blocks = payload.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [payload.get("text", ""), *_mrkdwn(blocks)]


def _slack_all(payload: dict[str, Any]) -> list[str]:
    blocks = payload.get("blocks") or []
    return [payload.get("text", ""), *_strings(json.loads(blocks) if isinstance(blocks, str) else blocks)]


def test_slack_alerts_and_search_carry_mail_markup_inert(slack_rig: SlackRig,  # noqa: F811
                                                         caplog: pytest.LogCaptureFixture) -> None:
    services = slack_rig.bot.services
    plant(services)
    quiet_chat_sdks()  # what `mailroom -v` does: our DEBUG, not the SDKs' request bodies
    with caplog.at_level(logging.DEBUG):
        run_scheduler_once(services, [SlackChannel(make_client(slack_rig.settings), slack_rig.bot)])
    assert caplog.records and not [r for r in caplog.records if MARK in r.getMessage()]
    posts = [c.payload() for c in slack_rig.api.to("/chat.postMessage") if MARK in c.payload().get("text", "")]
    assert {p["channel"] for p in posts} >= {"U0AMY", "C0SALES"}  # the owner's warning and the channel breach
    for post in posts:
        texts = _slack_texts(post)
        assert all(token == "<@U0AMY>" for t in texts for token in slack_live(t)), texts
        assert "<@U0AMY>" in post["text"]  # our own mention pings the owner, in the notification text too
        assert "&lt;!channel&gt;" in post["text"] and "&lt;http://evil.example|Click here&gt;" in post["text"]
        assert not any(CONTROLS.search(t) for t in _slack_all(post))

    body = slash_command("/search", MARK, user="U0AMY", response_url=f"{slack_rig.api.url}/respond/hostile")
    assert slack_rig.post(body)[0] == 200
    (call,) = slack_rig.api.wait_for("/respond/hostile")
    texts = _slack_texts(call.json)
    assert MARK in "".join(texts) and "verify your account" in "".join(texts)  # the snippet is there, inert
    assert not [token for t in texts for token in slack_live(t)], texts
    assert not any(CONTROLS.search(t) for t in _slack_all(call.json))


# ── Telegram ──────────────────────────────────────────────────────────────────────────────────
OUR_TAGS = re.compile(r'</?b>|</?i>|<a href="tg://user\?id=100002">|</a>')


def test_telegram_alerts_and_search_carry_mail_markup_inert(telegram_rig: TelegramRig) -> None:  # noqa: F811
    services = telegram_rig.bot.services
    plant(services)
    run_scheduler_once(services, [TelegramChannel(telegram_rig.platforms.telegram)])
    alerts = [m for m in telegram_rig.sent() if MARK in m["text"]]
    assert {int(m["chat_id"]) for m in alerts} >= {100002, -1001001}
    for message in alerts:
        assert message["parse_mode"] == "HTML"
        tags = re.findall(r"<[^<>]*>", message["text"])
        assert all(OUR_TAGS.fullmatch(tag) for tag in tags), tags
        assert '<a href="tg://user?id=100002">Amy Zhang</a>' in message["text"]  # our mention of the owner
        assert "&lt;a href=\"http://evil.example\"&gt;" in message["text"] and "&lt;b&gt;bold" in message["text"]
        assert not CONTROLS.search(message["text"])

    assert telegram_rig.post(telegram_message(f"/search {MARK}", user=100002, update_id=77)) == 200
    found = [m for m in telegram_rig.sent() if "verify your account" in m["text"]]
    assert found
    for message in found:
        assert all(OUR_TAGS.fullmatch(tag) for tag in re.findall(r"<[^<>]*>", message["text"]))
        assert "&lt;@LiWei&gt;" in message["text"] and not CONTROLS.search(message["text"])


# ── WeCom ─────────────────────────────────────────────────────────────────────────────────────
def wecom_live(text: str) -> list[str]:
    """Live WeCom markup in a text: mentions, font tags, links, @all."""
    return (re.findall(r"<\s*@[^>]*>", text) + re.findall(r"<\s*/?\s*font[^>]*>", text, re.IGNORECASE)
            + re.findall(r"\]\s*\(", text) + re.findall(r"(?<![\w.])@(?:all|所有人)\b", text))


OUR_WECOM = {"<@AmyZhang>", '<font color="comment">', "</font>"}


def test_wecom_alerts_and_search_carry_mail_markup_inert(wecom_rig: WecomRig) -> None:  # noqa: F811
    services = wecom_rig.bot.services
    next(t for t in services.config.teams if t.id == "sales").channels.wecom_robot_key_env = "WECOM_SALES_ROBOT"
    plant(services)
    assert wecom_rig.platforms.wecom is not None
    robots = RobotSender(wecom_rig.api.url, sleep=lambda s: None)
    channel = WecomChannel(wecom_rig.platforms.wecom, robots, environ={"WECOM_SALES_ROBOT": "ROBOT-KEY"})
    run_scheduler_once(services, [channel])

    robot = [c.json["markdown"]["content"] for c in wecom_rig.api.to("/cgi-bin/webhook/send")
             if MARK in c.json["markdown"]["content"]]
    assert robot, "the breach reached the sales group robot"
    for content in robot:
        assert set(wecom_live(content)) <= OUR_WECOM, wecom_live(content)
        assert "<@AmyZhang>" in content  # our mention pings the owner in the group
        assert "＜@LiWei>" in content and "＠all" in content and not CONTROLS.search(content)

    to_amy = [m for m in wecom_rig.sent() if m["touser"] == "AmyZhang"]
    markdown = [m["markdown"]["content"] for m in to_amy if m["msgtype"] == "markdown" and MARK in m["markdown"]["content"]]
    assert markdown, "the owner's warning went out as app markdown"
    for content in markdown:
        assert set(wecom_live(content)) <= OUR_WECOM, wecom_live(content)
        assert not CONTROLS.search(content)

    query, body = wecom_post(wecom_text_xml(f"/search {MARK}", user="AmyZhang", msg_id="4242"))
    assert wecom_rig.post(query, body)[0] == 200
    wecom_rig.drain()
    answers = [m for m in wecom_rig.sent() if m["touser"] == "AmyZhang"][len(to_amy):]
    texts = [m["markdown"]["content"] for m in answers if m["msgtype"] == "markdown"]
    assert any("verify your account" in t for t in texts)
    for content in texts:
        assert set(wecom_live(content)) <= OUR_WECOM, wecom_live(content)
        assert not CONTROLS.search(content)


def test_wecom_template_card_carries_mail_markup_inert() -> None:
    reply = Reply(command="t", blocks=[heading("<@LiWei> [点此](http://evil) @all <font color=\"warning\">x")],
                  buttons=[Button(label="<@LiWei>[x](y)", command="/sla ack 1")])
    card = wecom.render_card(reply, task_id="t-1")
    for text in (card["main_title"]["title"], card["button_list"][0]["text"]):
        assert not wecom_live(text), text
    assert card["button_list"][0]["key"] == "/sla ack 1"


# ── console, and every renderer on one reply ──────────────────────────────────────────────────
def test_console_carries_no_terminal_control_sequences(demo_services: Services) -> None:
    plant(demo_services)
    router, amy = Router(demo_services), demo_services.directory.find_person("amy")
    (message,) = demo_services.db.execute("SELECT id FROM messages WHERE subject LIKE ?", [f"{MARK}%"]).fetchone()
    lines = console.render(router.handle(f"/show #{message}", amy))
    assert "verify your account" in lines and "Overwritten line" in lines
    assert not CONTROLS.search(lines), repr(lines)
    lines = console.render(router.handle(f"/search {MARK}", amy))
    assert not CONTROLS.search(lines), repr(lines)


def test_one_reply_every_renderer_our_mention_live_mail_markup_inert() -> None:
    amy = Mention(person_id="amy", name="Amy Zhang", slack="U0AMY", telegram="100002", wecom="AmyZhang")
    reply = Reply(command="sla.alert", text=HOSTILE_SUBJECT,
                  blocks=[heading(HOSTILE_SUBJECT), fields(("Subject", HOSTILE_SUBJECT)),
                          bullets([HOSTILE_BODY], title=HOSTILE_SUBJECT)],
                  buttons=[Button(label=HOSTILE_SUBJECT, command="/sla ack 1")], mentions=[amy])
    rendered = slack.render(reply)
    assert [t for s in _slack_texts(rendered) for t in slack_live(s)] == ["<@U0AMY>", "<@U0AMY>"]
    assert not any(CONTROLS.search(t) for t in _slack_all(rendered))
    message = telegram.render(reply)
    assert all(OUR_TAGS.fullmatch(tag) for c in message.chunks for tag in re.findall(r"<[^<>]*>", c))
    assert not CONTROLS.search("".join(message.chunks) + "".join(label for row in message.keyboard for label, _ in row))
    for content in wecom.render(reply):
        assert set(wecom_live(content)) <= OUR_WECOM
    text = console.render(reply)
    assert not CONTROLS.search(text) and "cc @amy" in text
    assert console.render(Reply(command="t", text="fine\rFAKE\x9b2J\u2066x")) == "fine\ufffdFAKE\ufffd2J\ufffdx"


@pytest.mark.parametrize("text", ["<@U0AMY>", "<!subteam^S1>", "<tel:123|call>", "<mailto:a@b|x>"])
def test_slack_escape_leaves_nothing_live(text: str) -> None:
    assert not slack_live(slack.escape(text))


def test_json_output_is_the_same_value_with_nothing_a_terminal_acts_on() -> None:
    reply = Reply(command="t", text=HOSTILE_BODY, data={"subject": HOSTILE_SUBJECT})
    out = console.render_json(reply)
    assert json.loads(out)["text"] == HOSTILE_BODY and json.loads(out)["data"]["subject"] == HOSTILE_SUBJECT
    assert not CONTROLS.search(out)
    assert set(json.loads(out)) == {"command", "text", "blocks", "buttons", "data", "error"}  # the --json shape
