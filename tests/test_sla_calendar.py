"""Business calendars: spans, weekends, holidays, 调休 make-up days, time zones — with fixed instants."""

import random
from datetime import UTC, date, datetime, timedelta

from bot.calendar import BusinessCalendar, parse_spans
from bot.config import SlaPolicy
from tests.sla_helpers import shanghai

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
