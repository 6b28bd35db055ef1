"""Opening the archive: one SQLite file in WAL mode, migrated to the current schema."""

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bot.core.errors import ArchiveError
from bot.store.migrations import MIGRATION_SETS

CACHE_KIB = 65536
"""Page cache per connection (SQLite's default is 2 MiB): large imports stay fast as the archive grows."""


def open_archive(path: str | Path, *, create: bool = True) -> Database:
    """Open (and create or migrate) the archive at `path`."""
    path = Path(path)
    if not create and not path.exists():
        raise ArchiveError(f"no archive at {path}: run `mailroom import` or `mailroom sync` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        db = Database(conn)
        db.enable_wal()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=OFF")
        for migrations in MIGRATION_SETS:
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{path}: not a usable Mailroom archive ({exc})") from None
    return db
