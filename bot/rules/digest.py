"""Compliance figures per team and person: milestone mails with the right CCs, subject conventions kept,
quotation files named right, collisions, customers moved to the pool — over the last `days` days.

The SLA digest (bot/sla/digest.py) has no extension hook, so these figures are their own daily digest
(`rules:digest:<team>:<day>` in the outbox, after 09:00 local time, to the team's channel or its
manager) and `mailroom rules digest`. Figures only, no subjects or customers: safe for a team channel.
"""

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.directory import Directory
from bot.core.reply import Reply, context, fields, heading
from bot.outbox import enqueue, team_destination
from bot.store.db import write_transaction

DIGEST_AT = time(9, 0)
WINDOW_DAYS = 7
CHECKS = {"milestone_cc": "milestones", "subject_convention": "subjects", "quotation_name": "quotations"}


class RuleFigures(BaseModel):
    """How one person (or team) kept the guide's rules: checks passed of checks made, collisions, pool moves.

    The one model for these counts: the rules digest and the managers' report (bot/report/) both use it."""

    milestones: int = 0
    milestones_ok: int = 0
    subjects: int = 0
    subjects_ok: int = 0
    quotations: int = 0
    quotations_ok: int = 0
    collisions: int = 0
    pool_moves: int = 0

    def add(self, other: "RuleFigures") -> None:
        for key, value in other.model_dump().items():
            setattr(self, key, getattr(self, key) + value)

    @property
    def empty(self) -> bool:
        return not any(self.model_dump().values())

    def share(self, name: str) -> float | None:
        """`name`_ok / `name` (milestones, subjects, quotations), None when nothing was checked."""
        total = getattr(self, name)
        return round(getattr(self, f"{name}_ok") / total, 4) if total else None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.model_dump()
        for name in ("milestones", "subjects", "quotations"):
            out[f"{name}_share"] = self.share(name)
        return out


def person_figures(db: Database, now: datetime, days: int = WINDOW_DAYS) -> dict[str, RuleFigures]:
    since = iso(now - timedelta(days=days))
    until = iso(now)
    found: dict[str, RuleFigures] = {}

    def of(person_id: str) -> RuleFigures:
        return found.setdefault(person_id, RuleFigures())

    for person_id, rule, total, ok in db.execute(
        "SELECT person_id, rule, count(*), sum(ok) FROM rule_checks WHERE person_id IS NOT NULL AND at >= ? AND at <= ? "
        "GROUP BY person_id, rule", [since, until]
    ):
        name = CHECKS.get(rule)
        if name:
            figures = of(person_id)
            setattr(figures, name, total)
            setattr(figures, f"{name}_ok", ok or 0)
    for person_id, owner in db.execute(
        "SELECT person_id, expected FROM rule_violations WHERE rule = 'collision' AND at >= ? AND at <= ?", [since, until]
    ):
        for who in {person_id, owner} - {None}:
            of(who).collisions += 1
    for (person_id,) in db.execute(
        "SELECT person_id FROM pool_events WHERE kind = 'moved' AND at >= ? AND at <= ? AND person_id IS NOT NULL",
        [since, until],
    ):
        of(person_id).pool_moves += 1
    return found


def digest_data(db: Database, directory: Directory, now: datetime, days: int = WINDOW_DAYS) -> dict[str, Any]:
    people = person_figures(db, now, days)
    teams: list[dict[str, Any]] = []
    collisions = db.execute(
        "SELECT person_id, expected FROM rule_violations WHERE rule = 'collision' AND at >= ? AND at <= ?",
        [iso(now - timedelta(days=days)), iso(now)]).fetchall()
    for team in directory.teams.values():
        total = RuleFigures()
        members = {p.id for p in directory.members_of(team.id)}
        for person_id, figures in people.items():
            if person_id in members:
                total.add(figures)
        total.collisions = sum(1 for a, b in collisions if a in members or b in members)
        if not total.empty:
            teams.append({"team": team.id, "name": team.name, **total.as_json()})
    rows = [{"person": pid, "name": directory.people[pid].name if pid in directory.people else pid,
             "teams": directory.people[pid].teams if pid in directory.people else [], **figures.as_json()}
            for pid, figures in sorted(people.items()) if not figures.empty]
    return {"window_days": days, "since": iso(now - timedelta(days=days)), "until": iso(now), "teams": teams,
            "people": rows}


def _share(ok: int, total: int) -> str:
    return f"{ok} of {total} ({ok / total:.0%})" if total else "—"


def digest_reply(zone: str, data: dict[str, Any], now: datetime, *, team: str | None = None) -> Reply:
    """`zone`: the organization's time zone (the day in the heading)."""
    day = now.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d")
    blocks = []
    teams = [t for t in data["teams"] if team is None or t["team"] == team]
    for t in teams:
        blocks += [
            heading(f"Mail rules — {t['name']} ({day}, last {data['window_days']} days)"),
            fields(
                ("Milestones with the right CCs", _share(t["milestones_ok"], t["milestones"])),
                ("Subjects [RFQ]-Customer-Product-Date", _share(t["subjects_ok"], t["subjects"])),
                ("Quotation files named right", _share(t["quotations_ok"], t["quotations"])),
                ("Collisions (撞单)", str(t["collisions"])),
                ("Customers moved to the pool (公海)", str(t["pool_moves"])),
            ),
        ]
        members = [p for p in data["people"] if t["team"] in p["teams"]]
        for p in members:
            blocks.append(context(
                f"{p['name']}: CC {_share(p['milestones_ok'], p['milestones'])} · subjects "
                f"{_share(p['subjects_ok'], p['subjects'])} · files {_share(p['quotations_ok'], p['quotations'])} · "
                f"collisions {p['collisions']} · pool moves {p['pool_moves']}"))
    if not teams:
        blocks.append(heading(f"Mail rules: nothing to report for the last {data['window_days']} days."))
    scoped = dict(data, teams=teams, people=[p for p in data["people"] if team is None or team in p["teams"]])
    return Reply(command="rules.digest", blocks=blocks, data={"digest": scoped})


def enqueue_digests(db: Database, directory: Directory, zone: str, now: datetime) -> int:
    """Each team's rules digest once per local day after DIGEST_AT (team channel, else its manager)."""
    local_now = now.astimezone(ZoneInfo(zone))
    if local_now.time() < DIGEST_AT:
        return 0
    day = local_now.date().isoformat()
    data = digest_data(db, directory, now)
    added = 0
    with write_transaction(db):
        for t in data["teams"]:
            key = f"rules:digest:{t['team']}:{day}"
            team = directory.teams[t["team"]]
            found = team_destination(team, "rules digest: ")
            if found is None:
                continue
            destination, route = found
            added += enqueue(db, key=key, kind="digest", level="digest", now=now, destination=destination,
                             route=route, reply=digest_reply(zone, data, now, team=team.id))
    return added
