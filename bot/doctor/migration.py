"""Migration completeness (the guide's 三.5: 迁移老邮箱时…避免历史邮件丢失, as a number): for each IMAP account,
log in read-only, count each folder's messages (STATUS), count what `mailroom sync` has not fetched yet
(UID SEARCH above the checkpoint) and compare with what the archive holds. Nothing is downloaded.

Also the login itself: one line per account, with the provider's rule when it fails.
"""

from collections.abc import Iterator
from typing import Any

from imap_tools import BaseMailBox

from bot.core.config import Config
from bot.doctor.model import Check, fail, ok, warn
from bot.mail.imap_connect import (
    CONNECT_TIMEOUT,
    Folder,
    SyncTarget,
    close_quietly,
    connect,
    describe,
    list_folders,
    resolve_folders,
    sync_targets,
)
from bot.mail.imap_sync import read_checkpoint

AREA = "migration"
NOT_HISTORY = ("\\Trash", "\\Junk", "\\Drafts")
"""Folders whose mail is not history worth archiving (not flagged when `sync` skips them)."""


def migration_checks(config: Config, db: Any | None, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[Check]:
    """`db` None: no archive yet (everything on the server counts as not fetched)."""
    every = sync_targets(config)
    targets = {t.address: t for t in every if not t.personal}
    for mailbox in config.mailboxes:
        if mailbox.address in targets:
            yield from account_checks(targets[mailbox.address], db, timeout=timeout)
        else:
            yield ok(AREA, mailbox.address, "no IMAP configured (import only)")
    for target in every:
        if target.personal:
            yield from account_checks(target, db, timeout=timeout)


def account_checks(target: SyncTarget, db: Any, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[Check]:
    name = target.address
    try:
        box = connect(target, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - one line per mailbox, never a traceback
        yield fail(AREA, name, f"IMAP {target.endpoint}: {describe(exc, target)}")
        return
    try:
        rows = list(_compare(box, target, db))
    except Exception as exc:  # noqa: BLE001 - the connection may drop half-way
        rows = [fail(AREA, name, f"IMAP {target.endpoint}: {describe(exc, target)}")]
    finally:
        close_quietly(box)
    yield from rows


def _compare(box: BaseMailBox, target: SyncTarget, db: Any) -> Iterator[Check]:
    address = target.address
    folders = list_folders(box)
    synced, problems = resolve_folders(target.imap.folders or list(target.default_folders), folders)
    yield ok(AREA, address, f"IMAP {target.endpoint} login ok; sync reads {', '.join(synced) or 'no folder'}")
    for problem in problems:
        yield fail(AREA, address, problem, "set [mailboxes.imap] folders to names the server has")
    archived: dict[str, int] = {} if db is None else dict(
        db.execute("SELECT folder, count(*) FROM sightings WHERE mailbox = ? GROUP BY folder", [address]))
    by_name = {f.name: f for f in folders}
    skipped: list[str] = []
    order = {name: i for i, name in enumerate(synced)}
    for folder in sorted(folders, key=lambda f: order.get(f.name, len(order))):  # sync's folders first
        if not folder.selectable:
            continue
        status = box.folder.status(folder.name, ["MESSAGES", "UIDVALIDITY"])
        on_server = int(status.get("MESSAGES", 0))
        if folder.name not in synced:
            if on_server and not any(folder.has(flag) for flag in NOT_HISTORY):
                skipped.append(f"{folder.name} ({on_server})")
            continue
        yield _folder_check(box, target, db, folder, on_server, int(status.get("UIDVALIDITY", 0)),
                            int(archived.get(folder.name, 0)))
    if skipped:
        listed = ", ".join(skipped)
        wanted = [*synced, *(s.rsplit(" (", 1)[0] for s in skipped)]
        yield warn(AREA, f"{address} other folders", f"mail that sync does not read: {listed}",
                   f"to archive it, set [mailboxes.imap] folders = {_toml_list(wanted)}")
    imported = int(archived.get("", 0))
    if imported and "" not in by_name:
        yield ok(AREA, f"{address} imported", f"{imported} messages imported from exports (no folder recorded)")


def _folder_check(box: BaseMailBox, target: SyncTarget, db: Any, folder: Folder, on_server: int,
                  uidvalidity: int, archived: int) -> Check:
    name = f"{target.address} {folder.name}"
    checkpoint = None if db is None else read_checkpoint(db, target.address, folder.name)
    if checkpoint is None:
        waiting = on_server
    elif checkpoint[0] != uidvalidity:
        return warn(AREA, name, f"{on_server} on the server, {archived} archived; the server renumbered the "
                    "folder (UIDVALIDITY changed)", "run mailroom sync: it rescans the folder, skipping what it has")
    else:
        waiting = _count_above(box, folder.name, checkpoint[1]) if on_server else 0
    counted = f"{on_server} on the server, {archived} archived"
    if waiting:
        return warn(AREA, name, f"{counted}, {waiting} not fetched yet", "run mailroom sync")
    unaccounted = on_server - archived
    if unaccounted > 0:
        return warn(AREA, name, f"{counted}: {unaccounted} fetched but not archived under this folder "
                    "(duplicates by Message-ID are stored once)",
                    f"if they matter, run mailroom sync --mailbox {target.address} again and compare")
    if unaccounted < 0:
        return ok(AREA, name, f"{counted} ({-unaccounted} deleted on the server since; the archive keeps them)")
    return ok(AREA, name, f"{counted}: complete")


def _count_above(box: BaseMailBox, folder: str, last_uid: int) -> int:
    """Messages with a UID above the checkpoint (EXAMINE + UID SEARCH: read-only, nothing fetched)."""
    box.folder.set(folder, readonly=True)
    typ, data = box.client.uid("SEARCH", f"UID {last_uid + 1}:*")
    if typ != "OK":
        return 0
    uids = [int(u) for part in data or [] if isinstance(part, bytes) for u in part.split()]
    return sum(1 for uid in uids if uid > last_uid)  # n:* always matches the last message (RFC 3501)


def _toml_list(names: list[str]) -> str:
    return "[" + ", ".join('"' + n.replace("\\", "\\\\").replace('"', '\\"') + '"' for n in names) + "]"
