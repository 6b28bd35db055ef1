"""The handover brief: what the new owner needs to pick up each customer without a gap, and the admin
checklist from the guide (move the shared-mailbox rights, hand over the key-customer tags, revoke the
leaver's mailbox access) — worked out from the config, so it names the actual mailboxes and groups.

Per customer: contacts (CRM and who actually writes), last inbound and outbound, open threads with their
age and SLA state, and recent milestones found in the mail (bot/customers/milestones.py). A milestone's subject and
excerpt are shown only when the reader may read one of the shared mailboxes it was seen in (or it is
personal mail, in none): the brief must not leak, say, support@ mail to a salesperson who may not read
support@ — the kind and date still show, so nothing is silently left out.

Every mail fact goes through the choke point (bot/mail/visibility.py) for the brief's reader: each
recipient (new owner, whoever asked, whoever confirmed) gets a brief built for them. Open threads they
may not read are counted ("2 more open threads in mailboxes you can't read — ask a lead"); contacts and
the last inbound / outbound dates come only from mail they may read.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.core.clock import parse_instant
from bot.core.config import Config
from bot.core.directory import Directory
from bot.core.durations import format_duration
from bot.core.permissions import Permissions
from bot.core.reply import Block, Button, Reply, bullets, context, fields, heading
from bot.customers.book import customer_row
from bot.customers.milestones import customer_milestones, latest_per_kind
from bot.customers.report import local_date
from bot.customers.threads import waiting_threads as waiting_threads_of
from bot.mail.visibility import Audience, Sieved, Visibility, hidden_note

if TYPE_CHECKING:
    from bot.core.config import Person
    from bot.handover.service import Handover
    from bot.sla.engine import SlaEngine

RIGHTS = ("read", "reply", "delete", "export")
CONTACTS_SHOWN = 5
CUSTOMERS_PER_MESSAGE = 8
THREADS_SHOWN = 5

_SENDERS = """
    SELECT lower(from_addr), max(from_name), count(*), max(date) FROM messages m
    WHERE customer_id = ? AND direction = 'inbound' AND auto_submitted = 0 AND is_bounce = 0 AND is_list = 0
      AND {scope}
    GROUP BY lower(from_addr) ORDER BY max(date) DESC LIMIT ?
