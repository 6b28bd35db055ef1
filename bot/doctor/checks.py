"""`mailroom doctor`: is the config sound, is the archive usable, can each mailbox be reached."""

from collections.abc import Iterator
from typing import Any


def run_checks(app: Any) -> Iterator[tuple[bool, str]]:
    config = app.config
    yield True, f"config {config.source}: {len(config.mailboxes)} mailboxes, {len(config.people)} people"
    services = app.services
    figures = services.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    yield True, f"archive {config.archive_path}: {figures} messages"
    from bot.rules.settings import load_rules

    load_rules(config, services.directory)
    yield True, "mail rules ([rules]) valid"
    problem = services.audit.verify()
    yield problem is None, "audit log intact" if problem is None else problem.line()
    for mailbox in config.mailboxes:
        if mailbox.imap is None:
            yield True, f"{mailbox.address}: no IMAP configured (import only)"
    yield from imap_checks(app)


def imap_checks(app: Any) -> Iterator[tuple[bool, str]]:
    """Log in to each IMAP account (read-only) and list its folders with their message counts;
    folders that `mailroom sync` reads are marked with *."""
    from bot.mail.imap_connect import describe, overview, sync_targets

    for target in sync_targets(app.config):
        try:
            seen = overview(target)
        except Exception as exc:  # noqa: BLE001 - one line per mailbox, never a traceback
            yield False, f"{target.address}: IMAP {target.endpoint}: {describe(exc, target)}"
            continue
        listed = ", ".join(_folder_label(folder, count, seen.synced) for folder, count in seen.folders)
        yield True, f"{target.address}: IMAP {target.endpoint} login ok; folders: {listed}"
        for problem in seen.problems:
            yield False, f"{target.address}: {problem}"


def _folder_label(folder: Any, count: int | None, synced: list[str]) -> str:
    """'Sent Items* 40 (\\Sent)': * marks a folder `mailroom sync` reads."""
    label = folder.name + ("*" if folder.name in synced else "")
    if count is not None:
        label += f" {count}"
    if folder.has("\\Sent"):
        label += " (\\Sent)"
    return label
