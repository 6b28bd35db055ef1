"""The keyed, anchored audit log against someone who can write the SQLite file (issue 14).

Each tamper is done the way an attacker with the file would: plain SQL, the chain recomputed with the
public hash function, the head fixed to match. `mailroom audit verify` must name what is wrong whenever
the key or an anchor exists.
"""

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.core.clock import Clock
from bot.schema import open_archive
from bot.store.audit import GENESIS, AuditLog, audit_key_status
from bot.store.db import write_transaction

KEY = b"k" * 32


def plain_hash(prev: str, at: str, actor: str, command: str, args: str, result: str) -> str:
    canonical = json.dumps([prev, at, actor, command, args, result], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def fill(db: Database, log: AuditLog, count: int = 6) -> None:
    for i in range(count):
        with write_transaction(db):
            log.record("amy", "assign", {"customer": f"c{i}"}, "ok")


def truncate(db: Database) -> None:
    """Drop the two newest entries; point the head at the new last one (copying its stored hash)."""
    with write_transaction(db):
        db.execute("DELETE FROM audit_log WHERE id > (SELECT max(id) - 2 FROM audit_log)")
        last_id, last_hash = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        db.execute("UPDATE audit_head SET last_id = ?, last_hash = ?", [last_id, last_hash])


def recompute(db: Database) -> None:
    """Rewrite an old entry's result and recompute the whole chain (unkeyed, the only way without the key)."""
    with write_transaction(db):
        db.execute("UPDATE audit_log SET result = 'refused' WHERE id = 2")
        prev = GENESIS
        rows = db.execute("SELECT id, at, actor, command, args, result FROM audit_log ORDER BY id").fetchall()
        for entry_id, at, actor, command, args, result in rows:
            digest = plain_hash(prev, at, actor, command, args, result)
            db.execute("UPDATE audit_log SET prev_hash = ?, hash = ?, keyed = 0 WHERE id = ?", [prev, digest, entry_id])
            prev = digest
        db.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, mac = NULL", [rows[-1][0], prev])


def empty(db: Database) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM audit_log")
        db.execute("DELETE FROM audit_head")


def empty_keep_head(db: Database) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM audit_log")


TAMPERS: dict[str, Callable[[Database], None]] = {
    "truncate": truncate, "recompute": recompute, "empty": empty, "empty-keep-head": empty_keep_head,
}


@pytest.fixture
def archive(tmp_path: Path) -> Database:
    db = open_archive(tmp_path / "archive.db")
    yield db
    db.conn.close()


def test_untampered_log_verifies_with_key_and_anchors(archive: Database, tmp_path: Path) -> None:
    log = AuditLog(archive, Clock(), key=KEY, anchors=tmp_path / "anchors")
    fill(archive, log, 3)
    assert log.anchor() is not None and log.anchor() is None  # only when the head moved
    fill(archive, log, 2)
    log.anchor()
    assert log.problems() == []
    assert len((tmp_path / "anchors").read_text().splitlines()) == 2


@pytest.mark.parametrize("tamper", ["truncate", "recompute", "empty-keep-head"])
def test_key_alone_catches(archive: Database, tamper: str) -> None:
    log = AuditLog(archive, Clock(), key=KEY, anchors=None)
    fill(archive, log)
    TAMPERS[tamper](archive)
    assert log.problems(), tamper


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_anchor_alone_catches(archive: Database, tmp_path: Path, tamper: str) -> None:
    log = AuditLog(archive, Clock(), key=None, anchors=tmp_path / "anchors")
    fill(archive, log)
    log.anchor()
    assert log.problems() == []
    TAMPERS[tamper](archive)
    problems = log.problems()
    assert problems, tamper
    if tamper in ("empty", "empty-keep-head"):
        assert any("emptied" in p.reason or "deleted" in p.reason for p in problems)


def test_without_key_or_anchor_a_truncation_is_invisible(archive: Database) -> None:
    """Why the key and the anchors exist: the bare chain cannot see a consistent truncation."""
    log = AuditLog(archive, Clock(), key=None, anchors=None)
    fill(archive, log)
    truncate(archive)
    assert log.problems() == []


def test_keyed_entries_need_the_key_to_verify(archive: Database) -> None:
    fill(archive, AuditLog(archive, Clock(), key=KEY, anchors=None), 2)
    (problem,) = AuditLog(archive, Clock(), key=None, anchors=None).problems()
    assert "MAILROOM_AUDIT_KEY" in problem.reason
    wrong = AuditLog(archive, Clock(), key=b"w" * 32, anchors=None).problems()
    assert wrong and "MAC" in wrong[0].reason


def test_key_added_later_covers_the_earlier_chain(archive: Database) -> None:
    fill(archive, AuditLog(archive, Clock(), key=None, anchors=None), 3)
    keyed = AuditLog(archive, Clock(), key=KEY, anchors=None)
    assert keyed.problems()  # the newest entry is not keyed yet: said, with what to do
    fill(archive, keyed, 2)
    assert keyed.problems() == []
    recompute(archive)
    assert keyed.problems()


def test_audit_key_status_for_doctor() -> None:
    assert audit_key_status({})[0] == "warn"
    assert audit_key_status({"MAILROOM_AUDIT_KEY": "short"})[0] == "warn"
    assert audit_key_status({"MAILROOM_AUDIT_KEY": "x" * 64}) == (
        "ok", "MAILROOM_AUDIT_KEY is set: audit entries are chained with HMAC-SHA256")


def cli(demo_dir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(demo_dir / "mailroom.toml"), *args],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("tamper", ["truncate", "recompute", "empty"])
def test_mailroom_audit_verify_names_each_tamper(demo_dir: Path, tamper: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_")}
    env["MAILROOM_AUDIT_KEY"] = "audit-key-" + "9" * 30
    assert cli(demo_dir, "ask", "--as", "boss", "/assign acme li --reason test", env=env).returncode == 0
    assert cli(demo_dir, "ask", "--as", "boss", "/assign acme amy --reason back", env=env).returncode == 0
    assert cli(demo_dir, "ask", "--as", "boss", "/assign acme li --reason again", env=env).returncode == 0
    anchored = cli(demo_dir, "audit", "anchor", env=env)
    assert anchored.returncode == 0 and "anchored entry" in anchored.stdout
    ok = cli(demo_dir, "audit", "verify", env=env)
    assert ok.returncode == 0 and "intact" in ok.stdout and "keyed" in ok.stdout
    db = Database(next(demo_dir.rglob("*.db")))
    TAMPERS[tamper](db)
    db.conn.close()
    result = cli(demo_dir, "audit", "verify", env=env)
    assert result.returncode == 1
    assert "audit entry" in result.stderr and "Traceback" not in result.stderr
    # the anchor alone (no key in the environment) catches it as well
    del env["MAILROOM_AUDIT_KEY"]
    assert cli(demo_dir, "audit", "verify", env=env).returncode == 1


def test_the_newest_anchor_is_read_from_the_tail_of_a_long_file(tmp_path: Path) -> None:
    from bot.store.audit import Anchor, last_anchor, read_anchors

    path = tmp_path / "anchors"
    path.write_text("".join(Anchor(n, f"{n:064x}", "2026-12-03T00:00:00Z").line() + "\n" for n in range(1, 5001)))
    assert last_anchor(path) == read_anchors(path)[-1] == Anchor(5000, f"{5000:064x}", "2026-12-03T00:00:00Z")
    assert last_anchor(tmp_path / "missing") is None
