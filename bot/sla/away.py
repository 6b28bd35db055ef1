"""Who is away, until when, and who gets their alerts meanwhile (`/away`)."""

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.core.clock import iso, parse_instant

MAX_HOPS = 3
"""A backup who is away too hands on to their own backup, at most this many times."""


@dataclass(frozen=True)
class Away:
    person_id: str
    since: datetime
    until: datetime
    backup: str
    set_by: str


def set_away(db: Database, person_id: str, *, until: datetime, backup: str, by: str, now: datetime) -> None:
    """Record an absence (replacing an earlier one). Call inside the transaction that audits it."""
    db.execute(
        "INSERT OR REPLACE INTO away (person_id, since, until, backup, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)",
        [person_id, iso(now), iso(until), backup, by, iso(now)],
    )


def clear_away(db: Database, person_id: str) -> bool:
    return db.execute("DELETE FROM away WHERE person_id = ?", [person_id]).rowcount > 0


def away_of(db: Database, person_id: str, now: datetime) -> Away | None:
    row = db.execute(
        "SELECT person_id, since, until, backup, set_by FROM away WHERE person_id = ? AND until > ?",
        [person_id, iso(now)],
    ).fetchone()
    if row is None:
        return None
    return Away(row[0], parse_instant(row[1]), parse_instant(row[2]), row[3], row[4])


def current_aways(db: Database, now: datetime) -> list[Away]:
    rows = db.execute(
        "SELECT person_id, since, until, backup, set_by FROM away WHERE until > ? ORDER BY person_id", [iso(now)]
    ).fetchall()
    return [Away(r[0], parse_instant(r[1]), parse_instant(r[2]), r[3], r[4]) for r in rows]


def stand_in(db: Database, person_id: str, now: datetime) -> tuple[str, list[str]]:
    """Who receives `person_id`'s alerts now: themselves, or their backup (and the chain of absentees)."""
    current, skipped = person_id, []
    for _ in range(MAX_HOPS):
        away = away_of(db, current, now)
        if away is None or away.backup in skipped or away.backup == current:
            break
        skipped.append(current)
        current = away.backup
    return current, skipped


def covered_by(db: Database, person_id: str, now: datetime) -> list[str]:
    """The people away now whose alerts go to `person_id`."""
    rows = db.execute("SELECT person_id FROM away WHERE backup = ? AND until > ?", [person_id, iso(now)]).fetchall()
    return [r[0] for r in rows]
