"""SLA alerts: which level is due for which item, whom it goes to, what it says — into the outbox.

Routing: warning → the owner (direct message), breached → the team's alert channel,
escalated → the team's manager. An absent person's alerts go to their backup (`/away`). An alert
only goes where the mailbox may be read (bot/core/permissions.py): a person who may read it, or the
channel of the mailbox's own team when every member of that team may read it. When the first
choice may not receive it, the next one in the chain does; when nobody may, the alert is kept as
`undeliverable` (logged) rather than leaked.

Exactly once: an alert's key is `sla:<item>:<level>`, unique in `sla_alerts`; the item's `alerted`
column remembers the highest level enqueued, so the query for due levels stays set-wise and cheap.
Levels reached more than `STALE_AFTER` ago (after an import of old mail, or a long outage) are
recorded as `stale` instead of being pushed to chat.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.core.config import Person, Team
from bot.core.directory import Directory
from bot.core.display import short_mailbox
from bot.core.durations import format_duration
from bot.core.permissions import Permissions
from bot.core.reply import Button, Mention, Reply, context, fields, heading
from bot.mail.visibility import Audience, Visibility
from bot.outbox import Destination, enqueue
from bot.sla.away import stand_in
from bot.sla.items import Item, attach_owners, select_items
from bot.sla.policies import Policies
from bot.sla.text_rules import ALERT_LEVELS, LEVEL_RANK
from bot.sla.view import KIND_LABELS, STATE_ICONS, item_json, local, person_name
from bot.store.db import write_transaction

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=7)
TITLES = {"warning": "SLA warning", "breached": "SLA breached", "escalated": "SLA escalated"}
CHAINS = {
    "warning": ("owner", "team", "manager"),
    "breached": ("team", "manager"),
    "escalated": ("manager", "team"),
}
_DUE_LEVELS = """i.closed_at IS NULL AND i.acked_at IS NULL
    AND (i.snoozed_until IS NULL OR i.snoozed_until <= :now)
    AND i.alerted < (CASE WHEN :now >= i.escalate_at THEN 3 WHEN :now >= i.due_at THEN 2
                          WHEN :now >= i.warn_at THEN 1 ELSE 0 END)"""


def alert_key(item_id: int, level: str) -> str:
    return f"sla:{item_id}:{level}"


@dataclass(frozen=True, eq=False)
class Router:
    """Chooses an alert's destination along its level's chain, never where the mailbox may not be read."""

    db: Database
    directory: Directory
    permissions: Permissions
    visibility: Visibility
    now: datetime

    def route(self, item: Item, level: str) -> tuple[Destination | None, str]:
        notes: list[str] = []
        for step in CHAINS[level]:
            found = getattr(self, f"_{step}")(item, notes)
            if found is not None:
                destination, how = found
                return destination, "; ".join([how, *notes]) if notes else how
        return None, "nobody may receive it: " + "; ".join(notes or [f"no route for {item.mailbox}"])

    def _may_read(self, person_id: str | None, mailbox: str) -> bool:
        person = self.directory.people.get(person_id) if person_id else None
        return person is not None and self.permissions.can(person, "read", mailbox)

    def _person(self, person_id: str | None, role: str, item: Item, notes: list[str]) -> tuple[Destination, str] | None:
        if person_id is None:
            notes.append(f"no {role}")
            return None
        receiver, absent = stand_in(self.db, person_id, self.now)
        how = role if not absent else f"{role} {person_id} away → backup {receiver}"
        if not self._may_read(receiver, item.mailbox):
            notes.append(f"{role} {receiver} may not read {short_mailbox(item.mailbox)}")
            return None
        return Destination("person", receiver, None), how

    def _owner(self, item: Item, notes: list[str]) -> tuple[Destination, str] | None:
        return self._person(item.owner, "owner", item, notes)

    def _manager(self, item: Item, notes: list[str]) -> tuple[Destination, str] | None:
        team = self._team_of(item)
        return self._person(team.manager if team else None, "manager", item, notes)

    def _team(self, item: Item, notes: list[str]) -> tuple[Destination, str] | None:
        team = self._team_of(item)
        if team is None:
            notes.append(f"{short_mailbox(item.mailbox)} has no team")
            return None
        if not team.channels.configured:
            notes.append(f"team {team.id} has no alert channel")
            return None
        if not self.visibility.may_read(Audience.team(self.directory, team.id), [item.mailbox]):
            notes.append(f"team {team.id} channel has members who may not read {short_mailbox(item.mailbox)}")
            return None
        return Destination("team", None, team.id), "team channel"

    def _team_of(self, item: Item) -> Team | None:
        mailbox = self.directory.mailboxes.get(item.mailbox)
        return self.directory.teams.get(mailbox.team) if mailbox and mailbox.team else None


def alert_reply(directory: Directory, policies: Policies, zone: str, item: Item, level: str, now: datetime,
                route: str) -> Reply:
    """The alert as a Reply: who waits, how long, against which SLA; Ack and Snooze buttons. No mail body.
    `zone`: the organisation's time zone, for the local times shown."""
    clock = policies.clock_for(item.mailbox, item.kind)
    sla = format_duration(timedelta(seconds=clock.seconds)) if clock else "?"
    waited = format_duration(now - datetime.fromtimestamp(item.started, now.tzinfo))
    owner = person_name(directory, item.owner)
    box = short_mailbox(item.mailbox)
    subject = item.subject or "(no subject)"
    text = (f"{STATE_ICONS[level]} {TITLES[level]} — {box}: \"{subject}\" from {item.customer} waiting {waited} "
            f"({KIND_LABELS[item.kind]} SLA {sla}), owner {owner}. Item #{item.id}")
    data = item_json(item, directory)
    data.update(state=level, level=level, item=item.id, route=route, sla=sla)
    return Reply(
        command="sla.alert",
        text=text,
        blocks=[
            heading(f"{STATE_ICONS[level]} {TITLES[level]}: {box} — {item.customer}"),
            fields(
                ("Subject", subject),
                ("Customer", item.customer),
                ("Owner", owner),
                ("Waiting since", f"{local(item.started, zone)} ({waited})"),
                ("Due", local(item.due_at, zone)),
                ("Policy", f"{KIND_LABELS[item.kind]} {sla} ({item.policy})"),
            ),
            context(f"Item #{item.id} · {level} · sent to: {route}"),
        ],
        buttons=[
            Button(label="Ack", command=f"/sla ack {item.id}", style="primary"),
            Button(label="Snooze 4h", command=f"/sla snooze {item.id} 4h"),
        ],
        mentions=[mention(directory.people[item.owner])] if item.owner in directory.people else [],
        data={"alert": data},
    )


