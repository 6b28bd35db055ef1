"""The customer pool (公海): warned 3 days before, moved (audited), listed, claimed — with fixed clocks."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.customers.ownership import owner_of
from bot.rules.pool import events, in_pool
from tests.fakes.rules_helpers import ERIK, INQUIRY, LUCY, NOW, Lab, eml

POOL = "[rules.pool]\npool_after_days = 30\nwarn_days = 3\n"


def make(tmp_path: Path, extra: str = "") -> Lab:
    lab = Lab(tmp_path, rules_toml=POOL + extra)  # the CRM export is loaded at NOW: every CRM owner since NOW
    lab.add(eml("Flow meters", "Dear Erik, our offer.", frm=LUCY, to=[ERIK[1]], cc=[INQUIRY],
                when=NOW + timedelta(days=5)))  # lucy last wrote to Nordic Flow 5 days later
    return lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = make(tmp_path)
    yield lab
    lab.close()


def at_day(lab: Lab, day: float) -> None:
    lab.clock.set(NOW + timedelta(days=day))
    lab.tick()


def test_warned_three_days_before_then_moved_and_claimed(lab: Lab) -> None:
    nordic = lab.customer_id("Nordic Flow AB")

    at_day(lab, 31)
    assert [e["kind"] for e in events(lab.db, nordic)] == []
    at_day(lab, 32)  # 30 − 3 days after lucy's last mail (day 5)
    warnings = [a for a in lab.alerts("rules:pool-warn:") if a["reply"].data["pool"]["customer_id"] == nordic]
    assert [(a["person"], a["kind"]) for a in warnings] == [("lucy", "person")]
    assert "Nordic Flow AB returns to the customer pool" in warnings[0]["reply"].text
    at_day(lab, 34)
    assert not in_pool(lab.db, nordic)
    assert len([a for a in lab.alerts("rules:pool-warn:") if a["reply"].data["pool"]["customer_id"] == nordic]) == 1

    at_day(lab, 35)

    assert in_pool(lab.db, nordic)
    assert [e["kind"] for e in events(lab.db, nordic)] == ["warned", "moved"]
    audit = [e for e in lab.services.audit.recent(50) if e["command"] == "pool move"]
    assert any(e["args"]["customer"] == "Nordic Flow AB" and e["args"]["from"] == "lucy" for e in audit)
    assert lab.services.audit.verify() is None
    listing = lab.ask("/pool", "chen")
    assert "Nordic Flow AB" in listing.text
    assert any(b.command == "/claim customer Nordic Flow AB" for b in listing.buttons)

    reply = lab.ask("/claim customer Nordic Flow", "chen")

    assert reply.ok, reply.text
    owner = owner_of(lab.db, nordic)
    assert owner is not None and (owner.person_id, owner.source) == ("chen", "assignment")
    assert not in_pool(lab.db, nordic)
    assert events(lab.db, nordic)[-1]["kind"] == "claimed"
    assert lab.ask("/claim customer Nordic Flow", "amy").error.code == "not_in_pool"


def test_writing_again_keeps_the_customer(lab: Lab) -> None:
    nordic = lab.customer_id("Nordic Flow AB")
    at_day(lab, 32)
    lab.add(eml("Re: Flow meters", "Dear Erik, any news?", frm=LUCY, to=[ERIK[1]], cc=[INQUIRY],
                when=NOW + timedelta(days=32, hours=2)))
    at_day(lab, 36)
    assert not in_pool(lab.db, nordic)
    assert [e["kind"] for e in events(lab.db, nordic)] == ["warned"]


def test_no_move_without_a_warning_first(lab: Lab) -> None:
    nordic = lab.customer_id("Nordic Flow AB")
    at_day(lab, 40)  # the first check is already past the due day: warn now, move 3 days later
    assert not in_pool(lab.db, nordic) and [e["kind"] for e in events(lab.db, nordic)] == ["warned"]
    at_day(lab, 42)
    assert not in_pool(lab.db, nordic)
    at_day(lab, 43)
    assert in_pool(lab.db, nordic)


def test_claim_needing_a_leads_approval(tmp_path: Path) -> None:
    lab = make(tmp_path, "needs_approval = true\n")
    try:
        nordic = lab.customer_id("Nordic Flow AB")
        at_day(lab, 32)
        at_day(lab, 35)
        assert in_pool(lab.db, nordic)

        asked = lab.ask("/claim customer Nordic Flow", "chen")

        assert asked.ok and asked.data["state"] == "pending"
        requests = lab.alerts("rules:pool-request:")
        assert {a["person"] for a in requests} >= {"amy", "boss"}  # the sales lead and manager
        assert in_pool(lab.db, nordic)
        assert lab.ask("/pool approve 1", "li").error.code == "forbidden"
        assert lab.ask("/pool approve 1", "amy").ok
        owner = owner_of(lab.db, nordic)
        assert owner is not None and owner.person_id == "chen" and not in_pool(lab.db, nordic)
    finally:
        lab.close()


def test_pool_is_off_without_pool_after_days(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        lab.clock.set(NOW + timedelta(days=400))
        assert lab.tick().pool_moved == 0
        assert "The pool is off" in lab.ask("/pool", "amy").text
    finally:
        lab.close()
