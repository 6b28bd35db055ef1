"""order@ categories (English and Chinese), support@ sub-types from aliases, corrections that teach."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services import Services
from tests.fakes.rules_helpers import (
    COMPLAINT,
    HANS,
    MEI,
    ORDER,
    RMA,
    SAM,
    SPARE,
    SUPPORT,
    ZHANG,
    Lab,
    eml,
    msgid_of,
)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


ORDER_MAIL = [
    # (category, subject, body, attachments, sender)
    ("po", "Purchase order 7001 for gate valves", "Please find attached our purchase order. Kindly countersign.",
     ["PO-7001.pdf"], HANS),
    ("po", "采购订单 7001 闸阀", "您好,附件是我们的采购订单和合同,请盖章回签。", ["采购订单7001.pdf"], ZHANG),
    ("delivery", "Production schedule for our order 7002",
     "Could you let us know the production status and the delivery date?", [], HANS),
    ("delivery", "订单7002 排产和交期", "请告知生产进度和交货期,谢谢。", [], ZHANG),
    ("shipping", "Shipping documents 7003: B/L, commercial invoice, packing list",
     "Please send the bill of lading and the certificate of origin for customs clearance.",
     ["BL-NGB70038821.pdf", "CI-7003.pdf"], HANS),
    ("shipping", "出货文件 7003:提单、发票、装箱单", "附件是提单、发票和装箱单,请查收并安排清关。", ["提单-7003.pdf"], ZHANG),
    ("exception", "Order 7004 delayed - please reschedule",
     "Due to a shortage of castings the delivery is delayed by 10 days. Sorry for the trouble.", [], HANS),
    ("exception", "订单7004延期通知", "由于铸件缺货,交期推迟10天,需要改期,抱歉。", [], ZHANG),
]


@pytest.mark.parametrize(("category", "subject", "body", "files", "sender"), ORDER_MAIL,
                         ids=[f"{c}-{'zh' if s == ZHANG else 'en'}" for c, *_, s in ORDER_MAIL])
def test_order_mail_is_sorted_at_import(lab: Lab, category: str, subject: str, body: str, files: list[str],
                                        sender: tuple[str, str]) -> None:
    raw = eml(subject, body, frm=sender, to=[ORDER], attachments=files)
    lab.add(raw)  # the archive indexer sorts it inside the import's transaction: no scan, no tick

    found, confidence = lab.category(msgid_of(raw))

    assert found == category
    assert confidence is not None and 0.5 <= confidence <= 1.0


def test_a_delivery_date_change_is_an_exception_not_a_delivery_date(lab: Lab) -> None:
    raw = eml("Delivery date change / 交期变更 PO 4520", "Due to casting delay the delivery date moves by 7 days.",
              frm=MEI, to=[HANS[1]], cc=[ORDER])
    lab.add(raw)
    assert lab.category(msgid_of(raw))[0] == "exception"


def test_mail_outside_order_and_support_gets_no_category(lab: Lab) -> None:
    raw = eml("Purchase order 7001", "our purchase order", to=["inquiry@hengda-valves.com"])
    lab.add(raw)
    assert lab.category(msgid_of(raw)) == (None, None)


def test_a_message_seen_in_order_later_is_sorted_then(lab: Lab) -> None:
    raw = eml("Purchase order 7009", "Please find our purchase order attached.", to=["inquiry@hengda-valves.com"],
              cc=[ORDER])
    lab.add(raw, mailbox="inquiry@hengda-valves.com")
    assert lab.category(msgid_of(raw)) == (None, None)

    lab.add(raw, mailbox=ORDER)  # the same letter, delivered to order@ too (a second sync)
    lab.scan()

    assert lab.category(msgid_of(raw))[0] == "po"


@pytest.mark.parametrize(("alias", "subtype"), [(RMA, "rma"), (COMPLAINT, "complaint"), (SPARE, "spare")])
def test_support_mail_keeps_its_alias_as_sub_type(lab: Lab, alias: str, subtype: str) -> None:
    first = eml("Valves from PO 4521", "Please see below.", to=[alias], delivered_to=alias)
    reply = eml("Re: Valves from PO 4521", "We are checking with QA.", frm=SAM, to=[HANS[1]], cc=[SUPPORT],
                in_reply_to=msgid_of(first))
    lab.add(first, reply)

    assert lab.category(msgid_of(first)) == (subtype, 1.0)
    assert lab.category(msgid_of(reply)) == (subtype, 0.9)  # the thread came in through the alias
    row = lab.db.execute("SELECT mailbox, via FROM sightings s JOIN messages m ON m.id = s.message "
                         "WHERE m.message_id = ?", [msgid_of(first)]).fetchone()
    assert row == (SUPPORT, alias)


@pytest.mark.parametrize(("subtype", "subject", "body"), [
    ("spare", "需要配件", "请补发10个密封圈配件。"),
    ("rma", "Return for repair", "We want to return 5 valves for repair under warranty."),
    ("complaint", "质量问题投诉", "收到的阀门漏水,质量问题严重。"),
])
def test_direct_support_mail_is_sorted_by_keywords(lab: Lab, subtype: str, subject: str, body: str) -> None:
    raw = eml(subject, body, frm=ZHANG, to=[SUPPORT])
    lab.add(raw)
    assert lab.category(msgid_of(raw))[0] == subtype


def test_a_correction_changes_how_later_mail_is_sorted(lab: Lab) -> None:
    first = eml("Inspection report lot 7781 / 验货报告", "See attached report of the third-party inspection.",
                to=[ORDER], attachments=["report-7781.pdf"])
    lab.add(first)
    before = lab.category(msgid_of(first))[0]
    assert before != "delivery"

    reply = lab.ask(f"/category {msgid_of(first)} delivery", "mei")  # mei: the merch team works order@

    assert reply.ok, reply.text
    assert lab.category(msgid_of(first)) == ("delivery", 1.0)
    later = eml("Inspection report lot 7790 / 验货报告", "Report of the inspection attached.", to=[ORDER])
    lab.add(later)
    category, confidence = lab.category(msgid_of(later))
    assert category == "delivery" and confidence is not None and confidence > 0.5
    unrelated = eml("Purchase order 7791", "Please find our purchase order attached.", to=[ORDER])
    lab.add(unrelated)
    assert lab.category(msgid_of(unrelated))[0] == "po"
    entry = lab.services.audit.recent(1)[0]
    assert entry["command"] == "category" and entry["actor"] == "mei" and entry["args"]["to"] == "delivery"
    assert lab.services.audit.verify() is None


def test_corrections_are_kept_through_a_backfill(lab: Lab) -> None:
    raw = eml("Purchase order 7001", "our purchase order", to=[ORDER])
    lab.add(raw)
    assert lab.ask(f"/category {msgid_of(raw)} exception", "mei").ok
    with lab.db.conn:
        lab.services.rules.categories.backfill(everything=True)
    assert lab.category(msgid_of(raw)) == ("exception", 1.0)


def test_who_may_correct_and_what(lab: Lab) -> None:
    raw = eml("Purchase order 7001", "our purchase order", to=[ORDER])
    lab.add(raw)
    ref = msgid_of(raw)
    assert lab.ask(f"/category {ref} delivery", "li").error.code == "forbidden"  # sales member, not merch
    assert lab.ask(f"/category {ref} delivery", "amy").error.code == "forbidden"  # a lead who may not read order@
    assert lab.ask(f"/category {ref} delivery", "boss").ok  # a manager (may read every mailbox)
    assert lab.ask(f"/category {ref} rma", "mei").error.code == "bad_category"
    assert lab.ask("/category 99999 po", "mei").error.code == "not_found"
    assert lab.ask("/category", "mei").error.code == "usage"


def test_category_is_a_search_filter(demo_services: Services) -> None:
    from bot.search.service import SearchService  # noqa: F401 - the search feature reads messages.category

    person = demo_services.directory.find_person("helen")
    assert person is not None
    ids = demo_services.search.engine.match_ids("category:shipping", person, now=demo_services.clock.now(), limit=1000)
    assert ids
    marks = ", ".join("?" for _ in ids)
    cats = {r[0] for r in demo_services.db.execute(f"SELECT category FROM messages WHERE id IN ({marks})", ids)}
    assert cats == {"shipping"}


def test_the_demo_factory_is_sorted(demo_services: Services) -> None:
    items = demo_services.rules.categories.items()
    found = {(i["mailbox"].split("@")[0], i["category"]) for i in items}
    assert {("order", "po"), ("order", "shipping"), ("order", "exception"), ("support", "rma"),
            ("support", "complaint"), ("support", "spare")} <= found
    subjects = {i["subject"]: i["category"] for i in items}
    assert subjects["PO 4599 - urgent: can you advance the shipment?"] == "exception"


def test_keyword_scores_computed_where_mail_is_parsed_sort_like_the_writer(demo_services: Services) -> None:
    """The demo import scored order@/support@ mail in its parse step; sorting everything again in the
    writer, from the stored text alone, gives the same categories and confidences."""
    from bot.demo.generator import generate

    preparer = demo_services.archive.preparer(None)
    parsed = [preparer(m.raw) for m in generate(demo_services.clock.now())]
    groups = {mail.prepared["categories"][0] for mail in parsed if "categories" in mail.prepared}
    assert groups == {"order", "support"}
    query = "SELECT id, category, category_confidence FROM messages WHERE category_confidence IS NOT NULL ORDER BY id"
    before = demo_services.db.execute(query).fetchall()
    assert len(before) > 100
    with demo_services.db.conn:
        demo_services.rules.categories.backfill(everything=True)
    assert demo_services.db.execute(query).fetchall() == before


def test_parse_time_scores_of_another_group_are_not_used(lab: Lab) -> None:
    """Scores prepared for support@ do not decide a message the writer finds in order@."""
    raw = eml("Order 7010 delayed - please reschedule", "The delivery is delayed, we need to reschedule.")
    lab.add(raw, mailbox=ORDER)
    db = lab.services.db
    pk = db.execute("SELECT id FROM messages WHERE message_id = ?", [msgid_of(raw)]).fetchone()[0]
    categories = lab.services.rules.categories
    categories.sort_messages([pk], {pk: ("support", {"rma": 99.0})})
    assert db.execute("SELECT category FROM messages WHERE id = ?", [pk]).fetchone()[0] == "exception"
    categories.sort_messages([pk], {pk: ("order", {"po": 99.0})})
    assert db.execute("SELECT category FROM messages WHERE id = ?", [pk]).fetchone()[0] == "po"


def test_new_order_mail_is_sorted_as_its_row_is_written(lab: Lab) -> None:
    """Sorting before the INSERT spares rewriting the row (and its body); a later sighting still re-sorts."""
    db = lab.services.db
    db.executescript("""
        CREATE TEMP TABLE category_updates (message INTEGER);
        CREATE TEMP TRIGGER count_category_updates AFTER UPDATE OF category_confidence ON messages
        BEGIN INSERT INTO category_updates VALUES (NEW.id); END;
    """)
    raw = eml("Complaint: wrong B/L and packing list", "The packing list is wrong, this is a complaint.",
              to=[SUPPORT])
    lab.add(raw)
    row = db.execute("SELECT id, category FROM messages WHERE message_id = ?", [msgid_of(raw)]).fetchone()
    assert row[1] == "complaint"
    assert db.execute("SELECT count(*) FROM temp.category_updates").fetchone()[0] == 0
    lab.add(raw, mailbox=ORDER)  # the same letter seen in order@ later: sorted again, as order mail
    lab.scan()
    assert db.execute("SELECT category FROM messages WHERE id = ?", [row[0]]).fetchone()[0] == "shipping"
    assert db.execute("SELECT count(*) FROM temp.category_updates").fetchone()[0] == 1
