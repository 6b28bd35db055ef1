"""/owner finds the customer however it is typed: typos, case, accents, word order, legal forms,
Chinese and pinyin, domains and addresses — on the demo archive, through the real router."""

import json

import pytest

from bot.customers.book import load_crm
from bot.customers.matching import CustomerIndex, CustomerRecord, fold, name_key
from bot.services import Services
from tests.fakes.asking import ask
from tests.fakes.owner_helpers import import_mail, mail

ACME, MUELLER, HUATONG = "Acme Trading GmbH", "Müller & Söhne GmbH", "深圳华通贸易有限公司"


@pytest.mark.parametrize(
    ("text", "customer", "owner"),
    [
        ("/owner acme trdng", ACME, "amy"),  # typo
        ("/owner ACME", ACME, "amy"),  # case
        ("/owner Muller Sohne", MUELLER, "li"),  # accents folded
        ("/owner Müller & Söhne", MUELLER, "li"),  # accents as written, legal form missing
        ("/owner Mueller Soehne", MUELLER, "li"),  # German transliteration
        ("/owner Söhne Müller", MUELLER, "li"),  # word order
        ("/owner trading acme", ACME, "amy"),  # word order
        ("/owner Nordic Flow", "Nordic Flow AB", "lucy"),  # missing legal suffix
        ("/owner Istanbul Vana AS", "Istanbul Vana A.Ş.", "lucy"),  # AS vs A.Ş.
        ("/owner İSTANBUL VANA A.Ş.", "Istanbul Vana A.Ş.", "lucy"),  # Turkish dotted capital I
        ("/owner Polska Armatura Sp. z o.o.", "Polska Armatura Sp. z o.o.", "amy"),
        ("/owner grupo hidraulico", "Grupo Hidráulico SA de CV", "amy"),
        ("/owner 华通", HUATONG, "chen"),  # Chinese short name inside the registered name
        ("/owner Huatong", HUATONG, "chen"),  # pinyin alias
        ("/owner huatnog", HUATONG, "chen"),  # pinyin with a typo (a "did you mean" at worst)
        ("/owner Shenzhen Huatong Trading", HUATONG, "chen"),  # English alias without "Co. Ltd"
        ("/owner 東京機械", "東京機械株式会社", "li"),  # Japanese, 株式会社 dropped
        ("/owner tokio kikai", "東京機械株式会社", "li"),
        ("/owner acme-trading.de", ACME, "amy"),  # domain
        ("/owner www.acme-trading.de", ACME, "amy"),
        ("/owner hans.weber@acme-trading.de", ACME, "amy"),  # contact address
        ("/owner someone.new@acme-trading.de", ACME, "amy"),  # unknown address at a known domain
        ("/owner ahmed.trading2019@gmail.com", "Ahmed Trading Est.", "chen"),  # free-mail contact
        ("/owner copenhagen pump", "Copenhagen Pumps ApS", "li"),
        ("/owner Copenhagen Pumps A/S", "Copenhagen Pumps ApS", "li"),  # another legal form, with a slash
    ],
)
def test_owner_finds_the_customer(demo_services: Services, text: str, customer: str, owner: str) -> None:
    reply = ask(demo_services, text)
    assert reply.ok, reply.text
    best = reply.data["matches"][0]
    assert best["customer"]["name"] == customer
    assert best["owner"]["id"] == owner
    assert 0 <= best["score"] <= 100
    if reply.data["status"] == "found":
        assert reply.data["details"]["customer"]["name"] == customer
        assert customer in reply.text
    else:  # a weak single candidate is offered, not asserted
        assert reply.buttons[0].command == f"/owner {customer}"


@pytest.mark.parametrize(
    "text",
    ["who owns acme?", "Who owns ACME trading", "whose customer is acme", "who is the owner of acme?",
     "acme 是谁的客户", "acme是谁的客户？", "谁负责 acme", "谁负责acme？", "acme 谁负责", "acme 的负责人是谁"],
)
def test_plain_language_in_english_and_chinese(demo_services: Services, text: str) -> None:
    reply = ask(demo_services, text)
    assert reply.command == "owner" and reply.ok, reply.text
    assert reply.data["matches"][0]["customer"]["name"] == ACME


def test_exact_matches_score_100_and_fuzzy_ones_less(demo_services: Services) -> None:
    exact = ask(demo_services, "/owner acme-trading.de").data["matches"][0]
    assert exact["score"] == 100 and exact["via"] == "domain" and exact["source"] == "crm"
    fuzzy = ask(demo_services, "/owner acme trdng").data["matches"][0]
    assert 85 <= fuzzy["score"] < 100 and fuzzy["matched"] == ACME


def test_ambiguous_query_offers_buttons_that_ask_again(demo_services: Services) -> None:
    reply = ask(demo_services, "/owner trading")
    assert reply.ok and reply.data["status"] == "ambiguous"
    names = [m["customer"]["name"] for m in reply.data["matches"]]
    assert {ACME, "Ahmed Trading Est.", HUATONG} <= set(names)
    scores = [m["score"] for m in reply.data["matches"]]
    assert scores == sorted(scores, reverse=True)
    assert [b.command for b in reply.buttons] == [f"/owner {n}" for n in names]
    for button, name in zip(reply.buttons, names, strict=True):
        again = ask(demo_services, button.command)
        assert again.data["status"] == "found" and again.data["matches"][0]["customer"]["name"] == name


