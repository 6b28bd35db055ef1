"""What the /search, /show and /export handlers call: search with rights, paging, display, export, audit."""

import json
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from bot.core.clock import Clock, iso
from bot.core.config import Config, Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.permissions import Permissions
from bot.mail.visibility import message_mailboxes
from bot.search.engine import Result, SearchEngine
from bot.search.export import Format, export_rows, write_csv, write_mbox
from bot.search.indexer import SearchIndex
from bot.search.rights import read_scope, restricted_mailboxes, visible
from bot.search.synonyms import Synonyms
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

EXPORT_LIMIT = 10_000


@dataclass
class MessageView:
    id: int
    message_id: str
    subject: str
    from_name: str
    from_addr: str
    to: list[str]
    cc: list[str]
    date: str | None
    mailboxes: list[str]
    customer: str | None
    category: str | None
    direction: str
    body: str
    attachments: list[str]
    thread_id: int | None


@dataclass
class ExportResult:
    path: Path
    count: int
    mailboxes: list[str]
    truncated: bool


class SearchService:
    def __init__(self, db: Database, config: Config, directory: Directory, permissions: Permissions,
                 clock: Clock, audit: AuditLog):
        self.db = db
        self.config = config
        self.directory = directory
        self.permissions = permissions
        self.clock = clock
        self.audit = audit
        self.index = SearchIndex(db, directory)
        self.synonyms = Synonyms(config.search.synonyms)
        self.engine = SearchEngine(db, directory, permissions, self.index, self.synonyms)
        self.restricted = restricted_mailboxes(config)

    @property
    def page_size(self) -> int:
        return self.config.search.page_size

    # -- search and paging ---------------------------------------------------------------------
    def search(self, person: Person, text: str, *, page: int = 1) -> Result:
        result = self.engine.search(text, person, now=self.clock.now(), page=page, page_size=self.page_size)
        self._remember(person, text, page, result.scanned)
        return result

    def more(self, person: Person) -> Result:
        """The next page of the person's last search."""
        row = self.db.execute(
            "SELECT query, page, scanned FROM search_sessions WHERE person_id = ?", [person.id]
        ).fetchone()
        if row is None:
            raise CommandError("No earlier search to continue: try /search WORDS first.", code="no_session")
        text, page, scanned = row[0], int(row[1]) + 1, int(row[2])
        result = self.engine.search(text, person, now=self.clock.now(), page=page, page_size=self.page_size,
                                    scanned=scanned or None)
        self._remember(person, text, page, scanned)
        return result

    def _remember(self, person: Person, text: str, page: int, scanned: int) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO search_sessions (person_id, query, page, scanned, at) VALUES (?, ?, ?, ?, ?)",
                [person.id, text, page, scanned, iso(self.clock.now())],
            )

    # -- one message ---------------------------------------------------------------------------
    def show(self, person: Person, ref: str) -> MessageView:
        """The message if the person may read it; audited when it is in a restricted mailbox."""
        view = self._load(ref)
        allowed = view is not None and visible(self.permissions, person, view.mailboxes)
        if view is not None and self.restricted & set(view.mailboxes):
            with write_transaction(self.db):
                self.audit.record(
                    person.id, "show",
                    {"id": view.id, "message_id": view.message_id, "mailboxes": view.mailboxes},
                    "shown" if allowed else "refused",
                )
        if view is None or not allowed:
            shown = f"#{ref.lstrip('#')}" if ref.lstrip("#").isdigit() else ref
            raise CommandError(f"No message {shown} that you may read.", code="not_found")
        scope = read_scope(self.permissions, person)
        if scope is not None:
            view.mailboxes = [m for m in view.mailboxes if m in scope]
        return view

    def _load(self, ref: str) -> MessageView | None:
        ref = ref.strip()
        key = ref.lstrip("#")
        value: int | str
        if key.isdigit():
            where, value = "m.id = ?", int(key)
        else:
            where, value = "m.message_id = ?", key.strip("<>")
        row = self.db.execute(
            f"""SELECT m.id, m.message_id, m.subject, m.from_name, m.from_addr, m.to_addrs, m.cc_addrs, m.date,
                       c.name, m.category, m.direction, m.body, m.attachments, m.thread_id
                FROM messages m LEFT JOIN customers c ON c.id = m.customer_id WHERE {where}""",
            [value],
        ).fetchone()
        if row is None:
            return None
        boxes = [r[0] for r in self.db.execute(
            "SELECT DISTINCT mailbox FROM sightings WHERE message = ? ORDER BY mailbox", [row[0]])]
        return MessageView(
            id=row[0], message_id=row[1], subject=row[2], from_name=row[3], from_addr=row[4],
            to=_list(row[5]), cc=_list(row[6]), date=row[7], mailboxes=boxes or [""], customer=row[8],
            category=row[9], direction=row[10], body=row[11],
            attachments=[str(a.get("name")) for a in _list(row[12]) if isinstance(a, dict) and a.get("name")],
            thread_id=row[13],
        )

    # -- export --------------------------------------------------------------------------------
    def export(self, person: Person, text: str, fmt: Format) -> ExportResult:
        """Every visible match to a file under the archive's `exports/` folder; needs the export right
        on every mailbox the exported messages were seen in."""
        ids = self.engine.match_ids(text, person, now=self.clock.now(), limit=EXPORT_LIMIT + 1)
        truncated = len(ids) > EXPORT_LIMIT
        ids = ids[:EXPORT_LIMIT]
        if not ids:
            raise CommandError(f"Nothing to export: no message you may read matches {text!r}.", code="no_results")
        boxes = self._mailboxes_of(ids)
        lacking = sorted(b for b in boxes if not self.permissions.can(person, "export", b))
        args = {"query": text, "format": fmt, "count": len(ids), "mailboxes": sorted(boxes)}
        if lacking:
            if self.restricted & boxes:
                with write_transaction(self.db):
                    self.audit.record(person.id, "export", {**args, "lacking": lacking}, "refused")
            names = ", ".join(b or "(no mailbox)" for b in lacking)
            raise CommandError(
                f"Export refused: you lack the export right on {names}. "
                "Narrow the query (e.g. mailbox:order) or ask an admin.",
                code="forbidden",
            )
        folder = self.config.archive_path.parent / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = _free_name(folder, f"export-{person.id}-{self.clock.now().strftime('%Y%m%d-%H%M%S')}", fmt)
        rows = export_rows(self.db, ids)
        count = write_csv(path, rows) if fmt == "csv" else write_mbox(path, rows)
        with write_transaction(self.db):
            self.audit.record(person.id, "export", {**args, "path": str(path)}, "exported")
        return ExportResult(path=path, count=count, mailboxes=sorted(boxes), truncated=truncated)

    def _mailboxes_of(self, ids: list[int]) -> set[str]:
        """Every mailbox the messages were seen in; '' when one was seen in none."""
        seen = message_mailboxes(self.db, ids)
        return {box for boxes in seen.values() for box in boxes} | ({""} if not all(seen.values()) else set())


def _free_name(folder: Path, stem: str, ext: str) -> Path:
    path = folder / f"{stem}.{ext}"
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}.{ext}"
        number += 1
    return path


def _list(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []
