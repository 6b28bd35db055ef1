"""The engine's fast paths give the same clocks as the plain rules: business-calendar instants from the
linear-piece table (and the Python fallback outside it), the pure engine against the persisted items,
and remembered solution verdicts that are forgotten when they may no longer hold."""

from datetime import timedelta
from pathlib import Path

from bot.core.config import Config
from bot.sla.engine import PIECE_WINDOW_DAYS, waiting_items
from tests.fakes.sla_helpers import (
    AMY,
    ERIK,
    HANS,
    INQUIRY,
    MONDAY,
    RMA,
    SAM,
    SUPPORT,
    Factory,
    eml,
    shanghai,
)


def persisted(factory: Factory) -> dict[tuple[int, str, str], tuple[int, int, int, int, str]]:
    factory.evaluate()
    now_s = int(factory.clock.now().timestamp())
    return {(i.message_pk, i.mailbox, i.kind): (i.started, i.warn_at, i.due_at, i.escalate_at, i.state_at(now_s))
            for i in factory.services.sla.open_items(factory.clock.now(), owners=False)}


def pure(factory: Factory) -> dict[tuple[int, str, str], tuple[int, int, int, int, str]]:
    clocks = waiting_items(factory.services.db, factory.services.sla.policies, factory.clock.now())
    return {(c.message, c.mailbox, c.kind): (c.started, c.warn_at, c.due_at, c.escalate_at, c.state) for c in clocks}


def test_pure_engine_equals_the_items_on_business_and_calendar_time(tmp_path: Path) -> None:
    """After-sales mail at awkward times (a weekend night, lunch, a holiday, an alias) and inquiries:
    the pure engine's instants and states are the persisted items', and each instant is `add`'s."""
    now = shanghai(2026, 10, 12, 10)  # Monday after the National Day week, 10:00 in Ningbo
    factory = Factory(tmp_path, now)
    arrivals = [shanghai(2026, 10, 10, 23), shanghai(2026, 10, 9, 12, 30), shanghai(2026, 10, 1, 9),
                shanghai(2026, 9, 30, 17, 59), shanghai(2026, 10, 12, 9, 1)]
    for n, at in enumerate(arrivals):
        factory.add(eml(frm=HANS, to=RMA if n % 2 else SUPPORT, subject=f"Leak {n}", date=at, msgid=f"c{n}@acme-trading.de"))
        factory.add(eml(frm=ERIK, to=INQUIRY, subject=f"RFQ {n}", date=at, msgid=f"q{n}@nordicflow.se"))
    items = persisted(factory)
    assert len(items) == 15 and pure(factory) == items
    policies = factory.services.sla.policies
    for (_, mailbox, kind), (started, warn, due, escalate, _) in items.items():
        clock = policies.clock_for(mailbox, kind)
        assert clock is not None
        assert [warn, due, escalate] == [clock.calendar.add(started, s) for s in (clock.warn, clock.seconds, clock.escalate)]
    factory.at(now + timedelta(days=3))
    assert pure(factory) == persisted(factory)
    factory.close()


def test_a_clock_older_than_the_tabulated_window(tmp_path: Path) -> None:
    """Instants of clocks started before the pieces' window come from the calendar itself."""
    factory = Factory(tmp_path, MONDAY)
    old = MONDAY - timedelta(days=PIECE_WINDOW_DAYS + 30)
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Old leak", date=old, msgid="old@acme-trading.de"))
    factory.add(eml(frm=HANS, to=SUPPORT, subject="New leak", date=MONDAY - timedelta(hours=1), msgid="new@acme-trading.de"))
    items = persisted(factory)
    calendar = factory.services.sla.policies.clock_for(SUPPORT, "first_response").calendar
    dues = sorted((started, due) for (_, _, kind), (started, _, due, _, _) in items.items() if kind == "first_response")
    assert [due for _, due in dues] == [calendar.add(started, 24 * 3600) for started, _ in dues]
    assert dues[0][0] == int(old.timestamp()) and pure(factory) == items
    factory.close()


def solve_later(factory: Factory) -> None:
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Leaking valves", date=MONDAY, msgid="c1@acme-trading.de"))
    factory.add(eml(frm=SAM, to=HANS, cc=SUPPORT, subject="Re: Leaking valves", date=MONDAY + timedelta(hours=1),
                    msgid="s1@hengda-valves.com", reply_to="c1@acme-trading.de",
                    body="We are checking with QA; a goodwill credit may follow."))


def test_a_reply_whose_text_changes_is_judged_again(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY + timedelta(hours=2))
    solve_later(factory)
    assert {i.kind for i in factory.items()} == {"initial_solution"}  # answered, but no solution
    db = factory.services.db
    assert db.execute("SELECT solution FROM sla_solutions").fetchall() == [(0,)]
    with db.conn:
        db.execute("UPDATE messages SET body = 'We will send a replacement.' WHERE message_id = 's1@hengda-valves.com'")
    assert db.execute("SELECT count(*) FROM sla_solutions").fetchone() == (0,)  # forgotten with the old text
    factory.evaluate(full=True)
    assert factory.services.sla.open_items(factory.clock.now()) == []
    factory.close()


def test_changed_keywords_forget_the_remembered_verdicts(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY + timedelta(hours=2))
    solve_later(factory)
    assert {i.kind for i in factory.items()} == {"initial_solution"}

    def edit(config: Config) -> None:
        config.sla["support"].solution_keywords = ["goodwill credit"]

    factory.edit = edit
    factory.reopen()
    assert factory.items() == []  # the same reply, judged again on the new keywords
    reasons = dict(factory.services.db.execute("SELECT kind, close_reason FROM sla_items").fetchall())
    assert reasons == {"initial_solution": "solved"}  # (answered before the first evaluation: no first-response item)
    factory.close()


def test_first_run_and_later_runs_agree_with_a_reply_arriving_between(tmp_path: Path) -> None:
    """The first evaluation inserts straight from the summaries; later ones go through temp.sla_found."""
    factory = Factory(tmp_path, MONDAY + timedelta(hours=5))
    for n in range(4):
        factory.add(eml(frm=ERIK, to=INQUIRY, subject=f"RFQ {n}", date=MONDAY + timedelta(minutes=n),
                        msgid=f"rfq{n}@nordicflow.se"))
    first = factory.evaluate()
    assert (first.scope, first.opened) == ("full", 4)
    factory.add(eml(frm=AMY, to=ERIK, cc=INQUIRY, subject="Re: RFQ 2", date=MONDAY + timedelta(hours=1),
                    msgid="r2@hengda-valves.com", reply_to="rfq2@nordicflow.se", body="Quotation attached."))
    again = factory.evaluate(full=True)
    assert (again.opened, again.closed) == (0, 1)
    assert pure(factory) == persisted(factory) and len(pure(factory)) == 3
    factory.close()
