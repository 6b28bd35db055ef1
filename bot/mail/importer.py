"""`mailroom import`: old mailboxes into the archive, idempotently, in committed batches."""

import multiprocessing
import multiprocessing.pool
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from bot.archive import Archive, Sighting
from bot.mail.parse import ParsedMail, parse_mail

BATCH_SIZE = 500
PARALLEL_FROM = 1000
"""Below this many messages a worker pool costs more than it saves."""


@dataclass
class ImportSummary:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    with_defects: int = 0
    per_mailbox: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.read} read: {self.new} new, {self.duplicates} duplicates, "
            f"{self.with_defects} with defects recorded"
        )


def import_messages(
    archive: Archive,
    messages: Iterable[tuple[str, bytes]],
    *,
    mailbox: str | None = None,
    folder: str = "",
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> ImportSummary:
    """Parse and store every message; a fixed `mailbox` overrides the one found in the headers.

    With `workers` > 1, parsing (the expensive part) runs in a process pool while this process
    writes to SQLite, the archive's single writer.
    """
    summary = ImportSummary()
    pending: list[ParsedMail] = []

    def flush() -> None:
        with archive.batch():
            for mail in pending:
                _store(archive, mail, mailbox, folder, summary)
        if progress:
            progress(len(pending))
        pending.clear()

    raws = (raw for _where, raw in messages)
    with _parser(workers) as parsed:
        for mail in parsed(raws):
            pending.append(mail)
            if len(pending) >= BATCH_SIZE:
                flush()
    if pending:
        flush()
    return summary


def default_workers(total: int | None) -> int:
    if total is not None and total < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


class _parser:
    """Context manager yielding a function raws → parsed mails, in order, serial or pooled."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: multiprocessing.pool.Pool | None = None

    def __enter__(self) -> Callable[[Iterable[bytes]], Iterator[ParsedMail]]:
        if self.workers <= 1:
            return lambda raws: map(parse_mail, raws)
        self.pool = multiprocessing.get_context("forkserver").Pool(self.workers)
        pool = self.pool
        return lambda raws: pool.imap(parse_mail, raws, chunksize=32)

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate() if exc[0] else self.pool.close()
            self.pool.join()


def _store(archive: Archive, mail: ParsedMail, mailbox: str | None, folder: str, summary: ImportSummary) -> None:
    if mailbox is not None:
        sightings = [Sighting(mailbox, folder)]
    else:
        sightings = [Sighting(s.mailbox, folder, s.via) for s in archive.sightings_for(mail)]
    outcome = archive.add(mail, sightings)
    summary.read += 1
    if outcome == "new":
        summary.new += 1
        summary.with_defects += bool(mail.defects)
        for s in sightings or [Sighting("")]:
            summary.per_mailbox[s.mailbox] = summary.per_mailbox.get(s.mailbox, 0) + 1
    else:
        summary.duplicates += 1
