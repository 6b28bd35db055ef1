"""The oracle of the enumerating leak test: what each reader may see of the archive, derived from the
archive and the rights alone (bot/core/permissions.py), never from the views or the choke point.

A message is readable by a person when any mailbox it was seen in is readable by them (admins: all; mail
seen in no configured mailbox: admins only). Its **needles** are the strings that would betray it: the
subject (without Re:/Fw: prefixes), the sender's address, attachment names, and windows of its body (a
search snippet holds at least one). A needle is forbidden for a set of readers when it occurs nowhere in
what all of them may read — readable subjects, bodies, senders, attachment names, the CRM and the config.
"""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.core.config import Person
from bot.core.reply import Reply
from bot.services import Services

SUBJECT_MIN = 10
ADDRESS_MIN = 8
FILE_MIN = 6
WINDOW = 28
STEP = 14
BODY_CHARS = 600
_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|aw|wg|回复|答复|转发)\s*[:：])+\s*", re.IGNORECASE)


def norm(text: str) -> str:
    return " ".join(text.replace("**", "").split()).casefold()


@dataclass
class Message:
    id: int
    mailboxes: list[str]
    needles: dict[str, str]
    """needle → what it is (subject, sender, file, body)."""
    corpus: str


@dataclass
class Oracle:
    services: Services
    messages: dict[int, Message] = field(default_factory=dict)
    base: str = ""
    _readable: dict[str, frozenset[int]] = field(default_factory=dict)
    _forbidden: dict[frozenset[int], dict[str, tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, services: Services, config_text: str) -> "Oracle":
        oracle = cls(services)
        db = services.db
        boxes: dict[int, list[str]] = {}
        for message, mailbox in db.execute("SELECT message, mailbox FROM sightings"):
            boxes.setdefault(message, []).append(mailbox)
        own = tuple(f"@{d}" for d in services.config.organization.domains)
        for mid, subject, sender, body, attachments in db.execute(
                "SELECT id, subject, from_addr, body, attachments FROM messages"):
            needles: dict[str, str] = {}
            core = norm(_PREFIX.sub("", subject or ""))
            if len(core) >= SUBJECT_MIN:
                needles[core] = "subject"
            address = (sender or "").lower()
            if len(address) >= ADDRESS_MIN and not address.endswith(own):
                needles[address] = "sender"
            names = [str(a.get("name") or "") for a in json.loads(attachments or "[]") if isinstance(a, dict)]
            for name in names:
                if len(name) >= FILE_MIN:
                    needles[norm(name)] = "attachment"
            text = norm(body or "")[:BODY_CHARS]
            for start in range(0, max(1, len(text) - WINDOW + 1), STEP):
                window = text[start:start + WINDOW]
                if len(window) == WINDOW:
                    needles[window] = "body"
            corpus = "\x00".join([norm(subject or ""), address, *map(norm, names), norm(body or "")])
            oracle.messages[mid] = Message(mid, boxes.get(mid, []), needles, corpus)
        crm = [" ".join(str(v) for v in row) for row in db.execute(
            "SELECT name, domains, aliases, contacts FROM customers")]
        oracle.base = norm("\x00".join([config_text, *crm]))
        return oracle

    def readable(self, person: Person) -> frozenset[int]:
        found = self._readable.get(person.id)
        if found is None:
            can = self.services.permissions.can
            found = frozenset(m.id for m in self.messages.values()
                              if person.role == "admin" or any(b and can(person, "read", b) for b in m.mailboxes))
            self._readable[person.id] = found
        return found

    def forbidden(self, readers: Iterable[Person]) -> dict[str, tuple[int, str]]:
        """needle → (message id, kind) for every needle the readers together may not see."""
        people = list(readers)
        allowed = frozenset.intersection(*(self.readable(p) for p in people)) if people else frozenset()
        found = self._forbidden.get(allowed)
        if found is None:
            corpus = self.base + "\x00" + "\x00".join(self.messages[m].corpus for m in sorted(allowed))
            found = {}
            for message in self.messages.values():
                if message.id in allowed:
                    continue
                for needle, kind in message.needles.items():
                    if needle not in corpus:
                        found[needle] = (message.id, kind)
            self._forbidden[allowed] = found
        return found

    def leaks(self, readers: Iterable[Person], texts: list[tuple[str, str]]) -> list[str]:
        """What in `texts` ((label, text) pairs) the readers may not see: one line per leak."""
        forbidden = self.forbidden(readers)
        hay = "\x00".join(norm(t) for _, t in texts)
        hits = [n for n in forbidden if n in hay]
        out = []
        for needle in hits:
            message, kind = forbidden[needle]
            where = next((label for label, t in texts if needle in norm(t)), "?")
            out.append(f"{where}: {kind} of message #{message} ({needle[:50]!r})")
        return out


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value (dict keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def reply_texts(reply: Reply) -> str:
    """All a person can get of a reply: text, blocks, buttons, mentions and `data` (the --json)."""
    return "\n".join(strings(reply.model_dump(mode="json")))
