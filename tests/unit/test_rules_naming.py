"""Naming conventions: `[RFQ]-Customer-Product-Date` subjects and `Product-Model-Currency-Validity-Version`
quotation files, with a corrected suggestion sent privately to the sender, at most once per thread."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.rules.naming import QUOTATION, SUBJECT, quotation_name_ok, subject_ok, suggest_file
from tests.fakes.rules_helpers import AMY, HANS, INQUIRY, NOW, Lab, eml, msgid_of

RULES = '[rules.naming]\nproducts = ["Ball Valve", "Gate Valve", "球阀"]\n'


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path, rules_toml=RULES)
    yield lab
    lab.close()


@pytest.mark.parametrize(("subject", "ok"), [
    ("[RFQ]-Acme-Ball Valve-20261120", True),
    ("Re: [RFQ]-Acme-Ball Valve-20261120", True),
    ("回复: [RFQ]-华通-球阀-20261120", True),
    ("[RFQ]-Acme Trading-BV-DN50 Ball Valve-2026-11-20", True),
    ("[RFQ] Acme Ball Valve 20261120", False),
    ("Re: Need ball valves", False),
    ("[RFQ]-Acme-Ball Valve", False),
])
def test_subject_convention(subject: str, ok: bool) -> None:
    assert subject_ok(subject) is ok


@pytest.mark.parametrize(("name", "ok"), [
    ("BallValve-BV-DN50-USD-30d-V1.pdf", True),
    ("BVDN50-BV-DN50-USD-30d-V1.pdf", True),
    ("球阀-BV-DN50-RMB-30天-V2.xlsx", True),
    ("GateValve-GV100-EUR-20261231-v1.1.pdf", True),
    ("Quotation final.pdf", False),
    ("BallValve-BV-DN50-30d-V1.pdf", False),
    ("BallValve-BV-DN50-USD-V1.pdf", False),
])
def test_quotation_file_convention(name: str, ok: bool) -> None:
    assert quotation_name_ok(name) is ok


def test_file_suggestion_is_filled_from_the_mail() -> None:
    suggestion = suggest_file("Quotation final.pdf", subject="Re: [RFQ]-Acme-Ball Valve-20261120",
                              body="Our price for BV-DN50 is EUR 23.50/pc, valid 45 days.", products=["Ball Valve"])
    assert suggestion == "BallValve-BV-DN50-EUR-45d-V1.pdf"
    assert QUOTATION.match(suggestion)


def inquiry_and_reply(reply_subject: str, *, files: list[str] = (), body: str | None = None) -> tuple[bytes, bytes]:
    inquiry = eml("Need ball valves", "Please quote 500 pcs ball valves DN50.", to=[INQUIRY],
                  when=NOW - timedelta(days=2))
    reply = eml(reply_subject, body or "Dear Hans,\nplease find our quotation attached: Ball Valve BV-DN50, USD "
                "23.50/pc, valid 30 days.\nAmy", frm=AMY, to=[HANS[1]], cc=[INQUIRY], in_reply_to=msgid_of(inquiry),
                attachments=files)
    return inquiry, reply


def test_wrong_subject_and_file_name_get_one_private_nudge(lab: Lab) -> None:
    inquiry, reply = inquiry_and_reply("Re: Need ball valves", files=["Quotation final.pdf"])
    lab.add(inquiry, reply)

    lab.tick()

    subjects = lab.violations("subject_convention")
    files = lab.violations("quotation_name")
    assert [(v["message_id"], v["person"], v["customer"]) for v in subjects] == [
        (msgid_of(reply), "amy", "Acme Trading GmbH")]
    expected = subjects[0]["expected"]
    assert expected == "[RFQ]-Acme Trading-Ball Valve-20261121" and SUBJECT.match(expected)
    assert [(v["message_id"], v["expected"]) for v in files] == [(msgid_of(reply), "BallValve-BV-DN50-USD-30d-V1.pdf")]
    alerts = lab.alerts("rules:naming:")
    assert [(a["person"], a["kind"]) for a in alerts] == [("amy", "person")]
    text = alerts[0]["reply"].text
    assert expected in text and "BallValve-BV-DN50-USD-30d-V1.pdf" in text

    again = eml("Re: Need ball valves", "And the gate valves: see attached.", frm=AMY, to=[HANS[1]], cc=[INQUIRY],
                in_reply_to=msgid_of(reply), attachments=["Quotation gate valves.pdf"])
    lab.add(again)
    lab.tick()
    assert len(lab.violations("subject_convention")) == 2
    assert len(lab.alerts("rules:naming:")) == 1  # at most one nudge per thread


def test_conventional_names_pass(lab: Lab) -> None:
    inquiry, reply = inquiry_and_reply("Re: [RFQ]-Acme-Ball Valve-20261121",
                                       files=["BallValve-BV-DN50-USD-30d-V1.pdf"])
    lab.add(inquiry, reply)
    lab.tick()
    assert lab.violations("subject_convention") == [] and lab.violations("quotation_name") == []
    checks = dict(lab.db.execute("SELECT rule, ok FROM rule_checks WHERE message = "
                                 "(SELECT id FROM messages WHERE message_id = ?)", [msgid_of(reply)]).fetchall())
    assert checks == {"milestone_cc": 1, "subject_convention": 1, "quotation_name": 1}
    assert lab.alerts("rules:naming:") == []


def test_order_threads_are_not_held_to_the_rfq_subject(lab: Lab) -> None:
    confirmation = eml("Order confirmation PO 4522", "We confirm your PO 4522.", frm=AMY, to=[HANS[1]],
                       cc=["order@hengda-valves.com"])
    lab.add(confirmation)
    assert lab.violations("subject_convention") == []
