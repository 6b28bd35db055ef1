"""Archive figures for `mailroom stats`."""

from typing import Any


def archive_stats(services: Any) -> dict[str, Any]:
    db = services.db

    def count(sql: str) -> int:
        return int(db.execute(sql).fetchone()[0])

    per_mailbox = {address: 0 for address in services.directory.mailboxes}
    for mailbox, n in db.execute("SELECT mailbox, count(DISTINCT message) FROM sightings GROUP BY mailbox"):
        per_mailbox[mailbox or "(unassigned)"] = n
    return {
        "archive": str(services.config.archive_path),
        "messages": count("SELECT count(*) FROM messages"),
        "threads": count("SELECT count(*) FROM threads"),
        "customers": count("SELECT count(*) FROM customers"),
        "with_defects": count("SELECT count(*) FROM messages WHERE defects != '[]'"),
        "mailboxes": per_mailbox,
        "directions": dict(db.execute("SELECT direction, count(*) FROM messages GROUP BY direction").fetchall()),
    }
