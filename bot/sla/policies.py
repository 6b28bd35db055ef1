"""SLA policies from the config: per shared mailbox, which clocks run, on which business calendar."""

import hashlib
import json
import logging
from dataclasses import dataclass

from bot.core.config import Config, SlaPolicy
from bot.sla.business_calendar import BusinessCalendar
from bot.sla.holidays import HolidayDataError, days_for
from bot.sla.text_rules import DEFAULT_SOLUTION_KEYWORDS

KINDS = ("first_response", "initial_solution")
log = logging.getLogger(__name__)


def policy_fingerprint(name: str, policy: SlaPolicy, default_timezone: str, holiday_source: str = "") -> str:
    """Changes when the policy, the default zone or its country's holiday data (package version) change."""
    raw = f"{name}|{policy.model_dump_json()}|{default_timezone}"
    if holiday_source:
        raw += f"|{holiday_source}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class PolicyClock:
    """One clock kind of one policy: its durations in business seconds, calendar and keywords.

    Compared and hashed by identity (each exists once per Policies), which keeps grouping cheap."""

    policy: str
    kind: str
    seconds: int
    warn: int
    escalate: int
    calendar: BusinessCalendar
    fingerprint: str
    keywords: tuple[str, ...] = ()


class Policies:
    """The config's SLA policies, their calendars, and which shared mailbox runs on which."""

    def __init__(self, config: Config):
        zone = config.organization.timezone
        self.by_mailbox = {m.address: m.sla for m in config.mailboxes if m.sla and m.sla in config.sla}
        self.calendars: dict[str, BusinessCalendar] = {}
        self.clocks: dict[tuple[str, str], PolicyClock] = {}
        fingerprints: dict[str, str] = {}
        for name, policy in config.sla.items():
            try:
                days = days_for(policy, config.organization.country)
            except HolidayDataError as exc:  # doctor says so (holiday_data_problems); the clocks still run
                log.warning("sla.%s: %s: only the policy's own holidays apply", name, exc)
                days = None
            calendar = BusinessCalendar(policy, zone, country=days)
            self.calendars[name] = calendar
            source = f"{days.country}:{days.source}" if days else ""
            fingerprints[name] = policy_fingerprint(name, policy, zone, source)
            words = policy.solution_keywords if policy.solution_keywords is not None else DEFAULT_SOLUTION_KEYWORDS
            for kind in KINDS:
                duration = getattr(policy, kind)
                if duration is None:
                    continue
                seconds = int(duration.total_seconds())
                self.clocks[(name, kind)] = PolicyClock(
                    name, kind, seconds, int(seconds * policy.warn_at), int(seconds * policy.escalate_at),
                    calendar, fingerprints[name], tuple(w.lower() for w in words if w),
                )
        self.fingerprint = hashlib.sha256(
            json.dumps([sorted(self.by_mailbox.items()), sorted(fingerprints.items())]).encode()
        ).hexdigest()[:16]

    def clock_for(self, mailbox: str, kind: str) -> PolicyClock | None:
        name = self.by_mailbox.get(mailbox)
        return self.clocks.get((name, kind)) if name else None

    def mailboxes(self, kind: str) -> dict[str, PolicyClock]:
        out = {}
        for mailbox in self.by_mailbox:
            clock = self.clock_for(mailbox, kind)
            if clock is not None:
                out[mailbox] = clock
        return out
