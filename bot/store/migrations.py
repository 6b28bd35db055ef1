"""Ordered, transactional migrations, recorded in the archive itself (sqlite-utils Migrations).

Each feature keeps its own migration set (its `schema.py`) so features evolve independently; schema
changes are new migrations, never edits of applied ones. This module holds the archive's core tables and
`apply_migrations`; the ordered list of every set lives in `bot/schema.py`, where the features are known.
"""

import fcntl
from collections.abc import Sequence
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

core = Migrations("mailroom.core")


@core()
def m001_archive(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            fingerprint TEXT NOT NULL DEFAULT '',
            thread_id INTEGER,
            date TEXT,
            date_offset INTEGER,
            from_addr TEXT NOT NULL DEFAULT '',
            from_name TEXT NOT NULL DEFAULT '',
            to_addrs TEXT NOT NULL DEFAULT '[]',
            cc_addrs TEXT NOT NULL DEFAULT '[]',
            subject TEXT NOT NULL DEFAULT '',
            subject_norm TEXT NOT NULL DEFAULT '',
            in_reply_to TEXT,
            refs TEXT NOT NULL DEFAULT '[]',
            auto_submitted INTEGER NOT NULL DEFAULT 0,
            is_bounce INTEGER NOT NULL DEFAULT 0,
            is_list INTEGER NOT NULL DEFAULT 0,
            precedence TEXT NOT NULL DEFAULT '',
            direction TEXT NOT NULL,
            person_id TEXT,
            customer_id INTEGER,
            body TEXT NOT NULL DEFAULT '',
            attachments TEXT NOT NULL DEFAULT '[]',
            has_attachments INTEGER NOT NULL DEFAULT 0,
            defects TEXT NOT NULL DEFAULT '[]',
            size INTEGER NOT NULL DEFAULT 0,
            category TEXT,
            category_confidence REAL,
            archived_at TEXT NOT NULL
        );
        CREATE INDEX messages_thread ON messages(thread_id, date);
        CREATE INDEX messages_customer ON messages(customer_id, date);
        CREATE INDEX messages_date ON messages(date);

        CREATE TABLE sightings (
            message INTEGER NOT NULL REFERENCES messages(id),
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL DEFAULT '',
            via TEXT,
            uid INTEGER,
            PRIMARY KEY (message, mailbox, folder)
        ) WITHOUT ROWID;
        CREATE INDEX sightings_mailbox ON sightings(mailbox, message);

        CREATE TABLE threads (
            id INTEGER PRIMARY KEY,
            subject TEXT NOT NULL DEFAULT '',
            subject_norm TEXT NOT NULL DEFAULT '',
            customer_id INTEGER,
            first_date TEXT,
            last_date TEXT,
            message_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX threads_subject ON threads(subject_norm, customer_id);
        CREATE INDEX threads_customer ON threads(customer_id);

        CREATE TABLE thread_keys (
            msgid TEXT PRIMARY KEY,
            thread_id INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            domains TEXT NOT NULL DEFAULT '[]',
            aliases TEXT NOT NULL DEFAULT '[]',
            contacts TEXT NOT NULL DEFAULT '[]',
            country TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE customer_keys (
            key TEXT PRIMARY KEY,
            customer_id INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE ownership (
            customer_id INTEGER PRIMARY KEY,
            person_id TEXT NOT NULL,
            source TEXT NOT NULL,
            since TEXT NOT NULL,
            by TEXT,
            reason TEXT
        );
        CREATE TABLE ownership_history (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            from_person TEXT,
            to_person TEXT NOT NULL,
            source TEXT NOT NULL,
            at TEXT NOT NULL,
            by TEXT,
            reason TEXT,
            ref TEXT
        );
        CREATE INDEX ownership_history_customer ON ownership_history(customer_id, at);

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            command TEXT NOT NULL,
            args TEXT NOT NULL,
            result TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );

        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_id INTEGER NOT NULL,
            last_hash TEXT NOT NULL
        );

        CREATE TABLE sync_state (
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            last_uid INTEGER NOT NULL,
            synced_at TEXT NOT NULL,
            PRIMARY KEY (mailbox, folder)
        );
        """
    )


@core()
def m002_audit_keyed(db: Database) -> None:
    """Entries MAC'd under MAILROOM_AUDIT_KEY say so (`keyed`); the head carries its own MAC."""
    db.executescript(
        """
        ALTER TABLE audit_log ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE audit_head ADD COLUMN mac TEXT;
        """
    )


def apply_migrations(db: Database, sets: Sequence[Migrations], *, lock_file: Path) -> None:
    """Apply what is pending of `sets`, in order, holding an exclusive lock on `lock_file`.

    Any number of processes may open a new or old archive at once (a fresh `web` + `worker` deploy does):
    the first migrates, the others wait on the lock and then find nothing pending. A migration set's
    functions use `executescript`, which commits on its own, so a file lock (not an SQLite transaction)
    is what makes the whole sequence exclusive.
    """
    if not any(migrations.pending(db) for migrations in sets):
        return
    with open(lock_file, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for migrations in sets:
                migrations.apply(db)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
