"""Helpers for the IMAP sync tests: mail to append, and real config files pointing at the test Dovecot."""

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.dovecot import HOST, ImapUser

DOMAIN = "hengda-valves.com"


def mail(n: int, *, subject: str | None = None, sender: str = "buyer@acme-trading.de",
         to: str = f"inquiry@{DOMAIN}", tag: str = "t", body: str | None = None) -> bytes:
    """A small, unique, well-formed message (Message-ID <tag-n@acme-trading.de>)."""
    subject = subject or f"RFQ {n}: ball valves DN{50 + n}"
    body = body or f"Dear team,\r\nplease quote {100 + n} pcs.\r\nBest regards\r\n"
    return (
        f"From: Buyer <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 23 Nov 2026 08:{n % 60:02d}:00 +0800\r\nMessage-ID: <{tag}-{n}@acme-trading.de>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


@dataclass
class Account:
    """One [mailboxes.imap] (or [people.imap]) table of a test config."""

    address: str
    user: ImapUser
    password: str | None = None
    """What the environment variable holds (default: the user's real password)."""
    folders: list[str] | None = None
    ssl: bool = False
    starttls: bool = False
    host: str = HOST
    port: int | None = None
    env: str = ""

    def imap_table(self) -> str:
        port = self.port or (self.user.server.tls_port if self.ssl else self.user.server.port)
        lines = [
            f"host = {json.dumps(self.host)}", f"port = {port}", f"ssl = {str(self.ssl).lower()}",
            f"starttls = {str(self.starttls).lower()}", f"username = {json.dumps(self.user.name)}",
            f"password_env = {json.dumps(self.env)}",
        ]
        if self.folders is not None:
            lines.append(f"folders = {json.dumps(self.folders)}")
        return "\n".join(lines) + "\n"


@dataclass
class SyncSetup:
    config: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def archive(self) -> Path:
        return self.config.parent / "mailroom.db"


def write_config(folder: Path, accounts: list[Account], *, people: list[Account] = (),  # type: ignore[assignment]
                 poll_interval: str = "2m") -> SyncSetup:
    """A minimal but complete config: shared mailboxes with IMAP tables, optional people with theirs."""
    folder.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    parts = [
        f'[organization]\nname = "Test Valve Co."\ndomains = ["{DOMAIN}"]\ntimezone = "Asia/Shanghai"\n',
        '[archive]\npath = "mailroom.db"\n',
        f'[bot]\npoll_interval = "{poll_interval}"\n',
    ]
    for i, account in enumerate([*accounts, *people]):
        account.env = account.env or f"MAILROOM_TEST_PW_{i}"
        if account.password != "":
            env[account.env] = account.password if account.password is not None else account.user.password
    for account in accounts:
        parts.append(f'[[mailboxes]]\naddress = "{account.address}"\nrole = "other"\n[mailboxes.imap]\n'
                     + account.imap_table())
    if not accounts:
        parts.append(f'[[mailboxes]]\naddress = "inquiry@{DOMAIN}"\nrole = "inquiry"\n')
    for i, account in enumerate(people):
        parts.append(f'[[people]]\nid = "p{i}"\nname = "Person {i}"\nemail = "{account.address}"\n'
                     f"[people.imap]\n" + account.imap_table())
    config = folder / "mailroom.toml"
    config.write_text("\n".join(parts), encoding="utf-8")
    return SyncSetup(config, env)


def query(archive: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    """Read the archive through a connection of our own (as another process would)."""
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> float:
    """Poll a real server or process until `condition` holds; return the seconds it took. The default
    bound is for liveness on a loaded machine; a test asserting speed checks the returned seconds."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if condition():
                return time.monotonic() - started
        except sqlite3.OperationalError:
            pass  # the archive does not exist yet, or its tables are being created
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
