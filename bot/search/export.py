"""Writing a search result to a file: CSV (one row per message) or mbox.

The archive keeps each message's parsed text, not its raw bytes, so an mbox export rebuilds every
message from the stored fields (headers, body text, and the attachment names in an
`X-Mailroom-Attachments` header); the attachments' contents are not in the archive.
"""

import csv
import json
import mailbox
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Literal

from sqlite_utils import Database

from bot.core.clock import parse_instant

Format = Literal["csv", "mbox"]
CSV_COLUMNS = ("id", "message_id", "date", "from", "from_name", "to", "cc", "subject", "mailboxes", "customer",
               "category", "direction", "attachments", "body")
_CHUNK = 500


def export_rows(db: Database, ids: Sequence[int]) -> Iterator[dict[str, object]]:
    """The exported messages in the given order, with their mailboxes and customer name."""
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        marks = ", ".join("?" for _ in chunk)
        boxes: dict[int, list[str]] = {}
        for message, box in db.execute(
            f"SELECT DISTINCT message, mailbox FROM sightings WHERE message IN ({marks}) ORDER BY mailbox", chunk
        ):
            boxes.setdefault(message, []).append(box)
        rows = {
            r[0]: r
            for r in db.execute(
                f"""SELECT m.id, m.message_id, m.date, m.from_addr, m.from_name, m.to_addrs, m.cc_addrs, m.subject,
                           c.name, m.category, m.direction, m.attachments, m.body, m.in_reply_to
                    FROM messages m LEFT JOIN customers c ON c.id = m.customer_id WHERE m.id IN ({marks})""",
                chunk,
            )
        }
        for pk in chunk:
            r = rows.get(pk)
            if r is None:
                continue
            yield {
                "id": r[0], "message_id": r[1], "date": r[2] or "", "from": r[3], "from_name": r[4],
                "to": _addresses(r[5]), "cc": _addresses(r[6]), "subject": r[7],
                "mailboxes": [b for b in boxes.get(pk, []) if b], "customer": r[8] or "", "category": r[9] or "",
                "direction": r[10], "attachments": _attachment_names(r[11]), "body": r[12], "in_reply_to": r[13],
            }


def write_csv(path: Path, rows: Iterator[dict[str, object]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
            count += 1
    return count


def write_mbox(path: Path, rows: Iterator[dict[str, object]]) -> int:
    box = mailbox.mbox(str(path), create=True)
    count = 0
    try:
        box.lock()
        for row in rows:
            box.add(_as_email(row))
            count += 1
        box.flush()
    finally:
        box.unlock()
        box.close()
    return count


def _as_email(row: dict[str, object]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((_header(row["from_name"]), str(row["from"]))) if row["from"] else "unknown"
    for name in ("to", "cc"):
        addresses = row[name]
        if isinstance(addresses, list) and addresses:
            msg[name.capitalize()] = ", ".join(addresses)
    msg["Subject"] = _header(row["subject"])
    if row["date"]:
        msg["Date"] = format_datetime(parse_instant(str(row["date"])))
    msg["Message-ID"] = f"<{row['message_id']}>"
    if row.get("in_reply_to"):
        msg["In-Reply-To"] = f"<{row['in_reply_to']}>"
    msg["X-Mailroom-Id"] = str(row["id"])
    msg["X-Mailroom-Mailboxes"] = ", ".join(row["mailboxes"]) if isinstance(row["mailboxes"], list) else ""
    if row["attachments"]:
        msg["X-Mailroom-Attachments"] = _header("; ".join(row["attachments"]))  # type: ignore[arg-type]
    msg.set_content(str(row["body"]) or "(no text)")
    return msg


def _header(value: object) -> str:
    return " ".join(str(value or "").split())


def _cell(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _addresses(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _attachment_names(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(a.get("name")) for a in value if isinstance(a, dict) and a.get("name")] if isinstance(value, list) else []
