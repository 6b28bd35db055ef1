"""Explicit ownership of customers: CRM, /assign and /handover. Every change is kept as history.

Explicit ownership always beats ownership inferred from mail (inference lives in bot/customers/inference.py
and never writes here), so a handover is never silently undone by old mail.
"""

from dataclasses import dataclass

from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.errors import CommandError

EXPLICIT_SOURCES = ("crm", "assignment", "handover")
SOURCE_WORDS = {
    "crm": "CRM export",
    "assignment": "assigned",
    "handover": "handover",
    "inferred": "inferred from mail",
    "pool": "in the customer pool (公海)",
    "none": "no owner",
}
"""How an owner is known, in words for chat replies."""


@dataclass(frozen=True)
class Owner:
    customer_id: int
    person_id: str
    source: str
    since: str
    by: str | None
    reason: str | None


def owner_of(db: Database, customer_id: int) -> Owner | None:
    row = db.execute(
        "SELECT customer_id, person_id, source, since, by, reason FROM ownership WHERE customer_id = ?",
        [customer_id],
    ).fetchone()
    return Owner(*row) if row else None


def customers_of(db: Database, person_id: str) -> list[int]:
    return [r[0] for r in db.execute("SELECT customer_id FROM ownership WHERE person_id = ? ORDER BY customer_id",
                                     [person_id])]


def set_owner(
    db: Database,
    customer_id: int,
    person_id: str,
    *,
    source: str,
    at: object,
    by: str,
    reason: str | None = None,
    ref: str | None = None,
    expect_from: str | None = None,
    check_expected: bool = False,
) -> str | None:
    """Make `person_id` the explicit owner; returns the previous owner's id. Call inside a transaction.

    With `check_expected`, the change only happens while the current owner is still `expect_from`
    (compare-and-set), so two handovers racing for one customer cannot both win.
    """
    if source not in EXPLICIT_SOURCES:
        raise ValueError(f"unknown ownership source {source!r}")
    when = at if isinstance(at, str) else iso(at)  # type: ignore[arg-type]
    current = owner_of(db, customer_id)
    previous = current.person_id if current else None
    if check_expected and previous != expect_from:
        raise CommandError(
            f"customer {customer_id} is now owned by {previous or 'nobody'}, not {expect_from or 'nobody'}: "
            "someone changed it first",
            code="conflict",
        )
    db.execute(
        "INSERT OR REPLACE INTO ownership (customer_id, person_id, source, since, by, reason) VALUES (?, ?, ?, ?, ?, ?)",
        [customer_id, person_id, source, when, by, reason],
    )
    db.execute(
        "INSERT INTO ownership_history (customer_id, from_person, to_person, source, at, by, reason, ref) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [customer_id, previous, person_id, source, when, by, reason, ref],
    )
    return previous


def history(db: Database, customer_id: int) -> list[dict[str, object]]:
    rows = db.execute(
        "SELECT from_person, to_person, source, at, by, reason, ref FROM ownership_history "
        "WHERE customer_id = ? ORDER BY id",
        [customer_id],
    ).fetchall()
    keys = ("from", "to", "source", "at", "by", "reason", "ref")
    return [dict(zip(keys, row, strict=True)) for row in rows]
