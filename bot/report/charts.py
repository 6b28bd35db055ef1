"""The report's figures as PNG charts: matplotlib's Agg canvas (no display, no pyplot state), drawn for a
phone screen (960 px wide, large type), in the Okabe–Ito palette (told apart with any colour vision).

Chinese customer and team names need a CJK font: WenQuanYi Micro Hei (Debian `fonts-wqy-microhei`,
which scripts/test installs) or Noto Sans CJK (`fonts-noto-cjk`), found by name; DejaVu Sans draws the
Latin text and the CJK font the glyphs DejaVu lacks (matplotlib's per-glyph font fallback). Without a
CJK font the charts still render, and `cjk_font()` is None (`mailroom doctor` can say so).
"""

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from pydantic import BaseModel

from bot.report.figures import Figures, Report
from bot.report.summary import OKABE_ITO, STATE_COLOURS, hours

log = logging.getLogger(__name__)

CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK JP")
SIZE = (6.0, 4.5)  # inches
DPI = 160  # → 960 × 720 px: sharp on a phone, small enough for chat
MAX_LABEL = 22  # characters of a name on an axis


class Chart(BaseModel):
    name: str
    path: str
    title: str


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed CJK font of CJK_FONTS, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _style() -> dict[str, Any]:
    cjk = cjk_font()
    return {
        "font.family": ["DejaVu Sans", *([cjk] if cjk else [])],  # a list: glyph by glyph fallback
        "font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 12, "ytick.labelsize": 12,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "legend.fontsize": 12, "legend.frameon": False,
    }


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _empty(ax: Axes, text: str = "nothing in this period") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=14, color="#555555")
    ax.set_axis_off()


# ── one function per chart: (axes, figures) → title ──────────────────────────────────────────
def _sla_per_day(fig: Figure, f: Figures) -> str:
    ax = fig.subplots()
    days = [d.day[5:] for d in f.per_day]
    if not any(d.breaches or d.escalations for d in f.per_day):
        _empty(ax, "no breaches or escalations")
    else:
        x = range(len(days))
        ax.bar(x, [d.breaches for d in f.per_day], color=STATE_COLOURS["breached"], label="breached")
        ax.bar(x, [d.escalations for d in f.per_day], bottom=[d.breaches for d in f.per_day],
               color=STATE_COLOURS["escalated"], label="escalated", hatch="//", edgecolor="white")
        _day_ticks(ax, days)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left")
    return f"SLA breaches and escalations per day ({f.breaches} / {f.escalations})"


def _day_ticks(ax: Axes, days: list[str]) -> None:
    step = max(1, len(days) // 7)
    ax.set_xticks(range(0, len(days), step), days[::step], rotation=45, ha="right")


def _response_times(fig: Figure, f: Figures) -> str:
    ax = fig.subplots()
    rows = [("first response", f.first_response), ("initial solution", f.initial_solution)]
    rows = [(label, t) for label, t in reversed(rows) if t.count]  # (first response on top)
    if not rows:
        _empty(ax, "no answers in this period")
    else:
        y = range(len(rows))
        p50 = [t.p50_minutes or 0 for _, t in rows]
        p90 = [t.p90_minutes or 0 for _, t in rows]
        ax.barh([i + 0.2 for i in y], [v / 60 for v in p50], height=0.4, color=OKABE_ITO["sky"], label="p50")
        ax.barh([i - 0.2 for i in y], [v / 60 for v in p90], height=0.4, color=OKABE_ITO["blue"], label="p90")
        for i, (_, t) in enumerate(rows):
            ax.text((t.p50_minutes or 0) / 60, i + 0.2, f" {hours(t.p50_minutes)}", va="center")
            ax.text((t.p90_minutes or 0) / 60, i - 0.2, f" {hours(t.p90_minutes)}", va="center")
        ax.set_yticks(list(y), [f"{label}\n({t.count}, {t.share_within_sla or 0:.0%} in SLA)" for label, t in rows])
        ax.set_xlabel("hours (business hours where set)")
        fig.legend(loc="outside lower center", ncols=2, fontsize=11)
        ax.margins(x=0.25)
    return "Response times"


def _open_by_age(fig: Figure, f: Figures) -> str:
    ax = fig.subplots()
    total = sum(b.count for b in f.open_by_age)
    if not total:
        _empty(ax, "nothing waiting")
    else:
        colours = [OKABE_ITO[c] for c in ("green", "sky", "orange", "vermillion", "purple")]
        bars = ax.bar([b.label for b in f.open_by_age], [b.count for b in f.open_by_age], color=colours)
        ax.bar_label(bars)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("waiting for")
    return f"Open items by age ({total})"


def _waiting_longest(fig: Figure, f: Figures) -> str:
    ax = fig.subplots()
    rows = list(reversed(f.waiting_longest))
    if not rows:
        _empty(ax, "nobody waiting")
    else:
        bars = ax.barh(range(len(rows)), [w.waiting_hours for w in rows], color=[STATE_COLOURS[w.state] for w in rows])
        ax.bar_label(bars, labels=[f" {w.waiting_hours:.0f} h" for w in rows])
        ax.set_yticks(range(len(rows)), [_short(w.customer) for w in rows])
        ax.set_xlabel("hours waiting")
        ax.margins(x=0.2)
        handles = [_patch(STATE_COLOURS[s], s) for s in STATE_COLOURS if any(w.state == s for w in rows)]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=11)
    return "Customers waiting longest"


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def _volume(fig: Figure, f: Figures) -> str:
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1]})
    boxes = [(m.split("@")[0] + "@", n) for m, n in f.volume.by_mailbox.items() if n]
    if boxes:
        bars = left.bar([b for b, _ in boxes], [n for _, n in boxes], color=OKABE_ITO["blue"])
        left.bar_label(bars)
        left.set_title("by mailbox", fontsize=13)
        left.tick_params(axis="x", rotation=30)
        left.margins(y=0.12)
    else:
        _empty(left, "none")
    countries = list(f.volume.by_country.items())[:8]
    if countries:
        labels = ["?" if c == "unknown" else c for c, _ in countries]
        bars = right.bar(labels, [n for _, n in countries], color=OKABE_ITO["orange"])
        right.bar_label(bars)
        right.set_title("by country (? unknown)", fontsize=13)
        right.margins(y=0.12)
    else:
        _empty(right, "none")
    return f"New inquiries ({f.volume.total})"


