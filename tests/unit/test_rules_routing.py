"""Inquiry routing and claims with fixed clocks: proposed by rule or round robin (skipping the away),
claimed, passed, passed on after the timeout, then to the team channel."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.customers.ownership import history, owner_of
from bot.sla.away import set_away
from tests.fakes.rules_helpers import AMY, HANS, INQUIRY, NOW, Lab, eml, msgid_of

RULES = """
[rules.routing]
claim_timeout = "2h"
people_before_team = 2

[[rules.routing.rules]]
country = ["DE", "AT", "CH"]
person = "li"

[[rules.routing.rules]]
keywords = ["butterfly", "蝶阀"]
person = "lucy"
"""
BERLIN = ("Jonas Becker", "j.becker@berlin-armaturen.de")
PUMPS = ("Pat Doe", "pat@example-pumps.com")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path, rules_toml=RULES)
    yield lab
    lab.close()


def claim_row(lab: Lab, claim_id: int) -> dict[str, object]:
    row = lab.db.execute("SELECT state, proposed_to, tried, route, claimed_by FROM inquiry_claims WHERE id = ?",
                         [claim_id]).fetchone()
    return dict(zip(("state", "proposed_to", "tried", "route", "claimed_by"), row, strict=True))


def test_routed_by_country_and_claimed(lab: Lab) -> None:
    lab.add(eml("Inquiry: ball valves DN50", "Please quote 300 pcs.\n\nJonas Becker\nBerlin Armaturen GmbH",
                frm=BERLIN, to=[INQUIRY], when=NOW - timedelta(minutes=10)))

    report = lab.tick()

    assert report.scan.routed == 1
    claim = claim_row(lab, 1)
    assert claim["state"] == "proposed" and claim["proposed_to"] == "li"
    assert "country DE" in str(claim["route"])
    alerts = lab.alerts("rules:claim:")
    assert [(a["key"], a["person"]) for a in alerts] == [("rules:claim:1:li", "li")]
    assert [b.command for b in alerts[0]["reply"].buttons] == ["/claim 1", "/pass 1"]

    reply = lab.ask("/claim 1", "li")

    assert reply.ok, reply.text
    customer = lab.customer_id("Berlin Armaturen")
    owner = owner_of(lab.db, customer)
    assert owner is not None and (owner.person_id, owner.source) == ("li", "assignment")
    assert history(lab.db, customer)[-1]["reason"] == "claimed inquiry #1"
    assert lab.services.audit.recent(1)[0]["command"] == "claim"
    assert claim_row(lab, 1)["state"] == "claimed"
    assert lab.ask("/claim 1", "chen").error.code == "closed"
    lab.advance(hours=5)
    assert lab.tick().passed_on == 0


def test_round_robin_skips_the_away_passes_on_after_timeout_then_the_team(lab: Lab) -> None:
    with lab.db.conn:
        set_away(lab.db, "amy", until=NOW + timedelta(days=3), backup="li", by="amy", now=NOW)
    lab.add(eml("Quotation request", "Please quote 20 pumps.", frm=PUMPS, to=[INQUIRY], when=NOW))
    lab.tick()
    assert claim_row(lab, 1)["proposed_to"] == "li"  # amy (first in the team) is away

    lab.advance(hours=1)
    assert lab.tick().passed_on == 0
    lab.advance(hours=1, minutes=1)
    assert lab.tick().passed_on == 1
    claim = claim_row(lab, 1)
    assert (claim["state"], claim["proposed_to"], claim["tried"]) == ("proposed", "chen", '["li"]')

    lab.advance(hours=2, minutes=1)
    assert lab.tick().passed_on == 1
    claim = claim_row(lab, 1)
    assert (claim["state"], claim["proposed_to"]) == ("team", None)
    keys = [(a["key"], a["kind"], a["person"] or a["team"]) for a in lab.alerts("rules:claim:")]
    assert keys == [("rules:claim:1:li", "person", "li"), ("rules:claim:1:chen", "person", "chen"),
                    ("rules:claim:1:team", "team", "sales")]
    team_reply = lab.alerts("rules:claim:1:team")[0]["reply"]
    assert [b.command for b in team_reply.buttons] == ["/claim 1"]

    assert lab.ask("/claim 1", "lucy").ok
    assert claim_row(lab, 1)["claimed_by"] == "lucy"


def test_pass_hands_on_at_once(lab: Lab) -> None:
    lab.add(eml("询价 蝶阀 DN150", "请报价200台蝶阀。", frm=("王先生", "wang.buyer@qq.com"), to=[INQUIRY], when=NOW))
    lab.tick()
    assert claim_row(lab, 1)["proposed_to"] == "lucy"  # product keywords rule
    assert lab.ask("/pass 1", "chen").error.code == "forbidden"

    reply = lab.ask("/pass 1", "lucy")

    assert reply.ok, reply.text
    claim = claim_row(lab, 1)
    assert claim["tried"] == '["lucy"]' and claim["proposed_to"] == "amy"  # round robin from the start
    assert lab.services.audit.recent(1)[0]["command"] == "pass"


def test_a_reply_from_us_closes_the_claim(lab: Lab) -> None:
    inquiry = eml("Quotation request", "Please quote 20 pumps.", frm=PUMPS, to=[INQUIRY], when=NOW)
    lab.add(inquiry)
    lab.tick()
    lab.add(eml("Re: Quotation request", "Dear Pat, our offer follows.", frm=AMY, to=[PUMPS[1]], cc=[INQUIRY],
                in_reply_to=msgid_of(inquiry), when=NOW + timedelta(minutes=30)))
    lab.advance(hours=3)
    assert lab.tick().passed_on == 0
    assert claim_row(lab, 1)["state"] == "answered" and claim_row(lab, 1)["claimed_by"] == "amy"


def test_owned_and_old_inquiries_are_not_routed(lab: Lab) -> None:
    lab.add(eml("Inquiry gate valves", "Please quote.", frm=HANS, to=[INQUIRY], when=NOW))  # Acme: amy's
    lab.add(eml("Old inquiry", "Please quote.", frm=PUMPS, to=[INQUIRY], when=NOW - timedelta(days=10)))
    assert lab.tick().scan.routed == 0
    assert lab.db.execute("SELECT count(*) FROM inquiry_claims").fetchone()[0] == 0


def test_country_from_the_signature(lab: Lab) -> None:
    from bot.rules.routing import country_of

    code, source = country_of(lab.db, lab.services.directory, None, "buyer@gmail.com",
                              "Please quote.\n\nBest regards\nKlaus\nMunich, Germany")
    assert (code, source) == ("DE", "signature")
    assert country_of(lab.db, lab.services.directory, None, "x@firma.co.uk", "")[0] == "GB"
