"""Report chart folders beside the archive are removed once no delivery can read them any more."""

import os
import time
from datetime import timedelta
from pathlib import Path

from bot.report.chart_files import CHARTS_KEPT, chart_folder, prune_chart_folders, reports_root
from bot.scheduler import run_scheduler_once
from bot.services import Services


def written(folder: Path, days_ago: float) -> Path:
    """A chart in `folder`, every file there dated `days_ago` by the wall clock (as file times are)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "response.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    at = time.time() - days_ago * 86400
    for entry in folder.iterdir():
        os.utime(entry, (at, at))
    return folder


def test_a_scheduler_round_removes_our_chart_folders_past_their_keep_time_and_nothing_else(
        demo_services: Services) -> None:
    archive = demo_services.config.archive_path
    old = written(chart_folder(archive, "report:ask:amy:all:30:1"), CHARTS_KEPT.days + 1)
    recent = written(chart_folder(archive, "report:weekly:sales:2026-11-23"), 2)
    users_own = written(reports_root(archive) / "report-q3", 90)  # no marker: not ours

    run_scheduler_once(demo_services)

    assert not old.exists()
    assert recent.exists() and users_own.exists()


def test_nothing_to_prune_is_not_an_error(tmp_path: Path) -> None:
    assert prune_chart_folders(tmp_path / "reports") == 0
    assert prune_chart_folders(tmp_path / "reports", timedelta(0), now=time.time() + 60) == 0


def test_a_name_becomes_one_safe_folder(tmp_path: Path) -> None:
    folder = chart_folder(tmp_path / "mailroom.db", "report:ask:amy/../x")
    assert folder == tmp_path / "reports" / "report_ask_amy_.._x"
    assert folder.is_dir()
