"""Writing parsed mail into the archive: dedupe by Message-ID, sightings, direction, customer, thread.

`Archive.add()` is the one entry point used by import and IMAP sync. It never commits by itself:
callers group messages into batches (`with archive.batch():`) so a checkpoint can move with its batch.
"""

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from sqlite_utils import Database

from bot.core.clock import Clock, iso, parse_instant
from bot.core.config import Limits
from bot.core.directory import Directory
from bot.customers.book import CustomerBook
from bot.mail.parse import LIMITS, ParsedMail, degraded_mail
from bot.mail.prepare import CUT, Extra, MailPreparer
from bot.store.db import rows_in, savepoint, write_transaction

if TYPE_CHECKING:
    from bot.rules.categories import Sorted

THREAD_SUBJECT_WINDOW = timedelta(days=30)
Outcome = Literal["new", "duplicate", "seen"]
Indexer = Callable[[Database, list[int], Mapping[int, ParsedMail]], None]
"""Called with each batch's new row ids and their parsed mail (for work done at parse time)."""
Categorize = Callable[[ParsedMail, list["Sighting"], int], "Sorted | None"]
"""Sorts a new message into a category before its row is written (bot.rules.categories)."""
PrepareHook = Callable[[str | None], Extra | None]
"""Given the mailbox an import or sync files mail under (None: found from the headers), a picklable
step to run where mail is parsed, or None."""


@dataclass(frozen=True, slots=True)
class Sighting:
    mailbox: str
    folder: str = ""
    via: str | None = None
    uid: int | None = None


def sightings_for(directory: Directory, mail: ParsedMail) -> list[Sighting]:
    """Which configured mailboxes a message was delivered to, from its envelope and headers."""
    delivered = [directory.mailbox_for(a) for a in mail.delivered_to]
    found = [d for d in delivered if d]
    if not found:
        found = [d for d in (directory.mailbox_for(a) for a in [*mail.to, *mail.cc, mail.from_addr]) if d]
    seen: dict[str, Sighting] = {}
    for mailbox, via in found:
        seen.setdefault(mailbox, Sighting(mailbox, via=via))
    return list(seen.values())


