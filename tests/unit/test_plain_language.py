"""Plain language: the phrase set (tests/data/phrases.tsv) and its accuracy, normalisation, dates, unknown
text, and sentences run end to end through the router on the demo factory."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.chat.plain_language import Intent, find_day, normalize, parse_day, suggest, understand
from bot.chat.router import Router
from bot.core.clock import Clock
from bot.core.config import load_config
from bot.core.reply import Reply
from bot.services import Services
from tests.fakes import asking

PHRASES = Path(__file__).resolve().parents[1] / "data" / "phrases.tsv"
TODAY = date(2026, 12, 3)  # a Thursday
ACCURACY_BAR = 0.95
CJK = re.compile(r"[\u4e00-\u9fff]")


def phrase_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in PHRASES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, command, args = line.split("\t")
            rows.append((text, command, args))
    return rows


def demo_people(demo_template: Path) -> set[str]:
    config = load_config(demo_template / "mailroom.toml")
    words: set[str] = set()
    for p in config.people:
        words |= {p.id.lower(), p.name.lower(), p.name.split()[0].lower(), p.email.split("@")[0].lower()}
    return words


def test_phrase_set_is_large_and_half_chinese() -> None:
    rows = phrase_rows()
    chinese = [r for r in rows if CJK.search(r[0])]
    assert len(rows) >= 200
    assert len(chinese) >= len(rows) / 2
    commands = {r[1] for r in rows}
    assert {"owner", "assign", "away", "sla", "handover", "search", "claim", "pool", "pass", "show", "help"} <= commands
    assert len({r[0] for r in rows}) == len(rows), "a phrasing is listed twice"


def test_phrase_set_accuracy(demo_template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = demo_people(demo_template)
    rows = phrase_rows()
    wrong = []
    by_language = {"en": [0, 0], "zh": [0, 0]}
    for text, command, args in rows:
        got = understand(text, today=TODAY, people=people)
        ok = got == Intent(command, args)
        language = "zh" if CJK.search(text) else "en"
        by_language[language][0] += ok
        by_language[language][1] += 1
        if not ok:
            wrong.append(f"  {text!r}: expected /{command} {args!r}, got {got.slash() if got else None!r}")
    right = len(rows) - len(wrong)
    accuracy = right / len(rows)
    with capsys.disabled():
        print(f"\nphrase set: {right}/{len(rows)} = {accuracy:.1%} "
              f"(English {by_language['en'][0]}/{by_language['en'][1]}, "
              f"Chinese {by_language['zh'][0]}/{by_language['zh'][1]})")
        for line in wrong:
            print(line)
    assert accuracy >= ACCURACY_BAR, "\n".join(wrong)


def test_router_reads_each_phrase_as_its_slash_command(demo_dir: Path) -> None:
    """The router (normalisation, mentions, the grammar) turns each sentence into the same command and
    argument text as the slash command written out."""
    services = Services(load_config(demo_dir / "mailroom.toml"), Clock(datetime(2026, 12, 3, 2, 0, tzinfo=UTC)))
    try:
        router = Router(services)
        assert router.today() == TODAY
        agree = 0
        rows = phrase_rows()
        for text, command, args in rows:
            parsed = router.parse(f"@Mailroom {text}")
            agree += parsed is not None and (parsed[0].name, parsed[1]) == (command, args)
            slash = router.parse(f"/{command} {args}")
            assert slash is not None and slash[0].name == command
        assert agree / len(rows) >= ACCURACY_BAR
    finally:
        services.db.conn.close()


@pytest.mark.parametrize(("typed", "expected"), [
    ("、owner acme", "/owner acme"),
    ("／owner acme", "/owner acme"),
    ("／ｏｗｎｅｒ　ａｃｍｅ", "/owner acme"),
    ("、 sla breached", "/sla breached"),
    ("ｗｈｏ　ｏｗｎｓ　ａｃｍｅ？", "who owns acme?"),
    ("  who   owns\tacme ", "who owns acme"),
    ("华通、宁波", "华通、宁波"),  # 、 inside a sentence is an enumeration comma, not a slash
])
def test_normalize(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("明天", "2026-12-04"), ("tomorrow", "2026-12-04"), ("后天", "2026-12-05"), ("大后天", "2026-12-06"),
    ("下周一", "2026-12-07"), ("下星期一", "2026-12-07"), ("next monday", "2026-12-07"), ("周五", "2026-12-04"),
    ("friday", "2026-12-04"), ("this thursday", "2026-12-10"), ("下周五", "2026-12-11"), ("周三", "2026-12-09"),
    ("12月20日", "2026-12-20"), ("12月20号", "2026-12-20"), ("1月5日", "2027-01-05"), ("dec 20", "2026-12-20"),
    ("20 december", "2026-12-20"), ("12/15", "2026-12-15"), ("2026/12/20", "2026-12-20"),
    ("2026年12月20日", "2026-12-20"), ("3 days", "2026-12-05"), ("3天", "2026-12-05"), ("三天", "2026-12-05"),
    ("十天", "2026-12-12"), ("一周", "2026-12-09"), ("月底", "2026-12-31"), ("end of month", "2026-12-31"),
])
def test_relative_and_written_days(text: str, expected: str) -> None:
    found = parse_day(text, TODAY)
    assert found is not None and found.isoformat() == expected


def test_impossible_dates_are_not_days() -> None:
    assert parse_day("2026-02-30", TODAY) is None
    assert find_day("13月40日", TODAY) is None
    assert understand("amy is away until someday", today=TODAY, people={"amy"}) is None


def test_give_to_a_person_is_a_handover_to_a_customer_an_assignment() -> None:
    people = {"chen", "lucy"}
    assert understand("把 chen 交给 lucy", today=TODAY, people=people) == Intent("handover", "chen lucy")
    assert understand("把 华通 交给 lucy 负责", today=TODAY, people=people) == Intent("assign", "华通 lucy")
    assert understand("华通 归 nobody", today=TODAY, people=people) is None  # not a person: no guess


def test_long_text_is_not_parsed() -> None:
    assert understand("who owns " + "a" * 5000, today=TODAY) is None


@pytest.mark.parametrize(("text", "first"), [
    ("overdue stuff pls", "sla"),
    ("超时邮件统计", "sla"),
    ("anything in the pool thing", "pool"),
    ("i need an invoice from last year", "search"),
    ("amy holiday", "away"),
])
def test_unknown_text_suggests_the_closest_commands(text: str, first: str) -> None:
    names = ["owner", "assign", "sla", "away", "handover", "search", "show", "claim", "pass", "pool", "help"]
    assert understand(text, today=TODAY) is None or text == "amy holiday"
    assert suggest(text, names)[0] == first


def ask(services: Services, text: str, who: str = "amy") -> Reply:
    return asking.ask(services, text, who)


def test_readme_sentences_run_end_to_end(demo_services: Services) -> None:
    reply = ask(demo_services, "amy is away until 2026-12-01")
    assert reply.ok and reply.command == "away" and reply.data["person"] == "amy", reply.text
    assert reply.data["until"] == "2026-12-02T00:00:00+08:00"  # away through Dec 1st, in Ningbo
    back = ask(demo_services, "amy 回来了")
    assert back.ok and back.data == {"person": "amy", "away": False}
    owner = ask(demo_services, "owner of acme")
    assert owner.ok and owner.data["matches"][0]["customer"]["name"] == "Acme Trading GmbH"
    whose = ask(demo_services, "whose is acme?")
    assert whose.ok and whose.data["status"] == "found"
    breached = ask(demo_services, "what's breached?")
    assert breached.command == "sla" and breached.ok
    mine = ask(demo_services, "我的超时")
    assert mine.command == "sla" and mine.ok
    found = ask(demo_services, "find quotation")
    assert found.command == "search" and found.data["matched"] > 0
    ime = ask(demo_services, "、owner acme")
    assert ime.ok and ime.data["matches"][0]["customer"]["name"] == "Acme Trading GmbH"


def test_sentences_that_change_things_go_through_rights_and_handlers(demo_services: Services) -> None:
    refused = ask(demo_services, "分配 华通 给 lucy", who="li")  # a member may not assign
    assert refused.error is not None and refused.error.code == "forbidden"
    assigned = ask(demo_services, "分配 华通 给 lucy", who="boss")
    assert assigned.ok and assigned.command == "assign" and assigned.data["owner"]["id"] == "lucy", assigned.text
    preview = ask(demo_services, "把 chen 的客户交接给 lucy", who="boss")
    assert preview.ok and preview.command == "handover" and preview.data["state"] == "pending", preview.text
    assert preview.data["from"]["id"] == "chen" and preview.data["to"]["id"] == "lucy"
    away = ask(demo_services, "li 请假到 2026-12-20，chen 代班", who="li")
    assert away.ok and away.data["person"] == "li" and away.data["until"] == "2026-12-21T00:00:00+08:00"
    me = ask(demo_services, "我明天请假", who="amy")  # her backup (li) from the config
    assert me.ok and me.data["person"] == "amy" and me.data["backup"] == "li" and me.data["until"] == "2026-11-27T00:00:00+08:00"


def test_unknown_person_after_at_is_said_so(demo_services: Services) -> None:
    reply = ask(demo_services, "/owner @nobody")
    assert reply.error is not None and reply.error.code == "unknown_person"
    assert "nobody" in reply.text and "people list" in reply.text
    domain = ask(demo_services, "/owner @acme-trading.de")
    assert domain.ok and domain.data["matches"][0]["customer"]["name"] == "Acme Trading GmbH"


def test_unknown_text_answers_with_commands_the_asker_may_use(demo_services: Services) -> None:
    reply = ask(demo_services, "please do the overdue thing", who="amy")
    assert reply.error is not None and reply.error.code == "unknown_command"
    assert reply.data["suggestions"][0] == "sla" and "/sla" in reply.text
    member = ask(demo_services, "assign stuff somewhere?", who="li")
    assert "assign" not in member.data["suggestions"]  # li (a member) may not assign
    assert "assign" not in member.data["commands"]
    lead = ask(demo_services, "assign stuff somewhere?", who="boss")
    assert lead.data["suggestions"][0] == "assign"


@pytest.mark.parametrize("text", [
    "/search " + "x" * 100_000,
    "/owner " + "acme " * 20_000,
    "/owner " + "q" * 3_000,
    "/search " + "报价" * 1_500,
    "who owns " + "y" * 3_500,
    "z" * 100_000,
    "/" + "w" * 3_900,
    "/help " + "w" * 3_000,
    "/away " + "w" * 3_000 + " until 2026-12-20",
    "/sla snooze " + "q" * 3_000 + " 4h",
], ids=["search-100k", "owner-words", "owner-3k", "search-zh", "sentence", "word-100k", "slash-word", "help", "away",
        "sla"])
def test_long_messages_are_never_echoed_whole(demo_services: Services, text: str) -> None:
    reply = ask(demo_services, text)
    rendered = reply.text + " ".join(b.text for b in reply.blocks)  # what a chat shows
    assert len(rendered) < 2_000, (reply.command, len(rendered))
    longest = max((len(run) for run in re.findall(r"(x+|q+|y+|z+|w+|(?:报价)+)", rendered)), default=0)
    assert longest <= 80
