"""Where report charts are written — beside the archive, in `reports/<name>/` — and their clean-up.

A report's chart files are read only while the outbox delivers its images: after the outbox's delivery
window an undelivered report is retired and never read again. So the scheduler removes chart folders
older than `CHARTS_KEPT`, or every asked-for /report would leave a folder behind for good.
"""

import logging
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

CHARTS_KEPT = timedelta(days=7)
"""How long chart folders stay: well past the outbox's DELIVERY_WINDOW (48 h)."""
FOLDER_PREFIX = "report-"
"""Every chart folder's name starts so (from its outbox key, `report:…`); nothing else there is touched."""


def reports_root(archive_path: Path) -> Path:
    return archive_path.parent / "reports"


def chart_folder(archive_path: Path, name: str) -> Path:
    """The folder for one report's charts, `name` made safe for a file name."""
    return reports_root(archive_path) / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def prune_chart_folders(root: Path, now: datetime, keep: timedelta = CHARTS_KEPT) -> int:
    """Remove the chart folders under `root` whose newest file is older than `keep` before `now`;
    returns how many went. Missing `root`, or a folder that cannot be removed, is not an error."""
    if not root.is_dir():
        return 0
    cutoff = (now - keep).timestamp()
    removed = 0
    for folder in root.iterdir():
        if not folder.name.startswith(FOLDER_PREFIX) or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            newest = max([entry.stat().st_mtime for entry in folder.iterdir()], default=folder.stat().st_mtime)
            if newest < cutoff:
                shutil.rmtree(folder)
                removed += 1
        except OSError as exc:
            log.warning("report charts %s not removed: %s", folder, exc)
    return removed
