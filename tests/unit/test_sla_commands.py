"""/sla and /away in chat, and `mailroom sla` on the command line, on the demo factory (fixed clock)."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli
from bot.core.reply import Reply
from bot.services import Services
from tests.conftest import DEMO_NOW, ROOT
from tests.fakes.asking import ask
from tests.fakes.sla_helpers import ERIK, INQUIRY, MONDAY, Factory, eml, inquiry

ITEM_KEYS = {"message_id", "thread_id", "mailbox", "customer", "subject", "owner", "waiting_since", "due", "state",
             "policy"}




def by_customer(reply: Reply) -> dict[tuple[str, str], dict]:
    return {(i["customer"], i["policy"]): i for i in reply.data["items"]}


def test_sla_lists_waiting_mail_worst_first(demo_services: Services) -> None:
    reply = ask(demo_services, "/sla", who="boss")
    assert reply.ok
    items = reply.data["items"]
    ranks = ["escalated", "breached", "warning", "ok"]
    assert [ranks.index(i["state"]) for i in items] == sorted(ranks.index(i["state"]) for i in items)
    found = by_customer(reply)
    assert found[("深圳华通贸易有限公司", "first_response")]["state"] == "escalated"  # 50 h, SLA 24 h
    assert found[("Nordic Flow AB", "first_response")]["state"] == "warning"  # 20 h: past 75 %
    lisboa = found[("Lisboa Válvulas Lda", "first_response")]
    assert lisboa["state"] == "breached" and lisboa["waiting_since"] == "2026-11-23T10:00:00Z"  # the first of two
    acme = found[("Acme Trading GmbH", "first_response")]
    assert acme["mailbox"] == "support@hengda-valves.com" and acme["owner"] == "amy"  # via complaint@
    assert ("Acme Trading GmbH", "initial_solution") in found
    assert all(set(i) >= ITEM_KEYS for i in items)
    # nothing from the answered history, the bounces, the newsletter or the internal mail
    assert not any("Weekly" in i["subject"] or "Undelivered" in i["subject"] for i in items)
    assert len(items) == 9
    assert "#" in reply.text and "owner" in reply.text


def test_only_mailboxes_the_asker_may_read(demo_services: Services) -> None:
    mei = ask(demo_services, "/sla", who="mei").data["items"]
    assert {i["mailbox"] for i in mei} == {"order@hengda-valves.com"}
    sam = ask(demo_services, "/sla", who="sam").data["items"]
    assert {i["mailbox"] for i in sam} == {"support@hengda-valves.com"}
    inquiry_item = next(i for i in ask(demo_services, "/sla", who="boss").data["items"] if i["mailbox"] == INQUIRY)
    refused = ask(demo_services, f"/sla ack {inquiry_item['id']}", who="mei")
    assert refused.error is not None and refused.error.code == "not_found"


def test_mine_team_breached(demo_services: Services) -> None:
    mine = ask(demo_services, "/sla mine", who="chen").data["items"]
    assert mine and {i["owner"] for i in mine} == {"chen"}
    team = ask(demo_services, "/sla team support", who="boss").data["items"]
    assert team and {i["mailbox"] for i in team} == {"support@hengda-valves.com"}
    breached = ask(demo_services, "/sla breached", who="boss").data["items"]
    assert breached and {i["state"] for i in breached} <= {"breached", "escalated"}
    unknown = ask(demo_services, "/sla team nope", who="boss")
    assert unknown.error is not None and unknown.error.code == "unknown_team" and "sales" in unknown.text
    usage = ask(demo_services, "/sla frobnicate", who="boss")
    assert usage.error is not None and usage.error.code == "usage"


def test_show_ack_snooze_resolve_are_audited(demo_services: Services) -> None:
    items = ask(demo_services, "/sla", who="kevin").data["items"]
    solution = next(i for i in items if i["customer"] == "Acme Trading GmbH" and i["policy"] == "initial_solution")
    shown = ask(demo_services, f"/sla show #{solution['id']}", who="kevin")
    assert shown.ok and shown.data["item"]["message_id"] == solution["message_id"]
    assert ask(demo_services, f"/sla snooze {solution['id']} 4h", who="kevin").ok
    assert ask(demo_services, f"/sla snooze {solution['id']} forever", who="kevin").error.code == "bad_duration"
    assert ask(demo_services, f"/sla ack {solution['id']}", who="kevin").ok
    resolved = ask(demo_services, f"/sla resolve {solution['id']}", who="sam")
    assert resolved.ok and "stopped" in resolved.text
    assert solution["id"] not in [i["id"] for i in ask(demo_services, "/sla", who="kevin").data["items"]]
    again = ask(demo_services, f"/sla resolve {solution['id']}", who="sam")
    assert again.error is not None and again.error.code == "closed"
    commands = [e["command"] for e in demo_services.audit.recent(3)]
    assert commands == ["sla resolve", "sla ack", "sla snooze"]
    assert demo_services.audit.verify() is None


def test_resolving_a_first_response_by_hand(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY)
    factory.add(inquiry(1, MONDAY))
    [item] = factory.items()
    assert ask(factory.services, f"/sla resolve {item.id}", who="lucy").ok  # answered by phone
    factory.at(MONDAY + timedelta(hours=30))
    assert factory.items() == []
    factory.add(eml(frm=ERIK, to=INQUIRY, subject="Re: [RFQ]-Nordic Flow-Ball Valve-1", date=MONDAY + timedelta(hours=29),
                    msgid="more@nordicflow.se", reply_to="rfq1@nordicflow.se", body="One more question: DN65 too?"))
    [again] = factory.items()
    assert again.message_id == "more@nordicflow.se"
    factory.close()


def test_digest_in_chat(demo_services: Services) -> None:
    reply = ask(demo_services, "/sla digest sales", who="boss")
    [digest] = reply.data["digest"]
    assert digest["team"] == "sales" and digest["open"] == 4 and digest["breached"] == 3
    assert set(digest) >= {"share_in_sla_7d", "median_first_response_minutes", "answered_7d"}


def test_away_commands(demo_services: Services) -> None:
    assert ask(demo_services, "/away amy until 2026-12-01", who="amy").data["backup"] == "li"
    listed = ask(demo_services, "/away", who="boss").data["away"]
    assert [a["person"] for a in listed] == ["amy"]
    assert ask(demo_services, "/away amy back", who="amy").data["away"] is False
    assert ask(demo_services, "/away lucy until 2026-12-01", who="lucy").error.code == "no_backup"
    assert ask(demo_services, "/away amy until 2020-01-01", who="amy").error.code == "bad_date"
    assert ask(demo_services, "/away amy until soon", who="amy").error.code == "bad_date"
    assert ask(demo_services, "/away nobody until 2026-12-01", who="amy").error.code == "unknown_person"
    assert ask(demo_services, "/away amy tomorrow", who="amy").error.code == "usage"


def test_help_lists_the_commands(demo_services: Services) -> None:
    names = {c["name"] for c in ask(demo_services, "/help", who="amy").data["commands"]}
    assert {"sla", "away"} <= names


def cli_json(demo_dir: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["--config", str(demo_dir / "mailroom.toml"), "--now", DEMO_NOW.isoformat(),
                                      *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_sla_json(demo_dir: Path) -> None:
    everything = cli_json(demo_dir, "sla", "--json")["data"]["items"]
    assert len(everything) == 9 and all(set(i) >= ITEM_KEYS for i in everything)
    assert {i["state"] for i in everything} == {"ok", "warning", "breached", "escalated"}
    assert {i["policy"] for i in everything} == {"first_response", "initial_solution"}
    huatong = next(i for i in everything if i["state"] == "escalated")
    assert huatong["message_id"].endswith("@huatong-trade.cn") and huatong["owner"] == "chen"
    mei = cli_json(demo_dir, "sla", "--as", "mei", "--json")["data"]["items"]
    assert [i["mailbox"] for i in mei] == ["order@hengda-valves.com"]
    digest = cli_json(demo_dir, "sla", "digest", "--team", "support", "--json")["data"]["digest"]
    assert [d["team"] for d in digest] == ["support"]


def test_cli_tick_and_text(demo_dir: Path) -> None:
    runner = CliRunner()
    base = ["--config", str(demo_dir / "mailroom.toml"), "--now", DEMO_NOW.isoformat()]
    first = runner.invoke(cli, [*base, "sla", "tick"], catch_exceptions=False)
    assert first.exit_code == 0 and "alerts" in first.output
    report = json.loads(runner.invoke(cli, [*base, "sla", "tick", "--json"], catch_exceptions=False).output)
    assert report["alerts"] == 0 and report["delivery"]["sent"] == 0  # nothing twice
    text = runner.invoke(cli, [*base, "sla"], catch_exceptions=False).output
    assert text.startswith("SLA — all mailboxes: 9 open") and "🚨 escalated" in text


def test_the_real_entry_point(demo_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(demo_dir / "mailroom.toml"), "--now", DEMO_NOW.isoformat(),
         "sla", "--json", "--as", "sam"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["data"]["items"]
    assert items and {i["mailbox"] for i in items} == {"support@hengda-valves.com"}
