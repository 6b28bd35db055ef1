"""`write_transaction`: the one way to write (BEGIN IMMEDIATE, nested calls join, any error rolls back)."""

from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.store.db import connect, in_write_transaction, savepoint, write_transaction


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = connect(tmp_path / "archive.sqlite")
    db.execute("CREATE TABLE notes (text TEXT)")
    return db


def texts(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT text FROM notes ORDER BY rowid")]


def test_a_nested_call_joins_the_outer_transaction(db: Database) -> None:
    with write_transaction(db):
        db.execute("INSERT INTO notes VALUES ('outer')")
        with write_transaction(db):
            db.execute("INSERT INTO notes VALUES ('inner')")
        assert in_write_transaction(db)
    assert not in_write_transaction(db)
    assert texts(db) == ["outer", "inner"]


def test_an_error_anywhere_inside_rolls_the_whole_write_back(db: Database) -> None:
    with pytest.raises(ValueError), write_transaction(db):
        db.execute("INSERT INTO notes VALUES ('outer')")
        with write_transaction(db):
            db.execute("INSERT INTO notes VALUES ('inner')")
            raise ValueError("boom")
    assert texts(db) == []


def test_a_write_left_open_outside_the_helper_is_refused_and_rolled_back(db: Database) -> None:
    db.conn.execute("INSERT INTO notes VALUES ('stray')")  # sqlite3 opens an implicit transaction here
    with pytest.raises(RuntimeError, match="outside write_transaction"), write_transaction(db):
        db.execute("INSERT INTO notes VALUES ('ours')")
    assert texts(db) == []
    with write_transaction(db):  # the connection writes again
        db.execute("INSERT INTO notes VALUES ('next')")
    assert texts(db) == ["next"]


def test_a_savepoint_undoes_only_its_own_writes_and_needs_a_transaction(db: Database) -> None:
    with write_transaction(db):
        db.execute("INSERT INTO notes VALUES ('kept')")
        with pytest.raises(ValueError), savepoint(db, "one"):
            db.execute("INSERT INTO notes VALUES ('undone')")
            raise ValueError("boom")
        with savepoint(db, "two"):
            db.execute("INSERT INTO notes VALUES ('also kept')")
    assert texts(db) == ["kept", "also kept"]
    with pytest.raises(RuntimeError, match="inside write_transaction"), savepoint(db, "three"):
        pass


def test_when_sqlite_gave_up_the_whole_transaction_the_real_error_comes_through(db: Database) -> None:
    with pytest.raises(ValueError, match="disk full, say"), write_transaction(db), savepoint(db, "one"):
        db.execute("INSERT INTO notes VALUES ('lost')")
        db.conn.rollback()  # what SQLite does by itself on SQLITE_FULL or an I/O error
        raise ValueError("disk full, say")
    assert texts(db) == []