def test_unknown_word_with_a_common_one_is_not_a_confident_match(demo_services: Services) -> None:
    reply = ask(demo_services, "/owner zzz trading")
    assert reply.data["status"] in ("ambiguous", "none")
    assert all(m["score"] < 85 for m in reply.data["matches"])


def test_no_match_says_so_and_suggests_the_closest(demo_services: Services) -> None:
    reply = ask(demo_services, "/owner acne pumpz")
    assert not reply.ok and reply.error is not None and reply.error.code == "no_match"
    assert reply.data["matches"] == []
    suggested = [s["customer"]["name"] for s in reply.data["suggestions"]]
    assert suggested[:2] == [ACME, "Copenhagen Pumps ApS"] or set(suggested[:2]) == {ACME, "Copenhagen Pumps ApS"}
    assert "No customer matches" in reply.text and "Copenhagen Pumps ApS" in reply.text
    assert [b.command for b in reply.buttons][:len(suggested)] == [f"/owner {n}" for n in suggested]

    nothing = ask(demo_services, "/owner xyzzy")
    assert nothing.error is not None and nothing.error.code == "no_match" and nothing.data["suggestions"] == []


def test_json_shape_of_a_match(demo_services: Services) -> None:
    body = json.loads(json.dumps(ask(demo_services, "/owner acme").as_json()))
    assert set(body) >= {"command", "text", "data", "error"} and body["error"] is None
    match = body["data"]["matches"][0]
    assert set(match["customer"]) >= {"name", "domains", "aliases"}
    assert match["customer"]["domains"] == ["acme-trading.de"] and "ACME Handel" in match["customer"]["aliases"]
    assert match["owner"] == {"id": "amy", "name": "Amy Zhang", "email": "amy@hengda-valves.com"}
    assert match["source"] == "crm"


def test_normalisation() -> None:
    assert fold("Söhne") == fold("Sohne") == fold("Soehne") == "sohne"
    assert fold("STRAẞE") == fold("Strasse")
    assert name_key("Müller & Söhne GmbH") == name_key("Mueller und Soehne") == "muller sohne"
    assert name_key("Istanbul Vana A.Ş.") == name_key("Istanbul Vana AS") == "istanbul vana"
    assert name_key("Polska Armatura Sp. z o.o.") == "polska armatura"
    assert name_key("Grupo Hidráulico S.A. de C.V.") == "grupo hidraulico"
    assert name_key("Shenzhen Huatong Trading Co., Ltd.") == "shenzhen huatong trading"
    assert name_key("Acme GmbH & Co. KG") == "acme"
    assert name_key("深圳华通贸易有限公司") == "深 圳 华 通 贸 易"
    assert name_key("東京機械株式会社") == "東 京 機 械"
    assert name_key("Ｓｏｎｙ Corp.") == "sony"  # full-width letters
    assert name_key("GmbH") == "gmbh"  # a legal form alone is kept: never an empty key


def test_identical_names_stay_apart() -> None:
    index = CustomerIndex([CustomerRecord(1, "Acme GmbH", ("acme.de",)), CustomerRecord(2, "Acme Ltd", ("acme.co.uk",))])
    both = index.resolve("acme")
    assert both.status == "ambiguous" and {m.customer.id for m in both.matches} == {1, 2}
    assert index.resolve("Acme Ltd").best is not None and index.resolve("Acme Ltd").best.customer.id == 2
    assert index.resolve("acme.co.uk").best.customer.id == 2  # type: ignore[union-attr]


def test_index_is_built_once_appended_for_new_customers_and_rebuilt_on_changes(demo_services: Services) -> None:
    cache = demo_services.customer_index
    first = cache.get()
    assert cache.get() is first and cache.builds == 1 and cache.appends == 0

    now = demo_services.clock.now()
    import_mail(demo_services, mail("buyer@brandneu-armaturen.de", "inquiry@hengda-valves.com",
                                    "[RFQ]-Brandneu Armaturen-Ball Valve-20261125", now, name="Eva Brandt"))
    found = ask(demo_services, "/owner brandneu armaturn")
    assert found.data["status"] == "found"
    assert found.data["matches"][0]["customer"]["name"] == "Brandneu Armaturen"
    assert cache.builds == 1 and cache.appends == 1 and cache.get() is first

    csv = demo_services.config.resolve(demo_services.config.customers.csv)  # type: ignore[arg-type]
    csv.write_text(csv.read_text(encoding="utf-8").replace("Acme;ACME Handel", "Acme;ACME Handel;Akme Hamburg"),
                   encoding="utf-8")
    load_crm(demo_services.db, demo_services.config, demo_services.directory, "2026-11-25T02:00:00Z")
    assert ask(demo_services, "/owner Akme Hamburg").data["matches"][0]["customer"]["name"] == ACME
    assert cache.builds == 2
