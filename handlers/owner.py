"""/owner: who owns a customer (by name, alias, domain or e-mail), /owner mine, /owner @person."""

from datetime import datetime
from typing import Any

from bot.chat.commands import Request, UsageError, command
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.reply import Block, Button, Reply, ReplyError, bullets, context, echo, fields, heading
from bot.customers.inference import effective_owner, inferred_customers_of
from bot.customers.matching import Resolution
from bot.customers.ownership import SOURCE_WORDS, customers_of
from bot.customers.report import (
    OPEN_THREADS_SHOWN,
    OwnerFacts,
    crm_known_from,
    crm_unknown_owner_line,
    customer_facts,
    customer_ref,
    local_date,
    match_json,
    open_threads,
    person_ref,
)
from bot.mail.visibility import hidden_note

MINE = frozenset({"mine", "me", "my", "我的", "我"})
LIST_SHOWN = 50


@command(
    "owner",
    usage="/owner <customer | domain | e-mail>  ·  /owner mine  ·  /owner @person",
    aliases=("who",),
    patterns=(
        r"^who\s+owns\s+(?P<args>.+)$",
        r"^whose\s+customer\s+is\s+(?P<args>.+)$",
        r"^who(?:'s|\s+is)\s+(?:the\s+)?owner\s+of\s+(?P<args>.+)$",
        r"^who\s+is\s+responsible\s+for\s+(?P<args>.+)$",
        r"^(?P<args>my)\s+customers[?？]*$",
        r"^(?P<args>我的)客户[?？]*$",
        r"^(?P<args>.+?)\s*是谁的客户\s*[?？。!！]*$",
        r"^谁负责\s*(?P<args>.+)$",
        r"^(?P<args>.+?)\s*(?:是)?谁负责的?\s*[?？。!！]*$",
        r"^(?P<args>.+?)\s*的?(?:负责人|业务员|跟进人)是谁\s*[?？。!！]*$",
    ),
)
def owner(request: Request) -> Reply:
    """owner: who owns a customer (name, alias, domain or e-mail); "mine" or @person lists someone's"""
    query = request.text.strip().strip("\"'“”「」").strip()
    if not query:
        raise UsageError("Which customer? Give a name, a domain or an e-mail address.")
    directory = request.services.directory
    if query.lower() in MINE:
        return customers_reply(request, request.person)
    if query.startswith(("@", "<@")):
        person = directory.find_person(query)
        if person is not None:
            return customers_reply(request, person)
        if query.startswith("<@") or "." not in query:  # "@nobody", or a chat mention Mailroom does not know
            known = ", ".join(p.id for p in request.services.config.people)
            raise CommandError(f"{echo(query)} is not in Mailroom's people list (people: {known}).",
                               code="unknown_person")
        query = query.lstrip("@")  # "@acme-trading.de": a domain, not a person
    resolution = request.services.customer_index.get().resolve(query)
    if resolution.status == "found":
        return found_reply(request, query, resolution)
    if resolution.status == "ambiguous":
        return ambiguous_reply(request, query, resolution)
    return no_match_reply(request, query, resolution, command="owner")


def found_reply(request: Request, query: str, resolution: Resolution) -> Reply:
    best = resolution.matches[0]
    now = request.now
    services = request.services
    facts = customer_facts(services.db, services.directory, services.visibility, services.sla,
                           best.customer.id, now=now, reader=request.person)
    zone = request.services.config.organization.timezone
    blocks = [
        heading(f"{facts.customer.name} — {_owner_line(facts)}"),
        fields(*_fact_fields(facts, request.services.directory, zone, now)),
    ]
    if facts.open_threads:
        shown = [_thread_line(t, zone, now) for t in facts.open_threads[:OPEN_THREADS_SHOWN]]
        more = len(facts.open_threads) - len(shown)
        blocks.append(bullets(shown + ([f"… and {more} more"] if more > 0 else []),
                              title="Waiting on us (last message from the customer):"))
    if facts.crm_owner_unknown and facts.source != "none":
        blocks.append(context(f"Note: {crm_unknown_owner_line(facts)}"))
    if facts.open_hidden:
        blocks.append(context(hidden_note(facts.open_hidden, "open thread", more=bool(facts.open_threads))))
    if best.score < 100 or _raw(best.matched) != _raw(query):
        blocks.append(context(f"“{echo(query)}” matched {best.via} “{best.matched}” (score {best.score:g})"))
    data = {
        "query": query,
        "status": "found",
        "matches": [match_json(services.db, services.directory, m, now) for m in resolution.matches[:1]],
        "details": facts.model_dump(mode="json"),
    }
    return Reply(command="owner", blocks=blocks, data=data)


def ambiguous_reply(request: Request, query: str, resolution: Resolution) -> Reply:
    now = request.now
    services = request.services
    matches = [match_json(services.db, services.directory, m, now) for m in resolution.matches]
    lines = [
        f"{m['customer']['name']} — {_owner_name(m['owner'])} ({SOURCE_WORDS[m['source']]}) · score {m['score']:g}"
        for m in matches
    ]
    return Reply(
        command="owner",
        blocks=[heading(f"Several customers match “{echo(query)}”. Which one?"), bullets(lines)],
        buttons=[Button(label=f"{m.customer.name} ({m.score:g})", command=f"/owner {m.customer.name}")
                 for m in resolution.matches],
        data={"query": query, "status": "ambiguous", "matches": matches},
    )