def _rules(fig: Figure, f: Figures) -> str:
    ax = fig.subplots()
    r = f.rules
    rows = [(label, r.share(name), getattr(r, name)) for label, name in
            (("milestones with\nthe right CCs", "milestones"), ("subjects\n[RFQ]-…", "subjects"),
             ("quotation files\nnamed right", "quotations"))]
    rows = [row for row in rows if row[2]]
    if not rows:
        _empty(ax, "no rule checks in this period")
    else:
        shares = [(share or 0) * 100 for _, share, _ in rows]
        bars = ax.barh(range(len(rows)), shares, color=OKABE_ITO["green"])
        ax.bar_label(bars, labels=[f" {s:.0f} % of {n}" for s, (_, _, n) in zip(shares, rows, strict=True)])
        ax.set_yticks(range(len(rows)), [label for label, _, _ in rows])
        ax.set_xlim(0, 130)
        ax.set_xlabel("% kept")
    return f"Mail rules kept · {r.collisions} collisions (撞单) · {r.pool_moves} to the pool (公海)"


def _people(fig: Figure, f: Figures) -> str:
    ax = fig.subplots()
    rows = [p for p in reversed(f.people) if p.open_items or p.answered]  # (the first person on top)
    if not rows:
        _empty(ax, "no work recorded in this period")
    else:
        y = range(len(rows))
        ax.barh([i + 0.2 for i in y], [p.answered for p in rows], height=0.4, color=OKABE_ITO["sky"],
                label="first responses given")
        ax.barh([i - 0.2 for i in y], [p.open_items for p in rows], height=0.4, color=OKABE_ITO["orange"],
                label="open items (own customers)")
        ax.barh([i - 0.2 for i in y], [p.breached_items for p in rows], height=0.4, color=STATE_COLOURS["breached"],
                label="of which breached", hatch="//", edgecolor="white")
        ax.set_yticks(list(y), [_short(p.name) for p in rows])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.legend(loc="outside lower center", ncols=2, fontsize=11)
    return "Who answers, who has waiting customers"


CHARTS: dict[str, Callable[[Figure, Figures], str]] = {
    "sla_per_day": _sla_per_day,
    "response_times": _response_times,
    "open_by_age": _open_by_age,
    "waiting_longest": _waiting_longest,
    "volume": _volume,
    "rules": _rules,
    "people": _people,
}


def draw(name: str, report: Report) -> tuple[Figure, str]:
    """One chart as a matplotlib Figure (not yet saved) and its title; call inside `chart_style()`."""
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    title = CHARTS[name](fig, report.figures)
    scope = report.period.person or report.period.team or "all"
    fig.suptitle(f"{title}\n{scope} · {report.period.since[:10]} – {report.period.until[:10]}", fontsize=14)
    return fig, title


def chart_style() -> Any:
    """The charts' matplotlib settings (fonts, sizes), as a context manager."""
    import matplotlib

    return matplotlib.rc_context(cast(Any, _style()))


def render(report: Report, out_dir: Path, *, names: list[str] | None = None) -> list[Chart]:
    """Write the report's charts as PNG files into `out_dir`; returns them in a fixed order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = []
    with chart_style():
        for name in CHARTS:
            if names is not None and name not in names:
                continue
            fig, title = draw(name, report)
            path = out_dir / f"{name}.png"
            fig.savefig(path, format="png", dpi=DPI)
            charts.append(Chart(name=name, path=str(path), title=title))
    return charts
