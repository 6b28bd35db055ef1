"""How /handover answers: the preview, the confirmation (or the lost race), the undo — computed apart
from parsing (handlers/handover.py), in the manner of bot/sla/view.py."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.directory import Directory
from bot.core.display import local_time
from bot.core.errors import CommandError
from bot.core.permissions import has_role
from bot.core.reply import Block, Button, Reply, ReplyError, bullets, context, fields, heading
from bot.customers.ownership import SOURCE_WORDS
from bot.customers.report import local_date, person_ref
from bot.handover import service as domain
from bot.handover.alerts import pending_alerts
from bot.handover.brief import HandoverBriefs, waiting_threads
from bot.handover.undo import Undone
from bot.mail.visibility import Audience, Visibility, hidden_note

if TYPE_CHECKING:
    from bot.core.config import Person
    from bot.sla.engine import SlaEngine

LIST_SHOWN = 20
LINES_SHOWN = 30
"""Chat lines per list in a reply; `--json` (data) always has them all."""



def preview_reply(db: Database, directory: Directory, visibility: Visibility, sla: "SlaEngine", zone: str,
                  planned: domain.Handover, now: datetime, actor: "Person") -> Reply:
    """The preview as the person who asked may see it: threads and alerts of mailboxes they may not read
    are counted, never described (bot/mail/visibility.py). Times in `zone`."""
    domain.refresh_sla(sla, now)
    reader = Audience.person(actor)
    queued = pending_alerts(db, planned.customer_ids)
    visible_alerts = visibility.sieve(reader, queued, lambda a: [a["mailbox"]])
    alerts = visible_alerts.shown
    details: list[dict[str, Any]] = []
    hidden_threads = 0
    for customer in planned.customers:
        waiting = waiting_threads(db, visibility, sla, customer.id, now, reader)
        hidden_threads += waiting.hidden
        details.append({
            "customer": {"id": customer.id, "name": customer.name},
            "source": customer.source,
            "open_threads": waiting.shown,
            "open_threads_hidden": waiting.hidden,
            "pending_alerts": [a for a in alerts if a["customer_id"] == customer.id],
            "pending_alerts_hidden": sum(1 for a in queued if a["customer_id"] == customer.id) - sum(
                1 for a in alerts if a["customer_id"] == customer.id),
        })
    giver, receiver = name(directory, planned.from_person), name(directory, planned.to_person)
    lines = []
    for d in details:
        line = f"{d['customer']['name']} — {SOURCE_WORDS.get(d['source'], d['source'])}"
        if d["open_threads"] or d["open_threads_hidden"]:
            line += f" · {len(d['open_threads']) + d['open_threads_hidden']} open thread(s)"
        if d["pending_alerts"] or d["pending_alerts_hidden"]:
            line += f" · {len(d['pending_alerts']) + d['pending_alerts_hidden']} pending alert(s)"
        lines.append(line)
    blocks: list[Block] = [
        heading(f"Handover #{planned.id} (preview): {len(details)} customer(s) from {giver} to {receiver}"
                + (f" — {planned.reason}" if planned.reason else "")),
        bullets(_capped(lines), title="Customers:"),
    ]
    threads = [f"{d['customer']['name']}: {t['subject'] or '(no subject)'} — waiting {t['age']}"
               + (f" · SLA {t['sla']}" if t["sla"] else "")
               for d in details for t in d["open_threads"]]
    if hidden_threads:
        threads.append(hidden_note(hidden_threads, "open thread", more=bool(threads)))
    if threads:
        blocks.append(bullets(_capped(threads, 15), title=f"Open threads (they follow the owner to {receiver}):"))
    alert_lines = [f"#{a['alert']} {a['level']} · {a['subject'] or '(no subject)'} · queued for "
                   f"{_destination(directory, a)}" for a in alerts]
    if visible_alerts.hidden:
        alert_lines.append(hidden_note(visible_alerts.hidden, "pending alert", more=bool(alert_lines)))
    if alert_lines:
        blocks.append(bullets(_capped(alert_lines, 15),
                              title="Pending alerts (the owner's follow the customer on confirm; team and manager alerts stay):"))
    blocks.append(context(f"Nothing changes until you confirm. Times in {zone}. "
                          f"Confirm: /handover confirm {planned.id}"))
    return Reply(
        command="handover",
        blocks=blocks,
        buttons=[Button(label="Confirm", command=f"/handover confirm {planned.id}", style="primary"),
                 Button(label="Cancel", command=f"/handover cancel {planned.id}", style="danger")],
        data={**summary(directory, planned), "details": details, "pending_alerts": len(queued),
              "confirm": f"/handover confirm {planned.id}"},
    )


def confirmed_reply(directory: Directory, zone: str, result: domain.Confirmed, now: datetime) -> Reply:
    done = result.handover
    if not result.ok:
        told = "; ".join(f"{c.name} is now owned by {name(directory, c.now_owner)} "
                         f"({SOURCE_WORDS.get(c.now_source, c.now_source)})" for c in result.conflicts)
        message = (f"Handover #{done.id} not done — someone changed it first: {told}. Nothing moved; "
                   f"the preview is marked superseded. Ask again for a fresh preview.")
        lost = {c.customer_id for c in result.conflicts}
        remaining = [c.name for c in done.customers if c.id not in lost]
        buttons = ([Button(label="New preview without them", command=f"/handover {done.from_person} {done.to_person} "
                           + " ".join(f'"{n}"' for n in remaining))] if remaining else [])
        return Reply(command="handover", text=message, buttons=buttons,
                     error=ReplyError(code="conflict", message=message),
                     data={**summary(directory, done), "customers": [],
                           "conflicts": [{**c.as_json(), "owner": person_json(directory, c.now_owner)}
                                         for c in result.conflicts]})
    giver, receiver = name(directory, done.from_person), name(directory, done.to_person)
    deadline = domain.undo_deadline(done)
    threads = sum(len(s["open_threads"]) + s.get("open_threads_hidden", 0)
                  for s in result.brief.data["customers"]) if result.brief else 0
    sent_to = list(dict.fromkeys(key.rsplit(":", 1)[1] for key in result.brief_keys))
    rerouted = [f"#{a['alert']} {a['level']} → {name(directory, a['to'].partition(':')[2])}"
                if a["to"].startswith("person:") else f"#{a['alert']} {a['level']} → {a['to']}"
                for a in result.rerouted]
    blocks: list[Block] = [
        heading(f"Handover #{done.id} done: {len(done.customers)} customer(s) now owned by {receiver} "
                f"(from {giver})."),
        bullets(_capped(done.names)),
        fields(("Open threads", f"{threads}, now routed to {receiver}"),
               ("Pending alerts re-routed", ", ".join(_capped(rerouted, 10)) or "none"),
               ("Brief", "queued in the chat outbox for " + ", ".join(name(directory, p) for p in sent_to))),
    ]
    if deadline is not None:
        until = local_date(iso(deadline), zone, now).split(" (")[0]
        blocks.append(context(f"Recorded in the audit log (#{result.audit_id}). Undo until {until}: "
                              f"/handover undo {done.id}"))
    return Reply(
        command="handover",
        blocks=blocks,
        buttons=[Button(label="Undo", command=f"/handover undo {done.id}", style="danger"),
                 Button(label="Show", command=f"/handover show {done.id}")],
        data={**summary(directory, done), "moved": [c.model_dump() for c in done.customers],
              "rerouted_alerts": result.rerouted, "open_threads": threads, "audit_id": result.audit_id,
              "undo_until": iso(deadline) if deadline else None,
              "brief": {"delivery": "outbox", "sent_to": sent_to, "keys": result.brief_keys,
                        **(result.brief.data if result.brief else {})}},
    )


def undone_reply(directory: Directory, result: Undone) -> Reply:
    done = result.handover
    lines = [f"{r['customer']} → back to {name(directory, r['owner'])}" for r in result.restored]
    lines += [f"{s['customer']} kept with {name(directory, s['owner'])} (changed since the handover)"
              for s in result.skipped]
    return Reply(
        command="handover",
        blocks=[heading(f"Handover #{done.id} undone: {len(result.restored)} customer(s) restored"
                        + (f", {len(result.skipped)} skipped" if result.skipped else "") + "."),
                bullets(lines),
                context(f"{len(result.rerouted)} pending alert(s) re-routed; audit entry #{result.audit_id}.")],
        data={**summary(directory, done), "restored": result.restored, "skipped": result.skipped,
              "rerouted_alerts": result.rerouted, "audit_id": result.audit_id},
    )


def list_reply(db: Database, directory: Directory, person: "Person") -> Reply:
    """The latest handovers: all of them for leads and up, else those the person gave, received or ran."""
    found = domain.recent(db, limit=LIST_SHOWN, person_id=None if has_role(person, "lead") else person.id)
    lines = [f"#{h.id} {h.state} · {name(directory, h.from_person)} → {name(directory, h.to_person)} · "
             f"{len(h.customers)} customer(s) · by {name(directory, h.actor)} · {h.created_at[:10]}" for h in found]
    blocks: list[Block] = [heading(f"Handovers: {len(found)}" + (" (newest first)" if found else ""))]
    if lines:
        blocks.append(bullets(lines))
    return Reply(command="handover", blocks=blocks, data={"handovers": [summary(directory, h) for h in found]})


def show_reply(db: Database, directory: Directory, briefs: HandoverBriefs, zone: str, person: "Person",
               handover_id: int, now: datetime) -> Reply:
    """One handover: who, what, its state; Confirm/Cancel while pending, Undo while it may be undone, and
    for a done one the brief as of now."""
    found = domain.load(db, handover_id)
    involved = found is not None and person.id in (found.from_person, found.to_person, found.actor, found.confirmed_by)
    if found is None or not (involved or has_role(person, "lead")):
        raise CommandError(f"No handover #{handover_id} that you may see.", code="not_found")
    pairs = [("State", found.state), ("From", name(directory, found.from_person)),
             ("To", name(directory, found.to_person)),
             ("Asked by", f"{name(directory, found.actor)}, {local_time(found.created_at, zone)}")]
    if found.reason:
        pairs.append(("Reason", found.reason))
    if found.confirmed_at:
        pairs.append(("Confirmed", f"{local_time(found.confirmed_at, zone)} by {name(directory, found.confirmed_by)}"))
    if found.undone_at:
        pairs.append(("Undone", f"{local_time(found.undone_at, zone)} by {name(directory, found.undone_by)}"))
    blocks: list[Block] = [heading(f"Handover #{found.id}"), fields(*pairs),
                           bullets([f"{c.name} — {SOURCE_WORDS.get(c.source, c.source)}" for c in found.customers],
                                   title="Customers:")]
    conflicts = found.outcome.get("conflicts") or []
    if conflicts:
        blocks.append(bullets([f"{c['customer']}: owned by {name(directory, c['owner'])} ({c['source']})"
                               for c in conflicts], title="Superseded — changed first:"))
    buttons: list[Button] = []
    data: dict[str, Any] = {**summary(directory, found), "outcome": found.outcome}
    if found.state == "pending":
        buttons = [Button(label="Confirm", command=f"/handover confirm {found.id}", style="primary"),
                   Button(label="Cancel", command=f"/handover cancel {found.id}", style="danger")]
    elif found.state == "done":
        deadline = domain.undo_deadline(found)
        if deadline is not None and now <= deadline:
            buttons = [Button(label="Undo", command=f"/handover undo {found.id}", style="danger")]
        if found.to_person in directory.people:
            brief = briefs.build(found, now, reader=person).whole
            blocks.extend([context("The brief, as of now:"), *brief.blocks[1:]])
            data["brief"] = brief.data
    return Reply(command="handover", blocks=blocks, buttons=buttons, data=data)


def _capped(lines: list[str], limit: int = LINES_SHOWN) -> list[str]:
    return lines if len(lines) <= limit else [*lines[:limit], f"… and {len(lines) - limit} more (--json has all)"]


def summary(directory: Directory, h: domain.Handover) -> dict[str, Any]:
    return {"handover_id": h.id, "state": h.state, "from": person_json(directory, h.from_person),
            "to": person_json(directory, h.to_person), "scope": h.scope, "reason": h.reason, "actor": h.actor,
            "customers": h.names, "created_at": h.created_at, "confirmed_at": h.confirmed_at,
            "confirmed_by": h.confirmed_by, "undone_at": h.undone_at}


def person_json(directory: Directory, person_id: str | None) -> dict[str, str] | None:
    ref = person_ref(directory, person_id)
    return ref.model_dump() if ref else None


def name(directory: Directory, person_id: str | None) -> str:
    ref = person_ref(directory, person_id)
    return ref.name if ref else "nobody"


def _destination(directory: Directory, alert: dict[str, Any]) -> str:
    if alert["dest_kind"] == "person":
        return f"{name(directory, alert['dest_person'])} ({alert['route']})"
    return f"team {alert['dest_team']} ({alert['route']})"