def mention(person: Person) -> Mention:
    """Our own ping of a person (trusted): each adapter renders it live in its own syntax."""
    return Mention(person_id=person.id, name=person.name, slack=person.slack,
                   telegram=str(person.telegram) if person.telegram is not None else None, wecom=person.wecom)


@dataclass(frozen=True, eq=False)
class SlaAlerts:
    """The SLA alerts of one archive: routed by `Router`, drawn by `alert_reply`, queued by `enqueue`.
    `zone` is the organisation's time zone (the local times an alert shows)."""

    db: Database
    directory: Directory
    permissions: Permissions
    visibility: Visibility
    policies: Policies
    zone: str

    def router(self, now: datetime) -> Router:
        """A router for alerts sent at `now` (absences as they are then)."""
        return Router(self.db, self.directory, self.permissions, self.visibility, now)

    def reply(self, item: Item, level: str, now: datetime, route: str) -> Reply:
        """The alert of `item` at `level` as a Reply (see `alert_reply`)."""
        return alert_reply(self.directory, self.policies, self.zone, item, level, now, route)

    def enqueue(self, now: datetime) -> int:
        """Write the alert of every level each open item has newly reached; returns how many were added."""
        db = self.db
        now_s = int(now.timestamp())
        items = select_items(db, now, _DUE_LEVELS, {"now": now_s})
        if not items:
            return 0
        attach_owners(db, self.directory, items, now)
        router = self.router(now)
        planned = []
        for item in items:
            reached = LEVEL_RANK[item.state]
            for level in ALERT_LEVELS[item.alerted: reached]:
                threshold = {"warning": item.warn_at, "breached": item.due_at,
                             "escalated": item.escalate_at}[level]
                destination, route = router.route(item, level)
                if destination is None:
                    log.warning("SLA %s of item #%s (%s) not sent: %s", level, item.id, item.mailbox, route)
                stale = now_s - threshold > STALE_AFTER.total_seconds()
                planned.append((item, level, destination, route, "stale" if stale else None))
        added = 0
        with write_transaction(db):
            for item, level, destination, route, status in planned:
                reply = self.reply(item, level, now, route)
                added += enqueue(db, key=alert_key(item.id, level), kind="sla", level=level, now=now,
                                 destination=destination, route=route, reply=reply, item=item.id,
                                 status=status)
            for item in items:
                db.execute("UPDATE sla_items SET alerted = max(alerted, ?) WHERE id = ?",
                           [LEVEL_RANK[item.state], item.id])
        return added
