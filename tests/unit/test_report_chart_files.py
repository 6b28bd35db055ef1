"""Report chart folders beside the archive are removed once no delivery can read them any more."""

import os
from datetime import timedelta
from pathlib import Path

from bot.report.chart_files import CHARTS_KEPT, chart_folder, reports_root
from bot.scheduler import run_scheduler_once
from bot.services import Services


def folder_written(path: Path, at: float) -> Path:
    path.mkdir(parents=True)
    chart = path / "response.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n")
    os.utime(chart, (at, at))
    return path


def test_a_scheduler_round_removes_chart_folders_past_their_keep_time_and_nothing_else(demo_services: Services) -> None:
    now = demo_services.clock.now()
    archive = demo_services.config.archive_path
    old = folder_written(chart_folder(archive, "report-ask-amy-all-30-1"), (now - CHARTS_KEPT - timedelta(hours=1)).timestamp())
    recent = folder_written(chart_folder(archive, "report-weekly-sales-2026-11-23"), (now - timedelta(days=2)).timestamp())
    foreign = folder_written(reports_root(archive) / "keep-me", (now - timedelta(days=90)).timestamp())

    run_scheduler_once(demo_services)

    assert not old.exists()
    assert recent.exists() and foreign.exists()


def test_a_name_becomes_one_safe_folder(tmp_path: Path) -> None:
    assert chart_folder(tmp_path / "mailroom.db", "report-ask-amy/../x:1") == tmp_path / "reports" / "report-ask-amy_.._x_1"
