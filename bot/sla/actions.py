"""State changes from chat: ack, snooze, resolve, away — each audited in the transaction of the change."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.core.clock import Clock, parse_instant
from bot.core.config import Person
from bot.core.display import short_mailbox
from bot.core.durations import format_duration, parse_duration
from bot.core.errors import CommandError
from bot.core.permissions import Permissions, Right, has_role
from bot.core.reply import echo
from bot.sla.away import clear_away, set_away
from bot.sla.engine import SlaEngine
from bot.sla.items import Item
from bot.sla.view import local, parse_item_id
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

MAX_SNOOZE = timedelta(days=14)


def parse_until(text: str, zone: str, now: datetime) -> datetime:
    """'2026-12-01' → the end of that local day (away through it); an ISO time → that instant."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date() + timedelta(days=1)
            until = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
        else:
            until = parse_instant(text)
    except ValueError:
        raise CommandError(f"{echo(text)!r} is not a date (YYYY-MM-DD) or an ISO time", code="bad_date") from None
    if until <= now:
        raise CommandError(f"{text} is in the past", code="bad_date")
    return until


@dataclass(frozen=True, eq=False)
class SlaActions:
    """What a person does to SLA items and absences from chat, on one archive: each change audited in its
    own write transaction. `zone` is the organisation's time zone (dates typed and shown there)."""

    db: Database
    sla: SlaEngine
    permissions: Permissions
    audit: AuditLog
    clock: Clock
    zone: str

    def load_item(self, person: Person, text: str, now: datetime, *, right: Right = "read") -> Item:
        """The item `text` names, if the person may see it (else the same answer as for a missing one)."""
        item_id = parse_item_id(text)
        if item_id is None:
            raise CommandError(f"{echo(text)!r} is not an SLA item id (e.g. 12 or #12)", code="bad_id")
        item = self.sla.item(item_id, now)
        if item is None or not self.permissions.can(person, "read", item.mailbox):
            raise CommandError(f"no SLA item #{item_id} that you may see", code="not_found")
        if right != "read" and not (self.permissions.can(person, right, item.mailbox)
                                    or has_role(person, "manager")):
            raise CommandError(f"you may not {right} in {short_mailbox(item.mailbox)}", code="forbidden")
        if not item.is_open:
            raise CommandError(f"item #{item_id} is closed already ({item.close_reason})", code="closed")
        return item

    def ack(self, person: Person, text: str) -> Item:
        now = self.clock.now()
        item = self.load_item(person, text, now)
        if item.acked_by:
            return item
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE sla_items SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL",
                [int(now.timestamp()), person.id, item.id])
            self.audit.record(person.id, "sla ack", {"item": item.id, "mailbox": item.mailbox}, "acked")
        item.acked_by, item.acked_at = person.id, int(now.timestamp())
        return item

    def snooze(self, person: Person, text: str, duration_text: str) -> Item:
        now = self.clock.now()
        item = self.load_item(person, text, now)
        try:
            duration = parse_duration(duration_text)
        except ValueError as exc:
            raise CommandError(str(exc), code="bad_duration") from None
        if duration > MAX_SNOOZE:
            raise CommandError(f"snooze at most {format_duration(MAX_SNOOZE)}", code="bad_duration")
        until = int((now + duration).timestamp())
        with write_transaction(self.db):
            self.db.execute("UPDATE sla_items SET snoozed_until = ?, snoozed_by = ? WHERE id = ?",
                            [until, person.id, item.id])
            self.audit.record(person.id, "sla snooze",
                              {"item": item.id, "mailbox": item.mailbox, "for": duration_text},
                              f"snoozed until {local(until, self.zone)}")
        item.snoozed_until, item.snoozed_by = until, person.id
        return item

    def resolve(self, person: Person, text: str) -> Item:
        """Stop the clock by hand: a solution given outside mail (phone, visit), or a first response by
        phone."""
        now = self.clock.now()
        item = self.load_item(person, text, now, right="reply")
        now_s = int(now.timestamp())
        with write_transaction(self.db):
            changed = self.db.execute(
                "UPDATE sla_items SET closed_at = ?, close_reason = 'resolved', closed_by = ? "
                "WHERE id = ? AND closed_at IS NULL",
                [now_s, person.id, item.id],
            ).rowcount
            if not changed:
                raise CommandError(f"item #{item.id} is closed already", code="closed")
            self.audit.record(person.id, "sla resolve",
                              {"item": item.id, "mailbox": item.mailbox, "kind": item.kind}, "resolved")
        item.closed_at, item.close_reason = now_s, "resolved"
        return item

    def away(self, person: Person, who: Person, until_text: str, backup: Person | None
             ) -> tuple[datetime, str]:
        """`who` is away until then; their alerts go to `backup` (default: their configured backup)."""
        if who.id != person.id and not has_role(person, "lead"):
            raise CommandError("only a lead, manager or admin may set someone else away", code="forbidden")
        now = self.clock.now()
        until = parse_until(until_text, self.zone, now)
        backup_id = backup.id if backup else who.backup
        if not backup_id:
            raise CommandError(f"{who.name} has no backup in the config: name one with `backup <person>`",
                               code="no_backup")
        if backup_id == who.id:
            raise CommandError("a person cannot be their own backup", code="bad_backup")
        with write_transaction(self.db):
            set_away(self.db, who.id, until=until, backup=backup_id, by=person.id, now=now)
            self.audit.record(person.id, "away", {"person": who.id, "until": until_text, "backup": backup_id},
                              "away set")
        return until, backup_id

    def back(self, person: Person, who: Person) -> bool:
        if who.id != person.id and not has_role(person, "lead"):
            raise CommandError("only a lead, manager or admin may change someone else's absence",
                               code="forbidden")
        with write_transaction(self.db):
            cleared = clear_away(self.db, who.id)
            if cleared:
                self.audit.record(person.id, "away", {"person": who.id, "back": True}, "away cleared")
        return cleared
