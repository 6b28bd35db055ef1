"""The append-only audit log: every state change, chained so that edits, deletions and rewrites show.

Each entry stores the previous entry's hash and its own, computed over its canonical JSON; a one-row
`audit_head` table holds the last id and hash, so removing the newest entry is detected too.
Nothing in Mailroom updates or deletes audit rows.

Someone with write access to the SQLite file could still recompute the whole chain, or drop the newest
entries and fix the head. Two defences, each enough to catch that (see docs/operations.md):
- a key: with MAILROOM_AUDIT_KEY in the environment (never in the config or the archive), each entry's
  hash is an HMAC-SHA256 under the key (`keyed` = 1) and the head carries a MAC of (last id, last hash):
  without the key nobody can write a valid entry or move the head back;
- anchors: the chain head (entry number + hash) is appended to an anchor file outside the database
  (`anchor_head`, every scheduler round; default `<archive>.audit-anchors`, or MAILROOM_AUDIT_ANCHORS,
  e.g. on another volume) and posted in the daily digest; `verify` checks every anchored entry is still
  there with the same hash.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.core.clock import Clock, iso
from bot.store.db import archive_file, in_write_transaction

GENESIS = "0" * 64
KEY_ENV = "MAILROOM_AUDIT_KEY"
ANCHORS_ENV = "MAILROOM_AUDIT_ANCHORS"
MIN_KEY_BYTES = 16


def audit_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The audit MAC key from the environment, or None when unset (or too short to be a key)."""
    raw = (os.environ if environ is None else environ).get(KEY_ENV, "")
    return raw.encode("utf-8") if len(raw.encode("utf-8")) >= MIN_KEY_BYTES else None


