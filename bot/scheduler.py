"""One scheduler round: the mail rules, then the SLAs (due alerts, daily digests), then the outbox.

`mailroom run` calls `scheduler_tick` every `config.bot.sla_interval` (and after each sync);
`mailroom sla tick` runs the SLA part (`run_scheduler_once`) once, for cron and tests. Each step is safe to repeat and to run from
two processes: evaluation is incremental, alerts are unique per key, deliveries are claimed.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.reply import context
from bot.outbox import (
    Channel,
    DeliveryReport,
    deliver_pending,
    enqueue,
    team_destination,
    with_console,
)
from bot.report.chart_files import prune_chart_folders, reports_root
from bot.sla.engine import Evaluation
from bot.store.db import write_transaction

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

DIGEST_AT = time(9, 0)
"""Local time (organisation's zone) after which each team's daily digest is sent."""


@dataclass
class TickReport:
    evaluation: Evaluation
    alerts: int = 0
    digests: int = 0
    reports: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def line(self) -> str:
        e, d = self.evaluation, self.delivery
        return (f"evaluated ({e.scope}): {e.opened} opened, {e.closed} closed, {e.state_changes} state changes; "
                f"{self.alerts} alerts and {self.digests} digests queued; delivered {d.sent}, retrying {d.retrying}, "
                f"skipped {d.skipped}, failed {d.failed}")


def enqueue_digests(services: "Services", now: datetime) -> int:
    """Each SLA team's digest, once per local day, after DIGEST_AT; to its channel, else its manager."""
    zone = ZoneInfo(services.config.organization.timezone)
    local_now = now.astimezone(zone)
    if local_now.time() < DIGEST_AT:
        return 0
    day = local_now.date().isoformat()
    planned = []
    digests = services.sla_digests
    head = services.audit.head()
    for team_id in digests.teams():
        key = f"sla:digest:{team_id}:{day}"
        if services.db.execute("SELECT 1 FROM sla_alerts WHERE key = ?", [key]).fetchone():
            continue
        destination, route = team_destination(services.directory.teams[team_id]) or (
            None, f"team {team_id} has no channel and no manager")
        reply = digests.reply([digests.digest(team_id, now)], now)
        if head is not None:  # the audit chain head, anchored outside the archive by whoever keeps the digest
            reply.blocks.append(context(f"Audit chain head: entry {head[0]}, {head[1][:16]}"))
        planned.append((key, destination, route, reply))
    added = 0
    with write_transaction(services.db):
        for key, destination, route, reply in planned:
            added += enqueue(services.db, key=key, kind="digest", level="digest", now=now,
                             destination=destination, route=route, reply=reply)
    return added


def run_scheduler_once(services: "Services", channels: list[Channel] | None = None) -> TickReport:
    """Evaluate (incrementally), queue what became due, deliver through `channels` (+ the console)."""
    now = services.clock.now()
    report = TickReport(services.sla.evaluate(now))
    report.alerts = services.sla_alerts.enqueue(now)
    report.digests = enqueue_digests(services, now)
    if any(team.report for team in services.config.teams):  # (matplotlib loaded only where reports are on)
        report.reports = services.reports.enqueue_weekly(now)
    report.delivery = deliver_pending(services.db, with_console(channels), now)
    prune_chart_folders(reports_root(services.config.archive_path))
    log.debug("sla tick: %s", report.line())
    try:
        services.audit.anchor(now)
    except OSError as exc:
        log.warning("audit anchor not written to %s: %s", services.audit.anchor_path, exc)
    return report


def scheduler_tick(services: "Services", channels: list[Any]) -> TickReport:
    """One round for `Runner(tick=scheduler_tick)`: the rules tick, then the SLA round (which delivers
    the outbox, rules nudges included)."""
    try:
        services.rules.tick(services.clock.now())
    except Exception:  # noqa: BLE001 - a rules bug must not stop SLA alerts
        log.exception("rules tick failed")
    return run_scheduler_once(services, channels)
