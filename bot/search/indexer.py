"""Feeding archived messages into the search index.

The index keeps a watermark (`search_state.indexed_upto`): every message with a higher id is not yet
indexed. `Archive.batch()` calls `SearchIndex.index_new` inside the batch's transaction, which indexes
everything above the watermark — the new rows, plus any rows an older version of Mailroom archived
without an index — so the index never lags the archive and a crash rolls both back together.
"""

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from sqlite_utils import Database

from bot.core.directory import Directory
from bot.mail.archive import note_defect
from bot.mail.parse import ParsedMail
from bot.search.text import PreparedText, index_text, prepare_text, vocabulary_words
from bot.store.db import one_by_one_on_failure

log = logging.getLogger(__name__)

PREPARED_KEY = "search"
BODY_LIMIT = 100_000
"""Characters of body text indexed per message (quoted history beyond this adds little but size)."""
CHUNK = 2_000
TERMS_FLUSH = 50_000
INLINE_CATCH_UP = 20_000
"""At most this many unindexed messages are indexed on the fly; more needs `mailroom reindex`."""

Progress = Callable[[int], None]
MessageRow = tuple[int, str, str, str, str, str, str, int | None, str, str | None]
_ROW_SQL = (
    "SELECT id, subject, body, from_name, from_addr, to_addrs, cc_addrs, customer_id, attachments, date "
    "FROM messages WHERE id > ? ORDER BY id LIMIT ?"
)


def prepare_search_text(mail: ParsedMail) -> None:
    """The parse-time step (see Archive.preparer): subject and body as FTS5 will receive them."""
    mail.prepared[PREPARED_KEY] = prepare_text(mail.subject, mail.body, BODY_LIMIT)


