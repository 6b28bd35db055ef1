"""Everything a handler may use, built once per process from the config and the clock."""

from functools import cached_property

from sqlite_utils import Database

from bot.archive import Archive
from bot.audit import AuditLog
from bot.clock import Clock
from bot.config import Config
from bot.directory import Directory
from bot.permissions import Permissions
from bot.store.db import open_archive


class Services:
    def __init__(self, config: Config, clock: Clock | None = None, db: Database | None = None):
        self.config = config
        self.clock = clock or Clock()
        self.directory = Directory(config)
        self.db = db if db is not None else open_archive(config.archive_path)
        self.permissions = Permissions(self.directory)

    @cached_property
    def archive(self) -> Archive:
        return Archive(self.db, self.directory, self.clock, indexers=self.indexers())

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db, self.clock)

    def indexers(self) -> list:
        """Functions that index each committed batch of new messages (search, categories, …)."""
        return []
