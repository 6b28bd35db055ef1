"""Durations as people write them in config and chat: "24h", "90m", "2d", "1h30m"."""

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """Parse "24h", "90m", "2d", "1h30m" or "1.5h"; raise ValueError otherwise."""
    cleaned = str(text).strip().replace(" ", "")
    if not cleaned or _PART.sub("", cleaned):
        raise ValueError(f"not a duration: {text!r} (use e.g. 24h, 90m, 2d)")
    total = timedelta()
    for amount, unit in _PART.findall(cleaned):
        total += timedelta(**{_UNITS[unit.lower()]: float(amount)})
    if total <= timedelta():
        raise ValueError(f"duration must be positive: {text!r}")
    return total


def format_duration(delta: timedelta) -> str:
    """Short human form: "26h", "3d 4h", "45m"."""
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
    if days or hours >= 1:
        return f"{sign}{days * 24 + hours}h"
    return f"{sign}{mins}m"
