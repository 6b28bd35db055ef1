"""Report figures (bot/report/figures.py): each number against a direct count, on a hand-built archive
(times chosen so every figure is known in advance) and on the demo factory."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.report.figures import compute, percentile
from bot.services import Services
from tests.fakes.sla_helpers import AMY, ERIK, HANS, INQUIRY, SAM, SUPPORT, Factory, eml, inquiry, shanghai

NOW = shanghai(2026, 11, 25, 14)  # Wednesday 14:00 in Ningbo
ALL = ["inquiry@hengda-valves.com", "order@hengda-valves.com", "support@hengda-valves.com",
       "shipping@hengda-valves.com", "audit@hengda-valves.com"]
LUCY = "Lucy Wang <lucy@hengda-valves.com>"


def hans(n: int, date: object, **kw: object) -> bytes:
    return eml(frm=HANS, to=INQUIRY, subject=f"[RFQ]-Acme-Gate Valve-{n}", date=date, msgid=f"acme{n}@acme-trading.de",
               **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Factory:
    """Monday: Erik (Nordic Flow, SE, lucy's) asks at 09:00, Lucy answers 11:00 (120 min); Hans (Acme, DE,
    amy's) asks at 10:00, Amy answers 16:00 (360 min); Hans asks again at 12:00 in a new thread and waits
    (due Tue 12:00, escalation Wed 12:00); Erik asks Wed 10:00 (4 h old at 14:00). After-sales: Hans
    complains Mon 09:00, Sam answers 10:00 (60 business minutes) and proposes a replacement Tue 10:00
    (Mon 09:00–12:00 + 13:30–18:00 + Tue 09:00–10:00 = 510 business minutes). A bounce never counts."""
    factory = Factory(tmp_path_factory.mktemp("report"), shanghai(2026, 11, 23, 9))
    factory.add(inquiry(1, shanghai(2026, 11, 23, 9)))
    factory.add(eml(frm=LUCY, to=ERIK, cc=INQUIRY, subject="Re: [RFQ]-Nordic Flow-Ball Valve-1",
                    date=shanghai(2026, 11, 23, 11), msgid="r1@hengda-valves.com", reply_to="rfq1@nordicflow.se",
                    body="Dear Erik, our quotation is attached."))
    factory.add(hans(2, shanghai(2026, 11, 23, 10)))
    factory.add(eml(frm=AMY, to=HANS, cc=INQUIRY, subject="Re: [RFQ]-Acme-Gate Valve-2", date=shanghai(2026, 11, 23, 16),
                    msgid="r2@hengda-valves.com", reply_to="acme2@acme-trading.de", body="Dear Hans, see attached."))
    factory.add(hans(3, shanghai(2026, 11, 23, 12)))
    factory.add(eml(frm="MAILER-DAEMON <mailer-daemon@acme-trading.de>", to=INQUIRY, subject="Undelivered Mail",
                    date=shanghai(2026, 11, 23, 13), msgid="bounce1@acme-trading.de", body="Delivery failed",
                    headers={"Auto-Submitted": "auto-replied", "Content-Type": "text/plain"}))
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Leaking valves PO 4521", date=shanghai(2026, 11, 23, 9),
                    msgid="c1@acme-trading.de", body="12 pcs are leaking at the stem. What now?"))
    factory.add(eml(frm=SAM, to=HANS, cc=SUPPORT, subject="Re: Leaking valves PO 4521", date=shanghai(2026, 11, 23, 10),
                    msgid="s1@hengda-valves.com", reply_to="c1@acme-trading.de",
                    body="Dear Hans, sorry for the trouble, we are checking with QA."))
    factory.add(eml(frm=SAM, to=HANS, cc=SUPPORT, subject="Re: Leaking valves PO 4521", date=shanghai(2026, 11, 24, 10),
                    msgid="s2@hengda-valves.com", reply_to="c1@acme-trading.de",
                    body="Conclusion: we will send 12 pcs replacement with the next shipment."))
    factory.add(inquiry(4, shanghai(2026, 11, 25, 10)))
    factory.at(NOW)
    factory.evaluate()
    db = factory.services.db
    with db.conn:  # handovers, a collision and a pool move, as their features record them
        rows = [(1, "chen", "lucy", "done", "2026-11-24T02:00:00Z", 2), (2, "amy", "li", "undone", "2026-11-24T03:00:00Z", 1),
                (3, "li", "amy", "pending", None, 1), (4, "chen", "amy", "done", "2026-10-01T00:00:00Z", 3),
                (5, "sam", "grace", "done", "2026-11-24T04:00:00Z", 1)]
        for hid, giver, receiver, state, confirmed, n in rows:
            db.execute("INSERT INTO handovers (id, from_person, to_person, scope, customers, actor, state, created_at,"
                       " confirmed_at) VALUES (?, ?, ?, 'customers', ?, 'boss', ?, '2026-11-24T00:00:00Z', ?)",
                       [hid, giver, receiver, json.dumps([{"id": k} for k in range(n)]), state, confirmed])
        db.execute("INSERT INTO rule_violations (message, message_id, rule, person_id, expected, at, found_at) "
                   "VALUES (999, 'x@y', 'collision', 'li', 'amy', '2026-11-24T05:00:00Z', '2026-11-24T05:00:00Z')")
        db.execute("INSERT INTO pool_events (customer_id, kind, person_id, by, at) "
                   "VALUES (1, 'moved', 'chen', 'mailroom', '2026-11-24T06:00:00Z')")
    yield factory
    factory.close()


def report(factory: Factory, **kw: object):  # noqa: ANN201
    services = factory.services
    return compute(services.db, services.config, now=NOW, **{"rights": ALL, "days": 7, **kw})  # type: ignore[arg-type]


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([360, 60, 120], 0.5) == 120
    assert percentile([360, 60, 120], 0.9) == 360
    assert percentile([1, 2, 3, 4], 0.5) == 2
    assert percentile(list(range(1, 11)), 0.9) == 9


def test_first_response_and_initial_solution_times(built: Factory) -> None:
    f = report(built).figures
    assert (f.first_response.count, f.first_response.p50_minutes, f.first_response.p90_minutes) == (3, 120, 360)
    assert f.first_response.within_sla == 3
    sales = report(built, team="sales").figures
    assert (sales.first_response.count, sales.first_response.p50_minutes, sales.first_response.p90_minutes) == \
        (2, 120, 360)
    support = report(built, team="support").figures
    assert (support.first_response.count, support.first_response.p50_minutes) == (1, 60)  # business minutes
    assert (support.initial_solution.count, support.initial_solution.p50_minutes) == (1, 510)
    assert sales.initial_solution.count == 0
    people = {p.person: p for p in sales.people}
    assert (people["lucy"].answered, people["lucy"].first_response_p50_minutes) == (1, 120)
    assert (people["amy"].answered, people["amy"].first_response_p50_minutes) == (1, 360)
    assert people["li"].answered == 0 and "boss" in people  # the manager is in the team's table


def test_breaches_escalations_and_open_items(built: Factory) -> None:
    f = report(built, team="sales").figures
    days = {d.day: d for d in f.per_day}
    assert list(days)[0] == "2026-11-18" and list(days)[-1] == "2026-11-25" and len(days) == 8  # partial first day
    assert (days["2026-11-24"].breaches, days["2026-11-25"].escalations) == (1, 1)
    assert (f.breaches, f.escalations) == (1, 1)
    assert f.open_by_state == {"ok": 1, "warning": 0, "breached": 0, "escalated": 1}
    assert {b.label: b.count for b in f.open_by_age} == {"< 4 h": 0, "4–24 h": 1, "1–2 d": 0, "2–7 d": 1, "> 7 d": 0}
    longest = [(w.customer, w.country, w.owner, w.waiting_hours, w.state) for w in f.waiting_longest]
    assert longest == [("Acme Trading GmbH", "DE", "amy", 50.0, "escalated"), ("Nordic Flow AB", "SE", "lucy", 4.0, "ok")]
    people = {p.person: p for p in f.people}
    assert (people["amy"].open_items, people["amy"].breached_items) == (1, 1)
    assert (people["lucy"].open_items, people["lucy"].breached_items) == (1, 0)
    # a direct count of the engine's items
    db = built.services.db
    assert db.execute("SELECT count(*) FROM sla_items WHERE closed_at IS NULL AND mailbox = ?", [INQUIRY]).fetchone()[0] == 2


def test_volume_by_mailbox_and_country(built: Factory) -> None:
    f = report(built).figures
    assert f.volume.total == 5
    assert f.volume.by_mailbox["inquiry@hengda-valves.com"] == 4 and f.volume.by_mailbox["support@hengda-valves.com"] == 1
    assert f.volume.by_country == {"DE": 3, "SE": 2}
    assert sum(d.inquiries for d in f.per_day) == 5


def test_rules_and_handovers(built: Factory) -> None:
    db = built.services.db
    sales = report(built, team="sales").figures
    checks = db.execute("SELECT rule, count(*), sum(ok) FROM rule_checks WHERE person_id IN "
                        "('boss', 'amy', 'li', 'chen', 'lucy') GROUP BY rule").fetchall()
    expected = {rule: (n, ok) for rule, n, ok in checks}
    assert (sales.rules.subjects, sales.rules.subjects_ok) == expected.get("subject_convention", (0, 0))
    assert (sales.rules.milestones, sales.rules.milestones_ok) == expected.get("milestone_cc", (0, 0))
    assert (sales.rules.collisions, sales.rules.pool_moves) == (1, 1)
    assert (sales.handovers.done, sales.handovers.undone, sales.handovers.customers_moved) == (1, 1, 2)
    assert [h.id for h in sales.handovers.recent] == [2, 1]  # newest first; pending and old ones left out
    support = report(built, team="support").figures
    assert (support.handovers.done, support.rules.collisions, support.rules.pool_moves) == (1, 0, 0)
    li = report(built, person="li").figures
    assert li.rules.collisions == 1 and li.handovers.undone == 1 and li.handovers.done == 0


def test_rights_leave_unreadable_mailboxes_out(built: Factory) -> None:
    r = report(built, rights=["inquiry@hengda-valves.com"])
    assert r.period.mailboxes == ["inquiry@hengda-valves.com"]
    f = r.figures
    assert "support@hengda-valves.com" not in f.volume.by_mailbox and f.volume.total == 4
    assert f.initial_solution.count == 0 and f.first_response.count == 2
    none = report(built, team="support", rights=["inquiry@hengda-valves.com"]).figures
    assert none.first_response.count == 0 and none.volume.total == 0 and none.waiting_longest == []


def test_person_scope_counts_their_answers_and_their_customers(built: Factory) -> None:
    amy = report(built, person="amy")
    assert amy.period.person == "amy"
    f = amy.figures
    assert (f.first_response.count, f.first_response.p50_minutes) == (1, 360)
    assert [w.customer for w in f.waiting_longest] == ["Acme Trading GmbH"]
    assert f.volume.total == 3  # Acme's two inquiries and its complaint
    assert f.breaches == 1


def test_period_and_bad_scope(built: Factory) -> None:
    r = report(built, days=1)
    assert (r.period.since, r.period.until, r.period.days) == ("2026-11-24T06:00:00Z", "2026-11-25T06:00:00Z", 1)
    assert r.figures.first_response.count == 0  # all were answered before
    with pytest.raises(ValueError, match="no team"):
        report(built, team="nope")
    with pytest.raises(ValueError, match="no person"):
        report(built, person="nope")


def test_demo_figures_match_direct_counts(demo_services: Services) -> None:
    services, now = demo_services, demo_services.clock.now()
    services.sla.evaluate(now)
    db = services.db
    rights = services.permissions.readable_mailboxes(services.directory.people["boss"])
    for team in ("sales", "support", "merch"):
        r = compute(db, services.config, now=now, rights=rights, team=team, days=7)
        f = r.figures
        boxes = r.period.mailboxes
        marks = ", ".join("?" for _ in boxes)
        open_count = db.execute(f"SELECT count(*) FROM sla_items WHERE closed_at IS NULL AND mailbox IN ({marks})",
                                boxes).fetchone()[0]
        assert sum(f.open_by_state.values()) == open_count == sum(b.count for b in f.open_by_age)
        since = int((now - timedelta(days=7)).timestamp())
        breaches = db.execute(f"SELECT count(*) FROM sla_items WHERE mailbox IN ({marks}) AND due_at >= ? AND due_at < ?"
                              " AND (closed_at IS NULL OR closed_at > due_at)", [*boxes, since, int(now.timestamp())]
                              ).fetchone()[0]
        assert f.breaches == breaches == sum(d.breaches for d in f.per_day)
        inquiries = db.execute(f"SELECT count(*) FROM sla_first WHERE mailbox IN ({marks}) AND at >= ? AND at < ?",
                               [*boxes, since, int(now.timestamp())]).fetchone()[0]
        assert f.volume.total == inquiries
        if team in ("sales", "support"):  # the daily digest counts the same first responses, another way
            digest = services.sla_digests.digest(team, now)
            assert f.first_response.count == digest.answered_7d
            assert f.first_response.within_sla == digest.answered_in_sla_7d
        waits = sorted(db.execute(f"SELECT started FROM sla_items WHERE closed_at IS NULL AND mailbox IN ({marks})",
                                  boxes).fetchall())
        if waits:
            assert f.waiting_longest[0].waiting_since == _iso(waits[0][0])
    sales = compute(db, services.config, now=now, rights=rights, team="sales", days=30).figures
    assert sales.breaches >= 1 and any(w.state in ("breached", "escalated") for w in sales.waiting_longest)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_owners_in_bulk_are_the_owners_one_by_one(demo_services: Services) -> None:
    from bot.customers.inference import effective_owner, effective_owners

    services, now = demo_services, demo_services.clock.now()
    ids = [c for (c,) in services.db.execute("SELECT id FROM customers")]
    with services.db.conn:  # one customer in the pool, one explicit owner removed (inferred from mail instead)
        services.db.execute("INSERT INTO customer_pool (customer_id, since) VALUES (?, '2026-11-01T00:00:00Z')", [ids[0]])
        services.db.execute("DELETE FROM ownership WHERE customer_id IN (?, ?)", [ids[1], ids[2]])
    bulk = effective_owners(services.db, services.directory, ids, now=now)
    assert bulk == {c: effective_owner(services.db, services.directory, c, now=now)[0] for c in ids}
    assert bulk[ids[0]] is None and bulk[ids[1]] is not None


@pytest.mark.parametrize("days", [1, 3, 7, 30, 90])
def test_first_responses_by_reads_the_same_answers_as_the_digest(demo_services: Services, days: int) -> None:
    from bot.sla.waiting import first_responses, first_responses_by

    services, now = demo_services, demo_services.clock.now()
    boxes = [m.address for m in services.config.mailboxes]
    for since in (now - timedelta(days=days), now - timedelta(days=days, hours=13)):
        digest = sorted(first_responses(services.db, boxes, since, now))
        report = sorted((m, s, r) for m, s, r, _ in first_responses_by(services.db, boxes, since, now))
        assert report == digest


def test_without_the_people_table_the_other_figures_are_the_same(built: Factory) -> None:
    full = report(built, team="sales").figures
    lean = report(built, team="sales", people=False).figures
    assert lean.people == [] and lean.model_copy(update={"people": full.people}) == full
