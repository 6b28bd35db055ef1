"""Public holidays and 调休 from maintained data (issue 17 item 7), tested on the 2026 Spring Festival.

What chinese-calendar 1.11.0 says (checked, and asserted below): Sun 15 – Mon 23 Feb 2026 off; Sat 14 and
Sat 28 Feb are make-up working days (调休). The State Council's notice says the same.
"""

import re
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from bot.core.config import Config, SlaPolicy, load_config
from bot.core.errors import ConfigError
from bot.demo.files import write_starter
from bot.sla.business_calendar import BusinessCalendar
from bot.sla.holidays import country_days, holiday_data_problems
from bot.sla.policies import Policies
from tests.fakes.sla_helpers import shanghai

DAY = SlaPolicy(first_response="8h", timezone="Asia/Shanghai", business_hours=["09:00-17:00"])
"""One working day of eight hours: a mail at 17:00 is due at 17:00 on the next working day."""
OFF = [date(2026, 2, d) for d in range(15, 24)]
MAKEUP = [date(2026, 2, 14), date(2026, 2, 28)]


def calendar(policy: SlaPolicy = DAY, country: str | None = "CN") -> BusinessCalendar:
    return BusinessCalendar(policy, "UTC", country=country_days(country) if country else None)


def test_what_chinese_calendar_says_about_spring_festival_2026() -> None:
    for day in OFF:
        assert chinese_calendar.is_holiday(day), day
    for day in MAKEUP:
        assert day.weekday() == 5 and chinese_calendar.is_workday(day), day
    assert chinese_calendar.is_workday(date(2026, 2, 13)) and chinese_calendar.is_workday(date(2026, 2, 24))
    assert not chinese_calendar.is_workday(date(2026, 3, 1))  # an ordinary Sunday


def test_cn_calendar_follows_the_spring_festival_schedule() -> None:
    cal = calendar()
    for day in OFF:
        assert not cal.is_working_day(day), day
    for day in MAKEUP:
        assert cal.is_working_day(day), day
    assert cal.is_working_day(date(2026, 2, 13)) and cal.is_working_day(date(2026, 2, 24))
    assert not cal.is_working_day(date(2026, 2, 7))  # an ordinary Saturday stays off


def test_due_dates_around_the_festival() -> None:
    cal = calendar()
    eight = timedelta(hours=8)
    # Friday 13 Feb 17:00 → due Saturday 14 Feb 17:00: the make-up working day counts
    assert cal.due(shanghai(2026, 2, 13, 17), eight) == shanghai(2026, 2, 14, 17)
    # Saturday 14 Feb 17:00 → nine days off → due Tuesday 24 Feb 17:00
    assert cal.due(shanghai(2026, 2, 14, 17), eight) == shanghai(2026, 2, 24, 17)
    # a mail on the first day of the holiday waits until the 24th, 09:00, to start counting
    assert cal.business_time(shanghai(2026, 2, 16, 10), shanghai(2026, 2, 24, 10)) == timedelta(hours=1)
    # Friday 27 Feb 17:00 → Saturday 28 Feb (make-up) 17:00
    assert cal.due(shanghai(2026, 2, 27, 17), eight) == shanghai(2026, 2, 28, 17)
    # without the country's data the same mail would be due on Monday 16 Feb, in the middle of the holiday
    assert calendar(country=None).due(shanghai(2026, 2, 13, 17), eight) == shanghai(2026, 2, 16, 17)


def test_a_policys_own_dates_add_to_the_countrys_and_win() -> None:
    own = DAY.model_copy(update={"holidays": [date(2026, 2, 24)], "makeup_workdays": [date(2026, 2, 23)]})
    cal = calendar(own)
    assert not cal.is_working_day(date(2026, 2, 24))  # the factory closes one more day
    assert cal.is_working_day(date(2026, 2, 23))  # and opens on the last day of the holiday
    assert not cal.is_working_day(date(2026, 2, 22))  # the rest of the country's holiday still holds


def config_with(tmp_path: Path, organization: str = "", support: str = "") -> Config:
    path = write_starter(tmp_path / "mailroom.toml")[0]
    text = re.sub(r'(?m)^country = "CN".*\n', "", path.read_text(encoding="utf-8"))  # the demo's own
    text = text.replace('timezone = "Asia/Shanghai"              #', f'{organization}\ntimezone = "Asia/Shanghai"  #', 1)
    text = text.replace("[sla.support]\n", f"[sla.support]\n{support}\n", 1)
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_organization_country_reaches_every_policy_and_none_turns_it_off(tmp_path: Path) -> None:
    config = config_with(tmp_path / "cn", 'country = "CN"')
    support = Policies(config).calendars["support"]
    assert not support.is_working_day(date(2026, 2, 16)) and support.is_working_day(date(2026, 2, 14))
    off = config_with(tmp_path / "off", 'country = "CN"', 'holidays_from = "none"')
    support = Policies(off).calendars["support"]
    assert support.is_working_day(date(2026, 2, 16)) and not support.is_working_day(date(2026, 2, 14))
    assert not support.is_working_day(date(2026, 10, 1))  # its own National Day dates still hold
    plain = config_with(tmp_path / "plain")
    assert Policies(plain).calendars["support"].is_working_day(date(2026, 2, 16))
    assert Policies(plain).fingerprint != Policies(config).fingerprint  # due dates are recomputed


def test_another_country_from_the_holidays_package(tmp_path: Path) -> None:
    config = config_with(tmp_path, 'country = "CN"', 'holidays_from = "DE"')
    support = Policies(config).calendars["support"]
    assert not support.is_working_day(date(2026, 12, 25)) and not support.is_working_day(date(2026, 4, 6))
    assert support.is_working_day(date(2026, 2, 16))  # Chinese New Year is no holiday in Germany
    assert Policies(config).calendars["inquiry"].is_working_day(date(2026, 2, 16)) is False  # inquiry keeps CN


@pytest.mark.parametrize(("organization", "expected"), [
    ('country = "XX"', "organization.country: no holiday data for country 'XX'"),
    ('country = "China"', "organization.country: 'China' is not an ISO 3166 country code"),
])
def test_unknown_countries_are_config_errors(tmp_path: Path, organization: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(tmp_path, organization)
    assert any(expected in line for line in info.value.problems)


def test_doctor_says_when_next_years_schedule_is_missing(tmp_path: Path) -> None:
    config = config_with(tmp_path, 'country = "CN"')
    last = country_days("CN").last_year
    assert last >= 2026
    assert holiday_data_problems(config, date(last - 1, 6, 1)) == []
    lines = holiday_data_problems(config, date(last, 12, 3))
    assert len(lines) == 1
    line = lines[0]
    assert f"has no CN public holidays for {last + 1}" in line and "pip install -U chinese-calendar" in line
    assert "add the dates by hand to [sla.inquiry], [sla.order], [sla.support]" in line
    assert f'holidays = ["{last + 1}-01-01", …]' in line and "makeup_workdays" in line
    # a policy that lists next year's dates itself is covered; the others are still named
    by_hand = config_with(tmp_path / "hand", 'country = "CN"', 'holidays_from = "CN"')
    by_hand.sla["support"].holidays.append(date(last + 1, 1, 1))
    assert "[sla.inquiry], [sla.order]:" in holiday_data_problems(by_hand, date(last, 12, 3))[0]
    assert holiday_data_problems(config_with(tmp_path / "de", 'country = "DE"'), date(2026, 12, 3)) == []
    assert holiday_data_problems(config_with(tmp_path / "none"), date(2026, 12, 3)) == []
