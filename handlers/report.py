"""/report: a team's (or everyone's) figures and charts for the last N days, sent as images."""

from bot.chat.commands import Request, UsageError, command
from bot.core.errors import CommandError
from bot.core.reply import Reply
from bot.outbox import Destination, enqueue
from bot.store.db import write_transaction

USAGE = "/report [team] [days]"
MAX_DAYS = 366


@command("report", usage=USAGE, patterns=(r"^(?:报表|周报)(?P<args>)$",))
def report(request: Request) -> Reply:
    """report: charts of response times, breaches, waiting customers, inquiries and mail rules, for a team"""
    services, person, now = request.services, request.person, request.now
    directory = services.directory
    team: str | None = None
    days = 7
    for arg in request.args:
        if arg.isdigit():
            days = int(arg)
            if not 1 <= days <= MAX_DAYS:
                raise UsageError(f"days must be between 1 and {MAX_DAYS}")
        elif arg.lower() in ("all", "everyone"):
            team = None
        elif arg.lower() in directory.teams:
            team = arg.lower()
        else:
            known = ", ".join(t.id for t in services.config.teams)
            raise CommandError(f"no team {arg!r} (teams: {known})", code="unknown_team")
    if not request.args and person.teams:
        team = person.teams[0]
    services.sla.evaluate(now)
    key = f"report:ask:{person.id}:{team or 'all'}:{days}:{int(now.timestamp())}"
    reports = services.reports
    reply = reports.reply(now=now, rights=services.permissions.readable_mailboxes(person), team=team,
                          days=days, out_dir=reports.report_dir(key.replace(":", "-")),
                          note="The charts follow as images in a direct message.")
    with write_transaction(services.db):  # the images go out through the outbox: once, whatever restarts
        queued = enqueue(services.db, key=key, kind="report", level="report", now=now,
                         destination=Destination("person", person.id, None), route="report: asked for", reply=reply)
    reply.data["queued"] = queued
    return reply
