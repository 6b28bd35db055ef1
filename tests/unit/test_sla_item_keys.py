"""One item per (message, mailbox, kind) without a unique key (migration m005): the engine finds an open
item in its clock's thread and a closed one by message, so open items follow their message when mail is
re-threaded, a clock stopped by hand is never opened again, and archives from before m005 keep their items."""

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.schema import MIGRATION_SETS, open_archive
from tests.fakes.asking import ask
from tests.fakes.sla_helpers import HANS, INQUIRY, MONDAY, SUPPORT, Factory, eml, inquiry


def all_items(factory: Factory) -> list[tuple[int, int, str, str, int | None]]:
    """(message, thread, mailbox, kind, closed_at) of every item, open or closed."""
    return factory.services.db.execute(
        "SELECT message, thread_id, mailbox, kind, closed_at FROM sla_items ORDER BY id").fetchall()


def message_pk(factory: Factory, message_id: str) -> tuple[int, int]:
    return factory.services.db.execute("SELECT id, thread_id FROM messages WHERE message_id = ?", [message_id]).fetchone()


def rethread(factory: Factory, message: int, thread: int | None) -> None:
    db = factory.services.db
    with db.conn:
        db.execute("UPDATE messages SET thread_id = ? WHERE id = ?", [thread, message])


def test_clocks_stopped_by_hand_are_not_opened_again(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY)
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Leaking valves", date=MONDAY, msgid="c1@acme-trading.de"))
    for item in factory.items():  # answered and solved on the phone
        assert ask(factory.services, f"/sla resolve {item.id}", who="sam").ok
    factory.at(MONDAY + timedelta(hours=2))
    factory.evaluate(full=True)  # every clock has its (closed) item
    assert factory.services.sla.open_items(factory.clock.now()) == [] and len(all_items(factory)) == 2
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Re: Leaking valves", date=MONDAY + timedelta(hours=1, minutes=30),
                    msgid="c2@acme-trading.de", reply_to="c1@acme-trading.de", body="Also: 3 pcs DN80 leak."))
    for full in (False, True):  # a first run for this thread (nothing open in it), then a full one
        factory.evaluate(full=full)
        [new] = factory.services.sla.open_items(factory.clock.now())
        assert (new.message_id, new.kind) == ("c2@acme-trading.de", "first_response")
        assert len(all_items(factory)) == 3
    factory.close()


def leak(factory: Factory) -> tuple[int, int]:
    """An after-sales thread (two clocks of support@); its message and thread."""
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Leaking valves", date=MONDAY, msgid="c1@acme-trading.de"))
    return message_pk(factory, "c1@acme-trading.de")


def test_an_open_item_follows_its_message_to_another_thread(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY)
    factory.add(inquiry(1, MONDAY))
    leaking, other_thread = leak(factory)
    before = {(i.message_pk, i.kind): i.id for i in factory.items()}
    message, _ = message_pk(factory, "rfq1@nordicflow.se")
    rethread(factory, message, other_thread)  # merged into the after-sales thread: both threads are dirty now
    factory.at(MONDAY + timedelta(hours=1))
    factory.evaluate()
    assert sorted(all_items(factory)) == [(message, other_thread, INQUIRY, "first_response", None),
                                          (leaking, other_thread, SUPPORT, "first_response", None),
                                          (leaking, other_thread, SUPPORT, "initial_solution", None)]
    factory.add(inquiry(2, MONDAY + timedelta(minutes=30)))
    factory.evaluate(full=True)  # found again in its new thread: still the same item; and one new
    after = {(i.message_pk, i.kind): i.id for i in factory.services.sla.open_items(factory.clock.now())}
    assert len(after) == 4 and len(all_items(factory)) == 4 and before.items() <= after.items()
    factory.close()


def test_a_message_without_thread_for_a_while(tmp_path: Path) -> None:
    """Re-threaded through NULL between two evaluations: the old thread is dirty, so the item moves."""
    factory = Factory(tmp_path, MONDAY)
    factory.add(inquiry(1, MONDAY))
    _, other_thread = leak(factory)
    assert len(factory.items()) == 3
    message, _ = message_pk(factory, "rfq1@nordicflow.se")
    rethread(factory, message, None)
    rethread(factory, message, other_thread)
    factory.at(MONDAY + timedelta(hours=1))
    assert len(factory.items()) == 3 and len(all_items(factory)) == 3
    assert {thread for _, thread, *_ in all_items(factory)} == {other_thread}
    factory.evaluate(full=True)
    assert len(factory.items()) == 3 and len(all_items(factory)) == 3
    factory.close()


def test_a_dropped_item_reopens_in_the_thread_its_clock_runs_in(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY)
    factory.add(inquiry(1, MONDAY))
    _, other_thread = leak(factory)
    [dropped] = [i for i in factory.items() if i.mailbox == INQUIRY]
    rethread(factory, dropped.message_pk, None)  # no thread: its clock stops
    factory.at(MONDAY + timedelta(hours=1))
    assert len(factory.items()) == 2
    rethread(factory, dropped.message_pk, other_thread)
    factory.evaluate(full=True)
    db = factory.services.db
    assert db.execute("SELECT thread_id, closed_at FROM sla_items WHERE id = ?", [dropped.id]).fetchone() == (
        other_thread, None)
    with db.conn:
        db.execute("INSERT OR IGNORE INTO sla_dirty (thread_id) VALUES (?)", [other_thread])
    assert factory.evaluate().scope == "incremental"
    assert len(factory.items()) == 3 and len(all_items(factory)) == 3
    factory.close()


def test_an_archive_from_before_m005_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(str(path)))
    for migrations in MIGRATION_SETS:
        migrations.apply(db, stop_before="m005_items_without_unique_key")
    with db.conn:
        db.execute("INSERT INTO threads (id, subject, subject_norm) VALUES (1, 'a', 'a'), (2, 'b', 'b')")
        db.execute("INSERT INTO messages (id, message_id, thread_id, date, direction, archived_at) VALUES "
                   "(10, 'x@example.com', 2, '2026-11-23T01:00:00Z', 'inbound', '2026-11-23T01:00:00Z')")
        columns = "(id, message, thread_id, mailbox, kind, policy, started, warn_at, due_at, escalate_at, fingerprint," \
                  " created_at, closed_at, close_reason)"
        db.execute(f"INSERT INTO sla_items {columns} VALUES (7, 10, 1, ?, 'first_response', 'p', 0, 1, 2, 3, 'f', 0,"
                   " NULL, NULL), (8, 10, 1, ?, 'initial_solution', 'p', 0, 1, 2, 3, 'f', 0, 5, 'resolved')",
                   [INQUIRY, INQUIRY])
    with pytest.raises(sqlite3.IntegrityError), db.conn:  # m001's unique key
        db.execute(f"INSERT INTO sla_items {columns} SELECT 9, message, thread_id, mailbox, kind, policy, started,"
                   " warn_at, due_at, escalate_at, fingerprint, created_at, closed_at, close_reason"
                   " FROM sla_items WHERE id = 7")
    db.conn.close()
    db = open_archive(path)
    assert db.execute("SELECT id, message, thread_id, closed_at, close_reason FROM sla_items ORDER BY id").fetchall() == [
        (7, 10, 2, None, None), (8, 10, 1, 5, "resolved")]  # the open item followed its message to thread 2
    indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                               "AND tbl_name IN ('sla_items', 'sla_open')")}
    assert indexes == {"sla_items_open", "sla_items_closed_message", "sla_items_resolved", "sla_items_reopenable",
                       "sla_open_by_mailbox", "sla_open_second_look"}
    db.conn.close()
