"""`mailroom doctor`: the guide's admin checklist, section by section, as `Check` rows.

Sections, in order: config (the file and its [rules]), dns (SPF/DKIM/DMARC/MX per domain), rights (who may
read/reply/delete/export), audit (audit@, the CC rule, the audit chain), archive (age per mailbox),
migration (IMAP login and counts per folder against the archive), login (MFA reminders).
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from bot.core.config import config_warnings
from bot.core.directory import Directory
from bot.core.errors import ArchiveError, ConfigError
from bot.doctor.model import MARKS, Check, fail, ok, warn

SECTIONS: dict[str, str] = {
    "config": "Config",
    "dns": "DNS sender authentication (SPF, DKIM, DMARC, MX)",
    "rights": "Mailbox rights (read / reply / delete / export)",
    "audit": "Audit",
    "archive": "Archive (oldest … newest per mailbox)",
    "migration": "IMAP and migration (server count vs archive)",
    "login": "MFA and login (reminders: not visible from outside)",
}


def run_checks(app: Any, *, dns_only: bool = False) -> Iterator[Check]:
    """Every section for an app context (config, services); `dns_only` skips all but DNS (no archive opened)."""
    from bot.doctor.dns import run_dns_checks

    config = app.config
    if dns_only:
        yield from run_dns_checks(config)
        return
    from bot.doctor.archive import archive_checks, audit_checks
    from bot.doctor.login import login_checks
    from bot.doctor.migration import migration_checks
    from bot.doctor.rights import rights_checks

    try:
        services = app.services
    except ArchiveError as exc:  # no archive yet: everything that needs none is still checked
        services = None
        missing = fail("archive", "archive", str(exc))
    directory = services.directory if services is not None else Directory(config)
    db = services.db if services is not None else None
    yield from config_checks(config, directory, today=app.clock.now().date())
    yield from run_dns_checks(config)
    yield from rights_checks(directory)
    yield from audit_checks(config, directory, services.audit if services is not None else None)
    if db is not None:
        yield from archive_checks(config, db)
    else:
        yield missing
    yield from migration_checks(config, db)
    yield from login_checks(config)


def config_checks(config: Any, directory: Any, *, today: date) -> Iterator[Check]:
    """The file itself, what it allows but probably should not, the CRM export, holiday data, [rules]."""
    from zoneinfo import ZoneInfo

    from bot.customers.book import crm_problems
    from bot.rules.settings import load_rules
    from bot.sla.holidays import holiday_data_problems

    yield ok("config", "config", f"{config.source}: {len(config.mailboxes)} mailboxes, {len(config.people)} people")
    for line in config_warnings(config):
        yield warn("config", "config", line)
    problems = crm_problems(config)
    for line in problems:
        yield warn("config", "CRM export", line, "fix the row in the CRM export (the rest of the file is used)")
    if config.customers.csv is not None and not problems:
        yield ok("config", "CRM export", f"{config.customers.csv}: no problems")
    local_today = datetime.combine(today, datetime.min.time(), UTC).astimezone(ZoneInfo(config.organization.timezone))
    for line in holiday_data_problems(config, local_today.date()):
        yield warn("config", "holiday data", line.removeprefix("holidays: "))
    try:
        load_rules(config, directory)
    except ConfigError as exc:
        for line in exc.problems:
            yield fail("config", "mail rules", line)
        return
    yield ok("config", "mail rules", "[rules] valid")


def render(checks: Iterable[Check]) -> list[str]:
    """Grouped terminal lines: a heading per section, then `✓ name: detail` / `! …` / `✗ … → fix`,
    and a last line counting each status."""
    by_area: dict[str, list[Check]] = {}
    for check in checks:
        by_area.setdefault(check.area, []).append(check)
    lines: list[str] = []
    for area in [*SECTIONS, *(a for a in by_area if a not in SECTIONS)]:
        rows = by_area.get(area)
        if not rows:
            continue
        if lines:
            lines.append("")
        lines.append(SECTIONS.get(area, area))
        lines += [f"  {row.line()}" for row in rows]
    counts = {s: sum(len([r for r in rows if r.status == s]) for rows in by_area.values()) for s in MARKS}
    lines += ["", f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed"]
    return lines


def as_json(checks: Iterable[Check]) -> dict[str, list[dict[str, str]]]:
    """`doctor --json`: {"checks": [{"area", "name", "status", "detail", "fix"}]}, exactly."""
    return {"checks": [c.model_dump() for c in checks]}