class SearchIndex:
    """Writes the FTS rows and the vocabulary; never commits (callers own the transaction)."""

    def __init__(self, db: Database, directory: Directory):
        self.db = db
        self.directory = directory

    # -- the Archive hooks ------------------------------------------------------------------
    @staticmethod
    def prepare_hook(mailbox: str | None) -> Callable[[ParsedMail], None]:
        """For Archive.preparer: the subject and body text is prepared where mail is parsed."""
        return prepare_search_text

    def index_new(self, db: Database, message_ids: list[int], mails: Mapping[int, ParsedMail] | None = None) -> None:
        """Archive indexer: called with each batch's new ids, inside the batch's transaction. Text
        prepared where the mail was parsed (`prepare_search_text`) is used as is."""
        if message_ids:
            prepared = {pk: mail.prepared[PREPARED_KEY] for pk, mail in (mails or {}).items()
                        if PREPARED_KEY in mail.prepared}
            self.catch_up(prepared=prepared)  # type: ignore[arg-type]

    # -- state -------------------------------------------------------------------------------
    def watermark(self) -> int:
        row = self.db.execute("SELECT value FROM search_state WHERE key = 'indexed_upto'").fetchone()
        return int(row[0]) if row else 0

    def backlog(self) -> int:
        """How many archived messages are not yet in the index."""
        return int(self.db.execute("SELECT count(*) FROM messages WHERE id > ?", [self.watermark()]).fetchone()[0])

    def catch_up(self, *, progress: Progress | None = None, max_rows: int | None = None,
                 prepared: Mapping[int, PreparedText] | None = None) -> int:
        """Index the messages above the watermark (at most `max_rows`); returns how many were indexed."""
        done = 0
        terms: Counter[str] = Counter()
        after = self.watermark()
        customers: dict[int, str] = {}
        while max_rows is None or done < max_rows:
            size = CHUNK if max_rows is None else min(CHUNK, max_rows - done)
            rows: list[MessageRow] = self.db.execute(_ROW_SQL, [after, size]).fetchall()
            if not rows:
                break
            self._insert_isolated(rows, terms, customers, prepared or {})
            after = rows[-1][0]
            done += len(rows)
            if len(terms) > TERMS_FLUSH:
                self._flush_terms(terms)
            if progress:
                progress(len(rows))
        self._flush_terms(terms)
        if done:
            self.db.execute("UPDATE search_state SET value = ? WHERE key = 'indexed_upto'", [after])
        return done

    def clear(self) -> None:
        """Empty the index (rebuild with catch_up; after a change of indexing rules or names)."""
        self.db.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
        self.db.execute("DELETE FROM search_terms")
        self.db.execute("DELETE FROM search_days")
        self.db.execute("UPDATE search_state SET value = 0 WHERE key = 'indexed_upto'")

    def rebuild(self, *, progress: Progress | None = None) -> int:
        """Drop the whole index and build it again, in the caller's one transaction."""
        self.clear()
        count = self.catch_up(progress=progress)
        self.optimize()
        return count

    def optimize(self) -> None:
        """Merge the index's segments into one: faster queries after a large import."""
        self.db.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")

    # -- documents ---------------------------------------------------------------------------
    def _insert_isolated(self, rows: Sequence[MessageRow], terms: Counter[str], customers: dict[int, str],
                         prepared: Mapping[int, PreparedText]) -> None:
        """`_insert`; when it fails, row by row: a message the index cannot take gets that as a defect and
        the index moves past it, so one message never stops the index (or the import feeding it)."""
        added: Counter[str] = Counter()

        def insert(chunk: Sequence[MessageRow]) -> None:
            words: Counter[str] = Counter()
            self._insert(chunk, words, customers, prepared)
            added.update(words)

        def failed(row: MessageRow, error: Exception) -> None:
            log.warning("message %s is not in the search index: %s", row[0], type(error).__name__)
            note_defect(self.db, row[0], f"not in the search index ({type(error).__name__}: {str(error)[:200]})")

        one_by_one_on_failure(self.db, "search_insert", rows, insert, failed)
        terms.update(added)

    def _insert(self, rows: Sequence[MessageRow], terms: Counter[str], customers: dict[int, str],
                prepared: Mapping[int, PreparedText]) -> None:
        docs = []
        for row in rows:
            ready = prepared.get(row[0])
            doc = self.document(row, customers, ready)
            docs.append(doc)
            words: set[str] = set(ready[2].split()) if ready else set()
            for field in doc[3:] if ready else doc[1:]:
                if field:
                    words |= vocabulary_words(field)
            terms.update(words)
        self.db.conn.executemany(
            "INSERT INTO search_fts (rowid, subject, body, sender, recipients, customer, files) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            docs,
        )
        days: dict[str, tuple[int, int]] = {}
        for row in rows:
            if row[9]:
                day, pk = row[9][:10], row[0]
                low, high = days.get(day, (pk, pk))
                days[day] = (min(low, pk), max(high, pk))
        self.db.conn.executemany(
            "INSERT INTO search_days (day, min_id, max_id) VALUES (?, ?, ?) ON CONFLICT(day) DO UPDATE SET "
            "min_id = min(min_id, excluded.min_id), max_id = max(max_id, excluded.max_id)",
            [(day, low, high) for day, (low, high) in days.items()],
        )

    def document(self, row: MessageRow, customers: dict[int, str], ready: PreparedText | None = None
                 ) -> tuple[int, str, str, str, str, str, str]:
        """One message as the six indexed fields (already folded and bigrammed); `ready` is the subject
        and body prepared at parse time."""
        pk, subject, body, from_name, from_addr, to_json, cc_json, customer_id, attachments_json, _date = row
        sender = f"{from_name} {from_addr} {self._person_name(from_addr)}"
        recipients = " ".join(f"{a} {self._person_name(a)}" for a in _json_list(to_json) + _json_list(cc_json))
        files = " ".join(str(a.get("name") or "") for a in _json_list(attachments_json) if isinstance(a, dict))
        customer = self._customer_text(customer_id, customers) if customer_id is not None else ""
        subject_text, body_text = (ready[0], ready[1]) if ready else (index_text(subject), index_text(body[:BODY_LIMIT]))
        return (
            pk, subject_text, body_text, index_text(sender), index_text(recipients),
            index_text(customer), index_text(files),
        )

    def _person_name(self, address: object) -> str:
        person = self.directory.person_by_email(str(address)) if address else None
        return person.name if person else ""

    def _customer_text(self, customer_id: int, cache: dict[int, str]) -> str:
        if customer_id not in cache:
            row = self.db.execute("SELECT name, aliases FROM customers WHERE id = ?", [customer_id]).fetchone()
            cache[customer_id] = f"{row[0]} {' '.join(map(str, _json_list(row[1])))}" if row else ""
        return cache[customer_id]

    def _flush_terms(self, terms: Counter[str]) -> None:
        if terms:
            self.db.conn.executemany(
                "INSERT INTO search_terms (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                terms.items(),
            )
            terms.clear()


def _json_list(text: str | None) -> list:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