def no_match_reply(request: Request, query: str, resolution: Resolution, *, command: str,
                   again: str = "/owner {name}") -> Reply:
    """Say so, name the closest customers, and offer each as a button that asks again."""
    suggestions = resolution.suggestions
    message = f"No customer matches “{echo(query)}”."
    if suggestions:
        message += " Closest: " + ", ".join(f"{m.customer.name} ({m.score:g})" for m in suggestions) + "."
    return Reply(
        command=command,
        text=message,
        buttons=[Button(label=m.customer.name, command=again.format(name=m.customer.name)) for m in suggestions],
        error=ReplyError(code="no_match", message=message),
        data={"query": query, "status": "none", "matches": [],
              "suggestions": [{"customer": customer_ref(m.customer).model_dump(), "score": m.score}
                              for m in suggestions]},
    )


def customers_reply(request: Request, person: Person) -> Reply:
    """The customers a person owns: explicitly (CRM, assignment, handover) or inferred from mail."""
    services, now = request.services, request.now
    db, directory = services.db, services.directory
    owned = [(cid, effective_owner(db, directory, cid, now=now)[1]) for cid in customers_of(db, person.id)]
    owned += [(cid, "inferred") for cid in inferred_customers_of(db, directory, person.id, now=now)]
    index = services.customer_index.get()
    rows: list[dict[str, Any]] = []
    for cid, source in owned:
        record = index.customers.get(cid)
        if record is None:
            continue
        rows.append({"customer": customer_ref(record).model_dump(), "source": source,
                     "open_threads": len(open_threads(db, cid))})
    rows.sort(key=lambda r: (r["source"] == "inferred", r["customer"]["name"].casefold()))
    who = "You own" if person.id == request.person.id else f"{person.name} owns"
    lines = [f"{r['customer']['name']} — {SOURCE_WORDS[r['source']]}"
             + (f" · {r['open_threads']} open" if r["open_threads"] else "") for r in rows[:LIST_SHOWN]]
    if len(rows) > LIST_SHOWN:
        lines.append(f"… and {len(rows) - LIST_SHOWN} more (--json has them all)")
    blocks: list[Block] = [heading(f"{who} {len(rows)} customer{'s' if len(rows) != 1 else ''}")]
    if lines:
        blocks.append(bullets(lines))
    ref = person_ref(directory, person.id)
    return Reply(command="owner", blocks=blocks,
                 data={"status": "person", "person": ref.model_dump() if ref else None, "customers": rows})


def _owner_line(facts: OwnerFacts) -> str:
    if facts.owner is None:
        return "no owner known"
    return f"owner {facts.owner.name}" + (f", backup {facts.backup.name}" if facts.backup else "")


def _owner_name(owner: dict[str, Any] | None) -> str:
    return owner["name"] if owner else "no owner"


def _fact_fields(facts: OwnerFacts, directory: Directory, zone: str, now: datetime) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if facts.owner is not None:
        pairs.append(("Owner", f"{facts.owner.name} <{facts.owner.email}>" if facts.owner.email else facts.owner.name))
    if facts.backup is not None:
        pairs.append(("Backup", facts.backup.name))
    pairs.append(("Known from", _how_known(facts, directory, zone, now)))
    pairs.append(("Last inbound", local_date(facts.last_inbound, zone, now)))
    pairs.append(("Last outbound", local_date(facts.last_outbound, zone, now)))
    pairs.append(("Open threads", str(facts.open_count)))
    return pairs


def _how_known(facts: OwnerFacts, directory: Directory, zone: str, now: datetime) -> str:
    unknown = crm_unknown_owner_line(facts)
    if facts.source == "none" and unknown:
        return unknown
    if facts.source == "none":
        return "nobody in the CRM, and nobody has answered their mail yet — /assign sets an owner"
    if facts.source == "pool":
        return "in the customer pool (公海): nobody followed up in time — /claim customer NAME takes it"
    if facts.source == "inferred" and facts.evidence is not None and facts.owner is not None:
        times = "once" if facts.evidence.messages == 1 else f"{facts.evidence.messages} times"
        return (f"inferred from mail: {facts.owner.name} answered {times}, last on "
                f"{local_date(facts.evidence.last_at, zone, now)}")
    since = local_date(facts.since, zone, now).split(" (")[0] if facts.since else "?"
    if facts.source == "crm":
        return crm_known_from(facts, zone)
    by = person_ref(directory, facts.by) if facts.by else None
    text = f"{SOURCE_WORDS[facts.source]} by {by.name if by else '?'} on {since}"
    return text + (f": {facts.reason}" if facts.reason else "")


def _thread_line(thread: Any, zone: str, now: datetime) -> str:
    boxes = ", ".join(b.split("@")[0] + "@" for b in thread.mailboxes)
    line = f"{thread.subject or '(no subject)'} — from the customer {local_date(thread.last_inbound, zone, now)}"
    if boxes:
        line += f" · {boxes}"
    if thread.sla:
        line += f" · SLA {thread.sla.get('state', '?')}"
    return line


def _raw(text: str) -> str:
    return " ".join(text.casefold().split())
