"""Public holidays and 调休 make-up working days from maintained data, so nobody types them in each year.

`[organization] country = "CN"` gives every SLA policy China's days off and make-up working days from the
`chinese-calendar` package (the State Council's schedule: it is only known once published, each November or
December for the next year). Other countries come from the `holidays` package (rules, any year it supports;
make-up working days where it has a `workday` category, e.g. TW, UA, BY). A policy's own `holidays` and
`makeup_workdays` add to these (and win over them); `holidays_from = "none"` turns the country's off, and
`holidays_from = "DE"` takes another country's.

`holiday_data_problems(config, today)` says, for `mailroom doctor`, when the data does not reach this year
or the next, and how to add the dates by hand.
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import metadata

from bot.core.config import Config, SlaPolicy

NONE = "none"


@dataclass
class CountryDays:
    """A country's days off and make-up working days; a year's dates are computed on first use."""

    country: str
    source: str
    """The package and its version, e.g. 'chinese-calendar 1.11.0' (part of the SLA policy fingerprint)."""
    first_year: int
    last_year: int
    """The years the data covers; outside them nothing is known (every day follows the weekdays)."""
    _years: dict[int, tuple[frozenset[date], frozenset[date]]] = field(default_factory=dict, repr=False)
    """Per year: (holidays, make-up working days), computed on first use."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def is_holiday(self, day: date) -> bool:
        return day in self._year(day.year)[0]

    def is_makeup_workday(self, day: date) -> bool:
        return day in self._year(day.year)[1]

    def covers(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        found = self._years.get(year)
        if found is None:
            with self._lock:
                found = self._years.get(year)
                if found is None:
                    found = self._compute(year) if self.covers(year) else (frozenset(), frozenset())
                    self._years[year] = found
        return found

    def _compute(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        if self.country == "CN":
            import chinese_calendar

            return (frozenset(d for d in chinese_calendar.holidays if d.year == year),
                    frozenset(d for d in chinese_calendar.workdays if d.year == year))
        import holidays

        public = holidays.country_holidays(self.country, years=year)
        work: Iterable[date] = ()
        if "workday" in public.supported_categories:
            work = holidays.country_holidays(self.country, years=year, categories=("workday",)).keys()
        return frozenset(public.keys()), frozenset(work)


class HolidayDataError(ValueError):
    """The country has no data (unknown code, package missing): one line."""


@lru_cache(maxsize=32)
def country_days(country: str) -> CountryDays:
    """The (cached, shared) days of one ISO country code. Raises HolidayDataError."""
    country = country.upper()
    if country == "CN":
        try:
            import chinese_calendar
        except ImportError:
            raise HolidayDataError("China's holidays need the chinese-calendar package "
                                   "(pip install chinese-calendar)") from None
        known = [d.year for d in chinese_calendar.holidays]
        return CountryDays("CN", f"chinese-calendar {_version('chinese-calendar')}", min(known), max(known))
    try:
        import holidays
    except ImportError:
        raise HolidayDataError(f"{country}'s holidays need the holidays package (pip install holidays)") from None
    if country not in holidays.list_supported_countries():
        raise HolidayDataError(f"no holiday data for country {country!r} (ISO 3166 codes such as CN, DE, US)")
    sample = holidays.country_holidays(country)
    return CountryDays(country, f"holidays {_version('holidays')}", int(sample.start_year), int(sample.end_year))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def policy_country(policy: SlaPolicy, config_country: str | None) -> str | None:
    """Whose public holidays a policy follows: its `holidays_from`, else the organisation's country."""
    if policy.holidays_from == NONE:
        return None
    return policy.holidays_from or config_country


def days_for(policy: SlaPolicy, config_country: str | None) -> CountryDays | None:
    country = policy_country(policy, config_country)
    return country_days(country) if country else None


def holiday_data_problems(config: Config, today: date) -> list[str]:
    """For `mailroom doctor`: one line per country whose data does not cover this year or the next,
    unless every policy on it lists its own holidays for that year. [] when all is covered."""
    lines: list[str] = []
    by_country: dict[str, list[str]] = {}
    for name, policy in config.sla.items():
        country = policy_country(policy, config.organization.country)
        if country:
            by_country.setdefault(country, []).append(name)
    for country, names in sorted(by_country.items()):
        try:
            days = country_days(country)
        except HolidayDataError as exc:
            lines.append(f"holidays: {exc}")
            continue
        for year in (today.year, today.year + 1):
            if days.covers(year):
                continue
            uncovered = [n for n in names if not any(d.year == year for d in config.sla[n].holidays)]
            if not uncovered:
                continue
            policies = ", ".join(f"[sla.{n}]" for n in uncovered)
            when = ("China publishes next year's schedule in November or December: "
                    "python3 -m pip install -U chinese-calendar once it is out, or "
                    if country == "CN" else "upgrade the holidays package, or ")
            lines.append(
                f"holidays: {days.source} has no {country} public holidays for {year} (it covers "
                f"{days.first_year}–{days.last_year}); {when}add the dates by hand to {policies}: "
                f'holidays = ["{year}-01-01", …] and makeup_workdays = [...] (调休 working weekend days)'
            )
    return lines
