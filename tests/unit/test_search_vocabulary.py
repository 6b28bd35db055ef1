"""The trade vocabulary (bot/search/trade_vocabulary.toml): every group tested on a small archive that holds
one mail per term — searching any term finds the mail written with every other term of its group."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.search.synonyms import Synonyms, synonym_key, trade_vocabulary
from bot.services import Services
from tests.fakes.search_helpers import ids, make_mail, small_archive

GROUPS = trade_vocabulary()
CJK = re.compile(r"[\u4e00-\u9fff]")


def mail_for(group: int, term: int, text: str) -> bytes:
    subject = f"vocab-{group}-{term}"
    if CJK.search(text):
        body = f"您好，关于{text}，请查收附件并确认。谢谢！"
    else:
        body = f"Dear partner,\n\nregarding the {text} for our order, please check and confirm.\n\nBest regards"
    return make_mail(subject, body)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, dict[str, int]]]:
    from tests.conftest import DEMO_NOW

    folder: Path = tmp_path_factory.mktemp("vocabulary")
    mails = [mail_for(g, t, text) for g, (_topic, terms) in enumerate(GROUPS) for t, text in enumerate(terms)]
    services = small_archive(folder, Clock(DEMO_NOW), mails)
    by_subject = {r[1]: r[0] for r in services.db.execute("SELECT id, subject FROM messages")}
    yield services, by_subject
    services.db.conn.close()


def test_vocabulary_is_large_bilingual_and_unambiguous() -> None:
    assert len(GROUPS) >= 60
    seen: dict[str, str] = {}
    for topic, terms in GROUPS:
        assert any(CJK.search(t) for t in terms), f"{topic}: no Chinese term"
        assert any(not CJK.search(t) for t in terms), f"{topic}: no English term or abbreviation"
        for term in terms:
            key = synonym_key(term)
            assert key, f"{topic}: {term!r} has no searchable characters"
            assert key not in seen, f"{term!r} is in both {seen[key]!r} and {topic!r}"
            seen[key] = topic
    topics = " ".join(t for t, _ in GROUPS).lower()
    for needed in ("quotation", "inquiry", "purchase order", "contract", "proforma invoice", "commercial invoice",
                   "invoice", "packing list", "bill of lading", "customs", "certificate of origin", "form e",
                   "letter of credit", "telegraphic transfer", "deposit", "balance", "lead time", "sample",
                   "inspection", "complaint", "replacement", "rma", "container loading", "etd", "eta",
                   "freight forwarder", "hs code"):
        assert needed in topics, needed


@pytest.mark.parametrize("group", range(len(GROUPS)), ids=[topic for topic, _ in GROUPS])
def test_each_term_finds_mail_written_with_every_other_term(archive: tuple[Services, dict[str, int]],
                                                            group: int) -> None:
    services, by_subject = archive
    _topic, terms = GROUPS[group]
    expected = {by_subject[f"vocab-{group}-{t}"] for t in range(len(terms))}
    for term in terms:
        found = set(ids(services, term))
        missing = sorted(terms[int(s.rsplit("-", 1)[1])] for s, i in by_subject.items()
                         if i in expected - found)
        assert not missing, f"searching {term!r} does not find mail written with {missing}"


def test_fapiao_finds_invoice_mail_and_not_unrelated_groups(archive: tuple[Services, dict[str, int]]) -> None:
    services, by_subject = archive
    found = set(ids(services, "发票"))
    invoice_group = next(g for g, (topic, _) in enumerate(GROUPS) if topic == "invoice")
    assert by_subject[f"vocab-{invoice_group}-0"] in found  # "invoice" in English
    pallet_group = next(g for g, (topic, _) in enumerate(GROUPS) if topic == "pallet")
    assert not {by_subject[f"vocab-{pallet_group}-{t}"] for t in range(3)} & found


def test_longer_terms_keep_their_narrower_group() -> None:
    synonyms = Synonyms()
    size, group = synonyms.match(["commercial", "invoice"], 0)  # type: ignore[misc]
    assert size == 2 and "商业发票" in group and "发票" not in group
    size, group = synonyms.match(["packing", "list"], 0)  # type: ignore[misc]
    assert size == 2 and "装箱单" in group
    size, group = synonyms.match(["packing"], 0)  # type: ignore[misc]
    assert "包装" in group


def test_fapiao_finds_what_invoice_finds_in_the_demo(demo_services: Services) -> None:
    invoice = set(ids(demo_services, "invoice"))
    assert invoice and set(ids(demo_services, "发票")) == invoice
    assert set(ids(demo_services, "报价")) == set(ids(demo_services, "quotation"))