"""


def waiting_threads(db: Database, visibility: Visibility, sla: "SlaEngine", customer_id: int, now: datetime,
                    reader: "Audience") -> Sieved[dict[str, Any]]:
    """The customer's threads that wait on us: the last human message is theirs and is more than a bare
    "thanks, we will check" (the SLA engine's own test), newest first, with age and SLA state — those the
    reader may read, and how many others there are."""
    sieved = visibility.sieve(reader, waiting_threads_of(db, customer_id), lambda t: t.mailboxes)
    threads: list[dict[str, Any]] = [
        {"id": t.id, "subject": t.subject, "waiting_since": t.last_inbound,
         "age": format_duration(now - parse_instant(t.last_inbound)), "mailboxes": t.mailboxes,
         "sla": None, "sla_kind": None}
        for t in sieved.shown
    ]
    states = sla.thread_states([int(t["id"]) for t in threads], now)
    for thread in threads:
        state = states.get(thread["id"]) or {}
        thread["sla"], thread["sla_kind"] = state.get("state"), state.get("kind")
    return Sieved(threads, sieved.hidden, sieved.channel)


def contacts(db: Database, visibility: Visibility, customer_id: int, reader: "Audience") -> list[dict[str, Any]]:
    """CRM contacts first, then the addresses the customer actually writes from (in mail the reader may
    read), newest first."""
    row = customer_row(db, customer_id) or {}
    found: dict[str, dict[str, Any]] = {}
    for address in row.get("contacts", []) or []:
        found[str(address).lower()] = {"address": str(address).lower(), "name": "", "messages": 0, "last": None,
                                       "crm": True}
    scope, params = visibility.message_filter(reader)
    for address, name, count, last in db.execute(_SENDERS.format(scope=scope),
                                                 [customer_id, *params, CONTACTS_SHOWN * 2]).fetchall():
        entry = found.setdefault(address, {"address": address, "name": "", "messages": 0, "last": None, "crm": False})
        entry.update(name=name or entry["name"], messages=count, last=last)
    ordered = sorted(found.values(), key=lambda c: (not c["crm"], -(parse_instant(c["last"]).timestamp()
                                                                      if c["last"] else 0)))
    return ordered[:CONTACTS_SHOWN]


@dataclass
class Brief:
    """The brief whole (for `data` and /handover show) and cut into chat messages of at most
    CUSTOMERS_PER_MESSAGE customers each — Slack takes 50 blocks a message, WeCom 2,048 bytes."""

    whole: Reply
    parts: list[Reply]


@dataclass(frozen=True, eq=False)
class HandoverBriefs:
    """Builds each reader's brief from the archive, the SLA states and the config, every mail fact through
    the choke point."""

    db: Database
    config: Config
    directory: Directory
    permissions: Permissions
    visibility: Visibility
    sla: "SlaEngine"

    def customer_section(self, customer_id: int, reader: "Person", now: datetime, *,
                         shared: dict[int, Any] | None = None) -> dict[str, Any]:
        """Everything the brief says about one customer, as data, for this reader. `shared` keeps what does
        not depend on the reader (the milestones found in the mail) for the next reader's brief."""
        audience = Audience.person(reader)
        row = customer_row(self.db, customer_id) or {"name": str(customer_id), "domains": [], "aliases": []}
        scope, params = self.visibility.message_filter(audience)
        last = dict(self.db.execute(
            "SELECT direction, max(date) FROM messages m WHERE customer_id = ? AND auto_submitted = 0 AND is_bounce = 0 "
            f"AND is_list = 0 AND direction IN ('inbound', 'outbound') AND {scope} GROUP BY direction",
            [customer_id, *params]).fetchall())
        roles: dict[str, str] = {m.address: m.role for m in self.config.mailboxes}
        milestones = []
        found = shared.get(customer_id) if shared is not None else None
        if found is None:
            found = latest_per_kind(customer_milestones(self.db, customer_id, now=now, roles=roles))
            if shared is not None:
                shared[customer_id] = found
        for milestone in found:
            data = milestone.as_json()
            if milestone.mailboxes and not self.visibility.may_read(audience, milestone.mailboxes):
                data.update(subject=None, excerpt=None, evidence=None, hidden=True)
                if data.get("conclusion"):
                    data["conclusion"].update(subject=None, excerpt=None, evidence=None, hidden=True)
            milestones.append(data)
        return {
            "customer": {"id": customer_id, "name": row["name"], "domains": row["domains"], "aliases": row["aliases"]},
            "contacts": contacts(self.db, self.visibility, customer_id, audience),
            "last_inbound": last.get("inbound"),
            "last_outbound": last.get("outbound"),
            "open_threads": (threads := waiting_threads(self.db, self.visibility, self.sla, customer_id, now, audience)).shown,
            "open_threads_hidden": threads.hidden,
            "milestones": milestones,
        }

    def admin_checklist(self, handover: "Handover", receiver: "Person") -> list[dict[str, Any]]:
        """The guide's three admin steps, made concrete from the config."""
        directory, config = self.directory, self.config
        giver = directory.people.get(handover.from_person)
        giver_name = giver.name if giver else handover.from_person
        short = {m.address: m.local_part + "@" for m in config.mailboxes}
        gaps: list[str] = []
        held: list[str] = []
        if giver is not None:
            for mailbox in config.mailboxes:
                rights = [r for r in RIGHTS if self.permissions.can(giver, r, mailbox.address)]  # type: ignore[arg-type]
                if rights:
                    held.append(f"{'/'.join(rights)} on {short[mailbox.address]}")
                missing = [r for r in rights if not self.permissions.can(receiver, r, mailbox.address)]  # type: ignore[arg-type]
                if missing:
                    gaps.append(f"{'/'.join(missing)} on {short[mailbox.address]}")
        named = [f'[permissions."{address}"].{right}' for address, rights in config.permissions.items()
                 for right in RIGHTS if handover.from_person in getattr(rights, right)]
        if gaps:
            rights_text = f"Move the shared-mailbox rights: give {receiver.name} {', '.join(gaps)} (as {giver_name} has)."
        elif held:
            rights_text = (f"Shared-mailbox rights: {receiver.name} already has every right {giver_name} has "
                           f"({'; '.join(held)}) — check the mail server grants match.")
        else:
            rights_text = f"Shared-mailbox rights: {giver_name} holds none in Mailroom's config — check the mail server."
        if named:
            rights_text += f" In mailroom.toml replace {handover.from_person} by {receiver.id} in {', '.join(named)}."
        tags = (f"Hand over the key-customer tags: in the CRM make {receiver.name} ({receiver.email}) the owner of "
                f"{', '.join(handover.names)}. Mailroom already records the handover; a CRM export still naming "
                f"{giver_name} will not undo it.")
        backups = [p.name for p in config.people if p.backup == handover.from_person]
        managed = [t.name for t in config.teams if t.manager == handover.from_person]
        if backups:
            tags += f" {giver_name} is the backup of {', '.join(backups)}: choose a new backup ([[people]] backup)."
        if managed:
            tags += f" {giver_name} manages {', '.join(managed)}: name a new manager ([[teams]] manager)."
        groups = [g.address for g in config.groups if handover.from_person in g.members]
        address = giver.email if giver else handover.from_person
        readable = [short[m.address] for m in config.mailboxes
                    if giver is not None and self.permissions.can(giver, "read", m.address)]
        revoke = f"If {giver_name} leaves: revoke {address}'s access to the shared mailboxes"
        if readable:
            revoke += f" ({', '.join(readable)})"
        if groups:
            revoke += f", take them out of {', '.join(groups)}"
        revoke += (f", forward {address} to {receiver.email} (or set an auto-reply naming {receiver.name}), and remove "
                   f"{handover.from_person} and their chat ids from [[people]].")
        return [
            {"key": "mailbox_rights", "text": rights_text, "gaps": gaps, "config_entries": named},
            {"key": "customer_tags", "text": tags, "customers": handover.names, "backup_of": backups,
             "manager_of": managed},
            {"key": "revoke_access", "text": revoke, "groups": groups, "address": address},
        ]

    def build(self, handover: "Handover", now: datetime, reader: "Person | None" = None, *,
              shared: dict[int, Any] | None = None) -> Brief:
        """The brief as `reader` may see it (default: the new owner); each recipient gets their own (pass one
        `shared` dict to the briefs of one handover: the mail is read for milestones once)."""
        directory = self.directory
        zone = self.config.organization.timezone
        receiver = directory.people[handover.to_person]
        reader = reader or receiver
        giver = directory.people.get(handover.from_person)
        giver_name = giver.name if giver else handover.from_person
        sections = [self.customer_section(cid, reader, now, shared=shared) for cid in handover.customer_ids]
        checklist = self.admin_checklist(handover, receiver)
        title = (f"Handover brief #{handover.id}: {len(sections)} customer(s) from {giver_name} to {receiver.name}"
                 + (f" — {handover.reason}" if handover.reason else ""))
        tail = [bullets([item["text"] for item in checklist], title="Admin checklist (交接清单):"),
                context(f"/handover show {handover.id} · undo within 7 days: /handover undo {handover.id}")]
        buttons = [Button(label="My customers", command="/owner mine"), Button(label="My SLA items", command="/sla mine")]
        data = {"handover_id": handover.id, "from": handover.from_person, "to": handover.to_person,
                "reason": handover.reason, "customers": sections, "checklist": checklist}
        per_customer = [_section_blocks(section, zone, now) for section in sections]
        whole = Reply(command="handover.brief", blocks=[heading(title), *(b for bs in per_customer for b in bs), *tail],
                      buttons=buttons, data=data)
        chunks = [per_customer[i:i + CUSTOMERS_PER_MESSAGE]
                  for i in range(0, len(per_customer), CUSTOMERS_PER_MESSAGE)] or [[]]
        if len(chunks) == 1:
            return Brief(whole, [whole])
        parts = []
        for n, chunk in enumerate(chunks, 1):
            last = n == len(chunks)
            blocks = [heading(f"{title} ({n}/{len(chunks)})"), *(b for bs in chunk for b in bs), *(tail if last else [])]
            parts.append(Reply(command="handover.brief", blocks=blocks, buttons=buttons if last else [],
                               data={"handover_id": handover.id, "part": n, "parts": len(chunks),
                                     "customers": [s["customer"]["name"] for s in sections[(n - 1) * CUSTOMERS_PER_MESSAGE:
                                                                                          n * CUSTOMERS_PER_MESSAGE]]}))
        return Brief(whole, parts)


def _section_blocks(section: dict[str, Any], zone: str, now: datetime) -> list[Block]:
    name = section["customer"]["name"]
    people = [f"{c['name']} <{c['address']}>" if c["name"] else c["address"] for c in section["contacts"]]
    blocks: list[Block] = [
        Block(type="divider"),
        heading(name),
        fields(("Contacts", ", ".join(people) or "—"),
               ("Last inbound", local_date(section["last_inbound"], zone, now)),
               ("Last outbound", local_date(section["last_outbound"], zone, now))),
    ]
    threads = [f"{t['subject'] or '(no subject)'} — waiting {t['age']}"
               + (f" · {', '.join(b.split('@')[0] + '@' for b in t['mailboxes'])}" if t["mailboxes"] else "")
               + (f" · SLA {t['sla']}" if t["sla"] else "")
               for t in section["open_threads"][:THREADS_SHOWN]]
    if len(section["open_threads"]) > THREADS_SHOWN:
        threads.append(f"… and {len(section['open_threads']) - THREADS_SHOWN} more")
    hidden = section.get("open_threads_hidden", 0)
    if hidden:
        threads.append(hidden_note(hidden, "open thread", more=bool(threads)))
    count = len(section["open_threads"]) + hidden
    blocks.append(bullets(threads, title=f"Open threads waiting on us ({count}):") if threads
                  else context("No thread waits on us."))
    lines = [_milestone_line(m, zone, now) for m in section["milestones"]]
    if lines:
        blocks.append(bullets(lines, title="Recent milestones:"))
    return blocks


def _milestone_line(milestone: dict[str, Any], zone: str, now: datetime) -> str:
    day = local_date(milestone["at"], zone, now).split(" (")[0]
    where = ", ".join(b.split("@")[0] + "@" for b in milestone["mailboxes"])
    if milestone.get("hidden"):
        line = f"{day} {milestone['label']} (in {where}, which you can't read)"
    else:
        line = f"{day} {milestone['label']}: {milestone['excerpt'] or milestone['evidence']}"
    if milestone["kind"] == "complaint":
        conclusion = milestone.get("conclusion")
        if conclusion is None:
            line += " — no conclusion found yet ⚠"
        elif conclusion.get("hidden"):
            line += f" — concluded {conclusion['at'][:10]}"
        else:
            line += f" — concluded {conclusion['at'][:10]}: {conclusion['excerpt'] or conclusion['evidence']}"
    return line


def undo_notice(directory: Directory, handover: "Handover", restored: list[dict[str, Any]],
                skipped: list[dict[str, Any]]) -> Reply:
    """The short message the receiver gets when a handover to them is undone."""
    names = ", ".join(r["customer"] for r in restored)
    text = f"Handover #{handover.id} was undone: {names} went back to their previous owner(s)."
    if skipped:
        text += f" Kept with their current owners (changed since): {', '.join(s['customer'] for s in skipped)}."
    owner = directory.people.get(handover.from_person)
    return Reply(command="handover.undo", text=text,
                 data={"handover_id": handover.id, "restored": restored, "skipped": skipped,
                       "back_to": owner.id if owner else handover.from_person})