def audit_key_status(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """For `mailroom doctor`: ("ok" | "warn", one line). Warns when the key is missing or too short."""
    raw = (os.environ if environ is None else environ).get(KEY_ENV, "")
    if not raw:
        return "warn", (f"{KEY_ENV} is not set: the audit log is hash-chained but not keyed, so someone with write "
                        "access to the archive could rewrite it unnoticed (unless an anchor file exists); "
                        "see docs/operations.md")
    if len(raw.encode("utf-8")) < MIN_KEY_BYTES:
        return "warn", f"{KEY_ENV} is shorter than {MIN_KEY_BYTES} bytes: it is ignored; use e.g. `openssl rand -hex 32`"
    return "ok", f"{KEY_ENV} is set: audit entries are chained with HMAC-SHA256"


@dataclass(frozen=True)
class AuditProblem:
    entry_id: int
    reason: str

    def line(self) -> str:
        return f"audit entry {self.entry_id}: {self.reason}"


def _digest(prev_hash: str, at: str, actor: str, command: str, args: str, result: str,
            key: bytes | None = None) -> str:
    canonical = json.dumps([prev_hash, at, actor, command, args, result], ensure_ascii=False, separators=(",", ":"))
    if key is not None:
        return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def head_mac(key: bytes, last_id: int, last_hash: str) -> str:
    return hmac.new(key, f"audit-head:{last_id}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def anchor_path(db: Database, environ: Mapping[str, str] | None = None) -> Path | None:
    """MAILROOM_AUDIT_ANCHORS, else `<archive file>.audit-anchors` beside the archive (None in memory)."""
    configured = (os.environ if environ is None else environ).get(ANCHORS_ENV)
    if configured:
        return Path(configured)
    path = archive_file(db)
    return Path(path + ".audit-anchors") if path else None


ANCHOR_TAIL_BYTES = 4096
"""Enough for the last line of the anchor file (one anchor is about 120 bytes)."""


@dataclass(frozen=True)
class Anchor:
    entry: int
    hash: str
    at: str

    def line(self) -> str:
        return json.dumps({"entry": self.entry, "hash": self.hash, "at": self.at}, separators=(",", ":"))


def _parse_anchor(line: str) -> Anchor:
    try:
        data = json.loads(line)
        return Anchor(int(data["entry"]), str(data["hash"]), str(data.get("at", "")))
    except (ValueError, KeyError, TypeError):
        return Anchor(-1, line[:80], "")


def read_anchors(path: Path | None) -> list[Anchor]:
    """The anchors of the file, oldest first; an unreadable line is kept as entry -1 (reported by verify)."""
    if path is None or not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    return [_parse_anchor(line) for line in text.splitlines() if line.strip()]


def last_anchor(path: Path) -> Anchor | None:
    """The newest anchor, read from the file's tail: the scheduler asks every round, the file only grows."""
    if not path.exists():
        return None
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - ANCHOR_TAIL_BYTES))
        tail = file.read().decode("utf-8", errors="replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    return _parse_anchor(lines[-1]) if lines else None


class AuditLog:
    def __init__(self, db: Database, clock: Clock, *, key: bytes | None | str = "env",
                 anchors: Path | None | str = "env"):
        """`key` and `anchors` default to the environment (MAILROOM_AUDIT_KEY, MAILROOM_AUDIT_ANCHORS)."""
        self.db = db
        self.clock = clock
        self.key: bytes | None = audit_key() if key == "env" else key  # type: ignore[assignment]
        self.anchor_path: Path | None = anchor_path(db) if anchors == "env" else anchors  # type: ignore[assignment]

    def record(self, actor: str, command: str, args: dict[str, Any], result: str) -> int:
        """Append one entry, inside the `write_transaction` of the change it records.

        Outside one, another writer could append between reading the chain head and writing after it,
        and two entries would chain to the same hash: so it refuses.
        """
        if not in_write_transaction(self.db):
            raise RuntimeError("AuditLog.record must run inside write_transaction(db)")
        head = self.head()
        prev_hash = head[1] if head else GENESIS
        at = iso(self.clock.now())
        args_json = json.dumps(args, ensure_ascii=False, sort_keys=True, default=str)
        key = self.key
        entry_hash = _digest(prev_hash, at, actor, command, args_json, result, key)
        cursor = self.db.execute(
            "INSERT INTO audit_log (at, actor, command, args, result, prev_hash, hash, keyed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [at, actor, command, args_json, result, prev_hash, entry_hash, int(key is not None)],
        )
        entry_id = int(cursor.lastrowid or 0)
        self.db.execute(
            "INSERT OR REPLACE INTO audit_head (id, last_id, last_hash, mac) VALUES (1, ?, ?, ?)",
            [entry_id, entry_hash, head_mac(key, entry_id, entry_hash) if key else None],
        )
        return entry_id

    def head(self) -> tuple[int, str] | None:
        row = self.db.execute("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def anchor(self, now: datetime | None = None) -> Anchor | None:
        """Append the chain head to the anchor file when it moved since the last anchor; the anchor or None."""
        path = self.anchor_path
        head = self.head()
        if path is None or head is None:
            return None
        newest = last_anchor(path)
        if newest is not None and (newest.entry, newest.hash) == head:
            return None
        anchor = Anchor(head[0], head[1], iso(now or self.clock.now()))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as file:
            file.write(anchor.line() + "\n")
            file.flush()
            os.fsync(file.fileno())
        return anchor

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, at, actor, command, args, result FROM audit_log ORDER BY id DESC LIMIT ?", [limit]
        ).fetchall()
        return [
            {"id": r[0], "at": r[1], "actor": r[2], "command": r[3], "args": json.loads(r[4]), "result": r[5]}
            for r in rows
        ]

    def verify(self) -> AuditProblem | None:
        """The first problem, or None when the chain is intact (and matches the key and the anchors)."""
        problems = self.problems()
        return problems[0] if problems else None

    def problems(self) -> list[AuditProblem]:
        """Everything wrong with the log, the chain first, then the key, then the anchors."""
        key = self.key
        problems: list[AuditProblem] = []
        prev_hash, expected_id, last_keyed = GENESIS, None, False
        for row in self.db.execute(
            "SELECT id, at, actor, command, args, result, prev_hash, hash, keyed FROM audit_log ORDER BY id"
        ):
            entry_id, at, actor, command, args, result, stored_prev, stored_hash, keyed = row
            if expected_id is not None and entry_id != expected_id:
                return [AuditProblem(expected_id, "missing (deleted)")]
            if stored_prev != prev_hash:
                return [AuditProblem(entry_id, "does not follow the previous entry (an earlier entry was deleted or edited)")]
            if keyed and key is None:
                return [AuditProblem(entry_id, f"is keyed: set {KEY_ENV} to verify it")]
            if not keyed and last_keyed:
                return [AuditProblem(entry_id, "is not keyed although an earlier entry is (rewritten without the key)")]
            if _digest(stored_prev, at, actor, command, args, result, key if keyed else None) != stored_hash:
                reason = "its MAC does not match (edited, or the chain was recomputed without the key)" if keyed \
                    else "content does not match its hash (edited)"
                return [AuditProblem(entry_id, reason)]
            prev_hash, expected_id, last_keyed = stored_hash, entry_id + 1, bool(keyed)
        head = self.db.execute("SELECT last_id, last_hash, mac FROM audit_head WHERE id = 1").fetchone()
        last_id = (expected_id or 1) - 1
        if head is None:
            if last_id:
                problems.append(AuditProblem(1, "entries exist but the head is missing"))
        elif head[0] != last_id or head[1] != prev_hash:
            problems.append(AuditProblem(last_id + 1 if head[0] > last_id else head[0],
                                         "missing (the newest entries were deleted)"))
        elif key is not None and last_id:
            if not last_keyed:
                problems.append(AuditProblem(last_id, f"the newest entry is not keyed although {KEY_ENV} is set "
                                             "(the chain was rewritten without the key, or nothing was recorded "
                                             "since the key was set: run `mailroom audit anchor`)"))
            elif not head[2] or not hmac.compare_digest(head[2], head_mac(key, head[0], head[1])):
                problems.append(AuditProblem(last_id, "the head's MAC does not match: the head was moved "
                                             "(newest entries deleted) or rewritten without the key"))
        elif key is not None and head[2] is not None and not last_id:
            problems.append(AuditProblem(1, "the log is empty but its keyed head remains (the log was emptied)"))
        problems.extend(self._anchor_problems(last_id))
        return problems

    def _anchor_problems(self, last_id: int) -> list[AuditProblem]:
        anchors = read_anchors(self.anchor_path)
        problems = []
        for anchor in anchors:
            if anchor.entry < 0:
                problems.append(AuditProblem(0, f"anchor file {self.anchor_path}: unreadable line {anchor.hash!r}"))
                continue
            if anchor.entry == 0:
                continue
            row = self.db.execute("SELECT hash FROM audit_log WHERE id = ?", [anchor.entry]).fetchone()
            if row is None:
                what = "the log was emptied" if last_id == 0 else f"the log ends at entry {last_id}: newest entries deleted"
                problems.append(AuditProblem(anchor.entry, f"anchored on {anchor.at} but missing ({what})"))
                break
            if row[0] != anchor.hash:
                problems.append(AuditProblem(anchor.entry, f"its hash differs from the one anchored on {anchor.at} "
                                             "(the chain was rewritten)"))
                break
        return problems

    def protection(self) -> str:
        """One line: what guards this log beyond the hash chain."""
        anchors = read_anchors(self.anchor_path)
        parts = ["keyed (HMAC-SHA256)" if self.key else f"not keyed ({KEY_ENV} unset)"]
        parts.append(f"{len(anchors)} anchors in {self.anchor_path}" if anchors else
                     f"no anchor yet ({self.anchor_path})" if self.anchor_path else "no anchor file")
        return "; ".join(parts)
