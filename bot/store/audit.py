"""The append-only audit log: every state change, chained by hash so edits and deletions show.

Each entry stores the previous entry's hash and its own, computed over its canonical JSON; a one-row
`audit_head` table holds the last id and hash, so even removing the newest entry is detected.
Nothing in Mailroom updates or deletes audit rows.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.core.clock import Clock, iso
from bot.store.db import in_write_transaction

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditProblem:
    entry_id: int
    reason: str

    def line(self) -> str:
        return f"audit entry {self.entry_id}: {self.reason}"


def _digest(prev_hash: str, at: str, actor: str, command: str, args: str, result: str) -> str:
    canonical = json.dumps([prev_hash, at, actor, command, args, result], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    def record(self, actor: str, command: str, args: dict[str, Any], result: str) -> int:
        """Append one entry, inside the `write_transaction` of the change it records.

        Outside one, another writer could append between reading the chain head and writing after it,
        and two entries would chain to the same hash: so it refuses.
        """
        if not in_write_transaction(self.db):
            raise RuntimeError("AuditLog.record must run inside write_transaction(db)")
        head = self.db.execute("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
        prev_hash = head[1] if head else GENESIS
        at = iso(self.clock.now())
        args_json = json.dumps(args, ensure_ascii=False, sort_keys=True, default=str)
        entry_hash = _digest(prev_hash, at, actor, command, args_json, result)
        cursor = self.db.execute(
            "INSERT INTO audit_log (at, actor, command, args, result, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [at, actor, command, args_json, result, prev_hash, entry_hash],
        )
        entry_id = int(cursor.lastrowid or 0)
        self.db.execute(
            "INSERT OR REPLACE INTO audit_head (id, last_id, last_hash) VALUES (1, ?, ?)", [entry_id, entry_hash]
        )
        return entry_id

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, at, actor, command, args, result FROM audit_log ORDER BY id DESC LIMIT ?", [limit]
        ).fetchall()
        return [
            {"id": r[0], "at": r[1], "actor": r[2], "command": r[3], "args": json.loads(r[4]), "result": r[5]}
            for r in rows
        ]

    def verify(self) -> AuditProblem | None:
        """The first broken entry, or None when the chain is intact."""
        prev_hash, expected_id = GENESIS, None
        for row in self.db.execute(
            "SELECT id, at, actor, command, args, result, prev_hash, hash FROM audit_log ORDER BY id"
        ):
            entry_id, at, actor, command, args, result, stored_prev, stored_hash = row
            if expected_id is not None and entry_id != expected_id:
                return AuditProblem(expected_id, "missing (deleted)")
            if stored_prev != prev_hash:
                return AuditProblem(entry_id, "does not follow the previous entry (an earlier entry was deleted or edited)")
            if _digest(stored_prev, at, actor, command, args, result) != stored_hash:
                return AuditProblem(entry_id, "content does not match its hash (edited)")
            prev_hash, expected_id = stored_hash, entry_id + 1
        head = self.db.execute("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
        last_id = (expected_id or 1) - 1
        if head is None:
            return AuditProblem(1, "entries exist but the head is missing") if last_id else None
        if head[0] != last_id or head[1] != prev_hash:
            return AuditProblem(last_id + 1 if head[0] > last_id else head[0], "missing (the newest entries were deleted)")
        return None
