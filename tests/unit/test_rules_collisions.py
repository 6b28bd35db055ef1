"""Collision alerts (撞单): B writes to A's customer; a "new" inquiry that is A's customer in disguise."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes.rules_helpers import AMY, HANS, INQUIRY, LI, LUCY, MEI, NOW, ORDER, Lab, eml, msgid_of


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def test_lucy_writing_to_amys_customer_tells_both(lab: Lab) -> None:
    lab.add(eml("Gate valves", "Dear Hans, our offer.", frm=AMY, to=[HANS[1]], cc=[INQUIRY],
                when=NOW - timedelta(days=20)))
    li_mail = eml("Special offer ball valves", "Dear Hans, we can offer ball valves at a special price.", frm=LUCY,
                  to=[HANS[1]], cc=[INQUIRY], when=NOW - timedelta(hours=2))
    lab.add(li_mail)

    lab.tick()

    found = lab.violations("collision")
    assert [(v["message_id"], v["person"], v["customer"], v["expected"]) for v in found] == [
        (msgid_of(li_mail), "lucy", "Acme Trading GmbH", "amy")]
    evidence = found[0]["evidence"]
    assert evidence["owner_source"] == "crm"
    assert set(evidence["contacts"]) == {"amy", "lucy"}
    assert evidence["contacts"]["amy"]["messages"] == 1 and evidence["threads"][0]["subject"] == "Special offer ball valves"
    alerts = lab.alerts("rules:collision:")
    assert sorted(a["person"] for a in alerts) == ["amy", "lucy"]
    assert all(a["kind"] == "person" for a in alerts)  # privately, never in a channel
    assert "Amy Zhang" in alerts[0]["reply"].text and "Lucy Wang" in alerts[0]["reply"].text

    lab.add(eml("Re: Special offer ball valves", "Price list attached.", frm=LUCY, to=[HANS[1]],
                in_reply_to=msgid_of(li_mail), when=NOW - timedelta(hours=1)))
    lab.tick()
    assert len(lab.alerts("rules:collision:")) == 2  # told once per pair and customer


def test_merchandisers_and_backups_are_no_collision(lab: Lab) -> None:
    lab.add(eml("Order confirmation PO 4522", "We confirm PO 4522.", frm=MEI, to=[HANS[1]], cc=[ORDER]))
    # amy's backup is li (demo config): li answering for amy is their arrangement, not a collision
    lab.add(eml("Re: Gate valves", "Amy is out; I follow up for her.", frm=LI, to=[HANS[1]], cc=[INQUIRY]))
    assert lab.violations("collision") == []


def test_a_new_inquiry_that_looks_like_amys_customer(lab: Lab) -> None:
    lab.add(eml("Gate valves", "Please quote.", frm=HANS, to=[INQUIRY], when=NOW - timedelta(days=30)))
    # the same contact, from a new company domain: a "new" customer
    new = eml("Inquiry check valves", "Please quote 100 check valves.\n\nHans Weber", frm=("Hans Weber",
              "hans@weber-handel.de"), to=[INQUIRY], when=NOW - timedelta(minutes=5))
    lab.add(new)

    lab.tick()

    claim = lab.db.execute("SELECT proposed_to, route, evidence FROM inquiry_claims").fetchone()
    assert claim[0] == "amy" and "Acme Trading GmbH" in claim[1] and "same contact Hans Weber" in claim[1]
    alerts = lab.alerts("rules:claim:")
    assert alerts[0]["person"] == "amy" and "Looks like" in alerts[0]["reply"].text

    li_reply = eml("Re: Inquiry check valves", "Dear Hans, our offer.", frm=LUCY, to=["hans@weber-handel.de"],
                   cc=[INQUIRY], in_reply_to=msgid_of(new), when=NOW)
    lab.add(li_reply)
    lab.tick()
    found = lab.violations("collision")
    assert [(v["message_id"], v["person"], v["expected"]) for v in found] == [(msgid_of(li_reply), "lucy", "amy")]
    assert found[0]["evidence"]["similar_to"] == "Acme Trading GmbH"
    assert sorted(a["person"] for a in lab.alerts("rules:collision:")) == ["amy", "lucy"]


def test_similar_company_name_and_subdomain(lab: Lab) -> None:
    rfq = eml("[RFQ]-Acme Trading-Ball Valve-20261122", "Please quote.", frm=("Eva Klein", "eva@acmetrade-gmbh.com"),
              to=[INQUIRY], when=NOW)
    sub = eml("Inquiry", "Please quote.", frm=("Otto Sub", "otto@sales.acme-trading.de"), to=[INQUIRY], when=NOW)
    lab.add(rfq, sub)
    lab.tick()
    routes = [r[0] for r in lab.db.execute("SELECT route FROM inquiry_claims ORDER BY id")]
    assert len(routes) == 2
    assert "similar name" in routes[0] and "owned by amy" in routes[0]
    assert "same domain acme-trading.de" in routes[1]
