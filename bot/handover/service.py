"""Handover (交接不断档): a person's customers — and with them their open threads and pending alerts —
move to someone else in one step, previewed first, confirmed once, undoable for a week.

- **Plan** writes a `pending` row holding, per customer, the explicit owner seen at the preview (None
  when the owner was only inferred from mail). **Confirm** compares-and-sets against exactly that, in
  one write transaction (BEGIN IMMEDIATE), so of two handovers racing for a customer one wins and the
  other is marked `superseded` and told who owns the customer now. All or nothing: a handover that
  lost one customer moves none, and the person asks again for a fresh preview.
- The move itself: explicit ownership (`set_owner`, source "handover", ref "handover:<id>") — explicit
  beats inferred, so later mail never hands the customers back — unsent SLA alerts re-routed, the
  handover brief queued for the new owner and whoever ran it, and an audit entry: one transaction.
  (The brief is composed just before it, outside the write lock: it reads nothing the move changes.)
- **Undo** (same actor, or a manager, within 7 days by the injected clock; bot/handover/undo.py) restores
  the owners seen at the preview; a customer whose ownership changed since is skipped and reported.
- Rights: an admin, any manager, the from-person's team manager, or a lead when both people are in
  one of the lead's teams. Every refusal is audited, as is every state change.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from pydantic import BaseModel
from sqlite_utils import Database

from bot.core.clock import Clock, iso, parse_instant
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.permissions import has_role
from bot.customers.inference import effective_owner, inferred_customers_of
from bot.customers.ownership import customers_of, owner_of, set_owner
from bot.handover.alerts import HandoverAlerts, send_to_people
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

if TYPE_CHECKING:
    from bot.handover.brief import HandoverBriefs
    from bot.sla.engine import SlaEngine

log = logging.getLogger(__name__)
UNDO_WINDOW = timedelta(days=7)
State = Literal["pending", "done", "undone", "superseded", "cancelled"]


class HandoverCustomer(BaseModel):
    id: int
    name: str
    source: str
    """How the from-person owned it at the preview: crm | assignment | handover | inferred."""
    expected: str | None
    """The explicit owner at the preview (None when inferred): what confirm compares against."""
    previous_source: str | None = None
    """The explicit source at the preview, restored by undo."""


class Handover(BaseModel):
    id: int
    from_person: str
    to_person: str
    scope: Literal["all", "customers"]
    customers: list[HandoverCustomer]
    reason: str | None
    actor: str
    state: State
    created_at: str
    confirmed_at: str | None = None
    confirmed_by: str | None = None
    undone_at: str | None = None
    undone_by: str | None = None
    outcome: dict[str, Any] = {}

    @property
    def ref(self) -> str:
        return f"handover:{self.id}"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.customers]

    @property
    def customer_ids(self) -> list[int]:
        return [c.id for c in self.customers]


_COLUMNS = ("id", "from_person", "to_person", "scope", "customers", "reason", "actor", "state", "created_at",
            "confirmed_at", "confirmed_by", "undone_at", "undone_by", "outcome")


def _row(row: tuple[Any, ...]) -> Handover:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["customers"] = json.loads(data["customers"])
    data["outcome"] = json.loads(data["outcome"] or "{}")
    return Handover.model_validate(data)


def load(db: Any, handover_id: int) -> Handover | None:
    row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM handovers WHERE id = ?", [handover_id]).fetchone()
    return _row(row) if row else None


def recent(db: Any, *, limit: int = 20, person_id: str | None = None) -> list[Handover]:
    """Newest first; with `person_id`, only handovers that person gave, received or ran."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM handovers"
    params: list[Any] = []
    if person_id is not None:
        sql += " WHERE ? IN (from_person, to_person, actor, confirmed_by)"
        params.append(person_id)
    return [_row(r) for r in db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()]


# ── rights ─────────────────────────────────────────────────────────────────────────────────────


