"""The handover feature's table (migration set "mailroom.handover").

One row per `/handover`: the preview is written first (state `pending`) with the owner each customer
had when it was shown, so confirming later can compare-and-set against exactly what the person saw.
States: pending → done (confirmed) → undone; pending → superseded (another change to one of its
customers got there first) or cancelled.
"""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

handover_migrations = Migrations("mailroom.handover")


@handover_migrations()
def m001_handovers(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE handovers (
            id INTEGER PRIMARY KEY,
            from_person TEXT NOT NULL,
            to_person TEXT NOT NULL,
            scope TEXT NOT NULL,                 -- all | customers
            customers TEXT NOT NULL,             -- JSON: [{id, name, source, expected, previous_source}]
            reason TEXT,
            actor TEXT NOT NULL,                 -- who asked for it (the preview)
            state TEXT NOT NULL DEFAULT 'pending', -- pending | done | undone | superseded | cancelled
            created_at TEXT NOT NULL,
            confirmed_at TEXT,
            confirmed_by TEXT,
            undone_at TEXT,
            undone_by TEXT,
            outcome TEXT NOT NULL DEFAULT '{}'   -- JSON: what confirm / undo / the conflict did
        );
        CREATE INDEX handovers_state ON handovers(state, id);
        CREATE INDEX handovers_people ON handovers(from_person, to_person);
        """
    )
