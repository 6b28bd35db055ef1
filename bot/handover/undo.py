"""/handover undo: give the customers back to the owners seen at the preview — within 7 days (by the
injected clock), by whoever ran the handover or a manager — where nobody changed them since.

Per customer, compare-and-set: the explicit owner must still be the receiver *and* the customer's latest
ownership change must be this handover (`ref` "handover:<id>"); otherwise the customer is skipped and
reported, never overwritten. A customer that was only inferred before goes back to inference (its
explicit row is dropped, the history says so). Unsent alerts follow back; the receiver is told.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import Clock, iso
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.permissions import has_role
from bot.customers.inference import effective_owner
from bot.customers.ownership import owner_of, set_owner
from bot.handover.alerts import HandoverAlerts, send_to_people
from bot.handover.service import UNDO_WINDOW, Handover, load, name_of, refuse, undo_deadline
from bot.store.audit import AuditLog
from bot.store.db import write_transaction


@dataclass
class Undone:
    handover: Handover
    restored: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    rerouted: list[dict[str, Any]]
    audit_id: int


@dataclass(frozen=True, eq=False)
class HandoverUndo:
    """/handover undo, with the handover's own store, audit log and alert re-routing."""

    db: Database
    directory: Directory
    clock: Clock
    audit: AuditLog
    alerts: HandoverAlerts

    def undo(self, actor: Person, handover_id: int) -> Undone:
        """Give the customers back to the owners seen at the preview, where nobody changed them since."""
        db, directory, now = self.db, self.directory, self.clock.now()
        handover = load(db, handover_id)
        if handover is None:
            raise CommandError(f"No handover #{handover_id}.", code="not_found")
        if handover.state != "done":
            raise CommandError(f"Handover #{handover_id} is {handover.state}: only a done handover can be undone.",
                               code="not_done")
        args = {"id": handover_id}
        if actor.id not in (handover.actor, handover.confirmed_by) and not has_role(actor, "manager"):
            refuse(db, self.audit, actor, "handover undo", args,
                   f"Only {name_of(directory, handover.actor)} (who ran it) or a manager may undo handover #{handover_id}.")
        deadline = undo_deadline(handover)
        if deadline is not None and now > deadline:
            refuse(db, self.audit, actor, "handover undo", args,
                   f"Handover #{handover_id} was confirmed on {handover.confirmed_at}; it can be undone for "
                   f"{UNDO_WINDOW.days} days only. Use /handover or /assign to move customers back.", code="too_late")
        restored: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        with write_transaction(db):
            handover = load(db, handover_id)
            if handover is None or handover.state != "done":
                raise CommandError(f"Handover #{handover_id} is not done any more.", code="not_done")
            for customer in handover.customers:
                explicit = owner_of(db, customer.id)
                last_ref = db.execute("SELECT ref FROM ownership_history WHERE customer_id = ? ORDER BY id DESC LIMIT 1",
                                      [customer.id]).fetchone()
                if explicit is None or explicit.person_id != handover.to_person or (last_ref and last_ref[0]) != handover.ref:
                    owner_id, source = effective_owner(db, directory, customer.id, now=now)
                    skipped.append({"customer_id": customer.id, "customer": customer.name, "owner": owner_id,
                                    "source": source})
                    continue
                back_to = customer.expected or handover.from_person
                if customer.expected is None:
                    _back_to_inferred(db, customer.id, handover, actor, now)
                else:
                    set_owner(db, customer.id, customer.expected, source=customer.previous_source or "handover", at=now,
                              by=actor.id, reason=f"undo of handover #{handover.id}", ref=f"{handover.ref}:undo",
                              expect_from=handover.to_person, check_expected=True)
                restored.append({"customer_id": customer.id, "customer": customer.name, "owner": back_to,
                                 "source": customer.previous_source or "inferred"})
            rerouted = self.alerts.reroute([r["customer_id"] for r in restored], now,
                                           note=f"undo of handover #{handover.id}")
            outcome = {**handover.outcome, "undo": {"restored": restored, "skipped": skipped, "rerouted_alerts": rerouted}}
            db.execute("UPDATE handovers SET state = 'undone', undone_at = ?, undone_by = ?, outcome = ? WHERE id = ?",
                       [iso(now), actor.id, json.dumps(outcome, ensure_ascii=False), handover.id])
            audit_id = self.audit.record(
                actor.id, "handover undo", {"id": handover.id, "customers": [r["customer"] for r in restored]},
                f"undone: {len(restored)} restored, {len(skipped)} skipped (changed since)",
            )
            if restored:
                from bot.handover.brief import undo_notice

                send_to_people(db, key_prefix=f"{handover.ref}:undo", level="undo",
                               reply=undo_notice(directory, handover, restored, skipped),
                               recipients={handover.to_person: "had received the customers"}, now=now)
        final = load(db, handover.id)
        assert final is not None
        return Undone(final, restored, skipped, rerouted, audit_id)


def _back_to_inferred(db: Any, customer_id: int, handover: Handover, actor: Person, now: datetime) -> None:
    """The customer had no explicit owner before: drop the handover's, so inference from mail applies again."""
    db.execute("DELETE FROM ownership WHERE customer_id = ? AND person_id = ?", [customer_id, handover.to_person])
    db.execute(
        "INSERT INTO ownership_history (customer_id, from_person, to_person, source, at, by, reason, ref) "
        "VALUES (?, ?, ?, 'inferred', ?, ?, ?, ?)",
        [customer_id, handover.to_person, handover.from_person, iso(now), actor.id,
         f"undo of handover #{handover.id}: ownership inferred from mail again", f"{handover.ref}:undo"],
    )
