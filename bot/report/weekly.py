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
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.core.config import Config
from bot.core.directory import Directory
from bot.core.permissions import Permissions
from bot.core.reply import Image, Reply, context, fields, heading
from bot.mail.visibility import Audience, Visibility
from bot.outbox import enqueue, team_destination
from bot.report.chart_files import chart_folder
from bot.report.charts import render
from bot.report.figures import compute
from bot.report.summary import summary_fields, title
from bot.sla.policies import Policies
from bot.store.db import write_transaction

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


@dataclass(frozen=True, eq=False)
class Reports:
    """The managers' report of one archive, as a chat Reply with charts: asked for (/report) or weekly.
    `config` for the figures (`compute`), the archive's place and the organisation's name and zone."""

    db: Database
    config: Config
    directory: Directory
    permissions: Permissions
    visibility: Visibility
    policies: Policies

    def report_dir(self, name: str) -> Path:
        """Where a report's chart files go: beside the archive, in `reports/<name>` (bot/report/chart_files.py)."""
        return chart_folder(self.config.archive_path, name)

    def team_rights(self, team_id: str) -> list[str]:
        """Mailboxes every reader of the team's channel (its members and manager) may read: the choke point's
        judgement of a channel post (`Audience.team`)."""
        audience = Audience.team(self.directory, team_id)
        return [m for m in self.directory.mailboxes if self.visibility.may_read(audience, [m])]

    def reply(self, *, now: datetime, rights: list[str], team: str | None = None, person: str | None = None,
              days: int = WEEK_DAYS, out_dir: Path, command: str = "report", note: str = "") -> Reply:
        """The figures drawn as charts in `out_dir`, and a Reply with a short summary and the charts as
        images. `data`: {"period", "figures", "charts": [{"name", "path", "title"}]} (as
        `mailroom report --json`)."""
        result = compute(self.db, self.config, now=now, rights=rights, team=team, person=person, days=days,
                         policies=self.policies)
        charts = render(result, out_dir)
        directory = self.directory
        name = (directory.people[person].name if person else directory.teams[team].name if team
                else self.config.organization.name)
        blocks = [heading(title(result, name)), fields(*summary_fields(result))]
        if note:
            blocks.append(context(note))
        return Reply(command=command, blocks=blocks,
                     images=[Image(path=c.path, title=c.title) for c in charts],
                     data={"period": result.period.model_dump(mode="json"),
                           "figures": result.figures.model_dump(mode="json"),
                           "charts": [c.model_dump(mode="json") for c in charts]})

    def enqueue_weekly(self, now: datetime) -> int:
        """Queue each team's weekly report once, at its configured local day and time."""
        zone = ZoneInfo(self.config.organization.timezone)
        added = 0
        for team in self.config.teams:
            if not team.report:
                continue
            slot = latest_slot(team.report, now, zone)
            if now - slot > CATCH_UP:
                continue
            key = f"report:weekly:{team.id}:{slot.date().isoformat()}"
            if self.db.execute("SELECT 1 FROM sla_alerts WHERE key = ?", [key]).fetchone():
                continue
            found = team_destination(team, "weekly report: ")
            manager = self.directory.people.get(team.manager or "")
            if found is not None and found[0].kind == "team":
                rights = self.team_rights(team.id)
            elif found is not None and manager is not None:
                rights = self.permissions.readable_mailboxes(manager)
            else:
                log.info("weekly report of team %s: no channel and no manager", team.id)
                continue
            destination, route = found
            reply = self.reply(now=now, rights=rights, team=team.id, days=WEEK_DAYS,
                               out_dir=self.report_dir(key.replace(":", "-")), command="report.weekly")
            with write_transaction(self.db):
                added += enqueue(self.db, key=key, kind="report", level="report", now=now,
                                 destination=destination, route=route, reply=reply)
        return added
