"""`mailroom import`: old mailboxes into the archive, idempotently, in committed batches."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.archive import Archive, Sighting
from bot.mail.parse import parse_mail

BATCH_SIZE = 500


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
) -> ImportSummary:
    """Parse and store every message; a fixed `mailbox` overrides the one found in the headers."""
    summary = ImportSummary()
    pending: list[bytes] = []

    def flush() -> None:
        with archive.batch():
            for raw in pending:
                _store(archive, raw, mailbox, folder, summary)
        if progress:
            progress(len(pending))
        pending.clear()

    for _where, raw in messages:
        pending.append(raw)
        if len(pending) >= BATCH_SIZE:
            flush()
    if pending:
        flush()
    return summary


def _store(archive: Archive, raw: bytes, mailbox: str | None, folder: str, summary: ImportSummary) -> None:
    mail = parse_mail(raw)
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
