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


def test_a_reply_that_keeps_the_customers_subject_is_not_renamed(lab: Lab) -> None:
    """The customer wrote "Need ball valves"; our quotation answers "Re: Need ball valves": the subject
    is theirs (renaming it breaks threading in their mail client), only our file name is ours to fix."""
    inquiry, reply = inquiry_and_reply("Re: Need ball valves", files=["Quotation final.pdf"])
    lab.add(inquiry, reply)

    lab.tick()

    assert lab.violations("subject_convention") == []
    assert [v["expected"] for v in lab.violations("quotation_name")] == ["BallValve-BV-DN50-USD-30d-V1.pdf"]
    alerts = lab.alerts("rules:naming:")
    assert [(a["person"], a["kind"]) for a in alerts] == [("amy", "person")]
    assert "Subject" not in alerts[0]["reply"].text


def test_wrong_subject_and_file_name_get_one_private_nudge(lab: Lab) -> None:
    inquiry, reply = inquiry_and_reply("Our quotation for ball valves", files=["Quotation final.pdf"])
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
    assert [(a["person"], a["kind"]) for a in alerts] == [("amy", "person")]  # one nudge holds both
    text = alerts[0]["reply"].text
    assert expected in text and "BallValve-BV-DN50-USD-30d-V1.pdf" in text

    again = eml("Our quotation for gate valves", "And the gate valves: quotation attached.", frm=AMY,
                to=[HANS[1]], cc=[INQUIRY], in_reply_to=msgid_of(reply), attachments=["Quotation gate valves.pdf"])
    lab.add(again)
    lab.tick()
    assert len(lab.violations("subject_convention")) == 2
    assert len(lab.alerts("rules:naming:")) == 1  # the thread was told: recorded, not told again


def new_quotation(subject: str, when_days: float = 1.0) -> bytes:
    return eml(subject, "Dear Hans,\nour quotation: Ball Valve BV-DN50, USD 23.50/pc, valid 30 days.\nAmy",
               frm=AMY, to=[HANS[1]], cc=[INQUIRY], when=NOW - timedelta(days=when_days),
               attachments=["BallValve-BV-DN50-USD-30d-V1.pdf"])


def test_at_most_one_nudge_per_person_per_day_per_rule_batched(lab: Lab) -> None:
    first, second = new_quotation("Ball valve prices"), new_quotation("Prices for DN50")
    lab.add(first, second)
    lab.tick()
    alerts = lab.alerts("rules:naming:")
    assert len(alerts) == 1 and alerts[0]["key"].endswith(":amy")  # both threads in one nudge
    assert "Ball valve prices" in alerts[0]["reply"].text and "Prices for DN50" in alerts[0]["reply"].text

    lab.advance(hours=2)
    third = new_quotation("Gate valve offer", when_days=0.01)
    lab.add(third)
    lab.tick()
    assert len(lab.alerts("rules:naming:")) == 1  # today's nudge went out: the third waits
    assert len(lab.violations("subject_convention")) == 3

    lab.advance(days=1)
    lab.tick()
    alerts = lab.alerts("rules:naming:")
    assert len(alerts) == 2 and "Gate valve offer" in alerts[1]["reply"].text


SCOPE_CASES = {
    "kept": ("Re: Need ball valves", True, ["Quotation final.pdf"]),  # quotation, the customer's subject kept
    "renamed": ("Ball valve quotation", True, ["offer.pdf"]),  # quotation under our own subject
    "words": ("Prices you asked for", True, []),  # quotation words in our text, no file
    "chat": ("Visit next week", False, []),  # a new subject in a reply, no quotation
}


@pytest.mark.parametrize(("scope", "flagged"), [
    ("new_threads", {"renamed", "words", "new"}),
    ("quotations", {"renamed", "words"}),
    ("all_outbound", {"kept", "renamed", "words", "chat", "new", "greeting"}),
    ("off", set()),
])
def test_subject_convention_scope(tmp_path: Path, scope: str, flagged: set[str]) -> None:
    lab = Lab(tmp_path, rules_toml=f'[rules]\nsubject_convention = "{scope}"\n' + RULES)
    try:
        ids: dict[str, str] = {}
        for name, (subject, quote, files) in SCOPE_CASES.items():
            inquiry, reply = inquiry_and_reply(
                subject, files=files,
                body=None if quote else "Dear Hans,\nshall we meet at your office next week?\nAmy")
            lab.add(inquiry, reply)
            ids[msgid_of(reply)] = name
        news = eml("Ball valves 2027", "Dear Hans, our ball valve prices for 2027 are below.", frm=AMY,
                   to=[HANS[1]], cc=[INQUIRY], when=NOW - timedelta(days=1))
        greeting = eml("Season's greetings", "Dear Hans, merry Christmas!", frm=AMY, to=[HANS[1]], cc=[INQUIRY],
                       when=NOW - timedelta(days=1))
        lab.add(news, greeting)
        ids[msgid_of(news)], ids[msgid_of(greeting)] = "new", "greeting"
        found = {ids[v["message_id"]] for v in lab.violations("subject_convention")}
        assert found == flagged
    finally:
        lab.close()


def test_unknown_scope_is_a_clear_config_error(tmp_path: Path) -> None:
    from bot.core.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        Lab(tmp_path, rules_toml='[rules]\nsubject_convention = "everything"\n').services.rules.scan(NOW)
    assert "rules.subject_convention" in str(caught.value)


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
