"""Where old mail comes from when a mailbox is migrated: a folder of .eml files, an mbox, a Maildir."""

import mailbox
import os
from collections.abc import Iterator
from pathlib import Path

from bot.errors import MailroomError

MAILDIR_PARTS = ("cur", "new")


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


def read_messages(path: str | os.PathLike[str]) -> Iterator[tuple[str, bytes]]:
    """Yield (where, raw bytes) for every message under `path`, in a stable order."""
    path = Path(path)
    if not path.exists():
        raise MailroomError(f"{path}: no such file or folder")
    if path.is_dir():
        for file in _files(path):
            yield str(file), file.read_bytes()
    elif is_mbox(path):
        box = mailbox.mbox(str(path), create=False)
        try:
            for key in box.iterkeys():
                yield f"{path}#{key}", box.get_bytes(key)
        finally:
            box.close()
    else:
        yield str(path), path.read_bytes()


def _files(folder: Path) -> Iterator[Path]:
    """Maildir cur/new (and nested Maildir++ folders) or every .eml below a folder."""
    if is_maildir(folder):
        for part in MAILDIR_PARTS:
            yield from sorted(p for p in (folder / part).iterdir() if p.is_file() and not p.name.startswith("."))
        for sub in sorted(folder.iterdir()):
            if sub.name.startswith(".") and is_maildir(sub):
                yield from _files(sub)
        return
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith((".eml", ".msg.txt")) or _is_maildir_file(Path(root)):
                yield Path(root) / name


def _is_maildir_file(parent: Path) -> bool:
    return parent.name in MAILDIR_PARTS and is_maildir(parent.parent)
