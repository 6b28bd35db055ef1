"""The command core as /owner uses it: identity, usage, /help, console, `mailroom ask --json`, and pure handlers."""

import ast
import json
from pathlib import Path

import pytest

from bot.chat.adapters.console import chat_loop, render
from bot.chat.commands import REGISTRY, command
from bot.chat.router import Router
from bot.services import Services
from tests.conftest import DEMO_NOW, ROOT
from tests.fakes.asking import ask
from tests.fakes.cli import mailroom

FORBIDDEN_IN_HANDLERS = ("slack_bolt", "slack_sdk", "telegram", "wechatpy", "wecom", "discord", "aiohttp", "httpx",
                         "requests", "flask", "fastapi", "starlette", "bot.chat.adapters", "bot.chat.platforms", "bot.chat.web")


def test_owner_mine_and_someone_elses(demo_services: Services) -> None:
    mine = ask(demo_services, "/owner mine", who="amy")
    rows = {r["customer"]["name"]: r["source"] for r in mine.data["customers"]}
    assert rows == {"Acme Trading GmbH": "crm", "Grupo Hidráulico SA de CV": "crm",
                    "Polska Armatura Sp. z o.o.": "inferred"}
    assert mine.text.startswith("You own 3 customers")
    assert ask(demo_services, "my customers", who="amy").data["customers"] == mine.data["customers"]
    assert ask(demo_services, "我的客户", who="amy").data["customers"] == mine.data["customers"]

    li = ask(demo_services, "/owner @li", who="amy")
    assert li.data["person"]["id"] == "li" and li.text.startswith("Li Wei owns")
    assert {"Müller & Söhne GmbH", "Lisboa Válvulas Lda"} <= {r["customer"]["name"] for r in li.data["customers"]}
    assert ask(demo_services, "/owner <@U0LI>").data["person"]["id"] == "li"  # a Slack mention
    assert ask(demo_services, "/owner mine", who="zhou").data["customers"] == []
    stranger = ask(demo_services, "/owner <@U0NOBODY>")
    assert stranger.error is not None and stranger.error.code == "unknown_person"
    assert ask(demo_services, "/owner @acme-trading.de").data["matches"][0]["customer"]["name"] == "Acme Trading GmbH"


def test_unknown_chat_user_is_refused_politely_naming_the_admins(demo_services: Services) -> None:
    router = Router(demo_services)
    assert router.identify("slack", "U0AMY").id == "amy"  # type: ignore[union-attr]
    assert router.identify("telegram", 100003).id == "li"  # type: ignore[union-attr]
    stranger = router.identify("slack", "U0NOBODY")
    reply = router.handle("/owner acme", stranger, platform="slack")
    assert reply.error is not None and reply.error.code == "unknown_user"
    assert "Zhou Min" in reply.text and reply.data["admins"] == ["Zhou Min"]
    assert "acme" not in reply.text.lower()


@pytest.mark.parametrize("text", ["/owner", "/owner   ", '/owner ""', "who owns ?"])
def test_missing_arguments_answer_with_usage(demo_services: Services, text: str) -> None:
    reply = ask(demo_services, text)
    if reply.command == "unknown":  # "who owns ?" has nothing to match and is no command
        assert reply.error is not None and reply.error.code == "unknown_command"
        return
    assert reply.error is not None and reply.error.code == "usage"
    assert "Usage: /owner <customer | domain | e-mail>" in reply.text and "Traceback" not in reply.text


def test_unknown_command_answers_with_usage(demo_services: Services) -> None:
    typo = ask(demo_services, "/onwer acme")
    assert typo.error is not None and typo.error.code == "unknown_command"
    assert "Did you mean /owner?" in typo.text and typo.data["usage"].startswith("/owner")
    nonsense = ask(demo_services, "/frobnicate")
    assert nonsense.error is not None and "/help" in nonsense.text and "owner" in nonsense.data["commands"]


