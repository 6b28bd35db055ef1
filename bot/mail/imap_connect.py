"""Reaching an IMAP mailbox: which mailboxes to sync, logging in (TLS, STARTTLS or loopback plain text),
finding folders by their SPECIAL-USE flags, and saying in one line what went wrong.

Used by `mailroom sync` (bot/mail/imap_sync.py, bot/mail/imap_watch.py) and `mailroom doctor`.
"""

import contextlib
import imaplib
import ipaddress
import os
import re
import socket
import ssl
from dataclasses import dataclass

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import (
    MailboxFetchError,
    MailboxLoginError,
    MailboxStarttlsError,
    UnexpectedCommandStatusError,
)

from bot.core.config import Config, Imap
from bot.core.errors import MailroomError, SyncError
from bot.mail.providers import provider

CONNECT_TIMEOUT = 30.0
"""Seconds to wait for the server on connect and on every command (a dead server must not hang us)."""
INBOX = "INBOX"
SENT = "\\Sent"
_UID = re.compile(rb"UID (\d+)")
_LIST_LINE = re.compile(r'\((?P<flags>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)')


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """One IMAP account to sync: a shared mailbox, or (opt-in) a person's own mailbox.

    A shared mailbox syncs INBOX and its \\Sent folder by default; a person's mailbox only its \\Sent
    folder (what they wrote to customers), since their inbox is their own business.
    """

    address: str
    imap: Imap
    personal: bool = False

    @property
    def default_folders(self) -> tuple[str, ...]:
        return (SENT,) if self.personal else (INBOX, SENT)

    @property
    def endpoint(self) -> str:
        mode = "TLS" if self.imap.ssl else "STARTTLS" if self.imap.starttls else "plain text"
        return f"{self.imap.host}:{self.imap.port} ({mode})"


