"""The archive's schema: every feature's migration set, in the order they apply, and `open_archive`."""

import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.chat.delivery_store import chat as chat_migrations
from bot.core.errors import ArchiveError
from bot.customers.schema import owner as owner_migrations
from bot.handover.schema import handover_migrations
from bot.report.schema import report_migrations
from bot.rules.schema import rules_migrations
from bot.search.schema import search_migrations
from bot.sla.schema import sla_migrations
from bot.store.db import connect
from bot.store.migrations import apply_migrations, core

MIGRATION_SETS: list[Migrations] = [
    core,  # messages, threads, customers, ownership, audit log, sync checkpoints
    chat_migrations,  # chat deliveries, sent alerts, long button commands
    sla_migrations,  # SLA items, alerts outbox, away
    owner_migrations,  # change counters for the customer matcher
    search_migrations,  # search index, vocabulary, /search sessions
    handover_migrations,  # /handover previews, confirmations, undo
    rules_migrations,  # categories, rule checks and violations, claims, pool
    report_migrations,  # dashboard sign-in links and sessions
]


def open_archive(path: str | Path, *, create: bool = True) -> Database:
    """Open the archive at `path`, creating it (when `create`) and migrating it to the current schema."""
    path = Path(path)
    db = connect(path, create=create)
    try:
        apply_migrations(db, MIGRATION_SETS, lock_file=path.with_name(path.name + ".migrate-lock"))
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{path}: not a usable Mailroom archive ({exc})") from None
    return db
