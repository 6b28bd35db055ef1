"""What the chat adapters remember in the archive: deliveries seen, alerts sent, long button commands.

- `chat_deliveries`: every inbound delivery id (Slack event_id, Telegram update_id, WeCom MsgId) is
  claimed once, so a platform's retry of the same delivery is acted on once, even across restarts.
- `chat_sent`: the outbox's idempotency keys per platform, recorded after a successful send, so an alert
  re-delivered after a crash between send and bookkeeping is not posted twice.
- `telegram_callbacks`: callback_data holds at most 64 bytes; longer button commands are stored here
  under a short key derived from the command itself.
"""

import threading
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import Clock, iso
from bot.store.db import write_transaction

chat = Migrations("mailroom.chat")
KEEP_DELIVERIES = timedelta(days=7)
PRUNE_EVERY = 500


@chat()
def m001_chat(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE chat_deliveries (
            platform TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (platform, delivery_id)
        ) WITHOUT ROWID;
        CREATE INDEX chat_deliveries_seen ON chat_deliveries(seen_at);

        CREATE TABLE chat_sent (
            platform TEXT NOT NULL,
            key TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (platform, key)
        ) WITHOUT ROWID;

        CREATE TABLE telegram_callbacks (
            key TEXT PRIMARY KEY,
            command TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) WITHOUT ROWID;
        """
    )


class ChatStore:
    """Small parameterised SQL over one connection; `lock` serialises threads sharing it."""

    def __init__(self, db: Database, clock: Clock, lock: AbstractContextManager[Any] | None = None):
        self.db = db
        self.clock = clock
        self.lock = lock or threading.RLock()
        self._claims = 0

    def claim(self, platform: str, delivery_id: str) -> bool:
        """True the first time a delivery id is seen; False for a retry or duplicate."""
        now = self.clock.now()
        with self.lock, write_transaction(self.db):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO chat_deliveries (platform, delivery_id, seen_at) VALUES (?, ?, ?)",
                [platform, str(delivery_id), iso(now)],
            )
            self._claims += 1
            if self._claims % PRUNE_EVERY == 0:
                self.db.execute("DELETE FROM chat_deliveries WHERE seen_at < ?", [iso(now - KEEP_DELIVERIES)])
            return cursor.rowcount == 1

    def was_sent(self, platform: str, key: str) -> bool:
        with self.lock:
            row = self.db.execute("SELECT 1 FROM chat_sent WHERE platform = ? AND key = ?", [platform, key]).fetchone()
        return row is not None

    def mark_sent(self, platform: str, key: str) -> None:
        with self.lock, write_transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO chat_sent (platform, key, sent_at) VALUES (?, ?, ?)",
                [platform, key, iso(self.clock.now())],
            )

    def remember_callbacks(self, commands: dict[str, str]) -> None:
        if not commands:
            return
        now = iso(self.clock.now())
        with self.lock, write_transaction(self.db):
            for key, command in commands.items():
                self.db.execute(
                    "INSERT OR IGNORE INTO telegram_callbacks (key, command, created_at) VALUES (?, ?, ?)",
                    [key, command, now],
                )

    def callback_command(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT command FROM telegram_callbacks WHERE key = ?", [key]).fetchone()
        return row[0] if row else None
