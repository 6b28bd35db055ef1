"""What a handover does to the alert outbox: pending SLA alerts follow the customers, briefs go out.

SLA items carry no owner of their own — their owner is the customer's effective owner, looked up when
an alert is routed — so once ownership moves, every open thread and every *future* alert of the
customer goes to the new owner by itself. What remains are alerts already queued but not yet sent
(pending in `sla_alerts`, no delivery `sent` or in flight): they were routed to the old owner, so they
are routed again with the SLA engine's own rules (`bot.sla.alerts.Router`: owner → backup when away,
never where the mailbox may not be read) and their rendered text is rebuilt. Undo does the same back.

The brief is a person message in the same outbox (kind `handover`), so it is delivered, retried and
de-duplicated exactly like alerts, by whichever chat platforms run.
"""

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.core.directory import Directory
from bot.core.reply import Reply
from bot.outbox import Destination, enqueue
from bot.sla.items import Item, attach_owners, select_items

if TYPE_CHECKING:
    from bot.sla.alerts import Router

RouterFor = Callable[[datetime], "Router"]
"""The SLA engine's alert router as of `now` (bot.sla.alerts.Router): owner → backup when away, never
where the mailbox may not be read."""
RenderAlert = Callable[[Item, str, datetime, str], Reply]
"""The SLA engine's alert text for (item, level, now, route) (bot.sla.alerts.alert_reply)."""

_UNSENT_OF_CUSTOMERS = """
    SELECT a.id, a.key, a.item, a.level, a.dest_kind, a.dest_person, a.dest_team, a.route, m.customer_id,
           i.mailbox, m.subject
    FROM sla_alerts a
    JOIN sla_items i ON i.id = a.item
    JOIN messages m ON m.id = i.message
    WHERE a.status = 'pending' AND a.kind = 'sla' AND m.customer_id IN ({marks})
      AND NOT EXISTS (SELECT 1 FROM sla_deliveries d WHERE d.alert = a.id AND d.status IN ('sent', 'sending'))
    ORDER BY a.id
"""


def _describe(kind: str | None, person: str | None, team: str | None) -> str:
    if kind == "person":
        return f"person:{person}"
    if kind == "team":
        return f"team:{team}"
    return "nobody"


def pending_alerts(db: Any, customer_ids: list[int]) -> list[dict[str, Any]]:
    """SLA alerts of these customers' items that are queued and not sent anywhere yet."""
    if not customer_ids:
        return []
    sql = _UNSENT_OF_CUSTOMERS.format(marks=", ".join("?" for _ in customer_ids))
    keys = ("alert", "key", "item", "level", "dest_kind", "dest_person", "dest_team", "route", "customer_id",
            "mailbox", "subject")
    rows = [dict(zip(keys, row, strict=True)) for row in db.execute(sql, list(customer_ids)).fetchall()]
    for row in rows:
        row["destination"] = _describe(row["dest_kind"], row["dest_person"], row["dest_team"])
    return rows


@dataclass(frozen=True, eq=False)
class HandoverAlerts:
    """Re-routes a handover's unsent SLA alerts with the SLA engine's own router and alert text."""

    db: Database
    directory: Directory
    _: KW_ONLY
    router_for: RouterFor
    render_alert: RenderAlert

    def reroute(self, customer_ids: list[int], now: datetime, *, note: str) -> list[dict[str, Any]]:
        """Route the unsent alerts of these customers again, for their owners as they are now (call inside the
        transaction that changed the ownership). Returns what moved: alert, key, item, level, from, to."""
        db = self.db
        rows = pending_alerts(db, customer_ids)
        if not rows:
            return []
        item_ids = sorted({row["item"] for row in rows})
        items = {i.id: i for i in select_items(db, now, f"i.id IN ({', '.join('?' for _ in item_ids)})", item_ids)}
        attach_owners(db, self.directory, list(items.values()), now)
        router = self.router_for(now)
        moved: list[dict[str, Any]] = []
        for row in rows:
            item = items.get(row["item"])
            if item is None:
                continue
            destination, route = router.route(item, row["level"])
            if destination is None:
                continue  # nobody may receive it now: keep the old destination rather than lose the alert
            new = _describe(destination.kind, destination.person_id, destination.team_id)
            if new == row["destination"]:
                continue
            route = f"{route}; re-routed by {note}"
            reply = self.render_alert(item, row["level"], now, route)
            changed = db.execute(
                "UPDATE sla_alerts SET dest_kind = ?, dest_person = ?, dest_team = ?, route = ?, reply = ? "
                "WHERE id = ? AND status = 'pending'",
                [destination.kind, destination.person_id, destination.team_id, route, reply.model_dump_json(),
                 row["alert"]],
            ).rowcount
            if not changed:
                continue
            # attempts at the old destination (pending, skipped for want of a chat id, failed) start afresh
            db.execute("DELETE FROM sla_deliveries WHERE alert = ? AND status NOT IN ('sent', 'sending')",
                       [row["alert"]])
            moved.append({"alert": row["alert"], "key": row["key"], "item": row["item"], "level": row["level"],
                          "customer_id": row["customer_id"], "from": row["destination"], "to": new})
        return moved


def send_to_people(
    db: Database, *, key_prefix: str, level: str, reply: Reply, recipients: dict[str, str], now: datetime
) -> list[str]:
    """Queue `reply` for each person in `recipients` (person id → why), once per key; returns the keys."""
    keys: list[str] = []
    for person_id, why in recipients.items():
        key = f"{key_prefix}:{person_id}"
        enqueue(db, key=key, kind="handover", level=level, now=now,
                destination=Destination("person", person_id, None), route=why, reply=reply)
        keys.append(key)
    return keys
