"""IMAP sync: keep the archive in step with the shared mailboxes — incremental, crash-safe, read-only.

Per (mailbox, folder) the archive's `sync_state` row holds the folder's UIDVALIDITY and the highest UID
archived. A sync asks STATUS first (an unchanged folder costs one round trip), then fetches only newer
UIDs, `batch_size` at a time. Each batch is parsed, stored and its checkpoint advanced in ONE transaction:
a `kill -9` loses at most the batch in flight, which the next run fetches again.

Read-only is a promise to the mailboxes' users: folders are opened with EXAMINE (readonly SELECT) and
bodies fetched with BODY.PEEK[] (`mark_seen=False`); nothing sets or clears a flag, deletes, moves or
expunges.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from imap_tools import BaseMailBox
from sqlite_utils import Database

from bot.core.clock import Clock, iso
from bot.mail.archive import Archive, Sighting
from bot.mail.imap_connect import (
    CONNECT_TIMEOUT,
    SyncTarget,
    close_quietly,
    connect,
    describe,
    fetch_raw,
    list_folders,
    resolve_folders,
)
from bot.mail.parse import ParsedMail
from bot.mail.parse_helper import Raws, batched, parsed_batches, rare_collections
from bot.mail.prepare import NotMail
from bot.store.db import exclusive_lock

BATCH_SIZE = 200
"""Messages per UID FETCH and per transaction: bounds memory, and what a crash can make us fetch again."""
PARSE_HELPER_FROM = 1000
"""A folder with at least this many new messages is parsed in a helper process (bot.mail.parse_helper),
one batch ahead of the batch being stored: parsing (about a third of the work) then runs on another core.
Smaller syncs parse inline (starting the helper costs ~0.1 s)."""
log = logging.getLogger(__name__)


@dataclass
class FolderResult:
    folder: str
    uidvalidity: int
    last_uid: int
    fetched: int = 0
    new: int = 0
    already: int = 0
    """Fetched but already archived (seen in another mailbox or folder, or re-scanned)."""
    with_defects: int = 0
    """New messages stored with defects (a hostile or broken message is stored so, never stops the sync)."""
    rescanned: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder, "uidvalidity": self.uidvalidity, "last_uid": self.last_uid,
            "fetched": self.fetched, "new": self.new, "already_archived": self.already,
            "with_defects": self.with_defects, "rescanned": self.rescanned,
        }


@dataclass
class MailboxResult:
    address: str
    folders: list[FolderResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    @property
    def fetched(self) -> int:
        return sum(f.fetched for f in self.folders)

    @property
    def with_defects(self) -> int:
        return sum(f.with_defects for f in self.folders)

    def line(self) -> str:
        """'inquiry@x: INBOX 12 new, Sent Items 3 new (15 fetched, 0 already archived) in 1.2 s'."""
        parts = []
        for f in self.folders:
            text = f"{f.folder} {f.new} new" if f.fetched else f"{f.folder} up to date"
            if f.rescanned:
                text += " (UIDVALIDITY changed: re-scanned)"
            parts.append(text)
        done = ", ".join(parts) or "no folder synced"
        already = sum(f.already for f in self.folders)
        defects = f", {self.with_defects} stored with defects" if self.with_defects else ""
        line = (f"{self.address}: {done} ({self.fetched} fetched, {already} already archived{defects}) "
                f"in {self.seconds:.1f} s")
        if self.error:
            line = f"{self.address}: FAILED: {self.error}" + (f" — synced before that: {done}" if self.folders else "")
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailbox": self.address, "ok": self.ok, "error": self.error, "new": self.new,
            "fetched": self.fetched, "with_defects": self.with_defects, "seconds": round(self.seconds, 3),
            "folders": [f.as_dict() for f in self.folders],
        }


class Progress(Protocol):
    """Told how many messages a folder will fetch, then how many are done (a terminal progress bar)."""

    def begin(self, address: str, folder: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    def begin(self, address: str, folder: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def end(self) -> None:
        pass


def read_checkpoint(db: Database, address: str, folder: str) -> tuple[int, int] | None:
    """(UIDVALIDITY, last UID) archived of one mailbox's folder, or None before its first sync."""
    row = db.execute(
        "SELECT uidvalidity, last_uid FROM sync_state WHERE mailbox = ? AND folder = ?", [address, folder]
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def write_checkpoint(archive: Archive, address: str, folder: str, uidvalidity: int, last_uid: int,
                     now: str) -> None:
    archive.db.execute(
        """INSERT INTO sync_state (mailbox, folder, uidvalidity, last_uid, synced_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (mailbox, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,
             last_uid = excluded.last_uid, synced_at = excluded.synced_at""",
        [address, folder, uidvalidity, last_uid, now],
    )


class MailboxSync:
    """One IMAP account over one connection: `connect()`, then `sync()` as often as needed.

    `lock` guards the archive when several mailboxes sync in threads over one database connection:
    network and parsing run outside it, only the batch's transaction inside.
    """

    def __init__(self, target: SyncTarget, archive: Archive, clock: Clock, *, batch_size: int = BATCH_SIZE,
                 progress: Progress | None = None, lock: contextlib.AbstractContextManager[Any] | None = None,
                 timeout: float = CONNECT_TIMEOUT, parse_helper_from: int | None = PARSE_HELPER_FROM,
                 stop: threading.Event | None = None):
        self.target = target
        self.address = target.address
        self.archive = archive
        self.preparer = archive.preparer(self.address)
        self.clock = clock
        self.batch_size = max(2, batch_size)
        self.progress = progress or NoProgress()
        self.lock = lock or contextlib.nullcontext()
        self.timeout = timeout
        self.parse_helper_from = parse_helper_from
        self.stop = stop
        """When set, a long sync ends after the batch in hand (its checkpoint stays consistent)."""
        self.box: BaseMailBox | None = None
        self.folders: list[str] = []
        self.problems: list[str] = []
        """Configured folders that could not be synced (missing on the server), one line each."""
        self.results: list[FolderResult] = []

    def __enter__(self) -> "MailboxSync":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        self.box = connect(self.target, timeout=self.timeout)
        wanted = self.target.imap.folders or list(self.target.default_folders)
        self.folders, self.problems = resolve_folders(wanted, list_folders(self.box))

    def close(self) -> None:
        close_quietly(self.box)
        self.box = None

    def sync(self) -> list[FolderResult]:
        """Sync every folder once; results also accumulate in `self.results` (kept when one fails)."""
        self.results = []
        # one sync per mailbox at a time, across processes (three `sync --once`, or one beside `run`):
        # a second waits, then finds the checkpoint moved and fetches only what is still new
        with exclusive_lock(self.archive.db, f"sync:{self.address}",
                            waiting=lambda: log.info("%s: another sync of this mailbox is running; waiting",
                                                     self.address)):
            for folder in self.folders:
                self.results.append(self.sync_folder(folder))
        return self.results

    def sync_folder(self, folder: str) -> FolderResult:
        box = self._box()
        if box.folder.get() == folder:
            box.client.noop()  # let the server update our view of the selected folder before STATUS
        status = box.folder.status(folder, ["UIDVALIDITY", "UIDNEXT"])
        uidvalidity, uidnext = status["UIDVALIDITY"], status.get("UIDNEXT")
        with self.lock:
            checkpoint = read_checkpoint(self.archive.db, self.address, folder)
        rescan = checkpoint is not None and checkpoint[0] != uidvalidity
        last_uid = checkpoint[1] if checkpoint is not None and not rescan else 0
        result = FolderResult(folder, uidvalidity, last_uid, rescanned=rescan)
        if rescan:
            log.warning("%s %s: UIDVALIDITY changed (%s → %s): re-scanning the folder; archived mail is not "
                        "stored twice", self.address, folder, checkpoint[0] if checkpoint else "-", uidvalidity)
        if checkpoint is not None and not rescan and uidnext is not None and uidnext <= last_uid + 1:
            return result  # nothing newer than the checkpoint
        box.folder.set(folder, readonly=True)  # EXAMINE: the server will not change a flag for us
        # `UID n:*` always returns the highest message, even when it is below n: drop what we have
        # (no CHARSET argument: some servers reject it, and a UID range needs none)
        uids = sorted(u for u in (int(x) for x in box.uids(f"UID {last_uid + 1}:*", charset=None)) if u > last_uid)
        if not uids:
            if checkpoint is None or rescan:
                self._commit(folder, result, [], uidvalidity, last_uid)
            return result
        self.progress.begin(self.address, folder, len(uids))
        with rare_collections():
            return self._fetch_and_store(box, folder, result, uidvalidity, uids)

    def _fetch_and_store(self, box: BaseMailBox, folder: str, result: FolderResult, uidvalidity: int,
                         uids: list[int]) -> FolderResult:
        """Fetch and store in batches; a large folder is parsed by the helper process meanwhile (at most
        two batches in memory: the one being stored, the one fetched and being parsed)."""
        helper = self.parse_helper_from is not None and len(uids) >= max(self.parse_helper_from, 2 * self.batch_size)
        try:
            for batch, mails in parsed_batches(self._fetched(box, uids), self.preparer, helper=helper,
                                               name=self.address):
                # every UID of the batch is done: one the server did not return was expunged meanwhile
                self._commit(folder, result, mails, uidvalidity, batch[-1])
                self.progress.advance(len(batch))
        finally:
            self.progress.end()
        return result

    def _fetched(self, box: BaseMailBox, uids: list[int]) -> Iterator[tuple[list[int], Raws]]:
        for batch in batched(uids, self.batch_size):
            if self.stop is not None and self.stop.is_set():
                return
            yield batch, list(fetch_raw(box, batch))

    def _commit(self, folder: str, result: FolderResult, mails: Sequence[tuple[int, ParsedMail | NotMail]],
                uidvalidity: int, last_uid: int) -> None:
        """Store a batch and move the checkpoint in one transaction. A message that cannot be parsed or
        stored is stored with its defects (Archive.add_isolated): the checkpoint always moves past it."""
        archive = self.archive
        with self.lock, archive.batch():
            new = already = defective = 0
            for uid, mail in mails:
                if isinstance(mail, NotMail):  # (not sniffed for IMAP: every message on the server is mail)
                    continue
                outcome = archive.add_isolated(mail, [Sighting(self.address, folder, uid=uid)])
                if outcome == "new":
                    new += 1
                    defective += bool(mail.defects)
                else:
                    already += 1
                    if result.rescanned:  # the sighting is there; its UID belongs to the old UIDVALIDITY
                        archive.db.execute(
                            "UPDATE sightings SET uid = ? WHERE mailbox = ? AND folder = ? AND message = "
                            "(SELECT id FROM messages WHERE message_id = ?)",
                            [uid, self.address, folder, mail.message_id],
                        )
            write_checkpoint(archive, self.address, folder, uidvalidity, last_uid, iso(self.clock.now()))
        result.fetched += len(mails)
        result.new += new
        result.with_defects += defective
        result.already += already
        result.last_uid = last_uid

    def _box(self) -> BaseMailBox:
        if self.box is None:
            raise RuntimeError("MailboxSync.connect() first")
        return self.box


def sync_once(archive: Archive, clock: Clock, targets: list[SyncTarget], *, batch_size: int = BATCH_SIZE,
              progress: Progress | None = None) -> list[MailboxResult]:
    """Sync each account once, in turn. One account's failure is reported and the others go on."""
    results: list[MailboxResult] = []
    for target in targets:
        started = time.monotonic()
        result = MailboxResult(target.address)
        session = MailboxSync(target, archive, clock, batch_size=batch_size, progress=progress)
        try:
            session.connect()
            session.sync()
            if session.problems:
                result.error = "; ".join(session.problems)
        except Exception as exc:  # noqa: BLE001 - one mailbox never stops the others; the reason is reported
            log.debug("%s: sync failed", target.address, exc_info=True)
            result.error = describe(exc, target)
        finally:
            session.close()
        result.folders = session.results
        result.seconds = time.monotonic() - started
        results.append(result)
    return results
