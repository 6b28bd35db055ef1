"""Milestones found in mail (bot/customers/milestones.py): English and Chinese, words and attachment names."""

import pytest

from bot.customers.milestones import customer_milestones, detect, latest_per_kind
from bot.services import Services


def kinds(*args: object, **kwargs: object) -> set[str]:
    return {hit.kind for hit in detect(*args, **kwargs)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("subject", "body", "attachments", "direction", "expected"),
    [
        ("Re: [RFQ]-Acme-Ball Valve", "Please find our quotation attached, payment terms 30% T/T deposit.", [],
         "outbound", {"quotation", "payment_terms"}),
        ("Re: [RFQ]-华通-球阀", "附件是球阀的报价单,付款方式30%预付。", [], "outbound", {"quotation", "payment_terms"}),
        ("Offer", "see attachment", ["BVDN50-BV-DN50-USD-30d-V1.pdf"], "outbound", {"quotation"}),
        ("Samples", "The samples are approved, please start mass production.", [], "inbound", {"sample_confirmation"}),
        ("样品", "样品确认OK,可以安排大货。", [], "inbound", {"sample_confirmation"}),
        ("PO 4521 - Gate Valve", "Please find attached our purchase order.", ["PO-4521.pdf"], "inbound", {"po"}),
        ("采购订单 PO 4522", "附件是订单,请确认交期。", [], "inbound", {"po"}),
        ("Re: PO 4521", "PO confirmation: we confirm PO 4521.", ["PI-2026-521.pdf"], "outbound",
         {"po_confirmation"}),
        ("交期变更 PO 4521", "因铸件延误,交期推迟7天。", [], "outbound", {"delivery_change"}),
        ("PO 4599", "Can you ship PO 4599 one week earlier?", [], "inbound", {"po", "delivery_change"}),
        ("Shipping documents PO 4521", "Attached B/L, invoice and packing list.",
         ["BL-NGB45218821.pdf", "CI-4521.pdf", "PL-4521.pdf"], "outbound", {"shipping_documents"}),
        ("提单", "附件是提单和装箱单。", [], "outbound", {"shipping_documents"}),
        ("Loading plan PO 4521", "2 x 40HQ on 12/01.", ["Loading-Plan-4521.xlsx"], "outbound", {"loading_plan"}),
        ("装柜计划", "下周一装柜。", [], "outbound", {"loading_plan"}),
        ("Leaking Ball Valve on PO 4777", "12 pcs are leaking at the stem.", [], "inbound", {"complaint"}),
        ("质量问题:闸阀 漏水", "有10台漏水,请尽快处理。", [], "inbound", {"complaint"}),
        ("Complaint conclusion PO 4777", "Conclusion: root cause is the seal; we send 12 pcs replacement.", [],
         "outbound", {"complaint_conclusion"}),
        ("投诉处理结果", "结论:补发12台。", [], "outbound", {"complaint_conclusion"}),
    ],
)
def test_detects_each_milestone(subject: str, body: str, attachments: list[str], direction: str,
                                expected: set[str]) -> None:
    assert kinds(subject, body, attachments, direction=direction, roles=[]) == expected


def test_direction_decides_whose_milestone_it_is() -> None:
    rfq = "Please send your best quotation for 500 pcs."
    assert "quotation" not in kinds("[RFQ]-Acme-Ball Valve", rfq, direction="inbound")
    assert "complaint" not in kinds("Re: leaking valves", "We are checking the leaking valves.", direction="outbound")


def test_a_po_number_alone_is_a_reference_not_a_purchase_order() -> None:
    assert kinds("Leaking Ball Valve on PO 4777", "Leaking.", direction="inbound") == {"complaint"}


def test_quoted_history_and_reply_subjects_do_not_count() -> None:
    body = "Thanks, noted.\n\nOn Mon, Amy wrote:\n> Please find our quotation attached, payment terms T/T."
    assert kinds("Re: Quotation for ball valves", body, direction="inbound") == set()


def test_a_discount_is_a_complaint_conclusion_only_in_after_sales_mail() -> None:
    text = "We can offer a 5% discount for 1000 pcs."
    assert "complaint_conclusion" not in kinds("Price", text, direction="outbound", roles=["inquiry"])
    assert "complaint_conclusion" in kinds("Re: leaking", text, direction="outbound", roles=["support"])
    # a B/L mentioned in payment terms is not a shipping document, unless in order/shipping mail
    terms = "Balance against B/L copy."
    assert "shipping_documents" not in kinds("Re: x", terms, direction="outbound", roles=["inquiry"])
    assert "shipping_documents" in kinds("Re: x", terms, direction="outbound", roles=["shipping"])


def test_no_roles_given_means_no_role_check() -> None:
    assert "complaint_conclusion" in kinds("Re: x", "a 5% discount on the next order", direction="outbound")


def test_customer_milestones_pair_complaints_with_their_conclusions(demo_services: Services) -> None:
    db = demo_services.db
    customer = db.execute("SELECT id FROM customers WHERE name = 'Acme Trading GmbH'").fetchone()[0]
    roles = {m.address: m.role for m in demo_services.config.mailboxes}
    found = customer_milestones(db, customer, now=demo_services.clock.now(), roles=roles)
    complaints = [m for m in found if m.kind == "complaint"]
    assert complaints and complaints[0].conclusion is None  # the leak reported yesterday: not concluded yet
    assert all(c.conclusion is not None and c.conclusion.at >= c.at for c in complaints[1:])
    assert all(c.conclusion.thread_id == c.thread_id for c in complaints[1:] if c.conclusion)
    brief = latest_per_kind(found)
    assert [m.at for m in brief if m.kind != "complaint"] == sorted((m.at for m in brief if m.kind != "complaint"),
                                                                   reverse=True)
    assert len({m.kind for m in brief if m.kind != "complaint"}) == len([m for m in brief if m.kind != "complaint"])
    assert not any(m.kind == "complaint_conclusion" for m in brief)  # shown under their complaints
