"""Two connections appending to the audit log at once leave a chain `mailroom audit verify` calls intact."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.schema import open_archive
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

ROUNDS = 150


def append_many(path: Path, who: str, errors: list[BaseException]) -> None:
    db = open_archive(path)
    log = AuditLog(db, Clock())
    try:
        for n in range(ROUNDS):
            with write_transaction(db):
                log.record(who, "assign", {"n": n}, "ok")
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)
    finally:
        db.conn.close()


def test_two_writers_keep_the_chain_intact(tmp_path: Path) -> None:
    path = tmp_path / "mailroom.db"
    open_archive(path).conn.close()
    errors: list[BaseException] = []
    writers = [threading.Thread(target=append_many, args=(path, who, errors)) for who in ("amy", "li")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert errors == []
    db = open_archive(path)
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 2 * ROUNDS
    assert AuditLog(db, Clock()).verify() is None


def test_two_processes_keep_the_chain_intact(tmp_path: Path) -> None:
    path = tmp_path / "mailroom.db"
    open_archive(path).conn.close()
    script = ("import sys; from tests.unit.test_audit_concurrency import append_many; e = []; "
              "append_many(__import__('pathlib').Path(sys.argv[1]), sys.argv[2], e); sys.exit(1 if e else 0)")
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), who], cwd=root) for who in ("amy", "li")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    db = open_archive(path)
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 2 * ROUNDS
    assert AuditLog(db, Clock()).verify() is None


def test_recording_outside_a_write_transaction_is_refused(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "mailroom.db")
    with pytest.raises(RuntimeError, match="write_transaction"):
        AuditLog(db, Clock()).record("amy", "assign", {}, "ok")
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_nested_write_transactions_join_and_roll_back_together(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "mailroom.db")
    log = AuditLog(db, Clock())
    with pytest.raises(ValueError), write_transaction(db):
        log.record("amy", "assign", {}, "ok")
        with write_transaction(db):
            log.record("amy", "assign", {}, "ok")
        raise ValueError("undo both")
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0
