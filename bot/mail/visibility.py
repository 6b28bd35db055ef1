"""The one choke point for mail facts: what an audience may see of archived mail.

Whatever turns archived mail into something a person sees — a reply, an alert, a digest, a brief, a
nudge, a claim — passes its mail-derived items (messages, threads, SLA items, pending alerts) through
`Visibility.sieve` for its **audience**: the person who asked, the person a message is queued for, or
everyone in a team channel (a channel post is judged for every member: it shows only what all of them
may read). The sieve keeps what the audience may read and counts the rest; a view then says so with
`Sieved.note` ("2 more open threads in mailboxes you can't read — ask a lead") and never shows the
subject, sender, snippet, attachment names or due time of what it hid.

The rule is bot/core/permissions.py's, the same as /search and /show use (bot/search/rights.py): a
message is readable when ANY mailbox it was seen in is readable; mail seen in no configured mailbox
(mailbox '') is for admins only; a person's own personal mailbox is theirs. A thread is readable when
any mailbox its messages were seen in is. `message_filter` is the same rule as SQL, for queries that
read many messages (contacts, evidence), so nothing unreadable is even loaded.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.permissions import Permissions
from bot.store.db import rows_in

T = TypeVar("T")


@dataclass(frozen=True)
class Audience:
    """Who reads a piece of output: one person, or every member of a team channel."""

    people: tuple[Person, ...]
    channel: bool = False
    label: str = "you"

    @classmethod
    def person(cls, person: Person) -> "Audience":
        return cls((person,), label="you")

    @classmethod
    def team(cls, directory: Directory, team_id: str) -> "Audience":
        """A team channel's readers: every member of the team (and its manager). A channel whose team has
        no member known to Mailroom reads nothing: its readers cannot be judged."""
        members = list(directory.members_of(team_id))
        team = directory.teams.get(team_id)
        if team is not None and team.manager and team.manager in directory.people \
                and all(p.id != team.manager for p in members):
            members.append(directory.people[team.manager])
        return cls(tuple(members), channel=True, label=f"team {team_id}")

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.people]


@dataclass
class Sieved(Generic[T]):
    """What an audience may see of some items, and how many it may not."""

    shown: list[T]
    hidden: int
    channel: bool = False

    def note(self, noun: str, *, more: bool = True) -> str | None:
        """The neutral, honest count of what was hidden, or None when nothing was."""
        if not self.hidden:
            return None
        return hidden_note(self.hidden, noun, channel=self.channel, more=more and bool(self.shown))


def hidden_note(count: int, noun: str, *, channel: bool = False, more: bool = False) -> str:
    plural = noun if count == 1 else (noun[:-1] + "ies" if noun.endswith("y") else noun + "s")
    where = ("in mailboxes not everyone in this channel may read" if channel
             else "in mailboxes you can't read — ask a lead")
    return f"{count} {'more ' if more else ''}{plural} {where}"


@dataclass
class Visibility:
    """The rights-aware sieve every view of mail uses (see the module doc)."""

    permissions: Permissions
    _cache: dict[tuple[str, str], bool] = field(default_factory=dict)
    _boxes: dict[str, list[str]] = field(default_factory=dict)

    def _person_reads(self, person: Person, mailboxes: list[str]) -> bool:
        if person.role == "admin":
            return True
        cache = self._cache
        for mailbox in mailboxes:
            found = cache.get((person.id, mailbox))
            if found is None:
                found = cache[(person.id, mailbox)] = bool(mailbox) and self.permissions.can(person, "read", mailbox)
            if found:
                return True
        return False

    def may_read(self, audience: Audience, mailboxes: Iterable[str]) -> bool:
        """True when every reader of the audience may read mail seen in any of these mailboxes."""
        boxes = mailboxes if isinstance(mailboxes, list) else list(mailboxes)
        people = audience.people
        if len(people) == 1:
            return self._person_reads(people[0], boxes)
        return bool(people) and all(self._person_reads(p, boxes) for p in people)

    def sieve(self, audience: Audience, items: Iterable[T], mailboxes: Callable[[T], Iterable[str]]) -> Sieved[T]:
        """Keep the items the audience may read (in order); count the others."""
        shown: list[T] = []
        hidden = 0
        for item in items:
            if self.may_read(audience, mailboxes(item)):
                shown.append(item)
            else:
                hidden += 1
        return Sieved(shown, hidden, audience.channel)

    def readable_sets(self, audience: Audience) -> list[list[str] | None]:
        """Per reader, the mailboxes they may read (None: everything, an admin)."""
        out: list[list[str] | None] = []
        for person in audience.people:
            if person.role == "admin":
                out.append(None)
                continue
            found = self._boxes.get(person.id)
            if found is None:
                found = self._boxes[person.id] = sorted(
                    {*self.permissions.readable_mailboxes(person), person.email} - {""})
            out.append(found)
        return out

    def message_filter(self, audience: Audience, message: str = "m.id") -> tuple[str, list[Any]]:
        """The same rule as an SQL condition on a message id column: `(sql, params)`."""
        if not audience.people:
            return "0", []
        parts: list[str] = []
        params: list[Any] = []
        for boxes in self.readable_sets(audience):
            if boxes is None:
                continue
            if not boxes:
                return "0", []
            marks = ", ".join("?" for _ in boxes)
            parts.append(f"EXISTS (SELECT 1 FROM sightings s_v WHERE s_v.message = {message} "
                         f"AND s_v.mailbox IN ({marks}))")
            params += boxes
        return (" AND ".join(parts) or "1"), params


def message_mailboxes(db: Any, message_ids: Iterable[int]) -> dict[int, list[str]]:
    """Where each message was seen (mailbox '' included: it is what makes unassigned mail admin-only)."""
    ids = list(dict.fromkeys(message_ids))
    found: dict[int, list[str]] = {i: [] for i in ids}
    for message, mailbox in rows_in(db, "SELECT DISTINCT message, mailbox FROM sightings WHERE message IN ({marks})",
                                    ids):
        found[message].append(mailbox)
    return found


def thread_mailboxes(db: Any, thread_ids: Iterable[int]) -> dict[int, list[str]]:
    """Where the messages of each thread were seen."""
    ids = list(dict.fromkeys(thread_ids))
    found: dict[int, list[str]] = {i: [] for i in ids}
    for thread, mailbox in rows_in(db, "SELECT DISTINCT m.thread_id, s.mailbox FROM messages m JOIN sightings s "
                                       "ON s.message = m.id WHERE m.thread_id IN ({marks})", ids):
        found[thread].append(mailbox)
    return found
