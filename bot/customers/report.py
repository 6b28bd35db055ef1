"""What `/owner` and `/assign` say about a customer, computed apart from how it is shown.

`customer_facts` gathers the owner and backup, how the owner is known (CRM, assignment, handover, or
inferred from mail with its evidence), the last inbound and outbound dates and the open threads — a
thread is open while its last non-automatic customer-facing message is inbound. When the SLA engine is
present (`services.sla`), each open thread also carries its SLA state; see `sla_states`.
"""

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.core.clock import iso, parse_instant
from bot.core.config import Person
from bot.core.directory import Directory
from bot.customers.book import customer_row
from bot.customers.inference import effective_owner, inferred_candidates
from bot.customers.matching import CustomerRecord, Match
from bot.customers.ownership import history, owner_of
from bot.customers.threads import waiting_threads

log = logging.getLogger(__name__)
OPEN_THREADS_SHOWN = 5


class PersonRef(BaseModel):
    id: str
    name: str
    email: str


class CustomerRef(BaseModel):
    id: int
    name: str
    domains: list[str]
    aliases: list[str]


class Evidence(BaseModel):
    """Why an inferred owner: messages they sent the customer, the last one, and the decayed score."""

    messages: int
    last_at: str
    score: float


class OpenThread(BaseModel):
    id: int
    subject: str
    last_inbound: str
    mailboxes: list[str]
    sla: dict[str, Any] | None = None


class OwnerFacts(BaseModel):
    customer: CustomerRef
    owner: PersonRef | None
    backup: PersonRef | None
    source: str
    since: str | None = None
    by: str | None = None
    reason: str | None = None
    evidence: Evidence | None = None
    last_inbound: str | None = None
    last_outbound: str | None = None
    open_threads: list[OpenThread] = []
    open_count: int = 0
    history: list[dict[str, Any]] = []


def person_ref(directory: Directory, person_id: str | None) -> PersonRef | None:
    if person_id is None:
        return None
    person = directory.people.get(person_id)
    if person is None:  # someone who left: keep the id so nothing is silently lost
        return PersonRef(id=person_id, name=person_id, email="")
    return _ref(person)


def _ref(person: Person) -> PersonRef:
    return PersonRef(id=person.id, name=person.name, email=person.email)


def customer_ref(record: CustomerRecord) -> CustomerRef:
    return CustomerRef(id=record.id, name=record.name, domains=list(record.domains), aliases=list(record.aliases))


def match_json(services: Any, match: Match, now: datetime) -> dict[str, Any]:
    """One entry of `data.matches`: customer, owner (or null), score 0–100, source, and what matched."""
    owner_id, source = effective_owner(services.db, services.directory, match.customer.id, now=now)
    owner = person_ref(services.directory, owner_id)
    return {
        "customer": customer_ref(match.customer).model_dump(),
        "owner": owner.model_dump() if owner else None,
        "score": match.score,
        "source": source,
        "matched": match.matched,
        "via": match.via,
    }


def customer_facts(services: Any, customer_id: int, *, now: datetime) -> OwnerFacts:
    db, directory = services.db, services.directory
    row = customer_row(db, customer_id)
    if row is None:
        raise LookupError(f"no customer {customer_id}")
    customer = CustomerRef(id=customer_id, name=str(row["name"]), domains=list(row["domains"]),  # type: ignore[arg-type]
                           aliases=list(row["aliases"]))  # type: ignore[arg-type]
    owner_id, source = effective_owner(db, directory, customer_id, now=now)
    facts = OwnerFacts(customer=customer, owner=person_ref(directory, owner_id), backup=None, source=source)
    if owner_id and owner_id in directory.people and directory.people[owner_id].backup:
        facts.backup = person_ref(directory, directory.people[owner_id].backup)
    explicit = owner_of(db, customer_id)
    if explicit is not None:
        facts.since, facts.by, facts.reason = explicit.since, explicit.by, explicit.reason
    elif owner_id is not None:
        inferred = next((c for c in inferred_candidates(db, customer_id, now=now) if c.person_id == owner_id), None)
        if inferred is not None:
            facts.evidence = Evidence(messages=inferred.messages, last_at=iso(inferred.last_at), score=inferred.score)
    last = dict(db.execute(
        "SELECT direction, max(date) FROM messages WHERE customer_id = ? AND auto_submitted = 0 AND is_bounce = 0 "
        "AND is_list = 0 AND direction IN ('inbound', 'outbound') GROUP BY direction",
        [customer_id],
    ).fetchall())
    facts.last_inbound, facts.last_outbound = last.get("inbound"), last.get("outbound")
    threads = open_threads(db, customer_id)
    states = sla_states(services, [t.id for t in threads], now)
    for thread in threads:
        thread.sla = states.get(thread.id)
    facts.open_threads, facts.open_count = threads, len(threads)
    facts.history = history(db, customer_id)
    return facts


def open_threads(db: Any, customer_id: int) -> list[OpenThread]:
    """Threads that wait on us (bot.customers.threads), newest first."""
    return [
        OpenThread(id=t.id, subject=t.subject, last_inbound=t.last_inbound, mailboxes=t.mailboxes)
        for t in waiting_threads(db, customer_id)
    ]


def sla_states(services: Any, thread_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """The hook to the SLA engine: per open thread, its worst open SLA item (state, kind, mailbox, due).

    Uses `services.sla.thread_states(thread_ids, now)` when the engine offers it, else its `open_items`;
    without an engine (or if it fails) /owner simply shows no SLA state — it must never break /owner.
    """
    if not thread_ids:
        return {}
    try:
        engine = getattr(services, "sla", None)
        if engine is None:
            return {}
        lookup = getattr(engine, "thread_states", None)
        if callable(lookup):
            return dict(lookup(thread_ids, now))
        wanted = set(thread_ids)
        states: dict[int, dict[str, Any]] = {}
        for item in engine.open_items(now, owners=False):  # worst first
            if item.thread_id in wanted and item.thread_id not in states:
                states[item.thread_id] = {"state": item.state, "kind": item.kind, "mailbox": item.mailbox,
                                          "due": iso(datetime.fromtimestamp(item.due_at, tz=now.tzinfo))}
        return states
    except Exception:  # noqa: BLE001 - SLA state is an extra; the owner answer must still come
        log.exception("SLA state lookup failed")
        return {}


def local_date(text: str | None, zone: str, now: datetime) -> str:
    """'2026-11-23 (2 days ago)' in the organisation's time zone; '—' when unknown."""
    if not text:
        return "—"
    moment = parse_instant(text)
    days = (now.astimezone(ZoneInfo(zone)).date() - moment.astimezone(ZoneInfo(zone)).date()).days
    ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago" if days > 1 else "in the future"
    return f"{moment.astimezone(ZoneInfo(zone)).strftime('%Y-%m-%d')} ({ago})"
