"""The one source of time. Tests and `--now` fix it; nothing else calls datetime.now()."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Returns the current time in UTC: the real one, or a fixed/adjustable one for tests."""

    def __init__(self, fixed: datetime | None = None, *, source: Callable[[], datetime] | None = None):
        self._fixed = fixed.astimezone(UTC) if fixed else None
        self._source = source

    def now(self) -> datetime:
        if self._fixed is not None:
            return self._fixed
        if self._source is not None:
            return self._source().astimezone(UTC)
        return datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        self._fixed = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._fixed = self.now() + timedelta(**delta)

    @property
    def is_fixed(self) -> bool:
        return self._fixed is not None


def parse_instant(text: str) -> datetime:
    """ISO 8601 with or without a zone (naive means UTC); raise ValueError otherwise."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(moment: datetime) -> str:
    """The archive's one timestamp format: UTC, seconds, sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
