"""`mailroom import`: old mailboxes into the archive, idempotently, in committed batches.

No message stops an import: each is parsed within bounds and one the parser cannot handle is stored as a
defective message (bot.mail.parse); a file that is plainly not mail (empty, an image, a PDF, an archive, an
Outlook .msg) is skipped and named in the summary, never archived.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.mail.archive import Archive, Sighting
from bot.mail.parse import ParsedMail
from bot.mail.parse_helper import batched, parsed_batches, rare_collections
from bot.mail.prepare import NotMail
from bot.mail.sources import Raw

BATCH_SIZE = 1000
PARALLEL_FROM = 1000
"""Below this many messages a parse helper process costs more than it saves."""
NAMED_SKIPS = 20
"""Skipped files named in the summary line (all of them are in `ImportSummary.skipped`)."""


@dataclass
class ImportSummary:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    with_defects: int = 0
    per_mailbox: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(file, why) of each file that is not mail."""

    @property
    def stored(self) -> int:
        return self.new + self.duplicates

    def line(self) -> str:
        """'12 read: 9 new, 0 duplicates, 2 stored with defects; skipped 3 files that are not mail: …'."""
        line = (f"{self.read} read: {self.new} new, {self.duplicates} duplicates, "
                f"{self.with_defects} stored with defects")
        if self.skipped:
            named = ", ".join(f"{where} ({why})" for where, why in self.skipped[:NAMED_SKIPS])
            more = f" and {len(self.skipped) - NAMED_SKIPS} more" if len(self.skipped) > NAMED_SKIPS else ""
            line += f"; skipped {len(self.skipped)} file{'s' if len(self.skipped) != 1 else ''} that " \
                    f"{'are' if len(self.skipped) != 1 else 'is'} not mail: {named}{more}"
        return line

    def as_dict(self) -> dict[str, object]:
        return {"read": self.read, "new": self.new, "duplicates": self.duplicates,
                "with_defects": self.with_defects, "skipped": [{"file": w, "reason": r} for w, r in self.skipped],
                "mailboxes": dict(sorted(self.per_mailbox.items()))}


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
    batches = (([where for where, _raw in batch], [(i, raw) for i, (_where, raw) in enumerate(batch)])
               for batch in batched(messages, BATCH_SIZE))
    preparer = archive.preparer(mailbox, sniff=True)
    with rare_collections():
        for wheres, parsed in parsed_batches(batches, preparer, helper=workers > 1, name="import"):
            with archive.batch():
                for index, mail in parsed:
                    summary.read += 1
                    if isinstance(mail, NotMail):
                        summary.skipped.append((wheres[index], mail.reason))
                    else:
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
    outcome = archive.add_isolated(mail, sightings)
    if outcome == "new":
        summary.new += 1
        summary.with_defects += bool(mail.defects)
        for s in sightings or [Sighting("")]:
            summary.per_mailbox[s.mailbox] = summary.per_mailbox.get(s.mailbox, 0) + 1
    else:
        summary.duplicates += 1
