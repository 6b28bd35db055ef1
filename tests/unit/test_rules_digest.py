"""The compliance figures per team and person, and the daily rules digest in the outbox."""

from datetime import timedelta
from pathlib import Path

from bot.rules.digest import digest_data
from tests.fakes.rules_helpers import (
    AMY,
    AUDIT,
    COMPLAINT,
    HANS,
    INQUIRY,
    LUCY,
    NOW,
    SAM,
    SUPPORT,
    Lab,
    eml,
    msgid_of,
)

QUOTE = "Dear Hans,\nplease find our quotation attached: Ball Valve BV-DN50, USD 23.50/pc, valid 30 days.\nAmy"


def scenario(lab: Lab) -> None:
    first = eml("[RFQ]-Acme-Ball Valve-20261121", "Please quote.", to=[INQUIRY], when=NOW - timedelta(days=2))
    good = eml("[RFQ]-Acme Trading-Ball Valve-20261121", QUOTE, frm=AMY, to=[HANS[1]], cc=[INQUIRY],
               in_reply_to=msgid_of(first), attachments=["BallValve-BV-DN50-USD-30d-V1.pdf"],
               when=NOW - timedelta(days=1))
    second = eml("Gate valves", "Please quote gate valves.", to=[INQUIRY], when=NOW - timedelta(days=2))
    bad = eml("Quotation gate valves", QUOTE.replace("Ball Valve BV-DN50", "Gate Valve GV-DN100"), frm=AMY, to=[HANS[1]],
              cc=[INQUIRY], in_reply_to=msgid_of(second), attachments=["offer.pdf"], when=NOW - timedelta(days=1))
    complaint = eml("Leaking valves on PO 4521", "12 pcs leaking.", to=[COMPLAINT], delivered_to=COMPLAINT,
                    when=NOW - timedelta(days=3))
    conclusion = eml("Re: Leaking valves on PO 4521", "Conclusion: we send 12 pcs replacement (补发).", frm=SAM,
                     to=[HANS[1]], cc=[SUPPORT], in_reply_to=msgid_of(complaint), when=NOW - timedelta(days=1))
    ok_conclusion = eml("Re: Leaking valves on PO 4400", "Conclusion: 5% discount on the next order.", frm=SAM,
                        to=[HANS[1]], cc=[SUPPORT, AUDIT], when=NOW - timedelta(hours=20))
    collision = eml("Special offer", "Dear Hans, special price for you.", frm=LUCY, to=[HANS[1]], cc=[INQUIRY],
                    when=NOW - timedelta(hours=5))
    lab.add(first, good, second, bad, complaint, conclusion, ok_conclusion, collision)


def test_figures_per_person_and_team(tmp_path: Path) -> None:
    lab = Lab(tmp_path, rules_toml="[rules.pool]\npool_after_days = 30\nwarn_days = 3\n")
    try:
        scenario(lab)
        lab.clock.set(NOW + timedelta(days=27))
        lab.tick()
        lab.clock.set(NOW + timedelta(days=30))
        lab.tick()

        data = digest_data(lab.services.db, lab.services.directory, lab.now, days=60)

        people = {p["person"]: p for p in data["people"]}
        figures = ("milestones", "milestones_ok", "subjects", "subjects_ok", "quotations", "quotations_ok",
                   "collisions", "pool_moves")
        assert {k: people["amy"][k] for k in figures} == dict(zip(figures, (2, 2, 2, 1, 2, 1, 1, 2), strict=True))
        assert {k: people["sam"][k] for k in figures} == dict(zip(figures, (2, 1, 0, 0, 0, 0, 0, 0), strict=True))
        assert {k: people["lucy"][k] for k in figures} == dict(zip(figures, (0, 0, 1, 0, 0, 0, 1, 2), strict=True))
        assert people["amy"]["subjects_share"] == 0.5 and people["sam"]["subjects_share"] is None
        teams = {t["team"]: t for t in data["teams"]}
        sales = teams["sales"]
        assert (sales["milestones"], sales["subjects"], sales["subjects_ok"], sales["collisions"],
                sales["pool_moves"]) == (2, 3, 1, 1, 10)
        support = teams["support"]
        assert (support["milestones"], support["milestones_ok"], support["milestones_share"]) == (2, 1, 0.5)

        digests = lab.alerts("rules:digest:")
        day = "2026-12-23"
        # the daily digest covers 7 days: support's mail is a month old by now, sales moved customers today
        assert {(a["key"], a["kind"], a["team"]) for a in digests} == {(f"rules:digest:sales:{day}", "team", "sales")}
        sales_text = next(a for a in digests if a["team"] == "sales")["reply"].text
        assert "Customers moved to the pool (公海): 10" in sales_text and "Amy Zhang" in sales_text
        lab.tick()
        assert len(lab.alerts("rules:digest:")) == 1  # once a day
    finally:
        lab.close()


def test_digest_before_nine_is_not_sent(tmp_path: Path) -> None:
    lab = Lab(tmp_path, now=NOW - timedelta(hours=3))  # 07:00 in Ningbo
    try:
        scenario(lab)
        lab.tick()
        assert lab.alerts("rules:digest:") == []
    finally:
        lab.close()
