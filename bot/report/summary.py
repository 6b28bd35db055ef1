"""The report in a few lines of text (the chat message that goes with the charts, and the CLI's output),
and what the PNG charts and the dashboard's SVG charts share: the colours and the short duration."""

from bot.report.figures import Report, Times

OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
}
"""A palette colour-blind readers can tell apart."""
STATE_COLOURS = {"ok": OKABE_ITO["green"], "warning": OKABE_ITO["orange"], "breached": OKABE_ITO["vermillion"],
                 "escalated": OKABE_ITO["purple"]}


def hours(minutes: float | None) -> str:
    """A chart label: "45 min", "2.5 h"."""
    if minutes is None:
        return "—"
    return f"{minutes / 60:.1f} h" if minutes >= 60 else f"{minutes:.0f} min"


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 60:
        hours = value / 60
        return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"
    return f"{value:.0f} min"


def _times(t: Times) -> str:
    if not t.count:
        return "none in this period"
    share = f", {t.share_within_sla:.0%} within SLA" if t.share_within_sla is not None else ""
    return f"p50 {_minutes(t.p50_minutes)}, p90 {_minutes(t.p90_minutes)} ({t.count}{share})"


def _share(ok: int, total: int) -> str:
    return f"{ok} of {total} ({ok / total:.0%})" if total else "—"


def title(report: Report, name: str) -> str:
    p = report.period
    return f"Report — {name} · last {p.days} days ({p.since[:10]} – {p.until[:10]})"


def summary_fields(report: Report) -> list[tuple[str, str]]:
    """(label, value) pairs: figures only, no subjects or mail text (safe for a team channel)."""
    f = report.figures
    open_total = sum(f.open_by_state.values())
    worst = ", ".join(f"{w.customer} {w.waiting_hours:.0f} h" for w in f.waiting_longest[:3]) or "nobody"
    r = f.rules
    h = f.handovers
    return [
        ("First response", _times(f.first_response)),
        ("Initial solution", _times(f.initial_solution)),
        ("Breaches / escalations", f"{f.breaches} / {f.escalations}"),
        ("Open now", f"{open_total} ({f.open_by_state['breached'] + f.open_by_state['escalated']} breached)"),
        ("Waiting longest", worst),
        ("New inquiries", str(f.volume.total)),
        ("Milestones with the right CCs", _share(r.milestones_ok, r.milestones)),
        ("Subjects / quotation names kept", f"{_share(r.subjects_ok, r.subjects)} / {_share(r.quotations_ok, r.quotations)}"),
        ("Collisions / pool moves", f"{r.collisions} / {r.pool_moves}"),
        ("Handovers", f"{h.done} done ({h.customers_moved} customers), {h.undone} undone"),
    ]
