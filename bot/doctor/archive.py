"""Audit and archive (the guide's 三.4): audit@ exists and complaint conclusions CC it, the audit chain is
intact, and each mailbox's archive spans the time it should (oldest and newest message, gaps of months
with no mail at all, which is what an unfinished migration looks like)."""

from collections.abc import Iterator
from typing import Any

from bot.core.config import Config
from bot.core.directory import Directory
from bot.core.errors import ConfigError
from bot.doctor.model import Check, fail, ok, warn
from bot.store.audit import audit_key_status

AREA_AUDIT = "audit"
AREA_ARCHIVE = "archive"
GAP_MONTHS = 2
"""A mailbox with at least this many consecutive empty months between its oldest and newest mail is flagged..."""
GAP_MIN_PER_MONTH = 5
"""...when it otherwise averages at least this many messages per month (quiet mailboxes have real gaps)."""


def audit_checks(config: Config, directory: Directory, audit: Any) -> Iterator[Check]:
    """audit@ configured, CC'd by the complaint-conclusion rule, and the audit log's hash chain intact."""
    audit_boxes = [m.address for m in config.mailboxes if m.role == "audit"]
    domain = config.organization.domains[0]
    if audit_boxes:
        yield ok(AREA_AUDIT, "audit mailbox", ", ".join(audit_boxes))
    else:
        yield warn(AREA_AUDIT, "audit mailbox", "no mailbox with role = \"audit\": complaint conclusions are not "
                   "kept anywhere management can review them",
                   f'add [[mailboxes]] address = "audit@{domain}" role = "audit"')
    yield from _complaint_cc(config, directory, audit_boxes)
    status, line = audit_key_status()
    if status == "ok":
        yield ok(AREA_AUDIT, "audit key", line)
    else:
        yield warn(AREA_AUDIT, "audit key", line,
                   "set MAILROOM_AUDIT_KEY (e.g. `openssl rand -hex 32`) in every process's environment")
    if audit is None:
        return
    problem = audit.verify()
    count = audit.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    if problem is None:
        yield ok(AREA_AUDIT, "audit log", f"hash chain intact ({count} entries)")
    else:
        yield fail(AREA_AUDIT, "audit log", f"{problem.line()}: the log was changed outside Mailroom",
                   "restore the archive from a backup, or keep this copy as evidence and ask who edited it")


def _complaint_cc(config: Config, directory: Directory, audit_boxes: list[str]) -> Iterator[Check]:
    from bot.rules.settings import load_rules

    if not audit_boxes:
        return
    try:
        rules = load_rules(config, directory)
    except ConfigError:
        return  # the config section reports invalid rules
    required = rules.required_cc.get("complaint_conclusion", [])
    if any(set(requirement) <= set(audit_boxes) for requirement in required):
        yield ok(AREA_AUDIT, "complaint conclusions", f"must CC {audit_boxes[0]} ([rules.cc.milestones])")
    else:
        wanted = ", ".join(" or ".join(r) for r in required) or "nothing"
        yield warn(AREA_AUDIT, "complaint conclusions", f"the CC rule asks for {wanted}, not {audit_boxes[0]}",
                   '[rules.cc.milestones] complaint_conclusion = ["support", "audit"]')


def archive_checks(config: Config, db: Any) -> Iterator[Check]:
    """Per mailbox: how many messages, oldest and newest, and any gap of empty months in between."""
    spans = {
        row[0]: (int(row[1]), row[2], row[3])
        for row in db.execute(
            "SELECT s.mailbox, count(DISTINCT s.message), min(m.date), max(m.date) "
            "FROM sightings s JOIN messages m ON m.id = s.message GROUP BY s.mailbox"
        )
    }
    months: dict[str, dict[str, int]] = {}
    for mailbox, month, count in db.execute(
        "SELECT s.mailbox, substr(m.date, 1, 7), count(*) FROM sightings s JOIN messages m ON m.id = s.message "
        "WHERE m.date IS NOT NULL GROUP BY s.mailbox, substr(m.date, 1, 7)"
    ):
        months.setdefault(mailbox, {})[month] = int(count)
    total = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    yield ok(AREA_ARCHIVE, "archive", f"{config.archive_path}: {total} messages")
    for mailbox in config.mailboxes:
        address = mailbox.address
        if address not in spans:
            how = "mailroom sync" if mailbox.imap else f"mailroom import PATH --mailbox {address}"
            yield warn(AREA_ARCHIVE, address, "nothing archived yet", f"run {how}")
            continue
        count, oldest, newest = spans[address]
        detail = f"{count} messages, {(oldest or '?')[:10]} … {(newest or '?')[:10]}"
        gap = longest_gap(months.get(address, {}))
        if gap is not None:
            first, last, length = gap
            active = len(months[address])
            if length >= GAP_MONTHS and count / max(active, 1) >= GAP_MIN_PER_MONTH:
                yield warn(AREA_ARCHIVE, address, f"{detail}; no mail at all {first} … {last} ({length} months)",
                           f"if the old mailbox had mail then, import its export: mailroom import PATH --mailbox {address}")
                continue
        yield ok(AREA_ARCHIVE, address, detail)


def longest_gap(months: dict[str, int]) -> tuple[str, str, int] | None:
    """The longest run of months without mail between the first and last month that have some:
    ('2025-03', '2025-06', 4), or None."""
    present = sorted(m for m in months if len(m) == 7 and m[4] == "-" and m[:4].isdigit() and m[5:].isdigit())
    if len(present) < 2:
        return None
    best: tuple[str, str, int] | None = None
    for before, after in zip(present, present[1:], strict=False):
        y1, m1 = int(before[:4]), int(before[5:])
        y2, m2 = int(after[:4]), int(after[5:])
        missing = (y2 * 12 + m2) - (y1 * 12 + m1) - 1
        if missing > 0 and (best is None or missing > best[2]):
            start = y1 * 12 + m1  # months since year 0, zero-based month + 1
            end = y2 * 12 + m2 - 2
            best = (f"{start // 12:04d}-{start % 12 + 1:02d}", f"{end // 12:04d}-{end % 12 + 1:02d}", missing)
    return best
