"""Report charts (bot/report/charts.py): PNG files of the expected size, Chinese names drawn as glyphs
(not boxes), each chart's numbers against a direct count on the demo; `mailroom report --json`."""

import struct
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
import numpy as np
import pytest
from matplotlib.image import imread

from bot.report.charts import CHARTS, DPI, SIZE, chart_style, cjk_font, draw, render
from bot.report.figures import compute
from bot.services import Services
from tests.conftest import DEMO_NOW


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def text_png(text: str, path: Path) -> None:
    """One line of text drawn in the charts' settings (fonts included)."""
    with chart_style():
        fig = matplotlib.figure.Figure(figsize=(3, 1), dpi=100)
        matplotlib.backends.backend_agg.FigureCanvasAgg(fig)
        fig.text(0.05, 0.4, text, fontsize=24)
        fig.savefig(path, format="png")


def test_a_cjk_font_is_installed() -> None:
    assert cjk_font() is not None, "no CJK font: install fonts-wqy-microhei (scripts/test does) or fonts-noto-cjk"


def test_chinese_text_renders_as_glyphs_not_boxes(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for every box it draws
        text_png("深圳华通贸易", tmp_path / "a.png")
        text_png("杭州东方机电", tmp_path / "b.png")
    a, b = imread(tmp_path / "a.png"), imread(tmp_path / "b.png")
    assert (a[..., :3] < 0.5).any(), "nothing drawn"
    assert not np.array_equal(a, b), "two different Chinese names drew the same pixels: missing-glyph boxes"
    # the control: without the CJK font the same two names come out as identical boxes, with warnings
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}), pytest.warns(UserWarning, match="missing from font"):
        fig = matplotlib.figure.Figure(figsize=(3, 1), dpi=100)
        matplotlib.backends.backend_agg.FigureCanvasAgg(fig)
        fig.text(0.05, 0.4, "深圳华通贸易", fontsize=24)
        fig.savefig(tmp_path / "c.png")
        fig = matplotlib.figure.Figure(figsize=(3, 1), dpi=100)
        matplotlib.backends.backend_agg.FigureCanvasAgg(fig)
        fig.text(0.05, 0.4, "杭州东方机电", fontsize=24)
        fig.savefig(tmp_path / "d.png")
    assert np.array_equal(imread(tmp_path / "c.png"), imread(tmp_path / "d.png"))


@pytest.fixture
def demo_report(demo_services: Services):  # noqa: ANN201
    services = demo_services
    now = services.clock.now()
    services.sla.evaluate(now)
    return services, compute(services.db, services.config, now=now, rights=list(services.directory.mailboxes),
                             days=30)


def test_every_chart_is_a_phone_sized_png(demo_report: tuple, tmp_path: Path) -> None:
    _, report = demo_report
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        made = render(report, tmp_path)
    assert [c.name for c in made] == list(CHARTS)
    for chart in made:
        assert Path(chart.path).parent == tmp_path and chart.title
        assert png_size(Path(chart.path)) == (int(SIZE[0] * DPI), int(SIZE[1] * DPI))


def bars(name: str, report: object) -> list[float]:
    with chart_style():
        fig, _ = draw(name, report)  # type: ignore[arg-type]
    heights = []
    for ax in fig.axes:
        for patch in ax.patches:
            heights.append(patch.get_width() if name in HORIZONTAL else patch.get_height())
    return heights


HORIZONTAL = {"waiting_longest", "response_times", "rules", "people"}


def test_chart_numbers_match_direct_counts(demo_report: tuple) -> None:
    services, report = demo_report
    db = services.db
    now_s = int(DEMO_NOW.timestamp())
    since = int((DEMO_NOW - timedelta(days=30)).timestamp())
    # open items by age: straight from sla_items
    starts = [s for (s,) in db.execute("SELECT started FROM sla_items WHERE closed_at IS NULL AND started <= ?",
                                       [now_s])]
    edges = [0, 4, 24, 48, 168, float("inf")]
    expected = [sum(1 for s in starts if lo <= (now_s - s) / 3600 < hi) for lo, hi in zip(edges, edges[1:], strict=False)]
    assert bars("open_by_age", report) == expected
    # breaches per day, in Ningbo's days
    zone = report.period.timezone
    per_day: dict[str, int] = {}
    for (due,) in db.execute("SELECT due_at FROM sla_items WHERE due_at >= ? AND due_at < ? AND "
                             "(closed_at IS NULL OR closed_at > due_at)", [since, now_s]):
        day = datetime.fromtimestamp(due, ZoneInfo(zone)).date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    days = [d.day for d in report.figures.per_day]
    drawn = bars("sla_per_day", report)[: len(days)]  # the breach bars come first, then the escalations
    assert drawn == [per_day.get(d, 0) for d in days] and sum(drawn) >= 1
    # the customers waiting longest: hours since each customer's oldest open item, longest on top
    oldest: dict[object, int] = {}
    for customer, started in db.execute(
        "SELECT COALESCE(m.customer_id, m.from_addr), i.started FROM sla_items i JOIN messages m ON m.id = i.message "
        "WHERE i.closed_at IS NULL"
    ):
        oldest[customer] = min(started, oldest.get(customer, started))
    hours = sorted((round((now_s - s) / 3600, 1) for s in oldest.values()), reverse=True)[:10]
    assert list(reversed(bars("waiting_longest", report)))[: len(hours)] == hours
    # inquiry volume by mailbox
    by_box = dict(db.execute("SELECT mailbox, count(*) FROM sla_first WHERE at >= ? AND at < ? GROUP BY mailbox",
                             [since, now_s]).fetchall())
    drawn_boxes = bars("volume", report)[: len(by_box)]
    assert drawn_boxes == [by_box[m] for m in report.figures.volume.by_mailbox if report.figures.volume.by_mailbox[m]]
    # response times: the p50 / p90 bars are the figures' (checked against the rules in test_report_figures)
    fr = report.figures.first_response
    assert fr.p50_minutes / 60 in bars("response_times", report)


def test_empty_period_draws_a_note_not_a_crash(demo_services: Services, tmp_path: Path) -> None:
    services = demo_services
    report = compute(services.db, services.config, now=DEMO_NOW, rights=[], days=1)
    made = render(report, tmp_path)
    assert all(png_size(Path(c.path)) == (960, 720) for c in made)
