"""The same Reply rendered for each platform, within each platform's limits."""

import re
from pathlib import Path

from bot.chat.adapters import slack, telegram, wecom
from bot.core.reply import Button, Reply, bullets, context, fields, heading, paragraph

ROOT = Path(__file__).resolve().parents[2]


def alert() -> Reply:
    return Reply(
        command="alert",
        blocks=[
            heading("inquiry@: RFQ from Acme waiting 26 h"),
            fields(("Owner", "Amy Zhang"), ("SLA", "24 h <first response>")),
            bullets(["[RFQ]-Acme-Valve-2026 & more"], title="Thread"),
            context("item #12"),
        ],
        buttons=[Button(label="Ack", command="/ack 12", style="primary"),
                 Button(label="Snooze 2h", command="/snooze 12 2h")],
    )


def test_slack_block_kit_with_text_fallback_and_buttons() -> None:
    out = slack.render(alert())
    assert "Amy Zhang" in out["text"]
    types = [b["type"] for b in out["blocks"]]
    assert types == ["header", "section", "section", "context", "actions"]
    assert out["blocks"][1]["fields"][1]["text"] == "*SLA*\n24 h &lt;first response&gt;"
    assert "&amp; more" in out["blocks"][2]["text"]["text"]
    buttons = out["blocks"][-1]["elements"]
    assert [b["value"] for b in buttons] == ["/ack 12", "/snooze 12 2h"]
    assert len({b["action_id"] for b in buttons}) == 2
    assert buttons[0]["style"] == "primary" and "style" not in buttons[1]