def test_command_forms(demo_services: Services) -> None:
    for text in ("/owner@MailroomBot acme", "／owner acme", "@mailroom who owns acme", "/OWNER acme", "/who acme"):
        reply = ask(demo_services, text)
        assert reply.ok and reply.data["matches"][0]["customer"]["name"] == "Acme Trading GmbH", text


def test_help_is_built_from_every_handler(demo_services: Services) -> None:
    Router(demo_services)  # registers every handler
    reply = ask(demo_services, "/help", who="zhou")  # the admin sees every command
    assert {"owner", "assign", "help"} <= set(REGISTRY)
    for cmd in REGISTRY.values():
        name, _, what = cmd.help.partition(": ")
        assert name == cmd.name and what.strip(), f"/{cmd.name} needs a help line 'name: what it does'"
        assert cmd.usage.startswith(f"/{cmd.name}"), f"/{cmd.name}: usage should start with the command"
        assert cmd.usage in reply.text and what in reply.text
    member = ask(demo_services, "/help", who="li")
    assert "/owner" in member.text and "/assign" not in member.text  # members only see what they may use
    one = ask(demo_services, "/help owner")
    assert one.data["usage"] == REGISTRY["owner"].usage


def test_a_command_without_help_cannot_be_registered() -> None:
    def undocumented(request):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(ValueError, match="docstring"):
        command("nohelp", usage="/nohelp")(undocumented)
    assert "nohelp" not in REGISTRY


def test_handlers_never_import_a_chat_sdk() -> None:
    folder = ROOT / "handlers"
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names
                          if any(n == f or n.startswith(f + ".") for f in FORBIDDEN_IN_HANDLERS)]
    assert len(list(folder.glob("*.py"))) >= 3 and offenders == []


def test_console_chat_renders_replies_and_presses_buttons(demo_services: Services,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    lines = iter(["/owner trading", "", "1", "/quit", "/owner xyzzy"])
    chat_loop(Router(demo_services), demo_services.directory.people["amy"], read=lambda _prompt: next(lines))
    out = capsys.readouterr().out
    assert "you are Amy Zhang" in out and "Several customers match" in out
    assert "[1] Acme Trading GmbH (90) → /owner Acme Trading GmbH" in out
    assert "mailroom> /owner Acme Trading GmbH" in out and "Known from: CRM export" in out  # "1" pressed it
    assert "No customer matches" not in out  # stopped at /quit
    plain = render(ask(demo_services, "/owner trading"))
    assert plain.startswith("Several customers match") and "[Acme Trading GmbH (90)] → /owner Acme Trading GmbH" in plain




def test_ask_json_through_the_real_cli(demo_dir: Path) -> None:
    base = ("--config", str(demo_dir / "mailroom.toml"), "--now", DEMO_NOW.isoformat(), "ask")
    found = mailroom(*base, "--json", "--as", "li", "/owner acme trdng")
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert body["command"] == "owner" and body["error"] is None and "Acme Trading GmbH" in body["text"]
    best = body["data"]["matches"][0]
    assert best["customer"]["name"] == "Acme Trading GmbH" and best["owner"]["id"] == "amy"
    assert best["source"] == "crm" and 85 <= best["score"] < 100

    refused = mailroom(*base, "--json", "--as", "li", "/assign acme li")
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["code"] == "forbidden"
    missing = mailroom(*base, "--json", "/owner xyzzy")
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "no_match"

    assigned = mailroom(*base, "--json", "--as", "amy", "/assign polarm li")
    assert assigned.returncode == 0 and json.loads(assigned.stdout)["data"]["changed"] is True
    text = mailroom(*base, "--as", "amy", "who owns polarm?")
    assert text.returncode == 0 and "owner Li Wei" in text.stdout and "assigned by Amy Zhang" in text.stdout


def test_demo_command_answers_as_the_demo_manager(tmp_path: Path) -> None:
    result = mailroom("--now", DEMO_NOW.isoformat(), "demo", "--dir", str(tmp_path / "demo"), "--ask",
                      "lisboa valvulas 是谁的客户")
    assert result.returncode == 0, result.stderr
    assert "Lisboa Válvulas Lda — owner Li Wei" in result.stdout and "inferred from mail" in result.stdout
