"""`mailroom report`: the managers' figures and charts for a team or person over the last N days."""

import json
from pathlib import Path
from typing import Any

import click

from bot.core.errors import MailroomError


@click.command("report")
@click.option("--team", metavar="ID", help="One team's mailboxes and people (default: the whole organisation).")
@click.option("--person", metavar="ID", help="One person: the first responses they gave, their customers' clocks.")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="The period, ending now.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="mailroom-report", show_default=True,
              help="Folder for the PNG charts.")
@click.option("--as", "who", metavar="PERSON", help="Only mailboxes this person may read (default: all).")
@click.option("--json", "as_json", is_flag=True,
              help='JSON: {"data": {"period", "figures", "charts": [{"name", "path", "title"}]}}.')
@click.pass_obj
def report(app: Any, team: str | None, person: str | None, days: int, out_dir: str, who: str | None,
           as_json: bool) -> None:
    """Figures and PNG charts: response times, breaches per day, open items by age, customers waiting
    longest, inquiry volume, mail-rule compliance, handovers."""
    services = app.services
    directory = services.directory
    if team is not None and team.lower() not in directory.teams:
        raise MailroomError(f"--team {team}: no such team (teams: {', '.join(directory.teams)})")
    person_id = None
    if person is not None:
        found = directory.find_person(person)
        if found is None:
            raise MailroomError(f"--person {person}: no such person (known: {', '.join(directory.people)})")
        person_id = found.id
    reader = app.person(who) if who else None
    rights = services.permissions.readable_mailboxes(reader) if reader else list(directory.mailboxes)
    now = services.clock.now()
    services.sla.evaluate(now)
    reply = services.reports.reply(now=now, rights=rights, team=team.lower() if team else None, person=person_id,
                                   days=days, out_dir=Path(out_dir))
    if as_json:
        click.echo(json.dumps({"data": reply.data}, ensure_ascii=False, indent=2))
        return
    heading, summary = reply.blocks[0], reply.blocks[1]
    click.echo(heading.text)
    for label, value in summary.fields:
        click.echo(f"  {label}: {value}")
    click.echo("Charts:")
    for chart in reply.data["charts"]:
        click.echo(f"  {chart['path']}  {chart['title']}")
