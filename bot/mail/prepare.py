"""Parsing for the archive: the parse itself plus the text work the indexes need.

All of it runs wherever parsing runs — in the parse helper process for large imports and syncs — so the
archive's single writer mostly stores. A MailPreparer is pickled to the helper once, with the steps the
archive's indexes asked for (`Archive.preparer`: search text, category scores) and the bounds ([limits]).

Nothing here raises for a message: the parse never does (bot.mail.parse), a failing step is recorded as a
defect of its message. With `sniff` (imports of files), a file that is plainly not mail — empty, an image, a
PDF, an archive, an Outlook .msg, anything without a header block — comes back as `NotMail`, never archived.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.config import Limits
from bot.mail.parse import LIMITS, ParsedMail, parse_mail
from bot.mail.sources import Raw, bounded

Extra = Callable[[ParsedMail], None]
"""A picklable step that stores its result in `ParsedMail.prepared`."""

OUTLOOK_MSG = ("an Outlook .msg file (Outlook's own format, not e-mail): in Outlook, save it as .eml, or export "
               "the folder as mbox, and import that")
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OUTLOOK_MSG),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
CUT = "message cut:"
"""How the defect of a message read only to `[limits] message_bytes` begins. Where a cut lands depends
on line endings (IMAP's CRLF, a file's LF) and the limit, so a cut copy's attachment sizes, and with them
its fingerprint, differ from another copy's: the archive knows a cut copy by this defect."""
_FIRST_LINE = re.compile(rb"(?:From |[\x21-\x39\x3b-\x7e]{1,76}[ \t]*:)")
"""A header block starts with a field (`Name:`) or an mbox/Unix `From ` line."""


@dataclass(frozen=True, slots=True)
class NotMail:
    """A file that is not a message, and why (e.g. 'a JPEG image')."""

    reason: str


_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\x1b")  # (ESC: ISO-2022-JP text)


def not_mail(data: bytes) -> str | None:
    """Why `data` is plainly not an RFC 5322 message, or None when it may be one.

    Plainly not mail: empty, a known binary format, or binary data (NUL or other control bytes) without a
    header block at its start. Text without a header block is still read as a message — its text the
    body, "no header block" its defect — as mail parsers do (mail test suites hold such messages)."""
    if not data.strip():
        return "an empty file"
    for magic, what in MAGIC:
        if data.startswith(magic):
            return what
    start = data[:4096].lstrip(b"\r\n\t \xef\xbb\xbf")  # blank lines and a UTF-8 byte order mark
    if _FIRST_LINE.match(start):
        return None
    control = len(start) - len(start.translate(None, _CONTROL))
    if b"\x00" in start or control > len(start) // 20:
        return "binary data, not e-mail (no header block at its start)"
    return None


class MailPreparer:
    def __init__(self, extras: tuple[Extra, ...] = (), limits: Limits = LIMITS, *, sniff: bool = False):
        self.extras = extras
        self.limits = limits
        self.sniff = sniff

    def __call__(self, raw: Raw) -> ParsedMail | NotMail:
        data, size = bounded(raw, self.limits.message_bytes)
        if self.sniff and (reason := not_mail(data)) is not None:
            return NotMail(reason)
        mail = parse_mail(data, self.limits)
        if size > len(data):
            mail.size = size
            mail.defects.append(f"{CUT} only its first {len(data):,} of {size:,} bytes were read "
                                "([limits] message_bytes)")
        for extra in self.extras:
            try:
                extra(mail)
            except Exception as exc:  # noqa: BLE001 - the message is stored; its index text is made later
                mail.prepared.clear()
                mail.defects.append(f"preparing for the indexes failed: {type(exc).__name__}")
                break
        return mail
