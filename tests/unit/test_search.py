"""/search: Chinese words of two and three characters, typos, document numbers, synonyms, filters, paging."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.router import Router
from bot.core.clock import Clock
from bot.search.query import parse_query
from bot.search.text import index_text
from bot.services import Services
from bot.store.db import write_transaction
from tests.fakes.search_helpers import ORG, add, ids, make_mail, small_archive, subjects

HUATONG = ("张伟", "zhangwei@huatong-trade.cn")
TANAKA = ("田中 一郎", "tanaka@tokyokikai.co.jp")


@pytest.fixture
def cjk(tmp_path: Path, clock: Clock) -> Services:
    services = small_archive(tmp_path, clock, [
        make_mail("请寄发票", "您好，请尽快寄发票给我们，谢谢。", sender=HUATONG, to=[f"shipping@{ORG}"]),
        make_mail("返修问题", "这批球阀需要返修，请安排。", sender=HUATONG, to=[f"support@{ORG}"]),
        make_mail("材质确认", "阀体材质为不锈钢球阀，DN50。", sender=HUATONG),
        make_mail("装箱单和提单", "附件是装箱单，提单稍后发送。", sender=HUATONG, to=[f"shipping@{ORG}"]),
        make_mail("分开的字", "我们已经发。票据稍后寄出。", sender=HUATONG),
        make_mail("見積書の件", "バルブの見積書を送付します。よろしくお願いします。", sender=TANAKA),
        make_mail("Invoice for PO 4521", "Please find the commercial invoice attached.", to=[f"shipping@{ORG}"]),
    ])
    yield services
    services.db.conn.close()


def test_two_character_chinese_words_are_found_inside_running_text(cjk: Services) -> None:
    assert subjects(cjk, "发票") == {"请寄发票", "Invoice for PO 4521"}  # and "invoice": one synonym group
    assert subjects(cjk, "返修") == {"返修问题"}
    assert subjects(cjk, "寄发") == {"请寄发票"}


def test_three_and_more_characters_match_as_adjacent_characters(cjk: Services) -> None:
    assert subjects(cjk, "不锈钢") == {"材质确认"}
    assert subjects(cjk, "不锈钢球阀") == {"材质确认"}
    assert subjects(cjk, "装箱单") == {"装箱单和提单"}
    assert subjects(cjk, "钢不锈") == set()


def test_chinese_words_never_match_across_punctuation(cjk: Services) -> None:
    # "发。票" holds 发 and 票 next to each other but split by a full stop: not the word 发票
    assert "分开的字" not in subjects(cjk, "发票")
    assert subjects(cjk, "发") >= {"请寄发票", "分开的字"}  # one character: still found


def test_japanese_kana_and_kanji(cjk: Services) -> None:
    assert subjects(cjk, "見積書") == {"見積書の件"}
    assert subjects(cjk, "バルブ") == {"見積書の件"}


def test_index_text_writes_cjk_runs_as_bigrams() -> None:
    assert index_text("不锈钢球阀").split() == ["不锈", "锈钢", "钢球", "球阀", "阀"]
    assert index_text("PO 4521 发票").split() == ["PO", "4521", "发票", "票"]
    assert index_text("plain ascii stays as it is") == "plain ascii stays as it is"


def test_chinese_in_the_demo_archive(demo_services: Services) -> None:
    found = subjects(demo_services, "补发")
    assert found and any("质量问题" in s for s in found) and any("Leaking" in s for s in found)
    quotes = subjects(demo_services, "报价单")
    assert quotes and any(s.startswith("Re: [RFQ]-") for s in quotes)
    assert any("止回阀" in s for s in subjects(demo_services, "止回阀"))
    # 报价, 报价单 and quotation are one group of the trade vocabulary: each finds what the others find
    assert set(ids(demo_services, "报价")) == set(ids(demo_services, "报价单")) == set(ids(demo_services, "quotation"))


@pytest.mark.parametrize(("typo", "fixed"), [("quotaton", "quotation"), ("invioce", "invoice")])
def test_typos_are_corrected_against_the_archive_vocabulary(demo_services: Services, typo: str, fixed: str) -> None:
    zhou = demo_services.directory.find_person("zhou")
    result = demo_services.search.search(zhou, typo)
    assert result.corrections == {typo: fixed}
    assert result.hits and set(ids(demo_services, typo)) == set(ids(demo_services, fixed))
    assert f"**{fixed}**" in " ".join(h.snippet for h in result.hits).lower()


def test_two_typos_become_a_synonym_phrase(demo_services: Services) -> None:
    zhou = demo_services.directory.find_person("zhou")
    result = demo_services.search.search(zhou, "packng lst")
    assert result.corrections == {"packng": "packing", "lst": "list"}
    assert set(ids(demo_services, "packng lst")) == set(ids(demo_services, "packing list"))
    assert result.hits[0].subject.startswith("Shipping documents")


def test_known_words_are_not_corrected(demo_services: Services) -> None:
    zhou = demo_services.directory.find_person("zhou")
    assert demo_services.search.search(zhou, "quotation").corrections == {}


def test_document_numbers_match_exactly(demo_services: Services) -> None:
    po = subjects(demo_services, "PO 4541")
    assert po and all("4541" in s for s in po)
    assert subjects(demo_services, "PO 4999") == set()  # no near number stands in for a missing one
    assert ids(demo_services, "PO 4541") != ids(demo_services, "PO 4540")
    pi = ids(demo_services, "PI-2026-541")
    assert len(pi) == 1
    assert ids(demo_services, "NGB45418821") == ids(demo_services, "BL-NGB45418821")
    assert len(ids(demo_services, "NGB45418821")) == 1
    assert ids(demo_services, "PO4541") == ids(demo_services, "PO 4541")


def test_trade_abbreviations_are_synonyms_both_ways(cjk: Services, demo_services: Services) -> None:
    bl = set(ids(demo_services, "B/L"))
    assert bl and bl == set(ids(demo_services, "bill of lading")) == set(ids(demo_services, "提单"))
    assert "装箱单和提单" in subjects(cjk, "bill of lading")
    assert "装箱单和提单" in subjects(cjk, "packing list")
    assert "Invoice for PO 4521" in subjects(cjk, "CI")
    assert set(ids(demo_services, "PO")) == set(ids(demo_services, "purchase order"))


def test_synonyms_extend_from_the_config(tmp_path: Path, clock: Clock) -> None:
    services = small_archive(tmp_path, clock, [
        make_mail("起订量", "我们的起订量是500台。", sender=HUATONG),
        make_mail("MOQ question", "What is your MOQ for DN50?"),
    ])
    assert subjects(services, "minimum order quantity") == {"起订量", "MOQ question"}
    assert subjects(services, "起订量") == {"起订量", "MOQ question"}


def test_exact_phrases_and_exclusions(demo_services: Services) -> None:
    phrase = subjects(demo_services, '"delivery date"')
    assert phrase and all("valve world" not in s.lower() for s in phrase)
    assert set(ids(demo_services, '"date delivery"')) < set(ids(demo_services, "date delivery"))
    without = subjects(demo_services, "valve -PO")
    assert without and not any("PO " in s for s in without)


def test_latin_diacritics_fold(tmp_path: Path, clock: Clock) -> None:
    services = small_archive(tmp_path, clock, [
        make_mail("Visit", "Klaus Müller from São Paulo and Mehmet Yılmaz from Łódź.", sender=("A", "a@x.de")),
    ])
    for query in ("muller", "Müller", "sao paulo", "yilmaz", "lodz", "MÜLLER"):
        assert subjects(services, query) == {"Visit"}, query


FILTER_CASES = [
    ("mailbox:order valve", "EXISTS (SELECT 1 FROM sightings WHERE message = m.id AND mailbox = 'order@hengda-valves.com')"),
    ("mailbox:rma PO", "EXISTS (SELECT 1 FROM sightings WHERE message = m.id AND mailbox = 'support@hengda-valves.com')"),
    ("from:amy", "m.from_addr = 'amy@hengda-valves.com'"),
    ("from:hans.weber@acme-trading.de", "m.from_addr = 'hans.weber@acme-trading.de'"),
    ("to:order PO", "m.to_addrs LIKE '%order@%' OR m.cc_addrs LIKE '%order@%'"),
    ("customer:acme", "m.customer_id IN (SELECT id FROM customers WHERE name LIKE '%acme%')"),
    ("after:2026-11-01 valve", "m.date >= '2026-10-31T16:00:00Z'"),
    ("before:2026-10-01 valve", "m.date < '2026-09-30T16:00:00Z'"),
    ("has:attachment valve", "m.has_attachments = 1"),
    ("in:sent valve", "m.direction = 'outbound'"),
]


@pytest.mark.parametrize(("query", "condition"), FILTER_CASES)
def test_each_filter_keeps_exactly_the_matching_mail(demo_services: Services, query: str, condition: str) -> None:
    found = set(ids(demo_services, query))
    text = " ".join(w for w in query.split() if ":" not in w)
    everything = {r[0] for r in demo_services.db.execute("SELECT id FROM messages")}
    unfiltered = set(ids(demo_services, text)) if text else everything
    expected = {r[0] for r in demo_services.db.execute(f"SELECT m.id FROM messages m WHERE {condition}")} & unfiltered
    assert found, query
    assert found == expected, query
    assert found < unfiltered, query


def test_category_filter(demo_services: Services) -> None:
    with demo_services.db.conn:  # categories of our own, whatever the rules engine decided
        demo_services.db.execute("UPDATE messages SET category = NULL")
        demo_services.db.execute("UPDATE messages SET category = 'po' WHERE subject LIKE 'PO %'")
        demo_services.db.execute("UPDATE messages SET category = 'shipping' WHERE subject LIKE 'Shipping documents%'")
    po = subjects(demo_services, "category:po")
    assert po and all(s.startswith("PO ") for s in po)
    assert subjects(demo_services, "category:shipping valve") == set()
    assert subjects(demo_services, "category:shipping invoice") and all(
        s.startswith("Shipping") for s in subjects(demo_services, "category:shipping invoice"))


def test_relative_dates_and_bad_filters(demo_services: Services) -> None:
    recent = ids(demo_services, "after:7d")
    assert recent and len(recent) < len(ids(demo_services, "after:90d"))
    router = Router(demo_services)
    zhou = demo_services.directory.find_person("zhou")
    for bad in ("/search mailbox:nosuch valve", "/search after:yesterday-ish valve", "/search has:pony",
                "/search -from:amy valve", "/search customer:zzzzqqqq"):
        reply = router.handle(bad, zhou)
        assert reply.error is not None and reply.error.code == "bad_query", bad
    assert router.handle("/search", zhou).error.code == "usage"


def test_paging_through_results_with_more(demo_services: Services) -> None:
    router = Router(demo_services)
    amy = demo_services.directory.find_person("amy")
    zhou = demo_services.directory.find_person("zhou")
    first = router.handle("/search quotation", amy)
    router.handle("/search 补发", zhou)  # another person's search does not disturb Amy's paging
    seen = [h["id"] for h in first.data["hits"]]
    assert len(seen) == 10 and first.data["more"]
    total = first.data["matched"]
    while True:
        page = router.handle("/search more", amy)
        if not page.data["hits"]:
            assert "No more results" in page.text
            break
        seen.extend(h["id"] for h in page.data["hits"])
    assert len(seen) == len(set(seen)) == total == len(ids(demo_services, "quotation", "amy"))
    scores = [h["score"] for h in first.data["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_more_without_a_search_says_so(demo_services: Services) -> None:
    reply = Router(demo_services).handle("/search more", demo_services.directory.find_person("tom"))
    assert reply.error is not None and reply.error.code == "no_session"


def test_plain_language_and_the_slack_alias(demo_services: Services) -> None:
    router = Router(demo_services)
    zhou = demo_services.directory.find_person("zhou")
    for text in ("搜索 补发", "搜索补发", "search 补发", "/mailsearch 补发", "/search 补发"):
        reply = router.handle(text, zhou)
        assert reply.command == "search" and reply.data["query"] == "补发", text


def test_hits_show_subject_sender_date_mailboxes_customer_snippet(demo_services: Services) -> None:
    zhou = demo_services.directory.find_person("zhou")
    reply = Router(demo_services).handle("/search PO 4541 has:attachment", zhou)
    assert len(reply.data["hits"]) == 3
    hit = next(h for h in reply.data["hits"] if h["subject"] == "PO 4541 - Butterfly Valve BF-DN150")
    assert hit["from"] == "k.mueller@mueller-soehne.de" and hit["mailboxes"] == [f"order@{ORG}"]
    assert hit["customer"] and "**4541**" in hit["snippet"] and hit["message_id"].endswith("mueller-soehne.de")
    assert hit["date"].startswith("2026-")
    assert f"#{hit['id']}" in reply.text and "order@" in reply.text


def test_new_mail_is_searchable_after_import_and_old_archives_catch_up(tmp_path: Path, clock: Clock) -> None:
    services = small_archive(tmp_path, clock, [make_mail("first", "zebra crossing")])
    assert subjects(services, "zebra") == {"first"}
    add(services, [make_mail("second", "zebra again")])
    assert subjects(services, "zebra") == {"first", "second"}
    with services.db.conn:  # as if archived by a Mailroom without search: rows beyond the watermark
        services.db.execute(
            "INSERT INTO messages (message_id, direction, subject, body, archived_at) "
            "VALUES ('legacy@x', 'inbound', 'third', 'zebra legacy', '2026-01-01T00:00:00Z')")
        services.db.execute("INSERT INTO sightings (message, mailbox) SELECT id, '' FROM messages WHERE message_id = 'legacy@x'")
    assert subjects(services, "zebra") == {"first", "second", "third"}
    assert services.search.index.backlog() == 0


def test_full_reindex_gives_the_same_answers(demo_services: Services) -> None:
    before = {q: ids(demo_services, q) for q in ("补发", "quotaton", "PO 4541", "B/L mailbox:shipping")}
    with write_transaction(demo_services.db):
        count = demo_services.search.index.rebuild()
    assert count == demo_services.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    assert {q: ids(demo_services, q) for q in before} == before


def test_query_lexer_keeps_phrases_filters_and_words_apart() -> None:
    parsed = parse_query('PO 4521 “packing list” -draft mailbox:order from:"amy zhang" after:2026-01-01 http://x')
    assert [(i.kind, i.text, i.negated) for i in parsed.items] == [
        ("word", "PO", False), ("word", "4521", False), ("phrase", "packing list", False), ("word", "draft", True),
        ("word", "http://x", False)]
    assert parsed.filters.mailbox == ["order"] and parsed.filters.sender == ["amy zhang"]
    assert parsed.filters.after == "2026-01-01"


def test_fixed_clock_decides_relative_dates(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 6, 10, tzinfo=UTC))
    services = small_archive(tmp_path, clock, [make_mail("old", "walrus", when=datetime(2026, 5, 1, tzinfo=UTC)),
                                               make_mail("new", "walrus", when=datetime(2026, 6, 9, tzinfo=UTC))])
    assert subjects(services, "walrus after:7d") == {"new"}
    assert subjects(services, "walrus before:7d") == {"old"}


def test_customer_filter_gives_the_same_answer_as_id_list_and_as_id_set(
        demo_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    queries = ("customer:acme", "valve customer:acme", "补发 customer:杭州东方机电", "PO customer:huatong after:2026-10-01")
    small = {q: ids(demo_services, q) for q in queries}
    monkeypatch.setattr("bot.search.filters.ID_LIST_MAX", 0)  # as if every customer had thousands of mails
    assert {q: ids(demo_services, q) for q in queries} == small
    assert all(small.values())
