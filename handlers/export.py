"""/export: a search result as a CSV or mbox file, for people with the export right on its mailboxes."""

from typing import Literal

from bot.chat.commands import Request, UsageError, command
from bot.core.reply import Reply, context, heading


@command("export", usage="/export [csv|mbox] QUERY  (same query language as /search)")
def export(request: Request) -> Reply:
    """export: write the mail a search finds to a CSV or mbox file (needs the export right)"""
    text = request.text.strip()
    fmt: Literal["csv", "mbox"] = "csv"
    first, _, rest = text.partition(" ")
    asked = first.lower().lstrip("-").removeprefix("format=")
    if asked in ("csv", "mbox"):
        fmt, text = ("mbox" if asked == "mbox" else "csv"), rest.strip()
    if not text:
        raise UsageError("Export what? Give a search query.")
    result = request.services.search.export(request.person, text, fmt)
    blocks = [heading(f"Exported {result.count} messages ({fmt}) to {result.path}")]
    if result.truncated:
        blocks.append(context(f"Only the newest {result.count} matches were exported; narrow the query for the rest."))
    data = {"path": str(result.path), "count": result.count, "format": fmt, "mailboxes": result.mailboxes,
            "truncated": result.truncated, "query": text}
    return Reply(command="export", blocks=blocks, data=data)
