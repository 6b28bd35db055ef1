"""Who may see which archived message: the search's view of bot/core/permissions.py.

A message is visible when ANY mailbox it was seen in is readable by the person; mail seen in no
configured mailbox (mailbox '') is for admins only. A person's own personal mailbox (a sighting whose
mailbox is their own address, from a personal IMAP sync) is theirs (`Permissions.can`).
"""

from bot.core.config import Config, Person
from bot.core.permissions import Permissions
from bot.mail.visibility import Audience, Visibility

RESTRICTED_ROLES = ("support", "audit")


def read_scope(permissions: Permissions, person: Person) -> list[str] | None:
    """The mailboxes whose mail the person may read; None means everything (admins)."""
    if person.role == "admin":
        return None
    return sorted({*permissions.readable_mailboxes(person), person.email})


def restricted_mailboxes(config: Config) -> set[str]:
    """Mailboxes whose every /show and /export is audited: support@ and audit@ roles, and any
    mailbox with its own `[permissions."ADDRESS"]` entry."""
    restricted = {m.address for m in config.mailboxes if m.role in RESTRICTED_ROLES}
    return restricted | set(config.permissions)


def visible(permissions: Permissions, person: Person, mailboxes: list[str]) -> bool:
    """A message seen in these mailboxes is visible when any one of them is readable: the choke point's
    rule (bot/mail/visibility.py), which every other view of mail uses too."""
    return Visibility(permissions).may_read(Audience.person(person), mailboxes)
