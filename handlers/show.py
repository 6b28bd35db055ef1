"""/show: one archived message — its text and attachment names — if the asker may read it."""

from zoneinfo import ZoneInfo

from bot.chat.commands import Request, UsageError, command
from bot.core.display import local_time, short_mailbox
from bot.core.reply import Reply, bullets, context, fields, heading, paragraph

BODY_LIMIT = 3000
"""Characters of body text put in a chat reply (the whole text is in the reply's data)."""


@command(
    "show",
    usage="/show ID  (the #number from /search, or a Message-ID)",
    patterns=(r"^(?:show|open)\s+(?:message\s+|mail\s+)?(?P<args>#?\d+)$", r"^(?:显示|查看|打开)\s*(?:邮件)?\s*(?P<args>#?\d+)$"),
)
def show(request: Request) -> Reply:
    """show: print one archived message (text and attachment names)"""
    if len(request.args) != 1:
        raise UsageError("Which message? Give its #number from /search.")
    view = request.services.search.show(request.person, request.args[0])
    zone = ZoneInfo(request.services.config.organization.timezone)
    who = f"{view.from_name} <{view.from_addr}>" if view.from_name else view.from_addr
    facts = [("From", who), ("Date", local_time(view.date, zone))]
    if view.to:
        facts.append(("To", ", ".join(view.to)))
    if view.cc:
        facts.append(("Cc", ", ".join(view.cc)))
    boxes = [short_mailbox(m) for m in view.mailboxes if m]
    if boxes:
        facts.append(("Mailboxes", ", ".join(boxes)))
    if view.customer:
        facts.append(("Customer", view.customer))
    if view.category:
        facts.append(("Category", view.category))
    body = view.body.strip() or "(no text)"
    blocks = [heading(f"#{view.id}  {view.subject or '(no subject)'}"), fields(*facts)]
    if len(body) > BODY_LIMIT:
        blocks.append(paragraph(body[:BODY_LIMIT] + "…"))
        blocks.append(context(f"{len(body) - BODY_LIMIT} more characters: /export \"{view.message_id}\" for the whole text"))
    else:
        blocks.append(paragraph(body))
    if view.attachments:
        blocks.append(bullets(view.attachments, title="Attachments:"))
    data = {
        "id": view.id, "message_id": view.message_id, "subject": view.subject, "from": view.from_addr,
        "from_name": view.from_name, "to": view.to, "cc": view.cc, "date": view.date, "mailboxes": view.mailboxes,
        "customer": view.customer, "category": view.category, "direction": view.direction, "body": view.body,
        "attachments": view.attachments, "thread_id": view.thread_id,
    }
    return Reply(command="show", blocks=blocks, data=data)
