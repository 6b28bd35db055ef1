"""`mailroom import`: old mailboxes into the archive, idempotently, in committed batches."""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from bot.archive import Archive, Sighting
from bot.mail.parse import ParsedMail
from bot.mail.parse_helper import HelperError, ParseHelper, rare_collections
from bot.mail.prepare import MailPreparer
from bot.mail.sources import Raw

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
PARALLEL_FROM = 1000
"""Below this many messages a parse helper process costs more than it saves."""


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
    messages: Iterable[tuple[str, Raw]],
    *,
    mailbox: str | None = None,
    folder: str = "",
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> ImportSummary:
    """Parse and store every message; a fixed `mailbox` overrides the one found in the headers.

    With `workers` > 1, a helper process (bot.mail.parse_helper, shared with IMAP sync) parses the
    next batch while this process, the archive's single writer, stores the current one.
    """
    summary = ImportSummary()
    preparer = archive.preparer(mailbox)
    batches = _batches((raw for _where, raw in messages), BATCH_SIZE)
    parsed = _parsed_in_helper(batches, preparer) if workers > 1 else ([preparer(raw) for raw in b] for b in batches)
    with rare_collections():
        for batch in parsed:
            with archive.batch():
                for mail in batch:
                    _store(archive, mail, mailbox, folder, summary)
            if progress:
                progress(len(batch))
    return summary


def default_workers(total: int | None) -> int:
    """Two processes (parse, store) for big imports; one for small ones."""
    return 1 if total is not None and total < PARALLEL_FROM else 2


def _batches(raws: Iterable[Raw], size: int) -> Iterator[list[Raw]]:
    iterator = iter(raws)
    while batch := list(islice(iterator, size)):
        yield batch


def _parsed_in_helper(batches: Iterator[list[Raw]], preparer: MailPreparer) -> Iterator[list[ParsedMail]]:
    """Parsed batches in order, the helper always one batch ahead; in-process if it cannot run."""
    try:
        helper = ParseHelper(preparer)
    except HelperError as exc:
        log.warning("%s; parsing in this process", exc)
        yield from ([preparer(raw) for raw in batch] for batch in batches)
        return
    try:
        pending = next(batches, None)
        if pending is not None:
            helper.submit(list(enumerate(pending)))
        while pending is not None:
            following = next(batches, None)
            if following is not None:
                helper.submit(list(enumerate(following)))
            yield [mail for _index, mail in helper.result()]
            pending = following
    finally:
        helper.close()


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
