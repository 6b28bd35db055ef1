"""/handover: a person's customers, open threads and pending alerts move to someone else.

`/handover <from> <to> [all | customer …] [--reason TEXT] [--yes]` answers with a preview and a Confirm
button; `/handover confirm|cancel|undo|show <id>` and `/handover list` follow. The domain rules (rights,
compare-and-set, undo window, audit) live in bot/handover/ (HandoverDesk, HandoverUndo), the replies in
bot/handover/view.py; this module parses: people by id, name, chat mention or e-mail, customers
fuzzy-matched as in /owner.
"""

import re
from typing import Any

from rapidfuzz import fuzz, process, utils

from bot.chat.commands import Request, UsageError, command
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.reply import Button, Reply, ReplyError, bullets, echo, failure, heading
from bot.customers.matching import Resolution
from bot.handover import view

USAGE = ("/handover <from> <to> [all | customer …] [--reason TEXT] [--yes]  ·  "
         "/handover confirm|cancel|undo|show <id>  ·  /handover list")
VERBS = ("confirm", "cancel", "undo", "show", "list")
ALL_WORDS = frozenset({"all", "everything", "全部", "所有", "所有客户", "全部客户"})
CONNECTORS = frozenset({"to", "->", "→", "=>", "给", "交给"})
MAX_NAME_WORDS = 6
RUN_COST = 0.5
"""Added per customer when splitting unquoted names: of two equally good splits, the one with fewer names."""
UNMATCHED_COST = 1000.0
_SEPARATORS = re.compile(r"\s*(?:[,;，；、]|\band\b|\s和\s)\s*")
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


@command("handover", usage=USAGE, patterns=(r"^hand\s*over\s+(?P<args>.+)$", r"^交接\s*(?P<args>.+)$"))
def handover(request: Request) -> Reply:
    """handover: move a person's customers, open threads and alerts to someone else (preview, confirm, undo)"""
    args = request.args
    if not args:
        raise UsageError("Who hands over to whom? e.g. /handover amy li all --reason \"Amy moves to QA\"")
    services = request.services
    verb = args[0].lower()
    if verb == "list":
        return view.list_reply(services.db, services.directory, request.person)
    if verb in VERBS:
        if len(args) != 2:
            raise UsageError(f"/handover {verb} needs the handover's id, e.g. /handover {verb} 3")
        handover_id = _id(args[1])
        zone = services.config.organization.timezone
        if verb == "confirm":
            confirmed = services.handover.confirm(request.person, handover_id)
            return view.confirmed_reply(services.directory, zone, confirmed, request.now)
        if verb == "cancel":
            cancelled = services.handover.cancel(request.person, handover_id)
            return Reply(command="handover", text=f"Handover #{cancelled.id} cancelled; nothing changed.",
                         data={"handover_id": cancelled.id, "state": cancelled.state})
        if verb == "undo":
            return view.undone_reply(services.directory, services.handover_undo.undo(request.person, handover_id))
        return view.show_reply(services.db, services.directory, services.handover_briefs, zone, request.person,
                               handover_id, request.now)
    return _start(request)


# ── starting one ───────────────────────────────────────────────────────────────────────────────


def _start(request: Request) -> Reply:
    services = request.services
    words, reason, yes = _options(request.args)
    giver, words = _person(request, words, role="from")
    if isinstance(giver, Reply):
        return giver
    words = words[1:] if words and words[0].lower() in CONNECTORS else words
    receiver, words = _person(request, words, role="to")
    if isinstance(receiver, Reply):
        return receiver
    if not isinstance(receiver, Person):
        raise CommandError(f"{receiver} is not in Mailroom's people list: a handover goes to a person there.",
                           code="unknown_person")
    giver_id = giver.id if isinstance(giver, Person) else giver
    if not words or (len(words) == 1 and words[0].lower() in ALL_WORDS):
        customer_ids = None
    else:
        resolved = _customers(request, words, giver_id, receiver, reason)
        if isinstance(resolved, Reply):
            return resolved
        customer_ids = resolved
    planned = services.handover.plan(request.person, giver_id, receiver, customer_ids, reason=reason)
    zone = services.config.organization.timezone
    if yes:
        return view.confirmed_reply(services.directory, zone, services.handover.confirm(request.person, planned.id),
                                    request.now)
    return view.preview_reply(services.db, services.directory, services.visibility, services.sla, zone, planned,
                              request.now, request.person)


def _options(args: list[str]) -> tuple[list[str], str | None, bool]:
    """Words without the options; --reason takes the words up to the next --option (quote it, or put it last)."""
    words: list[str] = []
    reason: list[str] | None = None
    yes = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.lower() in ("--yes", "-y", "--confirm"):
            yes = True
        elif arg.lower() == "--reason" or arg.lower().startswith("--reason="):
            reason = [arg.partition("=")[2]] if "=" in arg else []
            while i + 1 < len(args) and not args[i + 1].startswith("--"):
                i += 1
                reason.append(args[i])
        elif arg.startswith("--"):
            raise UsageError(f"unknown option {arg}")
        else:
            words.append(arg)
        i += 1
    text = " ".join(r for r in reason or [] if r).strip() or None
    return words, text, yes


