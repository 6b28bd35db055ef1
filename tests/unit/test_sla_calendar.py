"""Business calendars: spans, weekends, holidays, 调休 make-up days, time zones — with fixed instants."""

import random
from datetime import UTC, date, datetime, timedelta

from bot.core.config import SlaPolicy
from bot.sla.business_calendar import BusinessCalendar, parse_spans
from tests.fakes.sla_helpers import shanghai

SUPPORT = SlaPolicy(
    first_response="24h",
    timezone="Asia/Shanghai",
    business_hours=["09:00-12:00", "13:30-18:00"],
    holidays=[date(2026, 10, d) for d in (1, 2, 5, 6, 7)],
    makeup_workdays=[date(2026, 9, 20), date(2026, 10, 10)],
)


def cal(policy: SlaPolicy = SUPPORT) -> BusinessCalendar:
    return BusinessCalendar(policy, "UTC")


def test_calendar_hours_without_business_hours() -> None:
    calendar = cal(SlaPolicy(first_response="24h"))
    start = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)  # a Saturday night: calendar hours count anyway
    assert calendar.due(start, timedelta(hours=24)) == start + timedelta(hours=24)
    assert calendar.business_time(start, start + timedelta(hours=5)) == timedelta(hours=5)


def test_spans_are_merged_and_sorted() -> None:
    assert parse_spans(["13:30-18:00", "09:00-12:00", "11:00-12:30"]) == [(540, 750), (810, 1080)]


def test_lunch_break_does_not_count() -> None:
    start, end = shanghai(2026, 11, 25, 11), shanghai(2026, 11, 25, 14, 30)
    assert cal().business_time(start, end) == timedelta(hours=2)  # 11–12 and 13:30–14:30


def test_weekend_is_skipped() -> None:
    friday_five = shanghai(2026, 11, 27, 17)
    assert cal().due(friday_five, timedelta(hours=2)) == shanghai(2026, 11, 30, 10)  # Monday 10:00
    assert cal().business_time(friday_five, shanghai(2026, 11, 30, 9)) == timedelta(hours=1)


def test_arrival_outside_hours_starts_at_the_next_opening() -> None:
    sunday_night = shanghai(2026, 11, 22, 22)
    assert cal().due(sunday_night, timedelta(minutes=30)) == shanghai(2026, 11, 23, 9, 30)


def test_national_day_holidays_inside_business_hours() -> None:
    # Wed 30 Sep 17:00 + 2 business hours: 1–2 Oct holidays, 3–4 Oct weekend, 5–7 Oct holidays → Thu 8 Oct.
    assert cal().due(shanghai(2026, 9, 30, 17), timedelta(hours=2)) == shanghai(2026, 10, 8, 10)
    # A holiday on a weekday counts nothing.
    assert cal().business_time(shanghai(2026, 10, 1, 0), shanghai(2026, 10, 2, 23)) == timedelta(0)


def test_makeup_saturday_is_a_working_day() -> None:
    # 调休: Saturday 10 Oct 2026 is worked; Friday 9 Oct 17:00 + 2h → Saturday 10:00, not Monday.
    assert cal().due(shanghai(2026, 10, 9, 17), timedelta(hours=2)) == shanghai(2026, 10, 10, 10)
    assert cal().is_working_day(date(2026, 10, 10)) and not cal().is_working_day(date(2026, 10, 17))
    # Without the make-up day the same clock runs to Monday.
    plain = SUPPORT.model_copy(update={"makeup_workdays": []})
    assert cal(plain).due(shanghai(2026, 10, 9, 17), timedelta(hours=2)) == shanghai(2026, 10, 12, 10)


def test_time_zone_and_daylight_saving() -> None:
    berlin = SlaPolicy(first_response="8h", timezone="Europe/Berlin", business_hours=["09:00-17:00"])
    calendar = cal(berlin)
    # Friday 27 March 2026 16:00 CET; clocks go forward on Sunday 29 March; Monday 09:00 is CEST (07:00 UTC).
    friday = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    assert calendar.due(friday, timedelta(hours=2)) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_due_and_elapsed_agree_everywhere() -> None:
    """For random instants over two years: elapsed(t, add(t, s)) == s, and add is monotonic."""
    calendar = cal()
    rng = random.Random(11)
    base = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    for _ in range(2000):
        t = base + rng.randrange(0, 2 * 365 * 86400)
        s = rng.randrange(1, 200 * 3600)
        due = calendar.add(t, s)
        assert calendar.elapsed(t, due) == s
        assert calendar.add(t, s + 60) > due


def test_add_many_matches_add() -> None:
    calendar = cal()
    starts = [int((shanghai(2026, 9, 28, 0) + timedelta(hours=h)).timestamp()) for h in range(0, 24 * 20, 7)]
    many = calendar.add_many(starts, [3600, 86400, 2 * 86400])
    assert many == [[calendar.add(s, d) for d in (3600, 86400, 2 * 86400)] for s in starts]


CALENDARS = [
    SUPPORT,
    SlaPolicy(first_response="8h", timezone="Europe/Berlin", business_hours=["09:00-17:00", "01:30-03:00"]),
    SlaPolicy(first_response="8h", timezone="America/New_York", business_hours=["00:00-24:00"], workdays=["sat", "sun"]),
    SlaPolicy(first_response="1h", business_hours=["10:00-10:01", "23:59-24:00"]),
    SlaPolicy(first_response="24h"),
]


def test_add_columns_and_pieces_match_add_everywhere() -> None:
    """Column-wise instants, and the linear pieces SQL looks them up in, equal `add` second for second:
    random starts over two months (daylight saving, lunch breaks, 调休, midnight spans), and every
    second around each piece's start."""
    from bisect import bisect_right

    rng = random.Random(7)
    base = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    for policy in CALENDARS:
        reference = cal(policy)
        for seconds in ([0, 3600, 7200], [1, 60, 3 * 86400], [rng.randrange(1, 400_000) for _ in range(3)]):
            for days in (60, 500):  # by pieces, by spans
                lo = base + rng.randrange(0, 300 * 86400)
                hi = lo + days * 86400
                starts = [rng.randrange(lo, hi + 1) for _ in range(400)] + [lo, hi]
                expected = [[reference.add(t, s) for s in seconds] for t in starts]
                assert [list(row) for row in zip(*cal(policy).add_columns(starts, seconds), strict=True)] == expected
            pieces = cal(policy).pieces(lo, hi, seconds)
            assert pieces
            firsts = [piece[0] for piece in pieces]
            probes = starts + [t for p in firsts for t in (p - 1, p, p + 1) if lo <= t <= hi]
            for t in probes:
                piece = pieces[bisect_right(firsts, t) - 1]
                assert [piece[1 + 2 * k] * t + piece[2 + 2 * k] for k in range(3)] == [
                    reference.add(t, s) for s in seconds], (policy, t)


def test_a_calendar_without_working_days_is_not_tabulated() -> None:
    never = SlaPolicy(first_response="2h", business_hours=["09:00-17:00"], workdays=[],
                      makeup_workdays=[date(2026, 3, 7)])
    start = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    assert cal(never).pieces(start, start + 86400, [3600]) is None
    assert cal(never).add_columns([start], [3600]) == [[cal(never).add(start, 3600)]]
