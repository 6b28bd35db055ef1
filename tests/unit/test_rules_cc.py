"""The CC rule: missing second CC, CC gaps (In-Reply-To and quoted header), personal Sent folders,
nudges at most once per thread, and the config's `[rules.cc]` checked with clear errors."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.config import load_config
from bot.core.errors import ConfigError
from bot.rules.settings import load_rules
from bot.services import Services
from tests.fakes.rules_helpers import (
    AMY,
    AUDIT,
    COMPLAINT,
    DOMAIN,
    HANS,
    INQUIRY,
    MEI,
    NOW,
    ORDER,
    SAM,
    SUPPORT,
    ZHANG,
    Lab,
    eml,
    msgid_of,
    without_rules,
)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def complaint_thread(*, cc: list[str]) -> list[bytes]:
    complaint = eml("Leaking valves on PO 4521", "12 pcs are leaking at the stem.", to=[COMPLAINT],
                    delivered_to=COMPLAINT, when=NOW - timedelta(hours=30))
    conclusion = eml("Re: Leaking valves on PO 4521",
                     "Dear Hans,\n\nconclusion: we will send 12 pcs replacement (补发) with the next shipment and grant "
                     "a 5% discount on PO 4521.\n\nSam", frm=SAM, to=[HANS[1]], cc=cc, in_reply_to=msgid_of(complaint),
                     when=NOW - timedelta(hours=2))
    return [complaint, conclusion]


def test_complaint_conclusion_without_audit_is_a_missing_cc(lab: Lab) -> None:
    complaint, conclusion = complaint_thread(cc=[SUPPORT])
    lab.add(complaint, conclusion)

    found = lab.violations("missing_cc")

    assert [(v["message_id"], v["person"], v["customer"], v["expected"]) for v in found] == [
        (msgid_of(conclusion), "sam", "Acme Trading GmbH", AUDIT)]
    assert found[0]["evidence"]["milestones"] == ["complaint_conclusion"]


def test_complaint_conclusion_with_both_ccs_keeps_the_rule(lab: Lab) -> None:
    lab.add(*complaint_thread(cc=[SUPPORT, AUDIT]))
    assert lab.violations("missing_cc") == []
    ok = lab.db.execute("SELECT ok FROM rule_checks WHERE rule = 'milestone_cc'").fetchall()
    assert ok == [(1,)]


def test_an_alias_in_cc_counts_as_its_mailbox(lab: Lab) -> None:
    lab.add(*complaint_thread(cc=[COMPLAINT, AUDIT]))  # complaint@ is support@ by another name
    assert lab.violations("missing_cc") == []


def test_personal_sent_folder_milestone_without_order_cc(lab: Lab) -> None:
    # (c): a merchandiser's own Sent folder, synced as sightings under her address
    confirmation = eml("Order confirmation PO 4522", "Dear Zhang, we confirm your PO 4522, delivery in 35 days.",
                       frm=MEI, to=[ZHANG[1]], attachments=["PI-2026-522.pdf"])
    lab.add(confirmation, mailbox=MEI[1], folder="Sent")

    found = lab.violations("missing_cc")

    assert [(v["message_id"], v["person"], v["expected"]) for v in found] == [(msgid_of(confirmation), "mei", ORDER)]
    assert found[0]["evidence"]["seen_in"] == [MEI[1]]


def test_shipping_documents_need_shipping_or_order(lab: Lab) -> None:
    docs = eml("Shipping documents PO 4523: B/L, invoice, packing list", "Attached B/L, invoice and packing list.",
               frm=MEI, to=[HANS[1]], cc=[ORDER], attachments=["BL-NGB4523.pdf", "CI-4523.pdf"])
    lab.add(docs)
    assert lab.violations("missing_cc") == []  # the guide: at least order@ or shipping@


def test_cc_gap_from_in_reply_to(lab: Lab) -> None:
    unseen = f"quote-991@{DOMAIN}"  # Amy mailed Hans from her own mailbox, no inquiry@ in CC
    reply = eml("Re: Your quotation", "Thanks Amy, the price is fine. Please send the PI.", frm=HANS, to=[AMY[1]],
                cc=[INQUIRY], in_reply_to=unseen)
    lab.add(reply)

    found = lab.violations("cc_gap")

    assert [(v["message_id"], v["person"], v["customer"], v["expected"]) for v in found] == [
        (msgid_of(reply), "amy", "Acme Trading GmbH", INQUIRY)]
    assert found[0]["evidence"]["missing_message_id"] == unseen


def test_cc_gap_is_withdrawn_when_the_message_arrives_after_all(lab: Lab) -> None:
    original = eml("Your quotation", "Please find our quotation attached.", frm=AMY, to=[HANS[1]], cc=[ORDER],
                   msgid=f"quote-992@{DOMAIN}", when=NOW - timedelta(hours=5))
    reply = eml("Re: Your quotation", "Thanks.", frm=HANS, to=[AMY[1]], cc=[INQUIRY], in_reply_to=msgid_of(original))
    lab.add(reply)
    assert len(lab.violations("cc_gap")) == 1

    lab.add(original)  # order@ is synced after inquiry@: the "missing" mail was archived after all

    assert lab.violations("cc_gap") == []


@pytest.mark.parametrize("quote", [
    "-----Original Message-----\nFrom: Amy Zhang <amy@hengda-valves.com>\nSent: Friday, November 20, 2026 3:12 PM\n"
    "To: Hans Weber <hans.weber@acme-trading.de>\nSubject: Offer for gate valves\n\nDear Hans, our best price …",
    "发件人: Amy Zhang <amy@hengda-valves.com>\n发送时间: 2026年11月20日 15:12\n收件人: 张伟\n主题: 闸阀报价\n\n张总您好 …",
    "On Fri, 20 Nov 2026 at 15:12, Amy Zhang <amy@hengda-valves.com> wrote:\n> Dear Hans, our best price …",
], ids=["outlook", "foxmail-zh", "gmail"])
def test_cc_gap_from_a_quoted_header(lab: Lab, quote: str) -> None:
    reply = eml("Offer for gate valves", f"Thank you, we accept the offer.\n\n{quote}", frm=HANS, to=[INQUIRY])
    lab.add(reply)

    found = lab.violations("cc_gap")

    assert [(v["message_id"], v["person"], v["expected"]) for v in found] == [(msgid_of(reply), "amy", INQUIRY)]
    assert "amy@hengda-valves.com" in found[0]["evidence"]["quoted"]


def test_a_quoted_header_of_archived_mail_is_no_gap(lab: Lab) -> None:
    offer = eml("Offer for gate valves", "Dear Hans, our best price is attached.", frm=AMY, to=[HANS[1]],
                cc=[INQUIRY], when=NOW - timedelta(days=3))
    reply = eml("Re: Offer for gate valves",
                "We accept.\n\nFrom: Amy Zhang <amy@hengda-valves.com>\nSubject: Offer for gate valves\n\nDear Hans",
                frm=HANS, to=[INQUIRY])
    lab.add(offer, reply)
    assert lab.violations("cc_gap") == []


def test_nudge_once_per_thread_and_nothing_for_old_mail(lab: Lab) -> None:
    complaint, conclusion = complaint_thread(cc=[SUPPORT])
    lab.add(complaint, conclusion)
    lab.tick()
    second = eml("Re: Leaking valves on PO 4521", "Conclusion (corrected): replacement and 6% discount.", frm=SAM,
                 to=[HANS[1]], cc=[SUPPORT], in_reply_to=msgid_of(conclusion), when=NOW - timedelta(hours=1))
    lab.add(second)
    lab.tick()

    alerts = lab.alerts("rules:cc:")
    assert len(lab.violations("missing_cc")) == 2
    assert [(a["person"], a["kind"], a["status"]) for a in alerts] == [("sam", "person", "pending")]
    assert "audit@hengda-valves.com" in alerts[0]["reply"].text

    old = eml("Re: Leaking valves on PO 4400", "Conclusion: replacement.", frm=SAM, to=[HANS[1]], cc=[SUPPORT],
              when=NOW - timedelta(days=40))
    lab.add(old)
    lab.tick()
    assert len(lab.alerts("rules:cc:")) == 1  # found and recorded, but too old to bother anyone about
    notices = dict(lab.db.execute("SELECT message_id, notice FROM rule_violations").fetchall())
    assert notices[msgid_of(old)] == "stale"


def test_cc_gap_is_told_only_after_the_grace_period(lab: Lab) -> None:
    reply = eml("Re: Your quotation", "Thanks.", frm=HANS, to=[AMY[1]], cc=[INQUIRY],
                in_reply_to=f"quote-993@{DOMAIN}")
    lab.add(reply)
    lab.tick()
    assert lab.alerts("rules:gap:") == []
    lab.advance(minutes=31)
    lab.tick()
    assert [(a["person"], a["key"].split(":")[-1]) for a in lab.alerts("rules:gap:")] == [("amy", "amy")]


def test_the_demo_factory_keeps_the_cc_rule(demo_services: Services) -> None:
    report = demo_services.rules.scan(demo_services.clock.now())
    assert report.scanned > 400 and report.checks > 100
    assert report.violations == {}


def write_rules(tmp_path: Path, rules_toml: str) -> Path:
    from bot.demo.files import write_starter

    config = tmp_path / "mailroom.toml"
    write_starter(config)
    config.write_text(without_rules(config.read_text(encoding="utf-8")) + "\n" + rules_toml, encoding="utf-8")
    return config


@pytest.mark.parametrize(("toml", "expected"), [
    ("[rules.cc]\nnudge_everyone = true\n", "rules.cc.nudge_everyone: unknown key"),
    ("[rules.cc.milestones]\nbirthday = [\"inquiry\"]\n", "rules.cc.milestones: unknown milestone 'birthday'"),
    ("[rules.cc.milestones]\ncomplaint_conclusion = [\"support\", \"legal\"]\n",
     "rules.cc.milestones.complaint_conclusion.1: 'legal' is not a configured mailbox"),
    ("[rules.cc]\ngap_grace = \"soon\"\n", "rules.cc.gap_grace:"),
    ("[rules.routing]\nrules = [{ country = [\"DE\"], person = \"nobody\" }]\n",
     "rules.routing.rules.0: unknown person 'nobody'"),
    ("[rules.pool]\npool_after_days = 0\n", "rules.pool.pool_after_days:"),
])
def test_bad_rules_config_names_file_and_key(tmp_path: Path, toml: str, expected: str) -> None:
    config_path = write_rules(tmp_path, toml)
    config = load_config(config_path)
    from bot.core.directory import Directory

    with pytest.raises(ConfigError) as error:
        load_rules(config, Directory(config))
    lines = error.value.problems
    assert any(line.startswith(f"{config_path.resolve()}: {expected}") for line in lines), lines


def test_cc_mapping_from_the_config(tmp_path: Path) -> None:
    lab = Lab(tmp_path, rules_toml='[rules.cc.milestones]\npo_confirmation = ["order", "audit"]\n')
    try:
        confirmation = eml("Order confirmation PO 4524", "We confirm your PO 4524.", frm=MEI, to=[HANS[1]], cc=[ORDER],
                           attachments=["PI-2026-524.pdf"])
        lab.add(confirmation)
        assert [v["expected"] for v in lab.violations("missing_cc")] == [AUDIT]
    finally:
        lab.close()


def test_a_reply_to_our_auto_reply_is_no_gap(lab: Lab) -> None:
    reply = eml("Re: Auto: Leaking valves on PO 4521", "Photos attached as asked.", frm=HANS, to=[SUPPORT],
                in_reply_to=f"autoreply-7@{DOMAIN}")  # the server's auto-reply is rarely kept anywhere
    lab.add(reply)
    assert lab.violations("cc_gap") == []
