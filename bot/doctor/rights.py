"""Rights review (the guide's 三.3): who may read / reply / delete / export each shared mailbox, resolved
through the same `Permissions` code that guards every read, and where the guide advises otherwise.

Warnings: export of after-sales, audit or finance mail beyond admins; delete granted to plain members;
audit@ writable by anyone but admins; a mailbox only admins (or nobody) can read; people without any chat
id, who therefore never get an alert.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.core.config import Mailbox, Person
from bot.core.config import MailboxRights as ConfigRights
from bot.core.directory import Directory
from bot.core.permissions import Permissions, Right
from bot.doctor.model import Check, fail, ok, warn

AREA = "rights"
RIGHTS: tuple[Right, ...] = ("read", "reply", "delete", "export")
FINANCE_NAMES = ("finance", "accounts", "accounting", "caiwu", "billing", "invoice")
"""A mailbox whose local part starts with one of these is treated as the finance mailbox (guide: restrict
export for after-sales and finance)."""
CHAT_KEYS = ("slack", "telegram", "wecom")


@dataclass(frozen=True, slots=True)
class MailboxRights:
    mailbox: Mailbox
    holders: dict[str, list[Person]]
    config_rights: ConfigRights | None = None

    @property
    def address(self) -> str:
        return self.mailbox.address

    def ids(self, right: str) -> list[str]:
        return [p.id for p in self.holders[right]]

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "role": self.mailbox.role, "team": self.mailbox.team,
                **{right: self.ids(right) for right in RIGHTS}}


def rights_table(directory: Directory) -> list[MailboxRights]:
    permissions = Permissions(directory)
    people = directory.config.people
    return [
        MailboxRights(mailbox, {r: [p for p in people if permissions.can(p, r, mailbox.address)] for r in RIGHTS},
                      directory.config.permissions.get(mailbox.address))
        for mailbox in directory.config.mailboxes
    ]


def is_finance(mailbox: Mailbox) -> bool:
    return mailbox.local_part.startswith(FINANCE_NAMES)


def restricted_export(mailbox: Mailbox) -> bool:
    return mailbox.role in ("support", "audit") or is_finance(mailbox)


def _names(people: list[Person]) -> str:
    return ", ".join(p.id for p in people) or "nobody"


def _permission_key(address: str) -> str:
    return f'[permissions."{address}"]'


def rights_checks(directory: Directory) -> Iterator[Check]:
    table = rights_table(directory)
    for row in table:
        summary = "; ".join(f"{right} {_names(row.holders[right])}" for right in RIGHTS)
        yield ok(AREA, row.address, summary)
        yield from _advice(row)
    yield _without_chat(directory.config.people)


def _advice(row: MailboxRights) -> Iterator[Check]:
    mailbox, address = row.mailbox, row.address
    readers = row.holders["read"]
    if not readers:
        yield fail(AREA, f"{address} read", "nobody may read this mailbox: its mail is never worked",
                   f"give it a team (team = \"ID\") or set {_permission_key(address)} read = [\"team:ID\"]")
    elif all(p.role == "admin" for p in readers):
        yield warn(AREA, f"{address} read", f"only admins may read it ({_names(readers)}): nobody works or reviews it",
                   f"give it a team, or set {_permission_key(address)} read = [\"team:ID\", \"role:manager\"]")
    if restricted_export(mailbox):
        beyond = [p for p in row.holders["export"] if p.role != "admin"]
        if beyond:
            kind = "finance" if is_finance(mailbox) else "after-sales" if mailbox.role == "support" else "audit"
            yield warn(AREA, f"{address} export",
                       f"{kind} mail exportable by non-admins: {_names(beyond)} (the guide restricts export)",
                       f'set {_permission_key(address)} export = ["role:admin"]')
    members = [p for p in row.holders["delete"] if p.role == "member"]
    if members:
        yield warn(AREA, f"{address} delete", f"plain members may delete mail: {_names(members)}",
                   f'set {_permission_key(address)} delete = ["role:lead", "role:manager", "role:admin"]')
    yield from _empty_means_default(row)
    if mailbox.role == "audit":
        writers = sorted({p.id: p for r in ("reply", "delete") for p in row.holders[r] if p.role != "admin"}.values(),
                         key=lambda p: p.id)
        if writers:
            yield warn(AREA, f"{address} writable", f"the audit mailbox is writable by {_names(writers)} "
                       "(the guide: management reads it, nobody changes it)",
                       f"set {_permission_key(address)} reply = [] and delete = [\"role:admin\"]")


def _empty_means_default(row: MailboxRights) -> Iterator[Check]:
    """`delete = []` reads as "nobody" but means "the default" (Permissions falls back when no principal is
    named): say so where the default lets in more than admins."""
    given = row.config_rights
    if given is None:
        return
    for right in RIGHTS:
        if right in given.model_fields_set and not getattr(given, right):
            others = [p for p in row.holders[right] if p.role != "admin"]
            if others:
                yield warn(AREA, f"{row.address} {right}",
                           f"{right} = [] means the default, not nobody: {_names(others)} may {right}",
                           f'to allow admins only, set {_permission_key(row.address)} {right} = ["role:admin"]')


def _without_chat(people: list[Person]) -> Check:
    silent = [p for p in people if all(getattr(p, key) in (None, "") for key in CHAT_KEYS)]
    if not silent:
        return ok(AREA, "chat ids", f"all {len(people)} people have a chat id")
    listed = ", ".join(f"{p.id} ({p.name})" for p in silent)
    return warn(AREA, "chat ids", f"no chat id, so never alerted: {listed}",
                "add slack = \"U…\", telegram = 123… or wecom = \"…\" to their [[people]] entry")


def rights_report(directory: Directory) -> dict[str, Any]:
    """`mailroom rights --json`: {"mailboxes": [{address, role, team, read, reply, delete, export}], "checks"}."""
    return {
        "mailboxes": [row.as_dict() for row in rights_table(directory)],
        "checks": [c.model_dump() for c in rights_checks(directory) if c.status != "ok"],
    }


def rights_lines(directory: Directory) -> list[str]:
    """`mailroom rights`: one block per mailbox, one line per right, then the warnings."""
    lines: list[str] = []
    for row in rights_table(directory):
        team = f", team {row.mailbox.team}" if row.mailbox.team else ""
        lines.append(f"{row.address} ({row.mailbox.role}{team})")
        lines += [f"  {right:<7} {_names(row.holders[right])}" for right in RIGHTS]
    advice = [c for c in rights_checks(directory) if c.status != "ok"]
    if advice:
        lines.append("")
        lines += [c.line() for c in advice]
    return lines