def sync_targets(config: Config, only: str | None = None) -> list[SyncTarget]:
    """Every configured IMAP account, or the one `only` names (an address or alias, or a person's id)."""
    targets = [SyncTarget(m.address, m.imap) for m in config.mailboxes if m.imap is not None]
    targets += [SyncTarget(p.email, p.imap, personal=True) for p in config.people if p.imap is not None]
    if only is None:
        return targets
    wanted = only.strip().lower()
    person_emails = {p.id.lower(): p.email for p in config.people}
    aliases = {a.address: a.target for a in config.aliases}
    wanted = aliases.get(wanted, person_emails.get(wanted, wanted))
    chosen = [t for t in targets if t.address == wanted]
    if not chosen:
        known = ", ".join(t.address for t in targets) or "none: add an [mailboxes.imap] table to the config"
        raise MailroomError(f"--mailbox {only}: no IMAP account configured for it (IMAP accounts: {known})")
    return chosen


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uid_set(uids: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] → '1:3,7,9:10' (sorted input): short commands for big batches."""
    runs: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:] + [-1]:
        if uid != prev + 1:
            runs.append(str(start) if start == prev else f"{start}:{prev}")
            start = uid
        prev = uid
    return ",".join(runs)


def fetch_raw(box: BaseMailBox, uids: list[int]) -> list[tuple[int, bytes]]:
    """(UID, raw RFC 822 bytes) of the given messages, in one UID FETCH, without setting \\Seen.

    BODY.PEEK[] is imap-tools' `fetch(mark_seen=False)`; the response is read here rather than through
    `fetch(bulk=…)`, which pairs response items two by two and builds an `email` object per message: an
    unsolicited FETCH (another client changing a flag) arriving among them would shift the pairs, and the
    parse would be done twice. A message's UID is in its response, before or just after the literal.
    """
    typ, data = box.client.uid("FETCH", uid_set(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise MailboxFetchError(command_result=(typ, data), expected="OK")
    found: list[tuple[int, bytes]] = []
    pending: bytes | None = None  # a literal whose UID comes after it
    unnamed = 0
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            unnamed += pending is not None
            match = _UID.search(item[0])
            pending = None
            if match:
                found.append((int(match.group(1)), item[1]))
            else:
                pending = item[1]
        elif isinstance(item, bytes) and pending is not None:
            match = _UID.search(item)
            if match:
                found.append((int(match.group(1)), pending))
            else:
                unnamed += 1
            pending = None
    if unnamed or pending is not None:
        # never guess: the checkpoint would move past a message that was not stored
        raise SyncError("the server sent a message without its UID (RFC 3501 requires it in UID FETCH)")
    wanted = set(uids)
    return [(uid, raw) for uid, raw in found if uid in wanted]


def connect(target: SyncTarget, *, timeout: float = CONNECT_TIMEOUT) -> BaseMailBox:
    """Log in, select nothing. Raises SyncError for what the config can fix, or the network's exceptions."""
    imap = target.imap
    preset = provider(imap.provider)
    if imap.oauth2 is None and preset is not None and preset.basic_auth == "refused":
        raise SyncError(f"{preset.label}: {preset.login_rule}")
    if not imap.ssl and not imap.starttls and not is_loopback(imap.host):
        raise SyncError(
            f"plain-text IMAP to {imap.host} would send the password in clear: set ssl = true (port 993) "
            "or starttls = true (port 143); plain text is for loopback test servers only"
        )
    if imap.oauth2 is not None:
        from bot.mail.oauth import access_token

        token = access_token(imap.oauth2)
        password = ""
    else:
        password = os.environ.get(imap.password_env) or ""
        if not password:
            raise SyncError(f"the environment variable {imap.password_env} (password_env) is not set")
    box: BaseMailBox
    if imap.ssl:
        box = MailBox(imap.host, imap.port, timeout=timeout, ssl_context=ssl.create_default_context())
    elif imap.starttls:
        box = MailBoxStartTls(imap.host, imap.port, timeout=timeout, ssl_context=ssl.create_default_context())
    else:
        box = MailBoxUnencrypted(imap.host, imap.port, timeout=timeout)
    try:
        if imap.oauth2 is not None:
            box.xoauth2(imap.username, token, initial_folder=None)
        else:
            box.login(imap.username, password, initial_folder=None)
        typ, data = box.client.capability()  # the list may grow after login; imaplib keeps the first one
        if typ == "OK" and data and isinstance(data[-1], bytes):
            box.client.capabilities = tuple(data[-1].decode(errors="replace").upper().split())
    except BaseException:
        close_quietly(box)
        raise
    return box


def capabilities(box: BaseMailBox) -> set[str]:
    return {str(c).upper() for c in box.client.capabilities}


def close_quietly(box: BaseMailBox | None) -> None:
    """Log out if the connection still works; drop the socket either way."""
    if box is None:
        return
    with contextlib.suppress(Exception):  # the connection may already be gone: nothing to report
        box.client.sock.settimeout(5)
        box.logout()
    with contextlib.suppress(Exception):
        box.client.shutdown()


@dataclass(frozen=True, slots=True)
class Folder:
    name: str
    flags: tuple[str, ...]

    @property
    def selectable(self) -> bool:
        return not any(f.lower() in ("\\noselect", "\\nonexistent") for f in self.flags)

    def has(self, flag: str) -> bool:
        return flag.lower() in (f.lower() for f in self.flags)


def list_folders(box: BaseMailBox) -> list[Folder]:
    """All folders with their flags. Special-use flags (\\Sent, …) come with LIST on most servers;
    where they do not, LIST … RETURN (SPECIAL-USE) (RFC 6154) is asked as well."""
    folders = [Folder(f.name, tuple(f.flags)) for f in box.folder.list()]
    special = {"\\SENT", "\\DRAFTS", "\\TRASH", "\\JUNK", "\\ARCHIVE", "\\ALL", "\\FLAGGED"}
    flagged = any(f.upper() in special for folder in folders for f in folder.flags)
    if not flagged and "SPECIAL-USE" in capabilities(box):
        extra = {f.name: f.flags for f in _list_special_use(box)}
        folders = [Folder(f.name, tuple(dict.fromkeys(f.flags + extra.get(f.name, ())))) for f in folders]
    return folders


