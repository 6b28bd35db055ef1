"""`mailroom rules` and `mailroom categories` as a user's script drives them: real processes, JSON contracts."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.core.clock import iso
from tests.conftest import ROOT
from tests.fakes.rules_helpers import (
    AMY,
    COMPLAINT,
    DOMAIN,
    HANS,
    INQUIRY,
    LUCY,
    NOW,
    ORDER,
    SAM,
    SUPPORT,
    ZHANG,
    Lab,
    eml,
    msgid_of,
)

RULES = {"missing_cc", "cc_gap", "subject_convention", "quotation_name", "collision"}


def mailroom(config: Path, *args: str, now: str = iso(NOW)) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "--now", now, *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def build(folder: Path) -> tuple[Path, dict[str, str]]:
    lab = Lab(folder)
    complaint = eml("Leaking valves on PO 4521", "12 pcs leaking.", to=[COMPLAINT], delivered_to=COMPLAINT,
                    when=NOW - timedelta(days=2))
    conclusion = eml("Re: Leaking valves on PO 4521", "Conclusion: 12 pcs replacement (补发).", frm=SAM, to=[HANS[1]],
                     cc=[SUPPORT], in_reply_to=msgid_of(complaint), when=NOW - timedelta(days=1))
    gap = eml("Re: Your quotation", "Thanks Amy.", frm=HANS, to=[AMY[1]], cc=[INQUIRY],
              in_reply_to=f"unseen-1@{DOMAIN}", when=NOW - timedelta(hours=3))
    inquiry = eml("Need ball valves", "Please quote.", to=[INQUIRY], when=NOW - timedelta(days=2))
    naming = eml("Our offer for ball valves", "Please find our quotation attached, USD 20/pc, valid 30 days.", frm=AMY,
                 to=[HANS[1]], cc=[INQUIRY], in_reply_to=msgid_of(inquiry), attachments=["offer.pdf"],
                 when=NOW - timedelta(days=1))
    collision = eml("Special offer", "Dear Hans, a special price.", frm=LUCY, to=[HANS[1]], cc=[INQUIRY],
                    when=NOW - timedelta(hours=2))
    po = eml("采购订单 PO 7001", "附件是采购订单,请确认交期。", frm=ZHANG, to=[ORDER], attachments=["PO-7001.pdf"])
    lab.add(complaint, conclusion, gap, inquiry, naming, collision, po)
    lab.close()
    ids = {"conclusion": msgid_of(conclusion), "gap": msgid_of(gap), "naming": msgid_of(naming),
           "collision": msgid_of(collision), "po": msgid_of(po), "complaint": msgid_of(complaint)}
    return lab.config_path, ids


def test_rules_json_contract(tmp_path: Path) -> None:
    config, ids = build(tmp_path)

    result = mailroom(config, "rules", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    found = {(v["rule"], v["message_id"]): v for v in data["violations"]}
    for v in data["violations"]:
        assert {"message_id", "rule", "person", "customer", "expected"} <= set(v)
        assert v["rule"] in RULES and isinstance(v["message_id"], str) and "<" not in v["message_id"]
        assert v["person"] is None or isinstance(v["person"], str)
    assert found[("missing_cc", ids["conclusion"])]["expected"] == f"audit@{DOMAIN}"
    assert found[("missing_cc", ids["conclusion"])]["person"] == "sam"
    assert found[("cc_gap", ids["gap"])]["person"] == "amy"
    assert found[("cc_gap", ids["gap"])]["customer"] == "Acme Trading GmbH"
    assert found[("subject_convention", ids["naming"])]["expected"].startswith("[RFQ]-Acme Trading-")
    assert found[("quotation_name", ids["naming"])]["expected"].endswith("-USD-30d-V1.pdf")
    assert found[("collision", ids["collision"])]["expected"] == "amy"
    assert {r for r, _ in found} == RULES

    only = json.loads(mailroom(config, "rules", "--json", "--rule", "collision").stdout)["data"]["violations"]
    assert [v["rule"] for v in only] == ["collision"]
    text = mailroom(config, "rules")
    assert text.returncode == 0 and "Mail rules: 6 finding(s)" in text.stdout


def test_categories_json_contract(tmp_path: Path) -> None:
    config, ids = build(tmp_path)

    result = mailroom(config, "categories", "--json")

    assert result.returncode == 0, result.stderr
    items = {i["message_id"]: i for i in json.loads(result.stdout)["data"]["items"]}
    for item in items.values():
        assert {"message_id", "mailbox", "category", "confidence"} <= set(item)
        assert isinstance(item["confidence"], float) and 0.0 <= item["confidence"] <= 1.0
    assert (items[ids["po"]]["mailbox"], items[ids["po"]]["category"]) == (ORDER, "po")
    assert (items[ids["complaint"]]["mailbox"], items[ids["complaint"]]["category"], items[ids["complaint"]]["confidence"]) \
        == (SUPPORT, "complaint", 1.0)
    assert ids["gap"] not in items  # inquiry@ mail has no category
    support = json.loads(mailroom(config, "categories", "--json", "--mailbox", "support").stdout)["data"]["items"]
    assert {i["mailbox"] for i in support} == {SUPPORT}
    bad = mailroom(config, "categories", "--mailbox", "inquiry")
    assert bad.returncode == 1 and "not an order or support mailbox" in bad.stderr


def test_tick_digest_and_backfill(tmp_path: Path) -> None:
    config, _ = build(tmp_path)

    tick = mailroom(config, "rules", "tick", "--json")

    assert tick.returncode == 0, tick.stderr
    report = json.loads(tick.stdout)
    assert report["scan"]["violations"]["missing_cc"] == 1 and report["nudges"] >= 3
    assert report["delivered"]["sent"] >= 3
    digest = json.loads(mailroom(config, "rules", "digest", "--json").stdout)["data"]["digest"]
    amy = next(p for p in digest["people"] if p["person"] == "amy")
    assert (amy["subjects"], amy["subjects_ok"], amy["collisions"]) == (1, 0, 1)
    backfill = mailroom(config, "categories", "backfill", "--all")
    assert backfill.returncode == 0 and "message(s) sorted" in backfill.stdout


def test_bad_rules_config_is_a_clear_error(tmp_path: Path) -> None:
    lab = Lab(tmp_path, rules_toml="[rules.naming]\nsubjects = true\n")
    lab.close()

    result = mailroom(lab.config_path, "rules")

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{lab.config_path.resolve()}: rules.naming.subjects: unknown key" in result.stderr