class Archive:
    """The archive's write side. Indexers registered in `indexers` see each committed batch's new rows."""

    def __init__(self, db: Database, directory: Directory, clock: Clock, *, indexers: list[Indexer] | None = None,
                 prepare_hooks: list[PrepareHook] | None = None, categorize: Categorize | None = None,
                 limits: Limits = LIMITS):
        self.db = db
        self.limits = limits
        self.directory = directory
        self.clock = clock
        self.customers = CustomerBook(db, directory)
        self.indexers = list(indexers or [])
        self.prepare_hooks = list(prepare_hooks or [])
        self.categorize = categorize
        self._pending: dict[int, ParsedMail] = {}

    def preparer(self, mailbox: str | None = None, *, sniff: bool = False) -> MailPreparer:
        """How to parse mail for this archive (with the indexers' parse-time steps and the [limits]), for
        mail filed under `mailbox` or, when None, under the mailboxes its headers name. With `sniff`
        (files), what is plainly not mail comes back as NotMail."""
        steps = tuple(step for hook in self.prepare_hooks if (step := hook(mailbox)) is not None)
        return MailPreparer(steps, self.limits, sniff=sniff)

    @contextmanager
    def batch(self) -> Iterator["Archive"]:
        """One transaction; indexers run inside it so the index never lags the archive."""
        with write_transaction(self.db):
            yield self
            if self._pending:
                new, self._pending = self._pending, {}
                for indexer in self.indexers:
                    indexer(self.db, list(new), new)

    def sightings_for(self, mail: ParsedMail) -> list[Sighting]:
        return sightings_for(self.directory, mail)

    def add_isolated(self, mail: ParsedMail, sightings: list[Sighting]) -> Outcome:
        """`add`, but a message whose storing fails (anything: a value SQLite refuses, a bug) is stored
        again the degraded way — its header fields, raw size and the failure as a defect — and the
        batch goes on. Only that message's writes are undone (a savepoint inside the batch)."""
        try:
            with savepoint(self.db, "archive_add"):
                return self.add(mail, sightings)
        except Exception as exc:  # noqa: BLE001 - one message never stops the batch
            if not self.db.conn.in_transaction:  # SQLite gave up the whole batch (disk full, I/O error)
                raise
            reason = f"storing it failed ({type(exc).__name__}: {str(exc)[:200]}): stored with its header fields"
        try:
            with savepoint(self.db, "archive_add"):
                return self.add(_sanitized(mail, reason, bare=False), sightings)
        except Exception:  # noqa: BLE001
            if not self.db.conn.in_transaction:
                raise
            return self.add(_sanitized(mail, reason, bare=True), sightings)

    def add(self, mail: ParsedMail, sightings: list[Sighting]) -> Outcome:
        """Store one message (or only its new sightings when the Message-ID is already archived)."""
        fingerprint = mail.fingerprint
        row = self.db.execute("SELECT id, fingerprint, defects FROM messages WHERE message_id = ?",
                              [mail.message_id]).fetchone()
        if row is not None and row[1] != fingerprint and not _was_cut(mail.defects, row[2]):
            # The same Message-ID on a different letter (broken mailers, test fixtures): keep both. (A copy
            # read only to the byte limit has a fingerprint of its own: it is the same letter.)
            mail.defects.append(f"Message-ID reused by different content: stored as a variant of <{mail.message_id}>")
            mail.message_id = f"{mail.message_id}#variant-{fingerprint[:12]}"
            row = self.db.execute("SELECT id, fingerprint FROM messages WHERE message_id = ?", [mail.message_id]).fetchone()
        if row is not None:
            added = self._add_sightings(row[0], sightings)
            return "seen" if added else "duplicate"
        now = iso(self.clock.now())
        direction, person_id = self._direction(mail)
        customer_id = self._customer(mail, direction, now)
        date = iso(mail.date) if mail.date else None
        thread_id = self._thread(mail, customer_id, date)
        category = self.categorize(mail, sightings, thread_id) if self.categorize else None
        cursor = self.db.execute(
            """INSERT INTO messages (message_id, fingerprint, thread_id, date, date_offset, from_addr, from_name, to_addrs,
                cc_addrs, subject, subject_norm, in_reply_to, refs, auto_submitted, is_bounce, is_list,
                precedence, direction, person_id, customer_id, body, attachments, has_attachments, defects,
                size, archived_at, category, category_confidence)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                mail.message_id, fingerprint, thread_id, date, mail.date_offset, mail.from_addr, mail.from_name,
                _json(mail.to), _json(mail.cc), mail.subject, mail.subject_norm, mail.in_reply_to,
                _json(mail.references), int(mail.auto_submitted), int(mail.is_bounce), int(mail.is_list),
                mail.precedence, direction, person_id, customer_id, mail.body,
                _json([{"name": a.name, "type": a.type, "size": a.size} for a in mail.attachments], ensure_ascii=False),
                int(bool(mail.attachments)), _json(mail.defects, ensure_ascii=False), mail.size, now,
                category.category if category else None, category.confidence if category else None,
            ],
        )
        message_pk = int(cursor.lastrowid or 0)
        self._add_sightings(message_pk, sightings)
        self._pending[message_pk] = mail
        return "new"

    def _add_sightings(self, message_pk: int, sightings: list[Sighting]) -> bool:
        added = False
        for s in sightings or [Sighting("")]:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO sightings (message, mailbox, folder, via, uid) VALUES (?, ?, ?, ?, ?)",
                [message_pk, s.mailbox, s.folder, s.via, s.uid],
            )
            added = added or cursor.rowcount > 0
        return added

    def _direction(self, mail: ParsedMail) -> tuple[str, str | None]:
        """inbound (from outside), outbound (from us to outside) or internal (us to us only)."""
        if not mail.from_addr or not self.directory.is_org_address(mail.from_addr):
            return "inbound", None
        person = self.directory.person_by_email(mail.from_addr)
        person_id = person.id if person else None
        recipients = [*mail.to, *mail.cc]
        if recipients and all(self.directory.is_org_address(a) for a in recipients):
            return "internal", person_id
        return "outbound", person_id

    def _customer(self, mail: ParsedMail, direction: str, now: str) -> int | None:
        if direction == "internal":
            return None
        if direction == "inbound":
            party, name = mail.from_addr, mail.from_name
        else:
            external = [a for a in [*mail.to, *mail.cc] if not self.directory.is_org_address(a)]
            if not external:
                return None
            party, name = external[0], mail.names.get(external[0], "")
        if not party:
            return None
        if mail.is_bounce or mail.is_list:
            return self.customers.find(party)
        return self.customers.find_or_create(party, display_name=name, subject=mail.subject, now=now)

    def _thread(self, mail: ParsedMail, customer_id: int | None, date: str | None) -> int:
        """References/In-Reply-To first; else the same normalised subject and customer within 30 days."""
        related = [*mail.references, *([mail.in_reply_to] if mail.in_reply_to else []), mail.message_id]
        # (a broken mailer's References may run into thousands: rows_in asks in chunks)
        known = dict(rows_in(self.db, "SELECT msgid, thread_id FROM thread_keys WHERE msgid IN ({marks})", related))
        thread_id = next((known[msgid] for msgid in related if msgid in known), None)
        subject_norm = mail.subject_norm
        if thread_id is None and subject_norm and customer_id is not None:
            thread_id = self._thread_by_subject(subject_norm, customer_id, mail)
        if thread_id is None:
            cursor = self.db.execute(
                "INSERT INTO threads (subject, subject_norm, customer_id, first_date, last_date, message_count) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [mail.subject, subject_norm, customer_id, date, date],
            )
            thread_id = int(cursor.lastrowid or 0)
        self.db.execute(
            """UPDATE threads SET message_count = message_count + 1,
                 customer_id = COALESCE(customer_id, ?),
                 first_date = CASE WHEN first_date IS NULL OR ? < first_date THEN ? ELSE first_date END,
                 last_date = CASE WHEN last_date IS NULL OR ? > last_date THEN ? ELSE last_date END
               WHERE id = ?""",
            [customer_id, date, date, date, date, thread_id],
        )
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO thread_keys (msgid, thread_id) VALUES (?, ?)",
            [(msgid, thread_id) for msgid in related],
        )
        return thread_id

    def _thread_by_subject(self, subject_norm: str, customer_id: int, mail: ParsedMail) -> int | None:
        row = self.db.execute(
            "SELECT id, last_date FROM threads WHERE subject_norm = ? AND customer_id = ? ORDER BY id DESC LIMIT 1",
            [subject_norm, customer_id],
        ).fetchone()
        if row is None:
            return None
        if mail.date is None or row[1] is None:
            return int(row[0])
        gap = abs(mail.date - parse_instant(row[1]))
        return int(row[0]) if gap <= THREAD_SUBJECT_WINDOW else None


def _text(value: str, limit: int = 1000) -> str:
    """A string SQLite and JSON take: no lone surrogates, no NUL, bounded."""
    return value[:limit].encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _sanitized(mail: ParsedMail, reason: str, *, bare: bool) -> ParsedMail:
    """What is left to store of a message whose row could not be written: its cleaned header fields
    (`bare`: only an id, the raw size and the reason)."""
    message_id = _text(mail.message_id, 500) or f"unstorable-{mail.size}-{id(mail)}@mailroom.invalid"
    if bare:
        kept = degraded_mail(b"", reason)
        kept.message_id, kept.size, kept.has_message_id = message_id, mail.size, mail.has_message_id
        kept.fingerprint = f"unstorable-{message_id}"[:24]
        return kept
    return replace(
        mail, message_id=message_id, from_addr=_text(mail.from_addr, 320), from_name=_text(mail.from_name),
        to=[_text(a, 320) for a in mail.to[:100]], cc=[_text(a, 320) for a in mail.cc[:100]],
        delivered_to=[_text(a, 320) for a in mail.delivered_to[:100]], subject=_text(mail.subject),
        in_reply_to=_text(mail.in_reply_to, 500) if mail.in_reply_to else None,
        references=[_text(r, 500) for r in mail.references[:100]], precedence=_text(mail.precedence, 50),
        body="", attachments=[], defects=[*(_text(d) for d in mail.defects[:50]), reason], names={}, prepared={},
        content_type=_text(mail.content_type, 200),
    )


def note_defect(db: Database, message_id: int, defect: str) -> None:
    """Add a defect to a stored message (e.g. an index that could not take it)."""
    db.execute("UPDATE messages SET defects = json_insert(defects, '$[#]', ?) WHERE id = ?", [_text(defect), message_id])


def _was_cut(defects: list[str], stored_defects: str) -> bool:
    """Whether either copy of a message was read only to the byte limit (bot.mail.prepare.CUT)."""
    return any(d.startswith(CUT) for d in defects) or f'"{CUT}' in stored_defects


def _json(items: list, *, ensure_ascii: bool = True) -> str:
    return json.dumps(items, ensure_ascii=ensure_ascii) if items else "[]"
