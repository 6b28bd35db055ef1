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
from collections.abc import Iterable
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
    return _candidates(db.execute(_MESSAGES, [customer_id]).fetchall(), now)


def _candidates(rows: list[tuple], now: datetime) -> list[Inferred]:
    """`inferred_candidates` from one customer's rows of `_MESSAGES`."""
    addresses: dict[str, str] = {}
    for _, _, direction, person_id, from_addr, _, _ in rows:
        if direction == "outbound" and person_id:
            addresses[from_addr.lower()] = person_id
    if not addresses:  # nobody of ours answered: no candidate (and no recipient list to read)
        return []
    # dates are the archive's UTC text (YYYY-MM-DDTHH:MM:SSZ), ordered as text: parsed only where they count
    answered: dict[tuple[str, int], str] = {}
    addressed: dict[tuple[str, int], str] = {}
    sent: dict[str, int] = {}
    last: dict[str, str] = {}
    for thread_id, date, direction, person_id, _, to_addrs, cc_addrs in rows:
        if direction == "outbound":
            if not person_id:
                continue
            sent[person_id] = sent.get(person_id, 0) + 1
            last[person_id] = max(last.get(person_id, date), date)
            _latest(answered, (person_id, thread_id), date)
            continue
        raw = (to_addrs + cc_addrs).lower()
        if not any(address in raw for address in addresses):  # (a cheap test before reading the lists)
            continue
        for address in {a.lower() for a in [*json.loads(to_addrs), *json.loads(cc_addrs)]}:
            person = addresses.get(address)
            if person:
                _latest(addressed, (person, thread_id), date)
    scores: dict[str, float] = dict.fromkeys(sent, 0.0)
    for evidence in (answered, addressed):
        for (person_id, _), when in evidence.items():
            scores[person_id] += decay(parse_instant(when), now)
    found = [Inferred(p, sent[p], parse_instant(last[p]), round(scores[p], 4)) for p in sent]
    return sorted(found, key=lambda i: (-i.score, -i.last_at.timestamp(), i.person_id))


def effective_owners(db: Database, directory: Directory, customer_ids: Iterable[int], *, now: datetime
                     ) -> dict[int, str | None]:
    """`effective_owner`'s person for many customers at once: a few queries instead of three per customer
    (the report's figures look up the owners of every customer waiting on a team)."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    ids = json.dumps(wanted)  # (a JSON array read with json_each: nothing written, not even a temp table)
    try:
        pool = {c for (c,) in db.execute(
            "SELECT customer_id FROM customer_pool WHERE customer_id IN (SELECT value FROM json_each(?))", [ids])}
    except sqlite3.OperationalError:  # an archive opened without the rules' migrations
        pool = set()
    owners: dict[int, str | None] = dict.fromkeys(pool)
    for customer_id, person_id in db.execute(
            "SELECT customer_id, person_id FROM ownership WHERE customer_id IN (SELECT value FROM json_each(?))", [ids]):
        if customer_id not in pool:
            owners[customer_id] = person_id
    rest = [c for c in wanted if c not in owners]
    owners.update(dict.fromkeys(rest))
    if rest:
        owners.update(_inferred_in_bulk(db, directory, rest, now))
    return owners


_BULK_EVIDENCE = """
    WITH m AS MATERIALIZED (
        SELECT id, customer_id, thread_id, date, direction, person_id, lower(from_addr) AS address, to_addrs, cc_addrs
        FROM messages
        WHERE customer_id IN (SELECT value FROM json_each(?)) AND date IS NOT NULL
          AND direction IN ('inbound', 'outbound') AND auto_submitted = 0 AND is_bounce = 0 AND is_list = 0
    ),
    senders AS (SELECT customer_id, address, max(person_id) AS person_id FROM m
                WHERE direction = 'outbound' AND person_id IS NOT NULL GROUP BY customer_id, address),
    received AS (
        SELECT i.customer_id, i.thread_id, i.date, i.id AS n, lower(j.value) AS address
        FROM m i, json_each(i.to_addrs) j WHERE i.direction = 'inbound'
        UNION
        SELECT i.customer_id, i.thread_id, i.date, i.id, lower(j.value)
        FROM m i, json_each(i.cc_addrs) j WHERE i.direction = 'inbound'
    )
    SELECT customer_id, person_id, max(date), 'answered' FROM m
    WHERE direction = 'outbound' AND person_id IS NOT NULL GROUP BY customer_id, person_id, thread_id
    UNION ALL
    SELECT r.customer_id, s.person_id, max(r.date), 'addressed'
    FROM received r JOIN senders s ON s.customer_id = r.customer_id AND s.address = r.address
    GROUP BY r.customer_id, s.person_id, r.thread_id
    UNION ALL
    SELECT customer_id, person_id, max(date), 'last' FROM m
    WHERE direction = 'outbound' AND person_id IS NOT NULL GROUP BY customer_id, person_id
"""


def _inferred_in_bulk(db: Database, directory: Directory, customers: list[int], now: datetime
                      ) -> dict[int, str | None]:
    """`inferred_candidates`' winner (among people in the directory) for many customers, the evidence
    grouped in SQL: per (customer, person, thread) the latest answer and the latest mail addressed to them."""
    scores: dict[tuple[int, str], float] = {}
    last: dict[tuple[int, str], str] = {}
    now_s = now.timestamp()
    for customer_id, person_id, date, kind in db.execute(_BULK_EVIDENCE, [json.dumps(customers)]):
        key = (customer_id, person_id)
        if kind == "last":
            last[key] = date
            continue
        age_days = max(0.0, (now_s - parse_instant(date).timestamp()) / 86400)
        scores[key] = scores.get(key, 0.0) + float(0.5 ** (age_days / HALF_LIFE_DAYS))
    best: dict[int, tuple[float, float, str]] = {}
    people = directory.people
    for (customer_id, person_id), date in last.items():
        if person_id not in people:
            continue
        rank = (-round(scores.get((customer_id, person_id), 0.0), 4), -parse_instant(date).timestamp(), person_id)
        if customer_id not in best or rank < best[customer_id]:
            best[customer_id] = rank
    return {c: (best[c][2] if c in best else None) for c in customers}


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


def _latest(evidence: dict[tuple[str, int], str], key: tuple[str, int], when: str) -> None:
    if key not in evidence or when > evidence[key]:
        evidence[key] = when
