"""/away: someone is out; their SLA alerts go to a backup meanwhile."""

from zoneinfo import ZoneInfo

from bot.chat.commands import Request, UsageError, command
from bot.core.config import Person
from bot.core.errors import CommandError
from bot.core.reply import Reply, bullets, echo, heading
from bot.sla.away import current_aways
from bot.sla.view import person_name

SELF = frozenset({"me", "i", "myself", "我", "本人"})
USAGE = "/away <person> until <YYYY-MM-DD> [backup <person>] | /away <person> back | /away"


@command("away", usage=USAGE, patterns=(r"^(?P<args>\S+ (?:is )?away until .+)$", r"^(?P<args>\S+) 休假到 .+$"))
def away(request: Request) -> Reply:
    """away: someone is out until a date; their alerts go to their backup meanwhile"""
    services, args = request.services, [a for a in request.args if a.lower() != "is"]
    directory = services.directory
    zone = services.config.organization.timezone
    if not args:
        aways = current_aways(services.db, request.now)
        lines = [f"{person_name(directory, a.person_id)} until {a.until.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} "
                 f"→ backup {person_name(directory, a.backup)}" for a in aways]
        return Reply(
            command="away",
            blocks=[heading(f"Away now: {len(aways)}"), *([bullets(lines)] if lines else [])],
            data={"away": [{"person": a.person_id, "until": a.until.isoformat(), "backup": a.backup} for a in aways]},
        )
    who = _person(request, args[0])
    if len(args) == 2 and args[1].lower() in ("back", "off", "cancel"):
        cleared = services.sla_actions.back(request.person, who)
        text = f"{who.name} is back: alerts go to them again." if cleared else f"{who.name} was not away."
        return Reply(command="away", text=text, data={"person": who.id, "away": False})
    if len(args) not in (3, 5) or args[1].lower() != "until" or (len(args) == 5 and args[3].lower() != "backup"):
        raise UsageError()
    backup = _person(request, args[4]) if len(args) == 5 else None
    until, backup_id = services.sla_actions.away(request.person, who, args[2], backup)
    local_until = until.astimezone(ZoneInfo(zone))
    text = (f"{who.name} is away until {local_until:%Y-%m-%d %H:%M}; "
            f"their alerts go to {person_name(directory, backup_id)} meanwhile.")
    return Reply(command="away", text=text,
                 data={"person": who.id, "away": True, "until": until.isoformat(), "backup": backup_id})


def _person(request: Request, text: str) -> Person:
    if text.strip().lower() in SELF:
        return request.person
    person = request.services.directory.find_person(text)
    if person is None:
        known = ", ".join(p.id for p in request.services.config.people)
        raise CommandError(f"no person {echo(text)!r} (known: {known})", code="unknown_person")
    return person
