"""/assign: make a person the explicit owner of a customer (leads, managers, admins); audited, with history."""

from typing import Any

from bot.chat.commands import Request, UsageError, command
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.reply import Button, Reply, ReplyError, bullets, context, echo, heading
from bot.customers.inference import effective_owner
from bot.customers.ownership import history, owner_of, set_owner
from bot.customers.report import customer_ref, person_ref
from bot.store.db import write_transaction
from handlers.owner import SOURCE_WORDS, no_match_reply


@command(
    "assign",
    usage="/assign <customer> <person> [--reason TEXT]",
    min_role="lead",
    patterns=(r"^assign\s+(?P<args>.+\s+to\s+.+)$", r"^把\s*(?P<args>.+?\s*(?:分配|指派|交)给\s*.+)$"),
)
def assign(request: Request) -> Reply:
    """assign: make a person the owner of a customer (leads, managers and admins; kept in history)"""
    args, reason = _split_reason(request.args)
    customer_text, person = _customer_and_person(request, args)
    services, now = request.services, request.now
    resolution = services.customer_index.get().resolve(customer_text)
    if resolution.status == "none":
        return no_match_reply(request, customer_text, resolution, command="assign",
                              again=f"/assign {{name}} {person.id}")
    if resolution.status == "ambiguous":
        message = f"Several customers match “{echo(customer_text)}”; nothing changed. Which one?"
        return Reply(
            command="assign",
            blocks=[heading(message), bullets([f"{m.customer.name} (score {m.score:g})" for m in resolution.matches])],
            buttons=[Button(label=m.customer.name, command=f"/assign {m.customer.name} {person.id}")
                     for m in resolution.matches],
            error=ReplyError(code="ambiguous", message=message),
            data={"query": customer_text, "status": "ambiguous", "changed": False,
                  "matches": [{"customer": customer_ref(m.customer).model_dump(), "score": m.score}
                              for m in resolution.matches]},
        )
    customer = resolution.matches[0].customer
    db, directory = services.db, services.directory
    before_id, before_source = effective_owner(db, directory, customer.id, now=now)
    explicit = owner_of(db, customer.id)
    previous: dict[str, Any] = {"owner": _ref(directory, before_id), "source": before_source}
    if explicit is not None and explicit.person_id == person.id:
        return Reply(
            command="assign",
            blocks=[heading(f"{person.name} already owns {customer.name} ({SOURCE_WORDS[explicit.source]}); "
                            "nothing changed.")],
            data={"customer": customer_ref(customer).model_dump(), "owner": _ref(directory, person.id),
                  "previous": previous, "source": explicit.source, "changed": False, "audit_id": None,
                  "history": history(db, customer.id)},
        )
    with write_transaction(db):
        audit_id = services.audit.record(
            request.person.id,
            "assign",
            {"customer_id": customer.id, "customer": customer.name, "to": person.id, "from": before_id,
             "from_source": before_source, "reason": reason},
            f"{customer.name}: {before_id or 'nobody'} ({before_source}) → {person.id}",
        )
        set_owner(db, customer.id, person.id, source="assignment", at=now, by=request.person.id, reason=reason,
                  ref=f"audit:{audit_id}", expect_from=explicit.person_id if explicit else None, check_expected=True)
    was = f"was {previous['owner']['name']}, {SOURCE_WORDS[before_source]}" if previous["owner"] else "had no owner"
    return Reply(
        command="assign",
        blocks=[heading(f"{customer.name}: owner is now {person.name} ({was})."),
                context(f"Recorded in the audit log (#{audit_id}); /owner {customer.name} shows it.")],
        data={"customer": customer_ref(customer).model_dump(), "owner": _ref(directory, person.id),
              "previous": previous, "source": "assignment", "changed": True, "audit_id": audit_id,
              "history": history(db, customer.id)},
    )


def _split_reason(args: list[str]) -> tuple[list[str], str | None]:
    if "--reason" not in args:
        return list(args), None
    i = args.index("--reason")
    return list(args[:i]), " ".join(args[i + 1:]).strip() or None


_GIVE_TO = ("分配给", "指派给", "交给")


def _customer_and_person(request: Request, args: list[str]) -> tuple[str, Person]:
    """'/assign Acme Trading amy', '/assign acme to Amy Zhang', '把 acme 分配给 amy' → (customer, person)."""
    directory = request.services.directory
    joined = " ".join(args)
    for word in _GIVE_TO:
        if word in joined:
            left, _, right = joined.partition(word)
            person = directory.find_person(right.strip())
            if person is None:
                break
            return left.strip().removeprefix("把").strip(), person
    if len(args) < 2:
        raise UsageError("Name a customer and the person who should own it.")
    if "to" in args[1:-1]:
        cut = len(args) - 1 - args[::-1].index("to")
        person = directory.find_person(" ".join(args[cut + 1:]))
        if person is not None:
            return " ".join(args[:cut]), person
    for n in (1, 2, 3):
        if len(args) > n:
            person = directory.find_person(" ".join(args[-n:]))
            if person is not None:
                return " ".join(args[:-n]), person
    known = ", ".join(sorted(directory.people))
    raise CommandError(f"No person “{echo(args[-1])}” in Mailroom's people list (known: {known}).", code="unknown_person")


def _ref(directory: Directory, person_id: str | None) -> dict[str, str] | None:
    ref = person_ref(directory, person_id)
    return ref.model_dump() if ref else None
