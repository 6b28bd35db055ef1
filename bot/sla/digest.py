"""The daily SLA digest per team: open and breached items, share answered within SLA, median response.

Figures only — no subjects, no customers — so the digest may go to the team's channel as it is.
"Answered within SLA" counts the first responses given in the last 7 days — read from the archive by
the clocks' own rules, so mail from before the engine's first run counts too — and how many came
before their due time; the median first-response time is measured on the policy's own clock
(business hours where the policy has them).
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.core.directory import Directory
from bot.core.durations import format_duration
from bot.core.reply import Reply, context, fields, heading
from bot.sla.engine import first_responses
from bot.sla.items import open_items
from bot.sla.policies import Policies

WINDOW = timedelta(days=7)


@dataclass
class TeamDigest:
    team: str
    name: str
    mailboxes: list[str]
    open: int
    by_state: dict[str, int]
    breached: int
    answered_7d: int
    answered_in_sla_7d: int
    share_in_sla_7d: float | None
    median_first_response_minutes: float | None

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class SlaDigests:
    """The daily digests of one archive. `zone` is the organisation's time zone (the digest's date)."""

    db: Database
    directory: Directory
    policies: Policies
    zone: str

    def teams(self) -> list[str]:
        """Teams that work at least one mailbox with an SLA policy."""
        policies = self.policies
        teams = {m.team for m in self.directory.mailboxes.values()
                 if m.team and m.address in policies.by_mailbox}
        return [t.id for t in self.directory.teams.values() if t.id in teams]

    def digest(self, team_id: str, now: datetime) -> TeamDigest:
        """One team's figures at `now`."""
        policies = self.policies
        team = self.directory.teams[team_id]
        mailboxes = [m.address for m in self.directory.mailboxes.values()
                     if m.team == team_id and m.address in policies.by_mailbox]
        items = open_items(self.db, now, mailboxes=mailboxes)
        by_state = {state: 0 for state in ("ok", "warning", "breached", "escalated")}
        for item in items:
            by_state[item.state] += 1
        answered = 0
        in_sla = 0
        minutes = []
        for mailbox, started, replied in first_responses(self.db, mailboxes, now - WINDOW, now):
            clock = policies.clock_for(mailbox, "first_response")
            if clock is None:
                continue
            answered += 1
            in_sla += replied <= clock.calendar.add(started, clock.seconds)
            minutes.append(clock.calendar.elapsed(started, replied) / 60)
        return TeamDigest(
            team=team_id,
            name=team.name,
            mailboxes=mailboxes,
            open=len(items),
            by_state=by_state,
            breached=by_state["breached"] + by_state["escalated"],
            answered_7d=answered,
            answered_in_sla_7d=in_sla,
            share_in_sla_7d=round(in_sla / answered, 4) if answered else None,
            median_first_response_minutes=round(median(minutes), 1) if minutes else None,
        )


    def reply(self, digests: list[TeamDigest], now: datetime) -> Reply:
        """The digests as one Reply (`data.digest[]`), dated in the organisation's time zone."""
        day = now.astimezone(ZoneInfo(self.zone)).strftime("%a %Y-%m-%d")
        blocks = []
        for d in digests:
            share = (f"{d.answered_in_sla_7d} of {d.answered_7d} ({d.share_in_sla_7d:.0%})"
                     if d.share_in_sla_7d is not None else "no first responses in 7 days")
            med = (format_duration(timedelta(minutes=d.median_first_response_minutes))
                   if d.median_first_response_minutes is not None else "—")
            blocks += [
                heading(f"Daily SLA digest — {d.name} ({day})"),
                fields(
                    ("Open", str(d.open)),
                    ("Breached", str(d.breached)),
                    ("Warning", str(d.by_state["warning"])),
                    ("Answered within SLA (7 days)", share),
                    ("Median first response (7 days)", med),
                ),
                context("Mailboxes: " + ", ".join(d.mailboxes)),
            ]
        if not digests:
            blocks.append(heading("No team works a mailbox with an SLA policy."))
        return Reply(command="sla.digest", blocks=blocks, data={"digest": [d.as_json() for d in digests]})
