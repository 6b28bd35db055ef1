"""/category, /claim, /pass, /pool: the chat side of the guide's mail rules (bot/rules/)."""

from zoneinfo import ZoneInfo

from bot.chat.commands import Request, UsageError, command
from bot.core.clock import parse_instant
from bot.core.reply import Button, Reply, bullets, context, heading

CATEGORY_USAGE = "/category <id> <category>  (order@: po | delivery | shipping | exception; support@: rma | complaint | spare)"


@command("category", usage=CATEGORY_USAGE, patterns=(r"^(?:category|分类)\s+(?P<args>#?\S+\s+\S+)$",))
def category(request: Request) -> Reply:
    """category: correct the category of an order@ or support@ message (leads or the mailbox's team)"""
    if len(request.args) != 2:
        raise UsageError("Give the message #id (from /search) and the right category.")
    services = request.services
    result = services.rules.categories.correct(request.person, request.args[0], request.args[1], request.now)
    was = result["from"] or "none"
    return Reply(
        command="category",
        blocks=[heading(f"#{result['id']} is now “{result['category']}” (was {was})."),
                context(f"Kept as an example: similar mail will be sorted the same way. Audit #{result['audit_id']}.")],
        data=result,
    )


@command("claim", usage="/claim <inquiry id> | /claim customer <name>",
         patterns=(r"^(?:claim|认领)\s+(?P<args>.+)$",))
def claim(request: Request) -> Reply:
    """claim: take a new inquiry proposed to you (or the team), or a customer from the pool (公海)"""
    args = request.args
    if not args:
        raise UsageError()
    services, now = request.services, request.now
    if args[0].lower() in ("customer", "客户"):
        if len(args) < 2:
            raise UsageError("Name the customer, e.g. /claim customer Polarm")
        result = services.rules.pool.claim(request.person, " ".join(args[1:]), now)
        if result["state"] == "pending":
            return Reply(command="claim",
                         text=f"Asked {', '.join(result.get('approvers', [])) or 'a lead'} to approve your claim on "
                              f"{result['customer']} (request #{result['request']}).", data=result)
        return Reply(command="claim", text=f"{result['customer']} is yours now (from the customer pool).", data=result)
    if len(args) != 1:
        raise UsageError()
    result = services.rules.router(now).claim(request.person, args[0], now)
    return Reply(command="claim", text=f"Inquiry #{result['id']} is yours: you own the customer now.", data=result)


@command("pass", usage="/pass <inquiry id>", patterns=(r"^(?:pass|转给下一位)\s+(?P<args>#?\d+)$",))
def pass_(request: Request) -> Reply:
    """pass: hand a new inquiry proposed to you on to the next person"""
    if len(request.args) != 1:
        raise UsageError()
    services, now = request.services, request.now
    result = services.rules.router(now).pass_(request.person, request.args[0], now)
    where = f"to {result['proposed_to']}" if result["proposed_to"] else "to the team channel"
    return Reply(command="pass", text=f"Inquiry #{result['id']} passed on {where}.", data=result)


@command("pool", usage="/pool | /pool approve <request> | /pool refuse <request>",
         patterns=(r"^(?:customer pool|公海)(?P<args>)$",))
def pool(request: Request) -> Reply:
    """pool: customers nobody has written to for too long (公海), to claim with /claim customer <name>"""
    services, now, args = request.services, request.now, request.args
    engine = services.rules
    if args and args[0].lower() in ("approve", "refuse"):
        if len(args) != 2:
            raise UsageError()
        result = engine.pool.decide(request.person, args[1], args[0].lower() == "approve", now)
        text = (f"{result['customer']} goes to {result.get('owner')}." if result["state"] == "claimed"
                else f"Request #{result['request']} refused.")
        return Reply(command="pool", text=text, data=result)
    if args:
        raise UsageError()
    items = engine.pool.listing()
    zone = ZoneInfo(services.config.organization.timezone)
    lines = [f"{i['customer']} ({i['country'] or '?'}) — in the pool since "
             f"{parse_instant(i['since']).astimezone(zone):%Y-%m-%d}, was {i['from'] or 'nobody'}'s" for i in items]
    after = engine.rules.pool.pool_after_days
    blocks = [heading(f"Customer pool (公海): {len(items)}")]
    if lines:
        blocks.append(bullets(lines))
    blocks.append(context(f"Customers return here after {after} days without mail from their owner."
                          if after else "The pool is off: set [rules.pool] pool_after_days in the config."))
    buttons = [Button(label=f"Claim {i['customer']}", command=f"/claim customer {i['customer']}") for i in items[:5]]
    return Reply(command="pool", blocks=blocks, buttons=buttons, data={"pool": items, "pool_after_days": after})
