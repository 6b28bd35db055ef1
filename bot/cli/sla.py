"""`mailroom sla`: waiting customer mail from the command line; `tick` for cron; `digest` per team."""

import json
from typing import Any

import click

from bot.cli.output import echo_reply
from bot.core.errors import MailroomError


@click.group("sla", invoke_without_command=True)
@click.option("--as", "who", metavar="PERSON", help="Only what this person may see (default: everything).")
@click.option("--json", "as_json", is_flag=True,
              help="JSON: data.items[] with message_id, thread_id, mailbox, customer, subject, owner, "
                   "waiting_since, due, state, policy.")
@click.option("--state", type=click.Choice(["ok", "warning", "breached", "escalated"]), multiple=True,
              help="Only items in this state (repeatable).")
@click.pass_context
def sla(ctx: click.Context, who: str | None, as_json: bool, state: tuple[str, ...]) -> None:
    """Open SLA items (customer mail waiting on us), worst first."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.sla.view import list_reply, visible_items

    app = ctx.obj
    services = app.services
    person = app.person(who) if who else None
    now = services.clock.now()
    items = visible_items(services.db, services.sla, services.permissions, services.directory, person, now)
    if state:
        items = [i for i in items if i.state in state]
    title = f"SLA — as {person.name}" if person else "SLA — all mailboxes"
    echo_reply(list_reply(services.directory, items, now, title=title, show=len(items) if not as_json else 20,
                           data_limit=None), as_json)


@sla.command("tick")
@click.option("--full", is_flag=True, help="Re-evaluate every thread, not only those touched since the last run.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def tick(app: Any, full: bool, as_json: bool) -> None:
    """Evaluate SLAs, queue due alerts and digests, deliver the outbox once (for cron and tests)."""
    from dataclasses import asdict

    from bot.scheduler import run_scheduler_once

    services = app.services
    if full:
        services.sla.evaluate(services.clock.now(), full=True)
    # the console only: chat platforms deliver from `mailroom run`, which owns their connections; alerts
    # queued here stay pending for them (per platform) for the outbox's delivery window
    report = run_scheduler_once(services)
    if as_json:
        click.echo(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    else:
        click.echo(report.line())


@sla.command("digest")
@click.option("--team", "team_id", metavar="ID", help="One team (default: every team with an SLA mailbox).")
@click.option("--json", "as_json", is_flag=True, help="data.digest[]: open, breached, share within SLA, median.")
@click.pass_obj
def digest(app: Any, team_id: str | None, as_json: bool) -> None:
    """The daily digest per team: open and breached counts, share answered within SLA (7 days), median."""
    services = app.services
    digests = services.sla_digests
    teams = digests.teams()
    if team_id is not None:
        if team_id not in teams:
            raise MailroomError(f"--team {team_id}: no team with an SLA mailbox (teams: {', '.join(teams)})")
        teams = [team_id]
    now = services.clock.now()
    services.sla.evaluate(now)
    echo_reply(digests.reply([digests.digest(t, now) for t in teams], now), as_json)
