"""Who may open the dashboard: signed, short-lived, single-use sign-in links from chat, and sessions.

- A link is `<base>/signin?t=<id>.<nonce>.<expires>.<signature>`; the signature is an HMAC-SHA256 (key:
  a random secret kept in the archive's `meta`) over the link's id, person, nonce and expiry, so a link
  cannot be forged or moved to another person, and its row must exist, be unused, unexpired, unrevoked.
- Opening it once starts a session: a random cookie value whose SHA-256 is stored, ending after
  `SESSION_TTL` or when revoked. The person is looked up in the config on every request, so a person
  removed from the config is out at once, and their rights are always today's.
- Issuing and revoking are audited, in the same transaction.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from bot.core.clock import iso
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
SECRET_KEY = "report.dashboard_secret"
MAX_TOKEN = 200


@dataclass(frozen=True)
class Link:
    id: int
    token: str
    expires_at: str


def _secret(db: Database) -> bytes:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [SECRET_KEY]).fetchone()
    if row is None:
        with write_transaction(db):
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [SECRET_KEY, secrets.token_hex(32)])
        row = db.execute("SELECT value FROM meta WHERE key = ?", [SECRET_KEY]).fetchone()
    return bytes.fromhex(row[0])


def _sign(secret: bytes, link_id: int, person_id: str, nonce: str, expires: int) -> str:
    mac = hmac.new(secret, f"{link_id}|{person_id}|{nonce}|{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def issue_link(db: Database, audit: AuditLog, person_id: str, now: datetime, *, ttl: timedelta = LINK_TTL) -> Link:
    """A new sign-in link for one person (audited)."""
    secret = _secret(db)
    nonce = secrets.token_urlsafe(12)
    expires = now + ttl
    with write_transaction(db):
        link_id = int(db.execute(
            "INSERT INTO dashboard_links (person_id, nonce, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [person_id, nonce, iso(now), iso(expires)]).lastrowid or 0)
        audit.record(person_id, "dashboard.link", {"link": link_id, "expires_at": iso(expires)}, "issued")
    epoch = int(expires.timestamp())
    return Link(link_id, f"{link_id}.{nonce}.{epoch}.{_sign(secret, link_id, person_id, nonce, epoch)}", iso(expires))


class AccessError(Exception):
    """A link or session that does not (or no longer) open the dashboard; the message is for the person."""


def sign_in(db: Database, token: str, now: datetime, *, ttl: timedelta = SESSION_TTL) -> tuple[str, str]:
    """Spend a link: (person id, the new session's cookie value). AccessError when it does not open."""
    parts = token[:MAX_TOKEN].split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        raise AccessError("This is not a sign-in link.")
    link_id, nonce, expires, signature = int(parts[0]), parts[1], int(parts[2]), parts[3]
    with write_transaction(db):
        row = db.execute("SELECT person_id, nonce, expires_at, used_at, revoked_at FROM dashboard_links WHERE id = ?",
                         [link_id]).fetchone()
        if row is None or row[1] != nonce or not hmac.compare_digest(
                _sign(_secret(db), link_id, row[0], nonce, expires), signature) or row[2] != iso_epoch(expires):
            raise AccessError("This sign-in link is not valid.")
        person_id, _, expires_at, used_at, revoked_at = row
        if revoked_at is not None:
            raise AccessError("This sign-in link was revoked. Ask for a new one with /dashboard in chat.")
        if used_at is not None:
            raise AccessError("This sign-in link was used already. Ask for a new one with /dashboard in chat.")
        if iso(now) >= expires_at:
            raise AccessError("This sign-in link has expired. Ask for a new one with /dashboard in chat.")
        cookie = secrets.token_urlsafe(32)
        db.execute("UPDATE dashboard_links SET used_at = ? WHERE id = ?", [iso(now), link_id])
        db.execute("INSERT INTO dashboard_sessions (id, person_id, link_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                   [_hash(cookie), person_id, link_id, iso(now), iso(now + ttl)])
    return person_id, cookie


def iso_epoch(epoch: int) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def session_person(db: Database, cookie: str | None, now: datetime) -> str | None:
    """The person of a live session cookie, else None."""
    if not cookie or len(cookie) > MAX_TOKEN:
        return None
    row = db.execute("SELECT person_id, expires_at, revoked_at FROM dashboard_sessions WHERE id = ?",
                     [_hash(cookie)]).fetchone()
    if row is None or row[2] is not None or iso(now) >= row[1]:
        return None
    return str(row[0])


def end_session(db: Database, cookie: str | None, now: datetime) -> None:
    if cookie and len(cookie) <= MAX_TOKEN:
        with write_transaction(db):
            db.execute("UPDATE dashboard_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       [iso(now), _hash(cookie)])


def revoke(db: Database, audit: AuditLog, person_id: str, actor: str, now: datetime) -> tuple[int, int]:
    """Revoke every unused link and every live session of a person (audited): (links, sessions)."""
    with write_transaction(db):
        links = db.execute("UPDATE dashboard_links SET revoked_at = ?, revoked_by = ? WHERE person_id = ? "
                           "AND revoked_at IS NULL AND used_at IS NULL", [iso(now), actor, person_id]).rowcount
        sessions = db.execute("UPDATE dashboard_sessions SET revoked_at = ? WHERE person_id = ? AND revoked_at IS NULL "
                              "AND expires_at > ?", [iso(now), person_id, iso(now)]).rowcount
        audit.record(actor, "dashboard.revoke", {"person": person_id, "links": links, "sessions": sessions}, "revoked")
    return links, sessions


URL_ENV = "MAILROOM_DASHBOARD_URL"
DEFAULT_URL = "http://127.0.0.1:8080/dashboard"


def dashboard_url(environ: dict[str, str] | None = None) -> str:
    """Where `mailroom serve` is reached from people's browsers, up to /dashboard ($MAILROOM_DASHBOARD_URL)."""
    import os

    return (environ if environ is not None else os.environ).get(URL_ENV, DEFAULT_URL).rstrip("/")
