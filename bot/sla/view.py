"""How SLA items look: one chat line, the `--json` shape, local times."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.display import short_mailbox
from bot.core.durations import format_duration
from bot.core.permissions import Permissions
from bot.core.reply import Reply, bullets, context, heading
from bot.sla.items import Item

if TYPE_CHECKING:
    from bot.sla.engine import SlaEngine

STATE_ICONS = {"ok": "🟢", "warning": "🟡", "breached": "🔴", "escalated": "🚨"}
KIND_LABELS = {"first_response": "first response", "initial_solution": "initial solution"}


def utc_iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(epoch: int, zone: str) -> str:
    """'Tue 11-24 08:00' in the organisation's time zone."""
    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%a %m-%d %H:%M")


def parse_item_id(text: str) -> int | None:
    """'#12', '12' or 'S12' → 12."""
    cleaned = text.strip().lstrip("#").removeprefix("S").removeprefix("s")
    return int(cleaned) if cleaned.isdigit() else None


def person_name(directory: Directory, person_id: str | None) -> str:
    if person_id is None:
        return "nobody"
    person = directory.people.get(person_id)
    return person.name if person else person_id


def item_json(item: Item, directory: Directory) -> dict[str, Any]:
    """The `data.items[]` shape of `/sla` and `mailroom sla --json`."""
    return {
        "id": item.id,
        "message_id": item.message_id,
        "thread_id": item.thread_id,
        "mailbox": item.mailbox,
        "customer": item.customer,
        "subject": item.subject,
        "owner": item.owner,
        "owner_name": person_name(directory, item.owner) if item.owner else None,
        "owner_source": item.owner_source,
        "waiting_since": utc_iso(item.started),
        "due": utc_iso(item.due_at),
        "state": item.state,
        "policy": item.kind,
        "policy_name": item.policy,
        "acked_by": item.acked_by,
        "snoozed_until": utc_iso(item.snoozed_until),
    }


def item_line(item: Item, directory: Directory, now: datetime) -> str:
    zone = directory.config.organization.timezone
    marks = []
    if item.acked_by:
        marks.append(f"acked by {person_name(directory, item.acked_by)}")
    if item.snoozed_until and item.snoozed_until > now.timestamp():
        marks.append(f"snoozed until {local(item.snoozed_until, zone)}")
    waited = format_duration(now - datetime.fromtimestamp(item.started, UTC))
    parts = [
        f"#{item.id} {STATE_ICONS[item.state]} {item.state}",
        short_mailbox(item.mailbox),
        item.customer,
        item.subject or "(no subject)",
        f"owner {person_name(directory, item.owner)}",
        f"waiting since {local(item.started, zone)} ({waited})",
        f"due {local(item.due_at, zone)}",
        KIND_LABELS[item.kind],
    ]
    return " · ".join(parts) + (f" ({', '.join(marks)})" if marks else "")


def visible_items(
    db: Database, sla: "SlaEngine", permissions: Permissions, directory: Directory, person: Person | None,
    now: datetime, *, scope: str = "all", team: str | None = None
) -> list[Item]:
    """Open items the person may see (everything without a person), after an incremental evaluation.

    scope: "all", "mine" (owned by the person, or by someone away whose backup they are) or
    "breached" (breached and escalated); `team` keeps the mailboxes that team works.
    """
    from bot.sla.away import covered_by

    sla.evaluate(now)
    mailboxes = None if person is None else permissions.readable_mailboxes(person)
    if team is not None:
        worked = [m.address for m in directory.mailboxes.values() if m.team == team]
        mailboxes = [m for m in (mailboxes if mailboxes is not None else worked) if m in worked]
    items = sla.open_items(now, mailboxes=mailboxes)
    if scope == "mine" and person is not None:
        mine = {person.id, *covered_by(db, person.id, now)}
        items = [i for i in items if i.owner in mine]
    elif scope == "breached":
        items = [i for i in items if i.state in ("breached", "escalated")]
    return items


def list_reply(
    directory: Directory, items: list[Item], now: datetime, *, title: str, show: int = 20,
    data_limit: int | None = 200
) -> Reply:
    """Items, worst first: `show` lines in chat, up to `data_limit` in `data.items` (None: all)."""
    counts = {state: 0 for state in STATE_ICONS}
    for item in items:
        counts[item.state] += 1
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "nothing waiting"
    blocks = [heading(f"{title}: {len(items)} open ({summary})")]
    if items:
        blocks.append(bullets([item_line(i, directory, now) for i in items[:show]]))
    if len(items) > show:
        blocks.append(context(f"… and {len(items) - show} more (`mailroom sla --json` lists all)"))
    listed = items if data_limit is None else items[:data_limit]
    return Reply(
        command="sla",
        blocks=blocks,
        data={"items": [item_json(i, directory) for i in listed], "total": len(items), "counts": counts},
    )
