"""/audit: the latest entries of the hash-chained audit log, and a check of the chain (managers, admins)."""

from zoneinfo import ZoneInfo

from bot.chat.commands import Request, UsageError, command
from bot.core.clock import parse_instant
from bot.core.reply import Block, Reply, ReplyError, bullets, context, heading

DEFAULT_SHOWN = 20
MAX_SHOWN = 200


@command("audit", usage="/audit [N]  ·  /audit verify", min_role="manager")
def audit(request: Request) -> Reply:
    """audit: the latest audit log entries — who changed what, when (managers and admins); verify checks the chain"""
    log = request.services.audit
    args = request.args
    if args and args[0].lower() == "verify":
        problem = log.verify()
        count = request.services.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        if problem is None:
            return Reply(command="audit", text=f"Audit log intact: {count} entries, hash chain unbroken.",
                         data={"intact": True, "entries": count})
        message = f"Audit log broken: {problem.line()}."
        return Reply(command="audit", text=message, error=ReplyError(code="broken", message=message),
                     data={"intact": False, "entries": count, "first_broken": problem.entry_id,
                           "reason": problem.reason})
    if len(args) > 1 or (args and not args[0].isdigit()):
        raise UsageError()
    limit = min(MAX_SHOWN, max(1, int(args[0]))) if args else DEFAULT_SHOWN
    entries = log.recent(limit)
    zone = ZoneInfo(request.services.config.organization.timezone)
    lines = [f"#{e['id']} {parse_instant(e['at']).astimezone(zone):%Y-%m-%d %H:%M} · {e['actor']} · "
             f"{e['command']} · {e['result']}" for e in entries]
    blocks: list[Block] = [heading(f"Audit log: the latest {len(entries)} entries, newest first")]
    if lines:
        blocks.append(bullets(lines))
    blocks.append(context("Entries are hash-chained: `/audit verify` or `mailroom audit verify` checks them."))
    return Reply(command="audit", blocks=blocks, data={"entries": entries})