def _list_special_use(box: BaseMailBox) -> list[Folder]:
    client = box.client
    typ, data = client._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")  # noqa: SLF001
    typ, data = client._untagged_response(typ, data, "LIST")  # noqa: SLF001
    found: list[Folder] = []
    for item in data or []:
        if isinstance(item, tuple):
            line, name = item[0].decode(errors="replace"), item[1].decode(errors="replace")
            match = _LIST_LINE.match(line)
        elif isinstance(item, bytes):
            match = _LIST_LINE.match(item.decode(errors="replace"))
            name = match.group("name").strip('"') if match else ""
        else:
            continue
        if match:
            found.append(Folder(name, tuple(match.group("flags").split())))
    return found


def resolve_folders(wanted: list[str] | tuple[str, ...], folders: list[Folder]) -> tuple[list[str], list[str]]:
    """Configured names (or the special-use flag \\Sent) → server folder names, and the problems found.

    INBOX is case-insensitive (RFC 3501); other names must match the server's exactly.
    """
    names = {f.name: f for f in folders if f.selectable}
    chosen: list[str] = []
    problems: list[str] = []
    for want in wanted:
        if want == SENT:
            sent = next((f.name for f in folders if f.selectable and f.has(SENT)), None)
            if sent is None:
                problems.append("no folder is marked \\Sent (SPECIAL-USE) on the server: set folders in the config")
            elif sent not in chosen:
                chosen.append(sent)
            continue
        name = INBOX if want.upper() == INBOX else want
        if name in names or name == INBOX:
            if name not in chosen:
                chosen.append(name)
        else:
            known = ", ".join(sorted(names)) or "none"
            problems.append(f"folder {want!r} not found on the server (it has: {known})")
    return chosen, problems


def describe(exc: BaseException, target: SyncTarget) -> str:
    """One line a person can act on, for whatever went wrong talking to the server."""
    imap = target.imap
    where = f"{imap.host}:{imap.port}"
    if isinstance(exc, MailroomError):
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return f"unknown host {imap.host!r} ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS failure with {where}: certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        hint = "is the port right for implicit TLS (ssl = true, usually 993)?" if imap.ssl else "check starttls/port"
        return f"TLS failure with {where}: {exc.reason or exc} ({hint})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where} (server down or wrong port)"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {CONNECT_TIMEOUT:.0f} s"
    refused = isinstance(exc, MailboxLoginError) or (  # imaplib's authenticate() raises a bare error
        isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort)
        and "AUTHENTICAT" in str(exc).upper())
    if refused and imap.oauth2 is not None:
        from bot.mail.oauth import forget_tokens

        forget_tokens()  # the next try asks the token endpoint afresh
        said = _server_said(exc) if isinstance(exc, MailboxLoginError) else str(exc)
        return (f"XOAUTH2 login refused for {imap.username!r}: {said} (the token endpoint issued a "
                f"token the server does not accept: check oauth2.scope and that IMAP is enabled for the account)")
    if isinstance(exc, MailboxLoginError):
        said = _server_said(exc)
        line = f"login failed for {imap.username!r}: {said} (check the password in ${imap.password_env})"
        preset = provider(imap.provider)
        return f"{line}; {preset.label}: {preset.login_rule}" if preset else line
    if isinstance(exc, MailboxStarttlsError):
        return f"{where} refused STARTTLS: {_server_said(exc)}"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"connection to {where} lost ({exc})"
    if isinstance(exc, imaplib.IMAP4.error):
        return f"IMAP error from {where}: {exc}"
    if isinstance(exc, UnexpectedCommandStatusError):
        return f"{where} refused a command: {_server_said(exc)}"
    if isinstance(exc, ConnectionError):
        return f"connection to {where} lost ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        return f"network error with {where}: {exc.strerror or exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _server_said(exc: UnexpectedCommandStatusError) -> str:
    data = exc.command_result[1] if len(exc.command_result) > 1 else None
    parts = data if isinstance(data, list | tuple) else [data]
    text = " ".join(p.decode(errors="replace") if isinstance(p, bytes) else str(p) for p in parts if p)
    return text.strip() or str(exc.command_result[0])
