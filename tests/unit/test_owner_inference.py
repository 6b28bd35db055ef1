"""Ownership inferred from mail where the CRM names nobody; explicit ownership always wins."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.directory import Directory
from bot.customers.inference import (
    HALF_LIFE_DAYS,
    decay,
    effective_owner,
    inferred_candidates,
    inferred_owner,
)
from bot.customers.ownership import owner_of
from bot.services import Services
from tests.fakes.asking import ask
from tests.fakes.owner_helpers import days_ago, generator_owner, import_mail, mail


def customer_id(services: Services, name: str) -> int:
    return int(services.db.execute("SELECT id FROM customers WHERE name = ?", [name]).fetchone()[0])


@pytest.mark.parametrize(("name", "company"), [("Polska Armatura Sp. z o.o.", "Polarm"),
                                               ("Lisboa Válvulas Lda", "Lisboa Valvulas"),
                                               ("Ruhr Industrie", "Ruhr Industrie")])
def test_the_person_who_answers_them_is_the_inferred_owner(demo_services: Services, name: str, company: str) -> None:
    db, now = demo_services.db, demo_services.clock.now()
    cid = customer_id(demo_services, name)
    assert owner_of(db, cid) is None  # the CRM (or mail) names nobody
    expected = generator_owner(demo_services, company)  # who quotes them in bot/demo/generator.py
    inferred = inferred_owner(db, cid, now=now)
    assert inferred is not None and inferred.person_id == expected
    assert inferred.messages >= 4 and inferred.last_at <= now and inferred.score > 0
    assert effective_owner(db, demo_services.directory, cid, now=now) == (expected, "inferred")

    # The merchandiser sends more mail (PO confirmations, shipping documents) but is not the owner.
    others = [c for c in inferred_candidates(db, cid, now=now) if c.person_id != expected]
    assert max(o.messages for o in others) > inferred.messages
    assert all(o.score < inferred.score for o in others)


def test_owner_reply_shows_the_evidence(demo_services: Services) -> None:
    reply = ask(demo_services, "who owns polarm?")
    assert reply.ok
    match, details = reply.data["matches"][0], reply.data["details"]
    assert match["source"] == "inferred" and match["owner"]["id"] == "amy"
    assert details["evidence"]["messages"] >= 4 and details["evidence"]["last_at"] <= "2026-11-25T02:00:00Z"
    assert "inferred from mail: Amy Zhang answered" in reply.text
    assert details["last_inbound"] and details["last_outbound"]
    # The inquiry from 30 hours ago waits on us: an open thread.
    assert any(t["subject"].startswith("[RFQ]-Polarm-Ball Valve") for t in details["open_threads"])


def test_nobody_answered_means_no_owner(demo_services: Services) -> None:
    reply = ask(demo_services, "/owner Global Valve Supply")
    assert reply.ok and reply.data["matches"][0]["owner"] is None and reply.data["matches"][0]["source"] == "none"
    assert "/assign" in reply.text


def test_recent_answers_weigh_more_than_old_ones(demo_services: Services) -> None:
    db = demo_services.db
    cid = customer_id(demo_services, "Global Valve Supply Inc.")
    old = [mail("grace@hengda-valves.com", "orders@globalvalvesupply.com", f"Offer {i}", days_ago(demo_services, 200 + i))
           for i in range(3)]
    recent = [mail("sam@hengda-valves.com", "orders@globalvalvesupply.com", "Offer new", days_ago(demo_services, 2))]
    import_mail(demo_services, *old, *recent)
    now = demo_services.clock.now()
    candidates = inferred_candidates(db, cid, now=now)
    assert [c.person_id for c in candidates] == ["sam", "grace"]  # one recent answer beats three old ones
    assert candidates[1].messages == 3 and candidates[0].messages == 1


def test_explicit_owner_beats_inferred_and_people_who_left_are_skipped(demo_services: Services) -> None:
    db, now = demo_services.db, demo_services.clock.now()
    cid = customer_id(demo_services, "Polska Armatura Sp. z o.o.")
    without_amy = demo_services.config.model_copy(
        update={"people": [p for p in demo_services.config.people if p.id != "amy"]})
    person, source = effective_owner(db, Directory(without_amy), cid, now=now)
    assert person != "amy" and source == "inferred"

    assert ask(demo_services, "/assign polarm chen", who="amy").ok
    assert effective_owner(db, demo_services.directory, cid, now=now) == ("chen", "assignment")
    assert inferred_owner(db, cid, now=now).person_id == "amy"  # type: ignore[union-attr] - inference unchanged


def test_decay_has_a_60_day_half_life() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert decay(now, now) == 1.0
    assert decay(now - timedelta(days=HALF_LIFE_DAYS), now) == pytest.approx(0.5)
    assert decay(now - timedelta(days=2 * HALF_LIFE_DAYS), now) == pytest.approx(0.25)
    assert decay(now + timedelta(days=3), now) == 1.0  # clock skew never counts more than now