def _person(request: Request, words: list[str], *, role: str) -> tuple[Person | str | Reply, list[str]]:
    """The person named at the start of `words` (one word, or a quoted or two-word name) and the words left.

    The giver may also be someone no longer in [[people]] who still owns customers (a leaver)."""
    directory = request.services.directory
    if not words:
        raise UsageError(f"Name the person who {'hands over' if role == 'from' else 'takes over'}.")
    for n in (2, 1):  # "Chen Hao Lucy Wang": the two-word name first
        if len(words) >= n:
            found = directory.find_person(_unmention(" ".join(words[:n])))
            if found is not None:
                return found, words[n:]
    key = _unmention(words[0]).lstrip("@").lower()
    if role == "from" and request.services.db.execute("SELECT 1 FROM ownership WHERE person_id = ? LIMIT 1",
                                                      [key]).fetchone():
        return key, words[1:]
    close = close_people(directory, words[0])
    where = "the giver" if role == "from" else "the receiver"
    message = f"No person “{echo(words[0])}” in Mailroom's people list ({where})."
    if close:
        message += " Closest: " + ", ".join(f"{p.name} ({p.id})" for p in close) + "."
    return failure("handover", "unknown_person", message, query=words[0], role=role,
                   suggestions=[view.person_json(directory, p.id) for p in close]), words


def _unmention(text: str) -> str:
    """'<@U0AMY|amy>' → '<@U0AMY>' (Slack's mention with a label)."""
    match = _SLACK_MENTION.match(text.strip())
    return f"<@{match.group(1)}>" if match else text


def close_people(directory: Directory, query: str, *, limit: int = 3) -> list[Person]:
    """People whose name, id or mail name is close to `query` (typos, partial names)."""
    choices = {p.id: f"{p.name} {p.id} {p.email.split('@')[0]}" for p in directory.config.people}
    found = process.extract(_unmention(query).lstrip("@<>"), choices, scorer=fuzz.WRatio,
                            processor=utils.default_process, limit=limit, score_cutoff=50)
    return [directory.people[key] for _, _, key in found]


def _customers(request: Request, words: list[str], giver_id: str, receiver: Person,
               reason: str | None) -> list[int] | Reply:
    """Customer ids for the named customers, or the reply that asks which one / says none matched."""
    index = request.services.customer_index.get()
    cache: dict[str, Resolution] = {}

    def resolve(text: str) -> Resolution:
        if text not in cache:
            cache[text] = index.resolve(text)
        return cache[text]

    joined = " ".join(words)
    if _SEPARATORS.search(joined):
        queries = [(q, resolve(q)) for q in _SEPARATORS.split(joined) if q.strip()]
    elif any(" " in w for w in words):
        queries = [(w, resolve(w)) for w in words]
    else:
        queries = _segment(words, resolve)
    ids: list[int] = []
    for query, resolution in queries:
        if resolution.status == "found":
            ids.append(resolution.matches[0].customer.id)
            continue
        others = [r.matches[0].customer.name for q, r in queries if r.status == "found"]
        return _unresolved(request, query, resolution, giver_id, receiver.id, others, reason)
    return ids


def _segment(words: list[str], resolve: Any) -> list[tuple[str, Resolution]]:
    """Unquoted names one after another ('huatong pacific rim ahmed trading'): the split of the words into
    customers that matches best — each run of words one confident match, the smallest total shortfall
    from a perfect score, then the fewest runs. Words that start no customer are kept (joined) as the
    query to report back."""
    n = len(words)
    best: list[tuple[float, list[tuple[int, int, bool]]]] = [(0.0, [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = [(UNMATCHED_COST + best[i + 1][0], [(i, i + 1, False), *best[i + 1][1]])]
        for j in range(i + 1, min(n, i + MAX_NAME_WORDS) + 1):
            resolution = resolve(" ".join(words[i:j]))
            if resolution.status == "found":
                cost = 100.0 - resolution.matches[0].score + RUN_COST + best[j][0]
                options.append((cost, [(i, j, True), *best[j][1]]))
        best[i] = min(options, key=lambda option: option[0])
    runs: list[tuple[int, int, bool]] = []
    for start, end, ok in best[0][1]:
        if not ok and runs and not runs[-1][2]:
            runs[-1] = (runs[-1][0], end, False)
        else:
            runs.append((start, end, ok))
    return [(" ".join(words[a:b]), resolve(" ".join(words[a:b]))) for a, b, _ in runs]


def _unresolved(request: Request, query: str, resolution: Resolution, giver_id: str, receiver_id: str,
                others: list[str], reason: str | None) -> Reply:
    candidates = resolution.matches if resolution.status == "ambiguous" else resolution.suggestions
    tail = " ".join(f'"{name}"' for name in others)
    tail += f' --reason "{reason}"' if reason else ""

    def again(name: str) -> str:
        return f'/handover {giver_id} {receiver_id} "{name}" {tail}'.strip()

    if resolution.status == "ambiguous":
        message = f"Several customers match “{echo(query)}”; nothing planned. Which one?"
        code = "ambiguous"
    else:
        message = f"No customer matches “{echo(query)}”; nothing planned."
        if candidates:
            message += " Closest: " + ", ".join(f"{m.customer.name} ({m.score:g})" for m in candidates) + "."
        code = "no_match"
    return Reply(
        command="handover",
        blocks=[heading(message)] + ([bullets([f"{m.customer.name} (score {m.score:g})" for m in candidates])]
                                     if resolution.status == "ambiguous" else []),
        buttons=[Button(label=m.customer.name, command=again(m.customer.name)) for m in candidates],
        error=ReplyError(code=code, message=message),
        data={"query": query, "status": resolution.status,
              "candidates": [{"customer": m.customer.name, "score": m.score} for m in candidates]},
    )


# ── small helpers ───────────────────────────────────────────────────────────────────────────────


def _id(text: str) -> int:
    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit():
        raise UsageError(f"{echo(text)!r} is not a handover id (e.g. 3 or #3)")
    return int(cleaned)
