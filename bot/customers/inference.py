"""Ownership inferred from mail, for customers the CRM (or /assign, /handover) gives no owner.

The owner is the colleague the customer deals with. Evidence, per thread of the customer:

- **answered**: the person sent a (non-automatic) message to the customer in that thread;
- **addressed**: the customer wrote to that person's own address (To or Cc) in that thread.

Each counts once per thread — a merchandiser's three follow-ups on one PO are one piece of work, not
three — and weighs by age with a 60-day half-life. Only people who answered at least once are candidates.
Why both: by message count alone the merchandiser who sends PO confirmations, delivery changes and
shipping documents through order@ outnumbers the salesperson who quotes, while customers write to
their salesperson personally (the thanks for a quotation, the salesperson in Cc of every PO).

Explicit ownership always wins (`effective_owner`); nothing here writes to the ownership tables.
Everything is computed from the archive alone, so every caller (the /owner command, the SLA engine)
gets the same answer.
"""

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.core.clock import parse_instant
from bot.core.directory import Directory
from bot.customers.ownership import owner_of

HALF_LIFE_DAYS = 60.0

_MESSAGES = """
    SELECT thread_id, date, direction, person_id, from_addr, to_addrs, cc_addrs
    FROM messages
    WHERE customer_id = ? AND date IS NOT NULL AND direction IN ('inbound', 'outbound')
      AND auto_submitted = 0 AND is_bounce = 0 AND is_list = 0
"""


@dataclass(frozen=True)
class Inferred:
    """Who seems to own a customer, and the evidence: messages sent to the customer and the last one."""

    person_id: str
    messages: int
    last_at: datetime
    score: float


def decay(moment: datetime, now: datetime) -> float:
    """1.0 now, 0.5 after HALF_LIFE_DAYS, 0.25 after twice that; mail dated in the future counts as now."""
    age_days = max(0.0, (now - moment).total_seconds() / 86400)
    return float(0.5 ** (age_days / HALF_LIFE_DAYS))


def inferred_candidates(db: Database, customer_id: int, *, now: datetime) -> list[Inferred]:
    """Everyone who answered the customer, best first (highest score, then the most recent)."""
    rows = db.execute(_MESSAGES, [customer_id]).fetchall()
    addresses: dict[str, str] = {}
    for _, _, direction, person_id, from_addr, _, _ in rows:
        if direction == "outbound" and person_id:
            addresses[from_addr.lower()] = person_id
    answered: dict[tuple[str, int], datetime] = {}
    addressed: dict[tuple[str, int], datetime] = {}
    sent: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for thread_id, date, direction, person_id, _, to_addrs, cc_addrs in rows:
        when = parse_instant(date)
        if direction == "outbound":
            if not person_id:
                continue
            sent[person_id] = sent.get(person_id, 0) + 1
            last[person_id] = max(last.get(person_id, when), when)
            _latest(answered, (person_id, thread_id), when)
            continue
        for address in {a.lower() for a in [*json.loads(to_addrs), *json.loads(cc_addrs)]}:
            person = addresses.get(address)
            if person:
                _latest(addressed, (person, thread_id), when)
    scores: dict[str, float] = dict.fromkeys(sent, 0.0)
    for evidence in (answered, addressed):
        for (person_id, _), when in evidence.items():
            scores[person_id] += decay(when, now)
    found = [Inferred(p, sent[p], last[p], round(scores[p], 4)) for p in sent]
    return sorted(found, key=lambda i: (-i.score, -i.last_at.timestamp(), i.person_id))


def inferred_owner(db: Database, customer_id: int, *, now: datetime) -> Inferred | None:
    """The person who has been answering the customer, or None when nobody has."""
    candidates = inferred_candidates(db, customer_id, now=now)
    return candidates[0] if candidates else None


def effective_owner(db: Database, directory: Directory, customer_id: int, *, now: datetime) -> tuple[str | None, str]:
    """(person_id, source): source is crm | assignment | handover | inferred | pool | none. Explicit beats inferred;
    an inferred owner must still be in the directory (people who left are skipped)."""
    if in_pool(db, customer_id):
        return None, "pool"
    explicit = owner_of(db, customer_id)
    if explicit is not None:
        return explicit.person_id, explicit.source
    for candidate in inferred_candidates(db, customer_id, now=now):
        if candidate.person_id in directory.people:
            return candidate.person_id, "inferred"
    return None, "none"


def in_pool(db: Database, customer_id: int) -> bool:
    """A customer in the pool (公海, bot/rules/pool.py) has no owner until someone claims it."""
    try:
        return db.execute("SELECT 1 FROM customer_pool WHERE customer_id = ?", [customer_id]).fetchone() is not None
    except sqlite3.OperationalError:  # an archive opened without the rules' migrations
        return False


def inferred_customers_of(db: Database, directory: Directory, person_id: str, *, now: datetime) -> list[int]:
    """Customers without an explicit owner whose inferred owner is `person_id` (for /owner mine)."""
    rows = db.execute(
        "SELECT DISTINCT customer_id FROM messages WHERE person_id = ? AND direction = 'outbound' "
        "AND customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM ownership) ORDER BY customer_id",
        [person_id],
    ).fetchall()
    return [cid for (cid,) in rows if effective_owner(db, directory, cid, now=now) == (person_id, "inferred")]


def _latest(evidence: dict[tuple[str, int], datetime], key: tuple[str, int], when: datetime) -> None:
    if key not in evidence or when > evidence[key]:
        evidence[key] = when
