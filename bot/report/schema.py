"""The report feature's tables (migration set "mailroom.report"): dashboard sign-in links and sessions.

A link is signed (HMAC with a secret kept in `meta`), names one person, expires after minutes and works
once; it opens a session whose cookie the browser keeps (only its hash is stored here). Both can be
revoked from chat (`/dashboard revoke`); revoking a person's links ends their sessions too.
"""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

report_migrations = Migrations("mailroom.report")


@report_migrations()
def m001_dashboard_access(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE dashboard_links (
            id INTEGER PRIMARY KEY,
            person_id TEXT NOT NULL,
            nonce TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,      -- UTC ISO: unusable from then on
            used_at TEXT,                  -- a link opens one session, once
            revoked_at TEXT,
            revoked_by TEXT
        );
        CREATE INDEX dashboard_links_person ON dashboard_links(person_id);

        CREATE TABLE dashboard_sessions (
            id TEXT PRIMARY KEY,           -- SHA-256 of the cookie's value (the value itself is not kept)
            person_id TEXT NOT NULL,
            link_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        ) WITHOUT ROWID;
        CREATE INDEX dashboard_sessions_person ON dashboard_sessions(person_id);
        """
    )
