"""What `/owner` and `/assign` say about a customer, computed apart from how it is shown.

`customer_facts` gathers the owner and backup, how the owner is known (CRM, assignment, handover, or
inferred from mail with its evidence), the last inbound and outbound dates and the open threads — a
thread is open while its last non-automatic customer-facing message is inbound. When the SLA engine is
given, each open thread also carries its SLA state; see `sla_states`.
"""

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlite_utils import Database

from bot.core.clock import iso, parse_instant
from bot.core.config import Person
from bot.core.crm import find_owner
from bot.core.directory import Directory
from bot.customers.book import crm_row, customer_row
from bot.customers.inference import effective_owner, inferred_candidates
from bot.customers.matching import CustomerRecord, Match
from bot.customers.ownership import history, owner_of
from bot.customers.threads import waiting_threads
from bot.mail.visibility import Audience, Visibility

if TYPE_CHECKING:
    from bot.sla.engine import SlaEngine

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
    """A thread the reader may read (bot/mail/visibility.py); others are only counted."""

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
    """Every open thread, readable or not: an honest count."""
    open_hidden: int = 0
    """Open threads in mailboxes the reader may not read: counted, never described."""
    history: list[dict[str, Any]] = []
    crm_owner_unknown: str | None = None
    """The owner the CRM export names when that is not a configured person (else None)."""
    crm_read_at: str | None = None
    """When the CRM export that says so was read (the CRM's own date, when it has one, is `since`)."""
    crm_dated: bool = False
    """True when `since` is the CRM's own date column, not the day Mailroom read the export."""


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


def match_json(db: Database, directory: Directory, match: Match, now: datetime) -> dict[str, Any]:
    """One entry of `data.matches`: customer, owner (or null), score 0–100, source, and what matched."""
    owner_id, source = effective_owner(db, directory, match.customer.id, now=now)
    owner = person_ref(directory, owner_id)
    return {
        "customer": customer_ref(match.customer).model_dump(),
        "owner": owner.model_dump() if owner else None,
        "score": match.score,
        "source": source,
        "matched": match.matched,
        "via": match.via,
    }


def customer_facts(db: Database, directory: Directory, visibility: Visibility, sla: "SlaEngine | None",
                   customer_id: int, *, now: datetime, reader: Person | None = None) -> OwnerFacts:
    """The facts for `reader` (None: an admin's view, everything): open threads, last inbound and outbound
    come only from mail the reader may read; the rest of the open threads is counted in `open_hidden`.
    `sla`: the SLA engine for the threads' states (None: no states)."""
    row = customer_row(db, customer_id)
    if row is None:
        raise LookupError(f"no customer {customer_id}")
    customer = CustomerRef(id=customer_id, name=str(row["name"]), domains=list(row["domains"]),
                           aliases=list(row["aliases"]))
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
    audience = Audience.person(reader) if reader is not None else None
    scope, params = visibility.message_filter(audience) if audience else ("1", [])
    last = dict(db.execute(
        "SELECT direction, max(date) FROM messages m WHERE customer_id = ? AND auto_submitted = 0 AND is_bounce = 0 "
        f"AND is_list = 0 AND direction IN ('inbound', 'outbound') AND {scope} GROUP BY direction",
        [customer_id, *params],
    ).fetchall())
    facts.last_inbound, facts.last_outbound = last.get("inbound"), last.get("outbound")
    threads = open_threads(db, customer_id)
    total = len(threads)
    if audience is not None:
        threads = visibility.sieve(audience, threads, lambda t: t.mailboxes).shown
    states = sla_states(sla, [t.id for t in threads], now)
    for thread in threads:
        state = states.get(thread.id)
        if state and audience is not None and not visibility.may_read(audience, [state.get("mailbox", "")]):
            state = None  # the worst item sits in a mailbox the reader may not read: no state, no due time
        thread.sla = state
    facts.open_threads, facts.open_count, facts.open_hidden = threads, total, total - len(threads)
    facts.history = history(db, customer_id)
    crm = crm_row(db, customer_id)
    if crm is not None:
        facts.crm_read_at = str(crm["read_at"])
        facts.crm_dated = bool(crm["owner_since"]) and facts.source == "crm"
        if crm["owner"] and find_owner(str(crm["owner"]), directory.by_name) is None:
            facts.crm_owner_unknown = str(crm["owner"])
    return facts


def crm_known_from(facts: OwnerFacts, zone: str) -> str:
    """'CRM export (owner since 2025-03-01)' when the export has its own date column, else
    'CRM export (read 2026-12-03)': the day Mailroom read it — not the day the customer became theirs."""
    def day(text: str | None) -> str:
        return parse_instant(text).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d") if text else "?"

    if facts.crm_dated:
        return f"CRM export (owner since {day(facts.since)})"
    return f"CRM export (read {day(facts.crm_read_at or facts.since)})"


def crm_unknown_owner_line(facts: OwnerFacts) -> str | None:
    """The CRM names someone Mailroom does not know: say so instead of 'nobody'."""
    if not facts.crm_owner_unknown:
        return None
    return (f"the CRM names {facts.crm_owner_unknown}, who is not in Mailroom's people list "
            "(add them to [[people]] in the config, or /assign sets an owner)")


def open_threads(db: Any, customer_id: int) -> list[OpenThread]:
    """Threads that wait on us (bot.customers.threads), newest first."""
    return [
        OpenThread(id=t.id, subject=t.subject, last_inbound=t.last_inbound, mailboxes=t.mailboxes)
        for t in waiting_threads(db, customer_id)
    ]


def sla_states(engine: "SlaEngine | None", thread_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """The hook to the SLA engine: per open thread, its worst open SLA item (state, kind, mailbox, due).

    Uses the engine's `thread_states(thread_ids, now)` when it offers it, else its `open_items`;
    without an engine (or if it fails) /owner simply shows no SLA state — it must never break /owner.
    """
    if not thread_ids:
        return {}
    try:
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
