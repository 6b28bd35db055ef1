"""The alert outbox: alerts are rows in the archive, delivered through every configured channel.

Guarantees:
- Each alert row is written once (a unique key per (waiting message, level)); restarts re-read rows.
- Per (alert, platform) a delivery row records the attempts. It is marked `sending` and committed
  *before* the channel is called, and `sent` after. A crash in between leaves it `sending`; once its
  lease has run out it is sent again — at most once more — with the same idempotency key, so a
  platform (or the adapter's own sent-keys table) can drop the duplicate.
- A retryable failure (`DeliveryError`: rate limit, network, 5xx) keeps the delivery pending with
  exponential backoff (or the platform's Retry-After): an adapter that is down loses nothing.
  Another `MailroomError` from a channel means "never deliverable there" (no chat id, refused), and
  any other exception is retried a few times and then given up, logged.
- A platform that comes up later still gets the alerts of the last `DELIVERY_WINDOW` — except SLA
  alerts whose item has closed meanwhile (answered): those become `obsolete` instead of arriving late.

The channel contract below is what the Slack, Telegram and WeCom adapters implement.
"""

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.config import Team
from bot.core.errors import MailroomError
from bot.core.reply import Reply
from bot.store.db import write_transaction

log = logging.getLogger(__name__)

SENDING_LEASE = timedelta(minutes=2)
"""A delivery left `sending` this long is taken to be a crash mid-send and is sent again."""
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
MAX_ATTEMPTS_UNEXPECTED = 6
"""Unexpected exceptions (bugs, not platform trouble) are retried this often, then given up."""
DELIVERY_WINDOW = timedelta(hours=48)
"""Alerts stay deliverable this long: a platform down or not running for less loses nothing."""
BATCH = 500


class DeliveryError(MailroomError):
    """A retryable delivery failure (e.g. 429, network, 5xx); `retry_after` in seconds when known."""

    def __init__(self, message: str = "delivery failed", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after: float | None = retry_after


@dataclass(frozen=True)
class Destination:
    """Whom an alert is for; each channel maps it to its own ids (Person.slack, Team.channels, …)."""

    kind: Literal["person", "team"]
    person_id: str | None
    team_id: str | None

    def describe(self) -> str:
        return f"person:{self.person_id}" if self.kind == "person" else f"team:{self.team_id}"


def team_destination(team: Team, label: str = "") -> tuple[Destination, str] | None:
    """Where a team's own post goes, with its route: the team's chat channel when it has one, else its
    manager; None when neither. `label` begins the route ("weekly report: " → "weekly report: manager")."""
    if team.channels.configured:
        return Destination("team", None, team.id), f"{label}team channel"
    if team.manager:
        return Destination("person", team.manager, None), f"{label}manager"
    return None


class Channel(Protocol):
    platform: str  # "console", "slack", "telegram", "wecom"

    def send(self, destination: "Destination", reply: Reply, *, idempotency_key: str) -> None: ...


class ConsoleChannel:
    """The channel that is always configured: it writes each alert to the log.

    Only the routing facts (level, item, mailbox, destination), at INFO; at DEBUG the kind of reply and
    its size — never its text: an alert holds a subject and a customer, and logs (even `-v`) must not
    carry the subjects of mailboxes their reader may not read. A mail body is never part of an alert.
    """

    platform = "console"

    def __init__(self, logger: logging.Logger | None = None):
        self.log = logger or logging.getLogger("mailroom.alerts")
        self.sent: deque[tuple[Destination, Reply, str]] = deque(maxlen=1000)  # the latest, for inspection

    def send(self, destination: Destination, reply: Reply, *, idempotency_key: str) -> None:
        alert = reply.data.get("alert", {})
        self.log.info(
            "alert %s: %s item #%s %s → %s",
            idempotency_key, alert.get("level", reply.command), alert.get("item", "-"), alert.get("mailbox", ""),
            destination.describe(),
        )
        self.log.debug("alert %s: %s, %d characters, %d blocks", idempotency_key, reply.command, len(reply.text),
                       len(reply.blocks))
        self.sent.append((destination, reply, idempotency_key))


def with_console(channels: list[Channel] | None) -> list[Channel]:
    """The given channels, plus a console channel unless one is among them."""
    channels = list(channels or [])
    if not any(c.platform == "console" for c in channels):
        channels.insert(0, ConsoleChannel())
    return channels


def enqueue(
    db: Database, *, key: str, kind: str, level: str, now: datetime, destination: Destination | None,
    route: str, reply: Reply, item: int | None = None, status: str | None = None,
) -> bool:
    """Add one alert unless its key exists (call inside a transaction); True when added."""
    status = status or ("pending" if destination is not None else "undeliverable")
    cursor = db.execute(
        "INSERT OR IGNORE INTO sla_alerts (key, kind, item, level, created_at, dest_kind, dest_person, dest_team,"
        " route, reply, status, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            key, kind, item, level, iso(now),
            destination.kind if destination else None,
            destination.person_id if destination else None,
            destination.team_id if destination else None,
            route, reply.model_dump_json(), status, None if status == "pending" else iso(now),
        ],
    )
    return cursor.rowcount > 0


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """The platform's Retry-After when given; else 30 s, 1 min, 2 min, … up to an hour."""
    if retry_after is not None:
        return timedelta(seconds=max(0.0, min(retry_after, BACKOFF_CAP.total_seconds())))
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def deliver_pending(db: Database, channels: list[Channel], now: datetime, *, limit: int = BATCH) -> DeliveryReport:
    """Deliver every alert that is due on every channel; safe to run from several processes."""
    report = DeliveryReport()
    _retire(db, now)
    for channel in channels:
        rows = db.execute(
            """SELECT a.id, a.key, a.dest_kind, a.dest_person, a.dest_team, a.reply,
                      d.status, d.attempts, d.next_at, d.claimed_at
               FROM sla_alerts a LEFT JOIN sla_deliveries d ON d.alert = a.id AND d.platform = ?
               WHERE a.status = 'pending'
                 AND (d.status IS NULL OR (d.status = 'pending' AND d.next_at <= ?)
                      OR (d.status = 'sending' AND d.claimed_at <= ?))
               ORDER BY a.id LIMIT ?""",
            [channel.platform, iso(now), iso(now - SENDING_LEASE), limit],
        ).fetchall()
        for row in rows:
            _deliver_one(db, channel, row, now, report)
    return report


