"""Migrations of the ownership feature: change counters for the customer matcher's cache.

Triggers count writes to `customers` and `customer_keys` in `meta`: `customers_added` for inserts and
`customers_changed` for updates and deletes. Imports, the CRM loader and any future writer need no
cooperation. The matcher's per-process index reads both numbers before each search: new customers
only are appended to it; an update or delete rebuilds it.
"""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

owner = Migrations("mailroom.owner")

_COUNTERS = {"INSERT": "customers_added", "UPDATE": "customers_changed", "DELETE": "customers_changed"}


@owner()
def m001_customer_counters(db: Database) -> None:
    statements = [
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('customers_added', '0');",
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('customers_changed', '0');",
        # /owner mine: the customers a person has written to
        "CREATE INDEX IF NOT EXISTS messages_person ON messages(person_id, customer_id);",
    ]
    for table in ("customers", "customer_keys"):
        for event, counter in _COUNTERS.items():
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_count AFTER {event} ON {table} BEGIN "
                f"UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = '{counter}'; END;"
            )
    db.executescript("\n".join(statements))


def customer_counters(db: Database) -> tuple[int, int]:
    """(inserts, updates and deletes) ever made to the customer tables."""
    rows = dict(db.execute(
        "SELECT key, value FROM meta WHERE key IN ('customers_added', 'customers_changed')"
    ).fetchall())
    return int(rows.get("customers_added", 0)), int(rows.get("customers_changed", 0))


@owner()
def m002_crm_rows(db: Database) -> None:
    """What the CRM export last said of a customer: its owner cell as written (also a name that is not a
    configured person, so /owner can say so), the CRM's own owner date, and when the export was read."""
    db.executescript(
        "CREATE TABLE IF NOT EXISTS crm_rows (customer_id INTEGER PRIMARY KEY, owner TEXT NOT NULL DEFAULT '', "
        "owner_known INTEGER NOT NULL DEFAULT 0, owner_since TEXT, read_at TEXT NOT NULL, line INTEGER);"
    )