def test_slack_respects_block_and_text_limits() -> None:
    reply = Reply(command="search", blocks=[paragraph("word " * 2000)] + [heading(f"h{i}") for i in range(80)])
    out = slack.render(reply)
    assert len(out["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in out["blocks"] if b["type"] == "section")
    assert out["blocks"][-1]["type"] == "context"


def test_slack_request_from_slash_command_button_and_mention() -> None:
    commands = {"/mailsearch": "search"}
    assert slack.to_request({"command": "/mailsearch", "text": "PO 4521", "user_id": "U1"}, commands) == (
        "U1", "/search PO 4521")
    assert slack.to_request({"command": "/owner", "text": "acme", "user_id": "U1"}, commands) == ("U1", "/owner acme")
    action = {"type": "block_actions", "user": {"id": "U2"},
              "actions": [{"action_id": "mailroom_button:0", "value": "/ack 12"}]}
    assert slack.to_request(action) == ("U2", "/ack 12")
    mention = {"event": {"type": "app_mention", "user": "U3", "text": "<@U0BOT> who owns acme?"}}
    assert slack.to_request(mention) == ("U3", "<@U0BOT> who owns acme?")
    assert slack.to_request({"event": {"type": "message", "bot_id": "B1", "user": "U0BOT", "text": "hi"}}) is None


def test_telegram_html_is_escaped_and_keyboard_fits_64_bytes() -> None:
    long_command = "/handover amy li all --reason " + "很长的理由" * 10
    reply = alert().model_copy(update={"buttons": [*alert().buttons, Button(label="Hand over", command=long_command)]})
    out = telegram.render(reply)
    (html,) = out.chunks
    assert "<b>inquiry@: RFQ from Acme waiting 26 h</b>" in html
    assert "<b>SLA:</b> 24 h &lt;first response&gt;" in html
    assert "&amp; more" in html and "<i>item #12</i>" in html
    data = [d for row in out.keyboard for _, d in row]
    assert data[:2] == ["c:/ack 12", "c:/snooze 12 2h"]
    assert all(len(d.encode()) <= 64 for d in data)
    key = data[2].removeprefix("k:")
    assert out.stored == {key: long_command}
    assert telegram.callback_data(long_command)[0] == data[2]  # the key is stable across renders


def test_telegram_splits_at_4096_without_breaking_tags() -> None:
    items = [f"<item {i}> " + "汉字x" * 30 for i in range(400)]
    reply = Reply(command="search", blocks=[heading("Results"), bullets(items), paragraph("y" * 9000)])
    out = telegram.render(reply)
    assert len(out.chunks) > 3
    for chunk in out.chunks:
        assert telegram.units(chunk) <= 4096
        assert chunk.count("<b>") == chunk.count("</b>")
        assert not re.search(r"&[a-z]*$", chunk)  # no entity cut in half
    joined = "\n".join(out.chunks)
    assert all(f"&lt;item {i}&gt;" in joined for i in (0, 199, 399))


def test_wecom_markdown_fits_2048_bytes_and_buttons_become_text() -> None:
    reply = Reply(command="search", blocks=[heading("结果"), bullets(["询盘 " * 60] * 40)],
                  buttons=[Button(label="More", command="/search more")])
    chunks = wecom.render(reply)
    assert len(chunks) > 1
    assert all(len(c.encode("utf-8")) <= 2048 for c in chunks)
    assert chunks[0].startswith("**结果**")
    assert chunks[-1].endswith("> More: send `/search more`")
    assert all(len(c.encode()) <= 4096 for c in wecom.render(reply, limit=wecom.ROBOT_MARKDOWN_BYTES))


def test_wecom_card_carries_each_command_as_its_key() -> None:
    card = wecom.render_card(alert(), task_id="mr1-1")
    assert card["card_type"] == "button_interaction"
    assert [b["key"] for b in card["button_list"]] == ["/ack 12", "/snooze 12 2h"]
    assert card["main_title"]["title"] == "inquiry@: RFQ from Acme waiting 26 h"[:26]
    assert "send `/ack 12`" not in "\n".join(wecom.render(alert(), buttons_as_text=False))


def test_handlers_import_no_chat_sdk() -> None:
    sdk = re.compile(r"^\s*(from|import)\s+(slack_bolt|slack_sdk|telegram|bot\.adapters|bot\.platforms)", re.M)
    offenders = [p.name for p in (ROOT / "handlers").glob("*.py") if sdk.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_telegram_request_in_private_chats_and_groups() -> None:
    from telegram import Update

    from tests.fakes.chat_helpers import telegram_callback, telegram_message

    def parse(data: dict) -> tuple[int, str] | None:
        return telegram.to_request(Update.de_json(data, None), "MailroomBot", {"abc": "/sla ack 3"}.get)

    assert parse(telegram_message("who owns acme?", user=7)) == (7, "who owns acme?")
    assert parse(telegram_message("/owner@MailroomBot acme", user=7, chat=-100)) == (7, "/owner acme")
    assert parse(telegram_message("/owner@SomeOtherBot acme", user=7, chat=-100)) is None
    assert parse(telegram_message("@MailroomBot who owns acme?", user=7, chat=-100)) == (7, "who owns acme?")
    assert parse(telegram_message("lunch anyone?", user=7, chat=-100)) is None
    assert parse(telegram_callback("c:/sla ack 3", user=8)) == (8, "/sla ack 3")
    assert parse(telegram_callback("k:abc", user=8)) == (8, "/sla ack 3")
    assert parse(telegram_callback("k:gone", user=8)) is None


def test_wecom_request_from_text_and_card_click() -> None:
    from tests.fakes.chat_helpers import wecom_card_click_xml, wecom_text_xml

    text = wecom.parse_xml(wecom_text_xml("/owner 华通", user="LiWei", msg_id="42"))
    assert wecom.to_request(text) == ("LiWei", "/owner 华通")
    assert wecom.delivery_id(text) == "msg:42"
    click = wecom.parse_xml(wecom_card_click_xml("/sla ack 3", user="AmyZhang"))
    assert wecom.to_request(click) == ("AmyZhang", "/sla ack 3")
    assert wecom.delivery_id(click).startswith("event:AmyZhang:")
    assert wecom.to_request({"MsgType": "image", "FromUserName": "LiWei"}) is None