def _deliver_one(db: Database, channel: Channel, row: tuple, now: datetime, report: DeliveryReport) -> None:
    alert_id, key, dest_kind, dest_person, dest_team, reply_json, status, attempts, next_at, claimed_at = row
    platform = channel.platform
    if status == "pending" and next_at > iso(now):
        return
    if status == "sending" and claimed_at > iso(now - SENDING_LEASE):
        return  # another process is sending it right now (or crashed less than a lease ago)
    with write_transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO sla_deliveries (alert, platform, status, attempts, next_at) VALUES (?, ?, 'pending', 0, ?)",
            [alert_id, platform, iso(now)],
        )
        claimed = db.execute(
            "UPDATE sla_deliveries SET status = 'sending', attempts = attempts + 1, claimed_at = ? "
            "WHERE alert = ? AND platform = ? AND status = ? AND attempts = ?",
            [iso(now), alert_id, platform, status or "pending", attempts or 0],
        ).rowcount
    if not claimed:
        return
    attempts = (attempts or 0) + 1
    destination = Destination(dest_kind, dest_person, dest_team)
    reply = Reply.model_validate_json(reply_json)
    outcome, error, next_time = "sent", None, now
    try:
        channel.send(destination, reply, idempotency_key=key)
    except DeliveryError as exc:
        outcome, error = "pending", str(exc)
        next_time = now + backoff(attempts, exc.retry_after)
        report.retrying += 1
    except MailroomError as exc:
        outcome, error = "skipped", str(exc)
        report.skipped += 1
    except Exception as exc:  # noqa: BLE001 - a bug in one adapter must not stop the others
        log.exception("channel %s failed on alert %s", platform, key)
        error = f"{type(exc).__name__}: {exc}"
        if attempts >= MAX_ATTEMPTS_UNEXPECTED:
            outcome = "failed"
            report.failed += 1
        else:
            outcome, next_time = "pending", now + backoff(attempts, None)
            report.retrying += 1
    else:
        report.sent += 1
    if error:
        report.errors.append(f"{platform} {key}: {error}")
        log.warning("alert %s on %s: %s (%s)", key, platform, error, outcome)
    with write_transaction(db):
        db.execute(
            "UPDATE sla_deliveries SET status = ?, next_at = ?, last_error = ?, sent_at = ? "
            "WHERE alert = ? AND platform = ?",
            [outcome, iso(next_time), error, iso(now) if outcome == "sent" else None, alert_id, platform],
        )


def _retire(db: Database, now: datetime) -> None:
    """Alerts older than the delivery window with nothing in flight are done; SLA alerts whose item
    closed meanwhile (the customer was answered while a platform was down) are obsolete, not sent late."""
    with write_transaction(db):
        db.execute(
            """UPDATE sla_alerts SET status = 'obsolete', done_at = ?
               WHERE status = 'pending' AND kind = 'sla' AND item IS NOT NULL
                 AND EXISTS (SELECT 1 FROM sla_items i WHERE i.id = sla_alerts.item AND i.closed_at IS NOT NULL)
                 AND NOT EXISTS (SELECT 1 FROM sla_deliveries d
                                 WHERE d.alert = sla_alerts.id AND d.status = 'sending')""",
            [iso(now)],
        )
        db.execute(
            """UPDATE sla_alerts SET status = 'done', done_at = ?
               WHERE status = 'pending' AND created_at < ?
                 AND NOT EXISTS (SELECT 1 FROM sla_deliveries d
                                 WHERE d.alert = sla_alerts.id AND d.status IN ('pending', 'sending'))""",
            [iso(now), iso(now - DELIVERY_WINDOW)],
        )
