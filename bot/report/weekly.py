"""The weekly report per team (`[[teams]] report = "mon 09:00"`), and the report as a chat Reply.

Once a week, at the team's local day and time (the organisation's zone), the team's figures for the
last 7 days are drawn and queued in the outbox under the key `report:weekly:<team>:<date>`: unique, so a
report is queued once however many processes tick, and delivered once per platform (the outbox's
`sending` / `sent` rows), surviving restarts. A tick more than `CATCH_UP` after the time (the bot was
down) skips that week rather than posting an old report.

Rights: the team channel is read by every member and the manager, so the figures count only mailboxes
all of them may read (the choke point's `Audience.team`, as for SLA alerts); with no channel the report goes to the team's manager, on the
manager's rights. Chart files live beside the archive, in `reports/`.
"""

import logging
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.reply import Image, Reply, context, fields, heading
from bot.outbox import Destination, enqueue
from bot.report.charts import render
from bot.report.figures import compute
from bot.report.summary import summary_fields, title
from bot.store.db import write_transaction

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATCH_UP = timedelta(hours=24)
WEEK_DAYS = 7


def parse_schedule(text: str) -> tuple[int, time]:
    """"mon 09:00" → (0, 09:00) (validated by the config already)."""
    day, at = text.split(" ")
    hour, minute = at.split(":")
    return WEEKDAYS.index(day), time(int(hour), int(minute))


def latest_slot(schedule: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The latest scheduled local instant at or before `now`."""
    weekday, at = parse_schedule(schedule)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = datetime.combine(day, at, tzinfo=zone)
    return slot if slot <= local else slot - timedelta(days=7)


def report_dir(services: "Services", name: str) -> Path:
    return services.config.archive_path.parent / "reports" / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def team_rights(services: "Services", team_id: str) -> list[str]:
    """Mailboxes every reader of the team's channel (its members and manager) may read: the choke point's
    judgement of a channel post (`Audience.team`)."""
    from bot.mail.visibility import Audience

    audience = Audience.team(services.directory, team_id)
    return [m for m in services.directory.mailboxes if services.visibility.may_read(audience, [m])]


def report_reply(services: "Services", *, now: datetime, rights: list[str], team: str | None = None,
                 person: str | None = None, days: int = WEEK_DAYS, out_dir: Path, command: str = "report",
                 note: str = "") -> Reply:
    """The figures drawn as charts in `out_dir`, and a Reply with a short summary and the charts as images.
    `data`: {"period", "figures", "charts": [{"name", "path", "title"}]} (as `mailroom report --json`)."""
    result = compute(services.db, services.config, now=now, rights=rights, team=team, person=person, days=days,
                     policies=services.sla.policies)
    charts = render(result, out_dir)
    directory = services.directory
    name = (directory.people[person].name if person else directory.teams[team].name if team
            else services.config.organization.name)
    blocks = [heading(title(result, name)), fields(*summary_fields(result))]
    if note:
        blocks.append(context(note))
    return Reply(command=command, blocks=blocks,
                 images=[Image(path=c.path, title=c.title) for c in charts],
                 data={"period": result.period.model_dump(mode="json"), "figures": result.figures.model_dump(mode="json"),
                       "charts": [c.model_dump(mode="json") for c in charts]})


def enqueue_weekly_reports(services: "Services", now: datetime) -> int:
    """Queue each team's weekly report once, at its configured local day and time."""
    zone = ZoneInfo(services.config.organization.timezone)
    added = 0
    for team in services.config.teams:
        if not team.report:
            continue
        slot = latest_slot(team.report, now, zone)
        if now - slot > CATCH_UP:
            continue
        key = f"report:weekly:{team.id}:{slot.date().isoformat()}"
        if services.db.execute("SELECT 1 FROM sla_alerts WHERE key = ?", [key]).fetchone():
            continue
        c = team.channels
        if any((c.slack, c.telegram, c.wecom, c.wecom_robot_key_env)):
            destination, route, rights = Destination("team", None, team.id), "weekly report: team channel", \
                team_rights(services, team.id)
        elif team.manager and team.manager in services.directory.people:
            manager = services.directory.people[team.manager]
            destination, route, rights = Destination("person", manager.id, None), "weekly report: manager", \
                services.permissions.readable_mailboxes(manager)
        else:
            log.info("weekly report of team %s: no channel and no manager", team.id)
            continue
        reply = report_reply(services, now=now, rights=rights, team=team.id, days=WEEK_DAYS,
                             out_dir=report_dir(services, key.replace(":", "-")), command="report.weekly")
        with write_transaction(services.db):
            added += enqueue(services.db, key=key, kind="report", level="report", now=now, destination=destination,
                             route=route, reply=reply)
    return added