def refusal(directory: Directory, actor: Person, from_id: str, to: Person) -> str | None:
    """Why `actor` may not hand `from_id`'s customers to `to`, or None when they may."""
    if has_role(actor, "manager"):
        return None
    giver = directory.people.get(from_id)
    giver_teams = set(giver.teams) if giver else set()
    if any((t := directory.teams.get(team)) is not None and t.manager == actor.id for team in giver_teams):
        return None
    if actor.role == "lead":
        if set(actor.teams) & giver_teams & set(to.teams):
            return None
        return (f"a lead hands over only within their own team: {from_id} and {to.id} must both be in "
                f"{', '.join(actor.teams) or 'your team'}")
    return "handovers are for the person's team manager, a manager, an admin, or a lead within their own team"


def refuse(db: Database, audit: AuditLog, actor: Person, command: str, args: dict[str, Any], message: str, *,
           code: str = "forbidden") -> NoReturn:
    """Record the refusal in the audit log, then refuse."""
    with write_transaction(db):
        audit.record(actor.id, command, args, f"refused: {message}")
    raise CommandError(message, code=code)


# ── plan ───────────────────────────────────────────────────────────────────────────────────────


def owned_customers(db: Database, directory: Directory, person_id: str, now: datetime) -> dict[int, str]:
    """Customer id → source, for every customer whose effective owner is the person (inferred ones too)."""
    owned: dict[int, str] = {}
    for customer_id in customers_of(db, person_id):
        explicit = owner_of(db, customer_id)
        owned[customer_id] = explicit.source if explicit else "crm"
    for customer_id in inferred_customers_of(db, directory, person_id, now=now):
        owned.setdefault(customer_id, "inferred")
    return owned


def customer_names(db: Any, customer_ids: list[int]) -> dict[int, str]:
    if not customer_ids:
        return {}
    marks = ", ".join("?" for _ in customer_ids)
    return dict(db.execute(f"SELECT id, name FROM customers WHERE id IN ({marks})", list(customer_ids)).fetchall())


# ── confirm ────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Conflict:
    customer_id: int
    name: str
    expected: str | None
    now_owner: str | None
    now_source: str

    def as_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer": self.name, "expected": self.expected,
                "owner": self.now_owner, "source": self.now_source}


class _Conflicted(Exception):
    def __init__(self, conflicts: list[Conflict]):
        super().__init__("conflict")
        self.conflicts = conflicts


@dataclass
class Confirmed:
    handover: Handover
    conflicts: list[Conflict] = field(default_factory=list)
    rerouted: list[dict[str, Any]] = field(default_factory=list)
    brief: Any = None
    brief_keys: list[str] = field(default_factory=list)
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.conflicts


def _pending(db: Database, handover_id: int) -> Handover:
    handover = load(db, handover_id)
    if handover is None:
        raise CommandError(f"No handover #{handover_id}.", code="not_found")
    if handover.state != "pending":
        raise CommandError(f"Handover #{handover_id} is {handover.state} already; nothing changed.",
                           code=handover.state)
    return handover


def _receiver(directory: Directory, handover: Handover) -> Person:
    to = directory.people.get(handover.to_person)
    if to is None:
        raise CommandError(f"{handover.to_person} is no longer in Mailroom's people list.", code="unknown_person")
    return to


def conflicts_of(db: Database, directory: Directory, handover: Handover, now: datetime) -> list[Conflict]:
    """Customers whose owner is no longer the one seen at the preview."""
    found = []
    for customer in handover.customers:
        explicit = owner_of(db, customer.id)
        current = explicit.person_id if explicit else None
        changed = current != customer.expected
        if not changed and customer.expected is None:  # inferred at the preview: still the giver's?
            changed = effective_owner(db, directory, customer.id, now=now)[0] != handover.from_person
        if changed:
            owner_id, source = effective_owner(db, directory, customer.id, now=now)
            found.append(Conflict(customer.id, customer.name, customer.expected or handover.from_person, owner_id,
                                  source))
    return found


# ── the desk: plan, confirm, cancel ───────────────────────────────────────────────────────────


