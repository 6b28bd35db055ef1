"""/dashboard: a personal, short-lived sign-in link to the read-only dashboard; /dashboard revoke."""

from urllib.parse import quote

from bot.chat.commands import Request, UsageError, command
from bot.core.errors import CommandError
from bot.core.permissions import has_role
from bot.core.reply import Reply
from bot.report.access import LINK_TTL, SESSION_TTL, dashboard_url, issue_link, revoke

USAGE = "/dashboard  ·  /dashboard revoke [person]"


@command("dashboard", usage=USAGE, patterns=(r"^(?:dashboard|仪表盘|看板)(?P<args>)$",))
def dashboard(request: Request) -> Reply:
    """dashboard: a personal sign-in link to the read-only dashboard (valid 15 minutes, once); revoke ends sessions"""
    services, person, now = request.services, request.person, request.now
    args = request.args
    if not args:
        link = issue_link(services.db, services.audit, person.id, now)
        url = f"{dashboard_url()}/signin?t={quote(link.token, safe='.')}"
        minutes = int(LINK_TTL.total_seconds() // 60)
        text = (f"Your dashboard link (for you only, works once, within {minutes} minutes; the session lasts "
                f"{int(SESSION_TTL.total_seconds() // 3600)} h): {url}")
        return Reply(command="dashboard", text=text,
                     data={"url": url, "expires_at": link.expires_at, "person": person.id, "link": link.id})
    if args[0].lower() != "revoke" or len(args) > 2:
        raise UsageError()
    target = person
    if len(args) == 2:
        found = services.directory.find_person(args[1])
        if found is None:
            raise CommandError(f"no person {args[1]!r}", code="unknown_person")
        if found.id != person.id and not has_role(person, "manager"):
            raise CommandError("only managers and admins may end someone else's dashboard sessions", code="forbidden")
        target = found
    links, sessions = revoke(services.db, services.audit, target.id, person.id, now)
    return Reply(command="dashboard",
                 text=f"Dashboard access of {target.name} revoked: {links} unused link(s), {sessions} session(s) ended.",
                 data={"person": target.id, "links": links, "sessions": sessions})
