"""Business calendars for SLA clocks: business hours, time zone, holidays and 调休 make-up working days.

A calendar answers two questions fast, for 100,000 items per evaluation:
- `elapsed(start, end)`: how many business seconds lie between two instants;
- `add(start, seconds)`: the instant at which that many business seconds have elapsed (a `due`).

Both work on epoch seconds. The calendar precomputes, per day, the business spans as UTC epoch
intervals, and keeps them in sorted arrays with the cumulative business seconds before each one, so
each question is one or two binary searches (`bisect`, in C) — never a loop over minutes or days.
Spans are cut in local time and converted to UTC day by day, so daylight-saving days come out right.

A policy without business hours counts calendar time (24/7): workdays and holidays are then ignored.
To count whole working days only, write `business_hours = ["00:00-24:00"]`.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import repeat
from operator import add as plus
from operator import mul
from operator import sub as minus
from zoneinfo import ZoneInfo

from bot.core.config import SlaPolicy
from bot.sla.holidays import CountryDays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHUNK_DAYS = 400
"""Days of spans computed at a time; the range grows by chunks when an instant falls outside."""
MAX_SEARCH_DAYS = 366 * 30
"""`add()` gives up after this many days without business time (a calendar with no working day)."""
_NEVER = -(1 << 62)
"""A sentinel instant before any span (`add_columns`)."""
PIECES_MAX_DAYS = 400
"""`add_columns` goes by linear pieces when its starts lie within this many days (else by the spans)."""


def parse_spans(spans: list[str]) -> list[tuple[int, int]]:
    """["09:00-12:00", "13:30-18:00"] → [(540, 720), (810, 1080)] in minutes, merged and sorted."""
    parsed: list[tuple[int, int]] = []
    for span in spans:
        start, _, end = span.partition("-")
        h1, m1 = (int(x) for x in start.split(":"))
        h2, m2 = (int(x) for x in end.split(":"))
        parsed.append((h1 * 60 + m1, h2 * 60 + m2))
    merged: list[tuple[int, int]] = []
    for opens, closes in sorted(parsed):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


class BusinessCalendar:
    """Business time of one SLA policy. Instances are cheap to query and safe to reuse."""

    def __init__(self, policy: SlaPolicy, default_timezone: str = "UTC", *, country: "CountryDays | None" = None):
        """`country`: public holidays and 调休 from maintained data (bot.sla.holidays); the policy's own
        `holidays` and `makeup_workdays` add to them and win over them."""
        self.zone = ZoneInfo(policy.timezone or default_timezone)
        self.spans = parse_spans(policy.business_hours)
        self.always = not self.spans
        self.workdays = frozenset(WEEKDAYS.index(d) for d in policy.workdays)
        self.holidays = frozenset(policy.holidays)
        self.makeup = frozenset(policy.makeup_workdays)
        self.country = country
        self._first: date | None = None
        self._last: date | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cum: list[int] = []  # business seconds before interval i (relative to the range start)
        self._cum_end: list[int] = []  # business seconds up to the end of interval i
        self._pieces: dict[tuple[int, int, tuple[int, ...]], list[tuple[int, ...]] | None] = {}

    # ── day rules ───────────────────────────────────────────────────────────────────────────

    def is_working_day(self, day: date) -> bool:
        """A make-up day (调休) always works; a holiday never; otherwise the configured weekdays.
        The policy's own dates first, then the country's."""
        if day in self.makeup:
            return True
        if day in self.holidays:
            return False
        if self.country is not None:
            if self.country.is_makeup_workday(day):
                return True
            if self.country.is_holiday(day):
                return False
        return day.weekday() in self.workdays

    def day_intervals(self, day: date) -> list[tuple[int, int]]:
        """The business spans of one local day as UTC epoch-second intervals."""
        if not self.is_working_day(day):
            return []
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        out = []
        for start, end in self.spans:
            a = _local_epoch(midnight, start, self.zone)
            b = _local_epoch(midnight, end, self.zone)
            if b > a:
                out.append((a, b))
        return out

    # ── the two questions ──────────────────────────────────────────────────────────────────

    def elapsed(self, start: int, end: int) -> int:
        """Business seconds between two epoch instants (0 when end is not after start)."""
        if end <= start:
            return 0
        if self.always:
            return end - start
        self._cover(start, end)
        return self._cum_at(end) - self._cum_at(start)

    def add(self, start: int, seconds: int) -> int:
        """The epoch instant when `seconds` of business time have elapsed from `start`."""
        if seconds <= 0:
            return start
        if self.always:
            return start + seconds
        self._cover(start, start)
        target = self._cum_at(start) + seconds
        while not self._cum_end or target > self._cum_end[-1]:
            assert self._last is not None
            if (self._last - self._local_day(start)).days > MAX_SEARCH_DAYS:
                return start + MAX_SEARCH_DAYS * 86400  # (counted from the start: the range never runs away)
            self._extend_forward()
        j = bisect_left(self._cum_end, target)
        return self._starts[j] + (target - self._cum[j])

    def adder(self, lo: int, hi: int, longest: int) -> Callable[[int, int], int]:
        """A fast `add(t, seconds)` for lo <= t <= hi and seconds <= longest: the range is prepared once,
        then each call is two binary searches (one when called again with the same t)."""
        if self.always:
            return lambda t, seconds: t + seconds
        self._cover(lo, hi)
        self.add(hi, longest)
        starts, ends, cum, cum_end = self._starts, self._ends, self._cum, self._cum_end
        memo = [-1, 0]

        def add(t: int, seconds: int) -> int:
            if seconds <= 0:
                return t
            if memo[0] != t:
                i = bisect_right(starts, t) - 1
                memo[0], memo[1] = t, (0 if i < 0 else cum[i] + (t if t < ends[i] else ends[i]) - starts[i])
            target = memo[1] + seconds
            if target > cum_end[-1]:
                return self.add(t, seconds)  # outside the prepared range: the general path
            j = bisect_left(cum_end, target)
            return starts[j] + (target - cum[j])

        return add

    def add_many(self, starts: list[int], seconds: list[int]) -> list[list[int]]:
        """For each start, the instants after each of `seconds`."""
        return [list(row) for row in zip(*self.add_columns(starts, seconds), strict=True)] if starts else []

    def add_columns(self, starts: Sequence[int], seconds: Sequence[int]) -> list[list[int]]:
        """`add` for many starts at once: one list per entry of `seconds`, each parallel to `starts`.

        Column-wise, with the binary searches and the arithmetic mapped in C over whole lists, so
        100,000 starts take milliseconds rather than a Python call each: by the linear pieces of the
        whole days the starts span (one search per start), or else by the spans (`adder`'s formulas).
        """
        if not starts:
            return [[] for _ in seconds]
        if self.always:
            return [list(map(plus, starts, repeat(s))) if s > 0 else list(starts) for s in seconds]
        lo, hi = min(starts) // 86400 * 86400, max(starts) // 86400 * 86400 + 86399
        if hi - lo <= PIECES_MAX_DAYS * 86400:
            pieces = self.pieces(lo, hi, seconds)
            if pieces:
                return _columns_from_pieces(pieces, starts, seconds)
        return self._columns_by_spans(starts, seconds)

    def _columns_by_spans(self, starts: Sequence[int], seconds: Sequence[int]) -> list[list[int]]:
        self.adder(min(starts), max(starts), max((0, *seconds)))  # prepares the range: every target inside
        ends = [_NEVER, *self._ends]  # index 0: before the first span (business seconds 0 so far)
        lag = [_NEVER, *(a - c for a, c in zip(self._starts, self._cum, strict=True))]  # non-business before
        cum_end = self._cum_end
        spans = list(map(bisect_right, repeat([_NEVER, *self._starts]), starts))
        spans = list(map(minus, spans, repeat(1)))
        so_far = list(map(minus, map(min, starts, map(ends.__getitem__, spans)), map(lag.__getitem__, spans)))
        lag_of = lag[1:].__getitem__
        columns = []
        for s in seconds:
            if s <= 0:
                columns.append(list(starts))
                continue
            targets = list(map(plus, so_far, repeat(s)))
            if not cum_end or max(targets) > cum_end[-1]:  # a calendar that runs out of business time: the general path
                columns.append([self.add(t, s) for t in starts])
                continue
            columns.append(list(map(plus, targets, map(lag_of, map(bisect_left, repeat(cum_end), targets)))))
        return columns

    def pieces(self, lo: int, hi: int, seconds: Sequence[int]) -> list[tuple[int, ...]] | None:
        """`add(t, s)` for lo <= t <= hi and each s of `seconds`, as a table of linear pieces, for SQL.

        Rows (start, slope_1, offset_1, slope_2, offset_2, …) sorted by start: from a row's start up to
        the next row's, add(t, seconds[k]) = slope_k * t + offset_k. Inside business hours the slope is
        1 (the instant moves with t) until a target crosses the end of a span; outside them it is 0
        (the clock waits for the next span). A few rows per working day, whatever the number of items,
        so SQL computes each item's instants with one indexed lookup instead of a Python call.

        None when no table fits: a calendar that runs out of business time (no working day left).
        Remembered: evaluations of one day ask for the same window.
        """
        key = (lo, hi, tuple(seconds))
        if key not in self._pieces:
            if len(self._pieces) >= 8:
                self._pieces.clear()
            self._pieces[key] = self._tabulate(lo, hi, key[2])
        return self._pieces[key]

    def _tabulate(self, lo: int, hi: int, seconds: tuple[int, ...]) -> list[tuple[int, ...]] | None:
        if hi < lo:
            return []
        if self.always:
            return [(lo, *(v for s in seconds for v in (1, max(s, 0))))]
        longest = max((0, *seconds))
        add = self.adder(lo, hi, longest)
        starts, ends, cum, cum_end = self._starts, self._ends, self._cum, self._cum_end
        if not cum_end or self._cum_at(hi) + longest > cum_end[-1]:
            return None
        points = {lo}
        for i in range(bisect_right(ends, lo), len(starts)):
            if starts[i] > hi:
                break
            points.update((starts[i], ends[i]))
            for s in seconds:
                if s <= 0:
                    continue
                # the targets F(t) + s of this span pass the end of span j at t = cum_end[j] - s + lag(i):
                # from the next second on, the instant lies in span j + 1
                j = bisect_left(cum_end, cum[i] + s)
                while j < len(cum_end):
                    t = cum_end[j] + 1 - s - cum[i] + starts[i]
                    if t >= ends[i]:
                        break
                    points.add(t)
                    j += 1
        rows = []
        for p in sorted(x for x in points if lo <= x <= hi):
            i = bisect_right(starts, p) - 1
            inside = i >= 0 and p < ends[i]
            row = [p]
            for s in seconds:
                if s <= 0:
                    row += (1, 0)
                else:
                    at = add(p, s)
                    row += (1, at - p) if inside else (0, at)
            rows.append(tuple(row))
        return rows

    # ── datetime conveniences ──────────────────────────────────────────────────────────────

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        return timedelta(seconds=self.elapsed(int(start.timestamp()), int(end.timestamp())))

    def due(self, start: datetime, duration: timedelta) -> datetime:
        instant = self.add(int(start.timestamp()), int(duration.total_seconds()))
        return datetime.fromtimestamp(instant, UTC)

    # ── the precomputed range ──────────────────────────────────────────────────────────────

    def _cum_at(self, t: int) -> int:
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0
        end = self._ends[i]
        return self._cum[i] + (t if t < end else end) - self._starts[i]

    def _local_day(self, t: int) -> date:
        return datetime.fromtimestamp(t, self.zone).date()

    def _cover(self, lo: int, hi: int) -> None:
        """Make sure the precomputed range holds both instants (with a day of margin)."""
        first = self._local_day(lo) - timedelta(days=1)
        last = self._local_day(hi) + timedelta(days=1)
        if self._first is None or self._last is None:
            self._build(first, max(last, first + timedelta(days=CHUNK_DAYS)))
            return
        if first < self._first:
            self._build(min(first, self._first - timedelta(days=CHUNK_DAYS)), self._last)
        while last > self._last:
            self._extend_forward()

    def _build(self, first: date, last: date) -> None:
        self._first, self._last = first, first - timedelta(days=1)
        self._starts, self._ends, self._cum, self._cum_end = [], [], [], []
        self._append_days(first, last)

    def _extend_forward(self) -> None:
        assert self._last is not None
        self._append_days(self._last + timedelta(days=1), self._last + timedelta(days=CHUNK_DAYS))

    def _append_days(self, first: date, last: date) -> None:
        total = self._cum_end[-1] if self._cum_end else 0
        day = first
        while day <= last:
            for a, b in self.day_intervals(day):
                if self._ends and a < self._ends[-1]:  # overlapping local spans around a DST change
                    a = self._ends[-1]
                if b <= a:
                    continue
                self._starts.append(a)
                self._ends.append(b)
                self._cum.append(total)
                total += b - a
                self._cum_end.append(total)
            day += timedelta(days=1)
        self._last = last


def _local_epoch(midnight: datetime, minutes: int, zone: ZoneInfo) -> int:
    """Epoch seconds of `minutes` after local midnight ("24:00" is the next midnight)."""
    if minutes >= 24 * 60:
        nxt = (midnight.date() + timedelta(days=1))
        return int(datetime.combine(nxt, time(0), tzinfo=zone).timestamp())
    local = datetime.combine(midnight.date(), time(minutes // 60, minutes % 60), tzinfo=zone)
    return int(local.timestamp())


def _columns_from_pieces(pieces: list[tuple[int, ...]], starts: Sequence[int], seconds: Sequence[int]) -> list[list[int]]:
    """Each start's instants from the piece it falls in (`BusinessCalendar.pieces`, covering every start).

    Inside business hours a piece's slope is 1 for every positive duration, outside it 0: so the
    instant is `offset + start` or `offset`, the start counted once for all the columns."""
    positive = [n for n, s in enumerate(seconds) if s > 0]
    if not positive:
        return [list(starts) for _ in seconds]
    firsts = [piece[0] for piece in pieces]
    index = list(map(bisect_right, repeat(firsts), starts))  # the piece's position + 1 (starts >= firsts[0])
    slopes = [0, *(piece[1 + 2 * positive[0]] for piece in pieces)]
    moving = list(map(mul, starts, map(slopes.__getitem__, index)))
    columns = []
    for n, s in enumerate(seconds):
        if s <= 0:  # `add` of nothing is the start itself
            columns.append(list(starts))
            continue
        offsets = [0, *(piece[2 + 2 * n] for piece in pieces)]
        columns.append(list(map(plus, moving, map(offsets.__getitem__, index))))
    return columns