@dataclass(frozen=True, eq=False)
class HandoverDesk:
    """Plans, confirms and cancels handovers (undo: bot/handover/undo.py)."""

    db: Database
    directory: Directory
    clock: Clock
    audit: AuditLog
    sla: "SlaEngine"
    alerts: HandoverAlerts
    briefs: "HandoverBriefs"

    def plan(
        self, actor: Person, from_id: str, to: Person, customer_ids: list[int] | None, *,
        reason: str | None,
    ) -> Handover:
        """Write the preview (state pending). `customer_ids` None means every customer the person owns."""
        db, now = self.db, self.clock.now()
        args = {"from": from_id, "to": to.id, "scope": "all" if customer_ids is None else "customers",
                "customers": customer_ids, "reason": reason}
        why = refusal(self.directory, actor, from_id, to)
        if why is not None:
            refuse(self.db, self.audit, actor, "handover", args, f"You may not hand over {from_id}'s customers: {why}.")
        if from_id == to.id:
            raise CommandError("The giver and the receiver are the same person.", code="same_person")
        owned = owned_customers(self.db, self.directory, from_id, now)
        if customer_ids is None:
            chosen = sorted(owned)
            if not chosen:
                raise CommandError(f"{name_of(self.directory, from_id)} owns no customers: nothing to hand over.",
                                   code="nothing")
        else:
            chosen = list(dict.fromkeys(customer_ids))
            others = [cid for cid in chosen if cid not in owned]
            if others:
                names = customer_names(db, others)
                lines = []
                for cid in others:
                    owner_id, source = effective_owner(db, self.directory, cid, now=now)
                    lines.append(f"{names.get(cid, cid)} is owned by {name_of(self.directory, owner_id)} ({source})")
                raise CommandError(f"Not {name_of(self.directory, from_id)}'s: " + "; ".join(lines)
                                   + ". Nothing was planned.", code="not_owner")
        names = customer_names(db, chosen)
        customers = []
        for cid in chosen:
            explicit = owner_of(db, cid)
            customers.append(HandoverCustomer(id=cid, name=names.get(cid, str(cid)), source=owned[cid],
                                              expected=explicit.person_id if explicit else None,
                                              previous_source=explicit.source if explicit else None))
        customers.sort(key=lambda c: (c.source == "inferred", c.name.casefold()))
        scope = "all" if customer_ids is None else "customers"
        with write_transaction(db):
            cursor = db.execute(
                "INSERT INTO handovers (from_person, to_person, scope, customers, reason, actor, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                [from_id, to.id, scope, json.dumps([c.model_dump() for c in customers], ensure_ascii=False), reason,
                 actor.id, iso(now)],
            )
            handover_id = int(cursor.lastrowid or 0)
            self.audit.record(actor.id, "handover", {**args, "customers": [c.name for c in customers]},
                              f"preview #{handover_id}: {len(customers)} customer(s) {from_id} → {to.id}")
        found = load(db, handover_id)
        assert found is not None
        return found

    def confirm(self, actor: Person, handover_id: int) -> Confirmed:
        """Move the customers of a pending handover, or mark it superseded when one of them changed owner."""
        db, now = self.db, self.clock.now()
        handover = _pending(self.db, handover_id)
        to = _receiver(self.directory, handover)
        why = refusal(self.directory, actor, handover.from_person, to)
        if why is not None:
            refuse(self.db, self.audit, actor, "handover confirm", {"id": handover_id},
                   f"You may not confirm handover #{handover_id}: {why}.")
        refresh_sla(self.sla, now)
        # The brief reads only mail, SLA items and the config — nothing the move changes — so it is built
        # before taking the write lock (a big handover holds the lock for the moves alone) and queued inside.
        # Each recipient gets the brief as they may see it (bot/mail/visibility.py).
        readers = {pid: self.directory.people[pid] for pid in (to.id, handover.actor, actor.id)
                   if pid in self.directory.people}
        shared: dict[int, Any] = {}
        briefs = {pid: self.briefs.build(handover, now, reader=person, shared=shared)
                  for pid, person in readers.items()}
        brief = briefs[actor.id]
        try:
            with write_transaction(db):
                handover = _pending(self.db, handover_id)  # again, inside the lock: a double click confirms once
                conflicts = conflicts_of(db, self.directory, handover, now)
                if conflicts:
                    raise _Conflicted(conflicts)
                for customer in handover.customers:
                    set_owner(db, customer.id, to.id, source="handover", at=now, by=actor.id, reason=handover.reason,
                              ref=handover.ref, expect_from=customer.expected, check_expected=True)
                rerouted = self.alerts.reroute(handover.customer_ids, now, note=f"handover #{handover.id}")
                outcome = {"moved": handover.names, "rerouted_alerts": rerouted}
                db.execute(
                    "UPDATE handovers SET state = 'done', confirmed_at = ?, confirmed_by = ?, outcome = ? "
                    "WHERE id = ? AND state = 'pending'",
                    [iso(now), actor.id, json.dumps(outcome, ensure_ascii=False), handover.id],
                )
                audit_id = self.audit.record(
                    actor.id, "handover confirm",
                    {"id": handover.id, "from": handover.from_person, "to": to.id, "customers": handover.names,
                     "reason": handover.reason},
                    f"done: {len(handover.customers)} customer(s) {handover.from_person} → {to.id}, "
                    f"{len(rerouted)} pending alert(s) re-routed",
                )
                done = load(db, handover.id)
                assert done is not None
                recipients = {to.id: "new owner"}
                for person_id, why_sent in ((done.actor, "asked for the handover"), (actor.id, "confirmed the handover")):
                    recipients.setdefault(person_id, why_sent)
                keys: list[str] = []
                for person_id, why_sent in recipients.items():
                    own = briefs.get(person_id)
                    if own is None:
                        continue  # not in the people list: nobody to judge the rights of, nothing to send
                    for n, part in enumerate(own.parts, 1):
                        prefix = f"{done.ref}:brief" if len(own.parts) == 1 else f"{done.ref}:brief{n}"
                        keys += send_to_people(db, key_prefix=prefix, level="brief", reply=part,
                                               recipients={person_id: why_sent}, now=now)
        except _Conflicted as lost:
            return self._supersede(actor, handover, lost.conflicts, now)
        return Confirmed(done, rerouted=rerouted, brief=brief.whole, brief_keys=keys, audit_id=audit_id)

    def _supersede(self, actor: Person, handover: Handover, conflicts: list[Conflict], now: datetime) -> Confirmed:
        db, directory = self.db, self.directory
        told = "; ".join(f"{c.name} is now owned by {name_of(directory, c.now_owner)} ({c.now_source})" for c in conflicts)
        with write_transaction(db):
            db.execute(
                "UPDATE handovers SET state = 'superseded', outcome = ? WHERE id = ? AND state = 'pending'",
                [json.dumps({"conflicts": [c.as_json() for c in conflicts]}, ensure_ascii=False), handover.id],
            )
            audit_id = self.audit.record(actor.id, "handover confirm", {"id": handover.id},
                                         f"superseded: {told}")
        current = load(db, handover.id)
        assert current is not None
        return Confirmed(current, conflicts=conflicts, audit_id=audit_id)

    def cancel(self, actor: Person, handover_id: int) -> Handover:
        handover = _pending(self.db, handover_id)
        to = self.directory.people.get(handover.to_person)
        if actor.id != handover.actor and (to is None or refusal(self.directory, actor, handover.from_person, to)):
            refuse(self.db, self.audit, actor, "handover cancel", {"id": handover_id},
                   f"Only {name_of(self.directory, handover.actor)} or someone who may hand over these customers "
                   f"can cancel handover #{handover_id}.")
        with write_transaction(self.db):
            changed = self.db.execute("UPDATE handovers SET state = 'cancelled' WHERE id = ? AND state = 'pending'",
                                      [handover_id]).rowcount
            if not changed:
                raise CommandError(f"Handover #{handover_id} is not pending any more.", code="not_pending")
            self.audit.record(actor.id, "handover cancel", {"id": handover_id}, "cancelled")
        found = load(self.db, handover_id)
        assert found is not None
        return found


# ── undo window (undo itself: bot/handover/undo.py) ─────────────────────────────────────────────


def undo_deadline(handover: Handover) -> datetime | None:
    return parse_instant(handover.confirmed_at) + UNDO_WINDOW if handover.confirmed_at else None


def refresh_sla(sla: "SlaEngine", now: datetime) -> None:
    """Bring the SLA items up to date (incrementally) so previews and briefs show today's states; a failing
    engine must not stop a handover."""
    try:
        sla.evaluate(now)
    except Exception:  # noqa: BLE001 - SLA state is an extra here
        log.exception("SLA evaluation before a handover failed")


def name_of(directory: Directory, person_id: str | None) -> str:
    if person_id is None:
        return "nobody"
    person = directory.people.get(person_id)
    return person.name if person else person_id
