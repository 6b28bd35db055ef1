"""/sla: customer mail waiting on us, and acting on it (ack, snooze, resolve)."""

from bot.chat.commands import Request, UsageError, command
from bot.core.display import short_mailbox
from bot.core.errors import CommandError
from bot.core.reply import Reply, echo, fields, heading
from bot.sla.view import item_json, item_line, list_reply, local, person_name, visible_items

USAGE = ("/sla [mine | breached | team <id> | show <id> | ack <id> | snooze <id> <4h> | resolve <id> | digest [team]]")


@command(
    "sla",
    usage=USAGE,
    patterns=(
        r"^(?:what(?:'s| is) (?:waiting|overdue)|who(?:'s| is) waiting|sla)\s*(?P<args>mine|breached)?\W*$",
        r"^(?:超时|等待回复|待回复)(?P<args>)$",
    ),
)
def sla(request: Request) -> Reply:
    """sla: customer mail waiting on us — open items, worst first; ack, snooze or resolve one"""
    args = request.args
    verb = args[0].lower() if args else ""
    if verb in ("", "all", "open"):
        return _list(request, "all", None, "SLA")
    if verb == "mine":
        return _list(request, "mine", None, f"SLA — {request.person.name}'s customers")
    if verb == "breached":
        return _list(request, "breached", None, "SLA breached")
    if verb == "team":
        if len(args) != 2:
            raise UsageError("name the team, e.g. /sla team sales")
        team = request.services.directory.teams.get(args[1].lower())
        if team is None:
            known = ", ".join(t.id for t in request.services.config.teams)
            raise CommandError(f"no team {echo(args[1])!r} (teams: {known})", code="unknown_team")
        return _list(request, "all", team.id, f"SLA — {team.name}")
    if verb in ("ack", "resolve", "show") or (verb == "snooze" and len(args) == 3):
        if len(args) < 2:
            raise UsageError(f"/sla {verb} needs an item id")
        return _act(request, verb, args[1:])
    if verb == "snooze":
        raise UsageError("e.g. /sla snooze 12 4h")
    if verb == "digest":
        return _digest(request, args[1:])
    if verb.lstrip("#").isdigit():
        return _act(request, "show", args)
    raise UsageError(f"unknown /sla option {echo(args[0])!r}")


def _list(request: Request, scope: str, team: str | None, title: str) -> Reply:
    services = request.services
    items = visible_items(services.db, services.sla, services.permissions, services.directory, request.person,
                          request.now, scope=scope, team=team)
    return list_reply(services.directory, items, request.now, title=title)


def _act(request: Request, verb: str, rest: list[str]) -> Reply:
    services, person, now = request.services, request.person, request.now
    directory = services.directory
    zone = services.config.organization.timezone
    if verb == "show":
        services.sla.evaluate(now)
        item = services.sla_actions.load_item(person, rest[0], now)
        return Reply(
            command="sla",
            blocks=[heading(item_line(item, directory, now)),
                    fields(("Mailbox", item.mailbox), ("From", item.sender), ("Message-ID", item.message_id),
                           ("Warning at", local(item.warn_at, zone)), ("Due", local(item.due_at, zone)),
                           ("Escalation at", local(item.escalate_at, zone)))],
            data={"item": item_json(item, directory)},
        )
    if verb == "ack":
        item = services.sla_actions.ack(person, rest[0])
        text = f"#{item.id} acknowledged by {person_name(directory, item.acked_by)}: no further escalation."
    elif verb == "snooze":
        item = services.sla_actions.snooze(person, rest[0], rest[1])
        text = f"#{item.id} snoozed until {local(item.snoozed_until or 0, zone)}: alerts wait until then."
    else:
        item = services.sla_actions.resolve(person, rest[0])
        text = f"#{item.id} resolved by {person.name}: the {item.kind.replace('_', ' ')} clock is stopped."
    text += f" ({short_mailbox(item.mailbox)} · {item.customer} · {item.subject})"
    return Reply(command="sla", text=text, data={"action": verb, "item": item_json(item, directory)})


def _digest(request: Request, rest: list[str]) -> Reply:
    services = request.services
    sla_digests = services.sla_digests
    readable = set(services.permissions.readable_mailboxes(request.person))
    teams = [t for t in sla_digests.teams() if not rest or t == rest[0].lower()]
    if rest and not teams:
        known = ", ".join(sla_digests.teams())
        raise CommandError(f"no team {echo(rest[0])!r} with an SLA mailbox (teams: {known})",
                           code="unknown_team")
    services.sla.evaluate(request.now)
    digests = [sla_digests.digest(t, request.now) for t in teams]
    digests = [d for d in digests if set(d.mailboxes) <= readable]
    return sla_digests.reply(digests, request.now)
