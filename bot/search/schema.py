"""The search index's own tables (migration set `mailroom.search`).

- `search_fts`: contentless FTS5 (the text already lives in `messages`; storing it twice would double
  the archive). Its rowid is the message id. Snippets are cut in Python from `messages`.
- `search_terms`: document frequency of each plain Latin word, for typo correction (reading the
  whole FTS vocabulary through fts5vocab at a million messages takes seconds; this stays current
  with every batch and answers "is this word rare?" with one primary-key lookup).
- `search_sessions`: each person's last query and page, for `/search more`.
- `search_days`: the id range of each day's mail (UTC), so date filters narrow the FTS scan.
"""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

FTS_COLUMNS = ("subject", "body", "sender", "recipients", "customer", "files")

search_migrations = Migrations("mailroom.search")


@search_migrations()
def m001_search_index(db: Database) -> None:
    db.executescript(
        """
        CREATE VIRTUAL TABLE search_fts USING fts5(
            subject, body, sender, recipients, customer, files,
            content='', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TABLE search_terms (
            term TEXT PRIMARY KEY,
            df INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE search_sessions (
            person_id TEXT PRIMARY KEY,
            query TEXT NOT NULL,
            page INTEGER NOT NULL,
            scanned INTEGER NOT NULL DEFAULT 0,
            at TEXT NOT NULL
        );
        CREATE TABLE search_state (
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        """
    )
    # Messages archived before this migration ran are indexed on first use (SearchIndex.catch_up).
    db.execute("INSERT INTO search_state (key, value) VALUES ('indexed_upto', 0)")


@search_migrations()
def m002_day_bounds(db: Database) -> None:
    """The smallest and largest message id per day of mail: after:/before: become id ranges."""
    db.executescript(
        """
        CREATE TABLE search_days (
            day TEXT PRIMARY KEY,
            min_id INTEGER NOT NULL,
            max_id INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO search_days (day, min_id, max_id)
            SELECT substr(date, 1, 10), min(id), max(id) FROM messages
            WHERE date IS NOT NULL AND id <= (SELECT value FROM search_state WHERE key = 'indexed_upto')
            GROUP BY substr(date, 1, 10);
        """
    )


@search_migrations()
def m003_larger_pending_terms(db: Database) -> None:
    """FTS5 writes its pending terms out as a new segment whenever they pass `hashsize` (1 MiB by default),
    several times per import batch; 16 MiB makes one larger segment per batch and less merging."""
    db.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('hashsize', 16777216)")
