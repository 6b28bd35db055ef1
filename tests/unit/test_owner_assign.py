"""/assign: only leads, managers and admins; audited in the same transaction; every change kept."""

import pytest

from bot.customers.ownership import history, owner_of
from bot.services import Services
from tests.fakes.asking import ask


def acme(services: Services) -> int:
    return int(services.db.execute("SELECT id FROM customers WHERE name = 'Acme Trading GmbH'").fetchone()[0])


def audit_count(services: Services) -> int:
    return int(services.db.execute("SELECT count(*) FROM audit_log").fetchone()[0])


def test_a_member_is_refused_and_nothing_changes(demo_services: Services) -> None:
    reply = ask(demo_services, "/assign acme li", who="li")
    assert not reply.ok and reply.error is not None and reply.error.code == "forbidden"
    assert "lead" in reply.text
    assert owner_of(demo_services.db, acme(demo_services)).person_id == "amy"  # type: ignore[union-attr]
    assert audit_count(demo_services) == 0


@pytest.mark.parametrize("who", ["amy", "boss", "zhou"])  # lead, manager, admin
def test_lead_manager_and_admin_may_assign(demo_services: Services, who: str) -> None:
    reply = ask(demo_services, "/assign acme trading li", who=who)
    assert reply.ok, reply.text
    assert reply.data["changed"] is True and reply.data["owner"]["id"] == "li"
    assert reply.data["previous"] == {"owner": {"id": "amy", "name": "Amy Zhang", "email": "amy@hengda-valves.com"},
                                      "source": "crm"}
    current = owner_of(demo_services.db, acme(demo_services))
    assert current is not None and (current.person_id, current.source, current.by) == ("li", "assignment", who)


def test_assignment_is_audited_and_history_is_kept(demo_services: Services) -> None:
    db = demo_services.db
    first = ask(demo_services, '/assign acme li --reason "Amy moves to QA"', who="amy")
    second = ask(demo_services, "assign acme to Chen Hao", who="boss")
    assert first.ok and second.ok
    steps = history(db, acme(demo_services))
    assert [(h["from"], h["to"], h["source"], h["by"]) for h in steps] == [
        (None, "amy", "crm", "crm"), ("amy", "li", "assignment", "amy"), ("li", "chen", "assignment", "boss")]
    assert steps[1]["reason"] == "Amy moves to QA"
    assert second.data["history"] == steps

    entries = demo_services.audit.recent()
    assert [(e["actor"], e["command"], e["args"]["to"]) for e in entries] == [("boss", "assign", "chen"),
                                                                           ("amy", "assign", "li")]
    assert steps[2]["ref"] == f"audit:{second.data['audit_id']}" == f"audit:{entries[0]['id']}"
    assert demo_services.audit.verify() is None

    shown = ask(demo_services, "/owner acme")
    assert shown.data["matches"][0]["source"] == "assignment" and "assigned by Wang Jun" in shown.text


def test_assigning_the_current_owner_changes_nothing(demo_services: Services) -> None:
    reply = ask(demo_services, "/assign acme amy", who="boss")
    assert reply.ok and reply.data["changed"] is False and reply.data["audit_id"] is None
    assert audit_count(demo_services) == 0 and len(history(demo_services.db, acme(demo_services))) == 1


def test_audit_failure_rolls_the_change_back(demo_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_services.audit, "record", broken)
    reply = ask(demo_services, "/assign acme li", who="boss")
    assert not reply.ok and reply.error is not None and reply.error.code == "internal"
    assert owner_of(demo_services.db, acme(demo_services)).person_id == "amy"  # type: ignore[union-attr]
    assert len(history(demo_services.db, acme(demo_services))) == 1


def test_chinese_phrasing(demo_services: Services) -> None:
    reply = ask(demo_services, "把 华通 分配给 lucy", who="boss")
    assert reply.ok and reply.data["customer"]["name"] == "深圳华通贸易有限公司" and reply.data["owner"]["id"] == "lucy"


def test_ambiguous_customer_changes_nothing_and_offers_buttons(demo_services: Services) -> None:
    reply = ask(demo_services, "/assign trading li", who="boss")
    assert not reply.ok and reply.error is not None and reply.error.code == "ambiguous"
    assert "/assign Acme Trading GmbH li" in [b.command for b in reply.buttons]
    assert audit_count(demo_services) == 0
    pressed = ask(demo_services, "/assign Acme Trading GmbH li", who="boss")
    assert pressed.ok and pressed.data["customer"]["name"] == "Acme Trading GmbH"


@pytest.mark.parametrize(
    ("text", "code"),
    [("/assign", "usage"), ("/assign acme", "usage"), ("/assign acme nobody", "unknown_person"),
     ("/assign xyzzy li", "no_match")],
)
def test_bad_requests(demo_services: Services, text: str, code: str) -> None:
    reply = ask(demo_services, text, who="boss")
    assert reply.error is not None and reply.error.code == code, reply.text
    if code == "usage":
        assert "Usage: /assign <customer> <person>" in reply.text
    assert audit_count(demo_services) == 0
