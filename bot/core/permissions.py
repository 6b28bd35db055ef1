"""Rights per shared mailbox (read / reply / delete / export), from `[permissions."ADDRESS"]`.

Defaults, as the guide suggests: the mailbox's team and managers/admins may read; the team may reply;
leads, managers and admins may delete; export is for managers and admins, and only admins for
after-sales and audit mailboxes (the guide restricts export there). A person's personal mailbox is theirs.
"""

from typing import Literal

from bot.core.config import Mailbox, Person
from bot.core.directory import Directory

Right = Literal["read", "reply", "delete", "export"]
ROLE_RANK = {"member": 0, "lead": 1, "manager": 2, "admin": 3}
RESTRICTED_EXPORT = ("support", "audit")


def has_role(person: Person, minimum: str) -> bool:
    return ROLE_RANK[person.role] >= ROLE_RANK[minimum]


class Permissions:
    def __init__(self, directory: Directory):
        self.directory = directory

    def can(self, person: Person, right: Right, mailbox_address: str) -> bool:
        """Shared mailboxes by their rights; a person's own personal mailbox (synced from their
        `[people.imap]`, filed under their address) is theirs; any other address is for admins."""
        mailbox = self.directory.mailboxes.get(mailbox_address)
        if mailbox is None:
            return person.role == "admin" or bool(mailbox_address) and mailbox_address == person.email
        rights = self.directory.config.permissions.get(mailbox.address)
        principals = getattr(rights, right) if rights else []
        if principals:
            return any(self._matches(person, p) for p in principals) or person.role == "admin"
        return self._default(person, right, mailbox)

    def readable_mailboxes(self, person: Person) -> list[str]:
        return [m for m in self.directory.mailboxes if self.can(person, "read", m)]

    def _matches(self, person: Person, principal: str) -> bool:
        kind, _, value = principal.partition(":")
        if kind == "team" and value:
            return value in person.teams
        if kind == "role" and value:
            return person.role == value
        return principal == person.id

    def _default(self, person: Person, right: Right, mailbox: Mailbox) -> bool:
        in_team = mailbox.team is not None and mailbox.team in person.teams
        if right == "read":
            return in_team or has_role(person, "manager")
        if right == "reply":
            return in_team or person.role == "admin"
        if right == "delete":
            return (in_team and has_role(person, "lead")) or person.role == "admin"
        if mailbox.role in RESTRICTED_EXPORT:
            return person.role == "admin"
        return has_role(person, "manager")
