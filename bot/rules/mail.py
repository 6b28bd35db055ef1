"""An archived message as the rules read it: headers, the sender's own text, files, where it was seen."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sqlite_utils import Database

from bot.rules.text import own_text

_COLUMNS = ("id, message_id, thread_id, date, from_addr, from_name, to_addrs, cc_addrs, subject, body, attachments, "
            "direction, person_id, customer_id, auto_submitted, is_bounce, is_list, in_reply_to, refs, archived_at")


@dataclass
class MailRow:
    id: int
    message_id: str
    thread_id: int | None
    date: str | None
    from_addr: str
    from_name: str
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    files: list[str]
    direction: str
    person_id: str | None
    customer_id: int | None
    automatic: bool
    in_reply_to: str | None
    refs: list[str]
    archived_at: str
    sightings: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(mailbox, folder, via) — mailbox is a shared mailbox address, or a person's address for personal Sent."""

    @cached_property
    def text(self) -> str:
        return own_text(self.body)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]

    @property
    def mailboxes(self) -> set[str]:
        return {s[0] for s in self.sightings if s[0]}

    @property
    def when(self) -> str:
        return self.date or self.archived_at


def _list(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _files(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(a.get("name")) for a in value if isinstance(a, dict) and a.get("name")] if isinstance(value, list) else []


def load_rows(db: Database, ids: list[int]) -> list[MailRow]:
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = [
        MailRow(
            id=r[0], message_id=r[1], thread_id=r[2], date=r[3], from_addr=r[4] or "", from_name=r[5] or "",
            to=_list(r[6]), cc=_list(r[7]), subject=r[8] or "", body=r[9] or "", files=_files(r[10]),
            direction=r[11], person_id=r[12], customer_id=r[13], automatic=bool(r[14] or r[15] or r[16]),
            in_reply_to=r[17], refs=_list(r[18]), archived_at=r[19],
        )
        for r in db.execute(f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks}) ORDER BY id", ids)
    ]
    by_id = {row.id: row for row in rows}
    for message, mailbox, folder, via in db.execute(
        f"SELECT message, mailbox, folder, via FROM sightings WHERE message IN ({marks})", ids
    ):
        by_id[message].sightings.append((mailbox, folder, via))
    return rows


def iter_new(db: Database, after: int, *, chunk: int = 500) -> Iterator[list[MailRow]]:
    """Messages with an id above `after`, in id order, a chunk at a time."""
    while True:
        ids = [r[0] for r in db.execute("SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?", [after, chunk])]
        if not ids:
            return
        yield load_rows(db, ids)
        after = ids[-1]


def thread_mailboxes(db: Database, thread_id: int | None) -> set[str]:
    if thread_id is None:
        return set()
    return {r[0] for r in db.execute(
        "SELECT DISTINCT s.mailbox FROM messages m JOIN sightings s ON s.message = m.id WHERE m.thread_id = ?",
        [thread_id])}
