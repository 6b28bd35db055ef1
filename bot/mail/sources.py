"""Where old mail comes from when a mailbox is migrated: a folder of .eml files, an mbox, a Maildir."""

import mailbox
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from bot.core.errors import MailroomError

MAILDIR_PARTS = ("cur", "new")
FOREIGN_NAMES = frozenset({"thumbs.db", "desktop.ini", "mailroom.toml", "mailroom.db", "mailroom.db-wal",
                           "mailroom.db-shm"})
FOREIGN_SUFFIXES = (".db-wal", ".db-shm", ".tmp", ".part", ".lock", ".swp", ".tsv", ".csv", ".json", ".xml",
                    ".md", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".py", ".js", ".css", ".sqlite", ".db")
"""Files a folder import passes over without counting (besides hidden ones): operating-system litter,
our own archive and config, files being written, data and source files that sit beside mail. Everything else is read whatever its extension, and what
is not mail is skipped and named (bot.mail.prepare.not_mail)."""


class MessageHead(NamedTuple):
    """The first bytes of a message too large to read whole, and its whole size."""

    data: bytes
    size: int


class MessageFile(NamedTuple):
    """A message still on disk, read where it is parsed: a large import's parse helper reads the files,
    so the archive's writer process spends no time on them."""

    path: str

    def read(self, limit: int | None = None) -> bytes | MessageHead:
        """The file's bytes; with `limit`, a file larger than it comes back as its first `limit` bytes and
        its size, so a 2 GB file costs `limit` bytes of memory, never its size."""
        try:
            with open(self.path, "rb") as handle:
                if limit is None:
                    return handle.read()
                size = os.fstat(handle.fileno()).st_size
                data = handle.read(limit)
                return MessageHead(data, size) if size > len(data) else data
        except OSError as exc:
            raise MailroomError(f"{self.path}: cannot read ({exc.strerror or exc})") from None


Raw = bytes | MessageFile | MessageHead


def bounded(raw: Raw, limit: int) -> tuple[bytes, int]:
    """At most `limit` bytes of a message, and its whole size. A message's header and text come first
    and its attachments after, so what is cut is attachment data, which the archive never keeps."""
    if isinstance(raw, MessageFile):
        raw = raw.read(limit)
    if isinstance(raw, MessageHead):
        return raw.data[:limit], raw.size
    return (raw if len(raw) <= limit else raw[:limit]), len(raw)


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / part).is_dir() for part in MAILDIR_PARTS)


def is_mbox(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def count_messages(path: Path) -> int | None:
    """How many messages `read_messages` will yield, when cheap to know (for a progress bar)."""
    if path.is_dir():
        return sum(1 for _ in _files(path))
    return None if is_mbox(path) else 1


def read_messages(path: str | os.PathLike[str], *, deferred: bool = False,
                  max_bytes: int | None = None) -> Iterator[tuple[str, Raw]]:
    """Yield (where, raw bytes) for every message under `path`, in a stable order. With `deferred`,
    files of a folder come as MessageFile, to be read by whoever parses them. With `max_bytes`, a file
    larger than it is read only that far (a MessageHead)."""
    path = Path(path)
    if not path.exists():
        raise MailroomError(f"{path}: no such file or folder")
    if path.is_dir():
        plain_folder = not is_maildir(path)
        for file in _files(path):
            where = str(file)
            if plain_folder and is_mbox(file):  # an mbox saved among .eml files (Thunderbird's "Inbox")
                yield from _mbox_messages(file, max_bytes)
            else:
                yield where, MessageFile(where) if deferred else MessageFile(where).read(max_bytes)
    elif is_mbox(path):
        yield from _mbox_messages(path, max_bytes)
    else:
        yield str(path), MessageFile(str(path)).read(max_bytes)


def _mbox_messages(path: Path, max_bytes: int | None = None) -> Iterator[tuple[str, bytes | MessageHead]]:
    """Each message of an mbox; with `max_bytes`, a larger one is read only that far (a MessageHead)."""
    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            if max_bytes is None:
                yield f"{path}#{key}", box.get_bytes(key)
                continue
            message = box.get_file(key)
            data = message.read(max_bytes)
            message.seek(0, 2)
            size = message.tell()
            message.close()  # (the mbox's file stays open: a message's view never closes it)
            yield f"{path}#{key}", MessageHead(data, size) if size > len(data) else data
    finally:
        box.close()


def _files(folder: Path) -> Iterator[Path]:
    """Maildir cur/new (and nested Maildir++ folders) or every regular file below a folder (not hidden ones,
    nor FOREIGN_NAMES: raw mail saved without .eml is still mail; what is not is skipped when read)."""
    if is_maildir(folder):
        for part in MAILDIR_PARTS:
            yield from (folder / part / name for name in _file_names(folder / part))
        for sub in sorted(folder.iterdir()):
            if sub.name.startswith(".") and is_maildir(sub):
                yield from _files(sub)
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if _foreign(name):
                continue
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _foreign(name: str) -> bool:
    lower = name.lower()
    return (name.startswith((".", "~$", "._")) or lower in FOREIGN_NAMES or lower.endswith(FOREIGN_SUFFIXES))


def _file_names(folder: Path) -> list[str]:
    """The sorted names of the files in `folder`, without hidden ones (scandir: no stat per file)."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file())


