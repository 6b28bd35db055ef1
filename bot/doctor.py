"""`mailroom doctor`: is the config sound, is the archive usable, can each mailbox be reached."""

from collections.abc import Iterator
from typing import Any


def run_checks(app: Any) -> Iterator[tuple[bool, str]]:
    config = app.config
    yield True, f"config {config.source}: {len(config.mailboxes)} mailboxes, {len(config.people)} people"
    services = app.services
    figures = services.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    yield True, f"archive {config.archive_path}: {figures} messages"
    problem = services.audit.verify()
    yield problem is None, "audit log intact" if problem is None else problem.line()
    for mailbox in config.mailboxes:
        if mailbox.imap is None:
            yield True, f"{mailbox.address}: no IMAP configured (import only)"
    yield from imap_checks(app)


def imap_checks(app: Any) -> Iterator[tuple[bool, str]]:
    """Filled in by IMAP sync: log in to each mailbox and list its folders."""
    return iter(())
