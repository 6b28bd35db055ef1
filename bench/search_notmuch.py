"""notmuch on the same generated messages, for the search benchmark (only when `notmuch` is installed).

The first N messages of the benchmark archive are written as .eml files, indexed once by
`notmuch new` (cached under bench/.cache/), and asked the same Chinese words (recall against
LIKE) and a sample of the query mix (latency of the `notmuch search` command, which includes
starting the process; the start-up cost of a query that matches nothing is reported beside it).
"""

import json
import os
import shutil
import sqlite3
import subprocess
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from bot.core.clock import parse_instant


def available() -> bool:
    return shutil.which("notmuch") is not None


def build(folder: Path, db: sqlite3.Connection, count: int) -> float:
    """Write the first `count` messages as files and index them; returns indexing seconds."""
    mail = folder / "mail"
    if (folder / "built.txt").exists():
        return float((folder / "built.txt").read_text())
    if folder.exists():
        shutil.rmtree(folder)
    mail.mkdir(parents=True)
    rows = db.execute(
        "SELECT id, message_id, date, from_addr, from_name, to_addrs, subject, body FROM messages WHERE id <= ? ORDER BY id",
        [count],
    )
    for pk, message_id, date, from_addr, from_name, to_json, subject, body in rows:
        msg = EmailMessage()
        msg["From"] = f"{from_name} <{from_addr}>"
        msg["To"] = ", ".join(json.loads(to_json)) or "nobody@example.com"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(parse_instant(date))
        msg["Message-ID"] = f"<{message_id}>"
        msg.set_content(body)
        (mail / f"{pk}.eml").write_bytes(bytes(msg))
    config = folder / "notmuch-config"
    config.write_text(f"[database]\npath={mail}\n[user]\nname=bench\nprimary_email=bench@example.com\n"
                      "[new]\ntags=\nignore=\n[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=false\n")
    started = time.perf_counter()
    subprocess.run(["notmuch", "new", "--quiet"], check=True, env=_env(folder), capture_output=True)
    seconds = time.perf_counter() - started
    (folder / "built.txt").write_text(str(seconds))
    return seconds


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "NOTMUCH_CONFIG": str(folder / "notmuch-config")}


def search(folder: Path, query: str, *, limit: int | None = None) -> tuple[set[int], float]:
    """Message ids (our primary keys, from the bench Message-IDs) and seconds taken."""
    command = ["notmuch", "search", "--output=messages", "--sort=newest-first"]
    if limit:
        command.append(f"--limit={limit}")
    started = time.perf_counter()
    done = subprocess.run([*command, query], env=_env(folder), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    found = set()
    for line in done.stdout.splitlines():
        key = line.removeprefix("id:").split("@", 1)[0]
        if key.startswith("bench-") and key[6:].isdigit():
            found.add(int(key[6:]))
    return found, seconds
