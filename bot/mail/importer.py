"""`mailroom import`: old mailboxes into the archive, idempotently, in committed batches."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.mail.archive import Archive, Sighting
from bot.mail.parse import ParsedMail
from bot.mail.parse_helper import batched, parsed_batches, rare_collections
from bot.mail.sources import Raw

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
    batches = ((None, list(enumerate(batch))) for batch in batched((raw for _where, raw in messages), BATCH_SIZE))
    with rare_collections():
        for _tag, parsed in parsed_batches(batches, archive.preparer(mailbox), helper=workers > 1, name="import"):
            with archive.batch():
                for _index, mail in parsed:
                    _store(archive, mail, mailbox, folder, summary)
            if progress:
                progress(len(parsed))
    return summary


def default_workers(total: int | None) -> int:
    """Two processes (parse, store) for big imports; one for small ones."""
    return 1 if total is not None and total < PARALLEL_FROM else 2


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
