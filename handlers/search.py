"""/search: the archive, searched fast and typo-tolerantly, showing only mail the asker may read."""

from zoneinfo import ZoneInfo

from bot.chat.commands import Request, UsageError, command
from bot.core.display import local_time, short_mailbox
from bot.core.reply import Button, Reply, bullets, context, echo, heading
from bot.search.engine import Hit, Result

MORE_WORDS = ("more", "next", "更多", "下一页")
USAGE = ('/search WORDS ["exact phrase"] [PO 4521] [mailbox:order from:amy to:… customer:acme category:po '
         "after:2026-01-01 before:… has:attachment in:sent]  ·  /search more")


@command(
    "search",
    usage=USAGE,
    aliases=("mailsearch",),
    patterns=(r"^search(?:\s+for)?\s+(?P<args>.+)$", r"^(?:搜索|查找|搜一下|搜)\s*[:：]?\s*(?P<args>.+)$"),
)
def search(request: Request) -> Reply:
    """search: find archived mail by words, phrases, document numbers, Chinese or typos, with filters"""
    text = request.text.strip()
    if not text:
        raise UsageError("What should I look for?")
    service = request.services.search
    if text.lower() in MORE_WORDS:
        result = service.more(request.person)
    else:
        result = service.search(request.person, text)
    zone = ZoneInfo(request.services.config.organization.timezone)
    return render_result(result, zone)


def render_result(result: Result, zone: ZoneInfo) -> Reply:
    data = {
        "query": result.query,
        "page": result.page,
        "page_size": result.page_size,
        "matched": result.matched,
        "complete": result.complete,
        "more": result.more,
        "corrections": result.corrections,
        "timed_out": result.timed_out,
        "hits": [hit.as_data() for hit in result.hits],
    }
    corrected = ""
    if result.corrections:
        pairs = ", ".join(f"{wrong} → {right}" for wrong, right in result.corrections.items())
        corrected = f" (spelling: {pairs})"
    if not result.hits:
        text = (f"No more results for “{echo(result.query)}”." if result.page > 1
                else f"Nothing found for “{echo(result.query)}”{corrected}.")
        return Reply(command="search", blocks=[heading(text)], data=data)
    first = (result.page - 1) * result.page_size + 1
    last = first + len(result.hits) - 1
    count = f"{result.matched}" if result.complete else f"{result.matched}+"
    blocks = [
        heading(f"{count} results for “{echo(result.query)}”{corrected} — {first}–{last}"),
        bullets([hit_line(hit, zone) for hit in result.hits]),
    ]
    buttons: list[Button] = []
    if result.timed_out:
        blocks.append(context(f"Searching took long, so only the newest {result.matched} matches were ranked; "
                              "add words or filters to narrow."))
    elif not result.complete:
        blocks.append(context(f"Ranked the newest {result.matched} matches; add words or filters to narrow."))
    if result.more:
        blocks.append(context("More: /search more  ·  open one: /show ID"))
        buttons.append(Button(label="More", command="/search more"))
    else:
        blocks.append(context("Open one: /show ID"))
    return Reply(command="search", blocks=blocks, buttons=buttons, data=data)


def hit_line(hit: Hit, zone: ZoneInfo) -> str:
    who = f"{hit.sender} <{hit.from_addr}>" if hit.sender else hit.from_addr
    facts = [who, local_time(hit.date, zone)]
    if hit.mailboxes:
        facts.append(", ".join(short_mailbox(m) for m in hit.mailboxes))
    if hit.customer:
        facts.append(hit.customer)
    if hit.category:
        facts.append(f"[{hit.category}]")
    lines = [f"#{hit.id}  {hit.subject or '(no subject)'}", "   " + " · ".join(f for f in facts if f)]
    if hit.snippet:
        lines.append(f"   {hit.snippet}")
    return "\n".join(lines)


