"""Reading the outbox's rows back, for assertions."""

import json

from sqlite_utils import Database

from bot.core.reply import Reply


def deliveries(db: Database, alert_id: int) -> dict[str, dict[str, object]]:
    """Per platform: status, attempts, last error, when sent."""
    rows = db.execute(
        "SELECT platform, status, attempts, last_error, sent_at FROM sla_deliveries WHERE alert = ?", [alert_id]
    ).fetchall()
    return {r[0]: {"status": r[1], "attempts": r[2], "error": r[3], "sent_at": r[4]} for r in rows}


def alert_rows(db: Database, *, item: int | None = None) -> list[dict[str, object]]:
    """The queued alerts (all kinds), oldest first; only those of `item` when given."""
    sql = ("SELECT id, key, kind, item, level, created_at, dest_kind, dest_person, dest_team, route, status "
           "FROM sla_alerts")
    rows = db.execute(sql + (" WHERE item = ? ORDER BY id" if item is not None else " ORDER BY id"),
                      [item] if item is not None else []).fetchall()
    keys = ("id", "key", "kind", "item", "level", "created_at", "dest_kind", "dest_person", "dest_team", "route",
            "status")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def reply_of(db: Database, alert_id: int) -> Reply:
    """The Reply an alert carries."""
    row = db.execute("SELECT reply FROM sla_alerts WHERE id = ?", [alert_id]).fetchone()
    return Reply.model_validate(json.loads(row[0]))
