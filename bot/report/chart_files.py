"""Where report charts are written — beside the archive, in `reports/<name>/` — and their clean-up.

A report's chart files are read only while the outbox delivers its images: after the outbox's delivery
window an undelivered report is retired and never read again. So the scheduler removes chart folders
older than `CHARTS_KEPT`, or every asked-for /report would leave a folder behind for good. Only folders
holding our marker file are removed (a folder of the user's own under `reports/` is never touched), and
their age is measured against the wall clock, like the file times it is compared with (not the injected
clock, which `--now` may set anywhere).
"""

import logging
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path

log = logging.getLogger(__name__)

CHARTS_KEPT = timedelta(days=7)
"""How long chart folders stay: well past the outbox's DELIVERY_WINDOW (48 h)."""
MARKER = ".mailroom-charts"
"""The file that marks a folder as ours to remove."""


def reports_root(archive_path: Path) -> Path:
    return archive_path.parent / "reports"


def chart_folder(archive_path: Path, name: str) -> Path:
    """The folder for one report's charts (`name` made safe for a file name), created with its marker."""
    folder = reports_root(archive_path) / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).touch()
    return folder


def prune_chart_folders(root: Path, keep: timedelta = CHARTS_KEPT, *, now: float | None = None) -> int:
    """Remove our chart folders under `root` last used more than `keep` ago (by the wall clock,
    `now` in seconds since the epoch); returns how many went. Nothing here is an error: a folder that
    cannot be read or removed is left and logged."""
    cutoff = (time.time() if now is None else now) - keep.total_seconds()
    removed = 0
    try:
        folders = [f for f in root.iterdir() if f.is_dir() and not f.is_symlink()]
    except OSError:  # no reports yet, or unreadable
        return 0
    for folder in folders:
        try:
            if (folder / MARKER).stat().st_mtime < cutoff:  # touched whenever the folder is used
                shutil.rmtree(folder)
                removed += 1
        except FileNotFoundError:  # not ours
            continue
        except OSError as exc:
            log.warning("report charts %s not removed: %s", folder, exc)
    return removed
