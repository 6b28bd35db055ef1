"""Small display helpers every view shares: a mailbox's short name, an instant in local time."""

from zoneinfo import ZoneInfo

from bot.core.clock import parse_instant


def short_mailbox(address: str) -> str:
    """'support@hengda-valves.com' → 'support@'."""
    return address.split("@", 1)[0] + "@" if "@" in address else address


def local_time(stamp: str | None, zone: str | ZoneInfo) -> str:
    """An ISO 8601 instant as 'YYYY-MM-DD HH:MM' in `zone`; '(no date)' when there is none."""
    if not stamp:
        return "(no date)"
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return parse_instant(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M")
