"""SLA items as people see them: the waiting message's subject and customer, its owner, its state now."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.customers.inference import effective_owner
from bot.customers.ownership import owner_of
from bot.sla.text_rules import LEVEL_RANK, level_of

log = logging.getLogger(__name__)


@dataclass
class Item:
    """An SLA item as people see it."""

    id: int
    message_pk: int
    message_id: str
    thread_id: int
    mailbox: str
    kind: str
    policy: str
    customer_id: int | None
    customer: str
    subject: str
    sender: str
    started: int
    warn_at: int
    due_at: int
    escalate_at: int
    acked_at: int | None
    acked_by: str | None
    snoozed_until: int | None
    snoozed_by: str | None
    closed_at: int | None
    close_reason: str | None
    alerted: int
    state: str = "ok"
    owner: str | None = None
    owner_source: str = "none"

    def state_at(self, now_s: int) -> str:
        return level_of(now_s, self.warn_at, self.due_at, self.escalate_at)

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.state]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


_ITEM_COLUMNS = """i.id, i.message, m.message_id, i.thread_id, i.mailbox, i.kind, i.policy, m.customer_id,
    COALESCE(c.name, NULLIF(m.from_name, ''), m.from_addr), m.subject, m.from_addr, i.started, i.warn_at,
    i.due_at, i.escalate_at, i.acked_at, i.acked_by, i.snoozed_until, i.snoozed_by, i.closed_at,
    i.close_reason, i.alerted"""
_ITEM_FROM = "sla_items i JOIN messages m ON m.id = i.message LEFT JOIN customers c ON c.id = m.customer_id"


def select_items(db: Database, now: datetime, where: str, params: list[Any] | dict[str, Any]) -> list[Item]:
    """Items matching a WHERE clause over `sla_items i` (fixed SQL from this package, values as params)."""
    now_s = int(now.timestamp())
    items = [Item(*row) for row in db.execute(f"SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE {where}", params)]
    for item in items:
        item.state = item.state_at(now_s)
    return items


def open_items(db: Database, now: datetime, *, mailboxes: list[str] | None = None) -> list[Item]:
    """Open items (in `mailboxes` when given), worst first: escalated, breached, warning, ok; then by due."""
    where, params = "i.closed_at IS NULL", []
    if mailboxes is not None:
        if not mailboxes:
            return []
        where += f" AND i.mailbox IN ({', '.join('?' for _ in mailboxes)})"
        params = list(mailboxes)
    items = select_items(db, now, where, params)
    items.sort(key=lambda it: (-it.rank, it.due_at, it.id))
    return items


def get_item(db: Database, item_id: int, now: datetime) -> Item | None:
    found = select_items(db, now, "i.id = ?", [item_id])
    return found[0] if found else None


def owner_for(db: Database, directory: Any, customer_id: int | None, now: datetime) -> tuple[str | None, str]:
    """The customer's effective owner (bot.customers.inference); the explicit owner if inference fails."""
    if customer_id is None:
        return None, "none"
    try:
        return effective_owner(db, directory, customer_id, now=now)
    except Exception:  # noqa: BLE001 - a broken inference must not stop alerts: fall back to explicit
        log.exception("effective_owner failed for customer %s; using the explicit owner", customer_id)
    explicit = owner_of(db, customer_id)
    return (explicit.person_id, explicit.source) if explicit else (None, "none")


def attach_owners(db: Database, directory: Any, items: list[Item], now: datetime) -> list[Item]:
    """Fill `owner` / `owner_source`, one lookup per customer."""
    cache: dict[int | None, tuple[str | None, str]] = {}
    for item in items:
        if item.customer_id not in cache:
            cache[item.customer_id] = owner_for(db, directory, item.customer_id, now)
        item.owner, item.owner_source = cache[item.customer_id]
    return items
