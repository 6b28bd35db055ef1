"""The rules engine: one `scan` over newly archived mail, one `tick(now)` that drives everything.

- At import/sync time only categories are computed (the archive indexer, inside the batch's
  transaction): cheap, and the category is a search filter the moment the mail is searchable.
- `scan(now)` reads every message archived since the last scan (a watermark in `rules_state`): CC rule,
  naming conventions, CC gaps, collisions, and new inquiries to route. Findings are recorded, not told.
- `tick(now)` = scan + claims that timed out + the pool check (hourly) + private nudges for what is new
  + the daily rules digest. Chat messages go to the SLA feature's outbox; `mailroom run` delivers them.
  `bot/scheduler.py` runs the rules tick and then the SLA round.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.core.config import Config
from bot.core.directory import Directory
from bot.core.permissions import Permissions
from bot.mail.parse import ParsedMail
from bot.mail.visibility import Visibility
from bot.rules.categories import CategoryService
from bot.rules.settings import Rules, load_rules, pool_teams
from bot.store.audit import AuditLog

if TYPE_CHECKING:  # the checkers are imported when first used: imports only need the categories
    from bot.customers.matching import CustomerIndex
    from bot.rules.cc_rule import CcChecker
    from bot.rules.collisions import CollisionChecker
    from bot.rules.mail import MailRow
    from bot.rules.pool import PoolService
    from bot.rules.routing import InquiryRouter
    from bot.rules.violations import Finding

log = logging.getLogger(__name__)
SCAN_KEY = "scan.upto"
ORDER_MILESTONES = frozenset({"po_confirmation", "delivery_change", "loading_plan", "shipping_documents",
                              "complaint_conclusion"})
POOL_KEY = "pool.checked"


@dataclass
class ScanReport:
    scanned: int = 0
    categorised: int = 0
    checks: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    routed: int = 0
    gaps_withdrawn: int = 0


@dataclass
class RulesTick:
    scan: ScanReport
    passed_on: int = 0
    pool_warned: int = 0
    pool_moved: int = 0
    nudges: int = 0
    digests: int = 0

    def line(self) -> str:
        s = self.scan
        found = ", ".join(f"{k} {v}" for k, v in sorted(s.violations.items())) or "nothing"
        return (f"scanned {s.scanned} messages ({s.categorised} categorised): found {found}; {s.routed} inquiries "
                f"routed, {self.passed_on} passed on; pool: {self.pool_warned} warned, {self.pool_moved} moved; "
                f"{self.nudges} nudges and {self.digests} digests queued")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class RulesEngine:
    def __init__(self, db: Database, config: Config, directory: Directory, *, audit: AuditLog,
                 visibility: Visibility, permissions: Permissions, customer_index: "Callable[[], CustomerIndex]"):
        """`config`: the `[rules]` settings (validated here), the mailboxes' teams (the pool's default teams)
        and the organization's time zone (suggested subject dates, the nudges' and digest's local day).
        `customer_index`: the process's current customer index, built (seconds) only when first asked for."""
        self.db = db
        self.directory = directory
        self.audit = audit
        self.visibility = visibility
        self.customer_index = customer_index
        self.rules: Rules = load_rules(config, directory)
        self.zone = config.organization.timezone
        self.pool_teams = pool_teams(self.rules, config)
        self.categories = CategoryService(self.db, self.rules, directory, permissions, audit)
        self._boxes: dict[int | None, set[str]] = {}
        """Mailboxes each thread was seen in, remembered during one scan."""

    # -- the Archive hook ----------------------------------------------------------------------
    def index_new(self, db: Database, message_ids: list[int], mails: Mapping[int, ParsedMail] | None = None) -> None:
        self.categories.index_new(db, message_ids, mails)

    # -- parts, built when first used ----------------------------------------------------------
    @cached_property
    def cc(self) -> "CcChecker":
        from bot.rules.cc_rule import CcChecker

        return CcChecker(self.db, self.directory, self.rules)

    def collisions(self, now: datetime) -> "CollisionChecker":
        from bot.rules.collisions import CollisionChecker

        return CollisionChecker(self.db, self.directory, self.rules, now)

    def router(self, now: datetime) -> "InquiryRouter":
        from bot.rules.routing import InquiryRouter

        return InquiryRouter(self.db, self.directory, self.rules, self.collisions(now), audit=self.audit,
                             visibility=self.visibility)

    @cached_property
    def pool(self) -> "PoolService":
        from bot.rules.pool import PoolService

        return PoolService(self.db, self.directory, self.rules, self.pool_teams, audit=self.audit,
                           customer_index=self.customer_index, zone=self.zone)

    # -- scanning ------------------------------------------------------------------------------
    def watermark(self) -> int:
        row = self.db.execute("SELECT value FROM rules_state WHERE key = ?", [SCAN_KEY]).fetchone()
        return int(row[0]) if row else 0

    def scan(self, now: datetime) -> ScanReport:
        """Check every message archived since the last scan; record what the rules find."""
        from bot.rules.mail import iter_new
        from bot.rules.violations import resolve_gaps
        from bot.store.db import write_transaction

        report = ScanReport()
        self._boxes = {}
        with write_transaction(self.db):
            report.categorised = self.categories.drain()
        router = self.router(now)
        for chunk in iter_new(self.db, self.watermark()):
            with write_transaction(self.db):
                for row in chunk:
                    self._check(row, now, router, report)
                report.gaps_withdrawn += resolve_gaps(self.db, [r.message_id for r in chunk])
                self.db.execute("INSERT OR REPLACE INTO rules_state (key, value) VALUES (?, ?)",
                                [SCAN_KEY, str(chunk[-1].id)])
            report.scanned += len(chunk)
        return report

    def _found(self, finding: "Finding | None", now: datetime, report: ScanReport) -> None:
        from bot.rules.violations import record

        if finding is not None and record(self.db, finding, now):
            report.violations[finding.rule] = report.violations.get(finding.rule, 0) + 1

    def _thread_boxes(self, thread_id: int | None) -> set[str]:
        from bot.rules.mail import thread_mailboxes

        if thread_id not in self._boxes:
            if len(self._boxes) > 10_000:
                self._boxes.clear()
            self._boxes[thread_id] = thread_mailboxes(self.db, thread_id)
        return self._boxes[thread_id]

    def _check(self, row: "MailRow", now: datetime, router: "InquiryRouter", report: ScanReport) -> None:
        from bot.rules.violations import record_check

        if row.automatic or row.customer_id is None:
            return
        if row.direction == "outbound":
            milestones: list[str] = []
            if self.rules.cc.enabled:
                milestones = self.cc.milestones(row, self._thread_boxes(row.thread_id))
                if milestones:
                    finding = self.cc.missing_cc(row, milestones)
                    record_check(self.db, row.id, "milestone_cc", finding is None, row.person_id, row.customer_id,
                                 row.date)
                    report.checks += 1
                    self._found(finding, now, report)
            if self.rules.naming.enabled:
                self._naming(row, milestones, now, report)
        elif row.direction == "inbound" and self.rules.cc.enabled:
            self._found(self.cc.gap(row), now, report)
        self._found(router.collisions.check(row), now, report)
        if router.consider(row, now) is not None:
            report.routed += 1

    def _naming(self, row: "MailRow", milestones: list[str], now: datetime, report: ScanReport) -> None:
        from bot.rules.naming import (
            DOCUMENT,
            normalize_subject_keep_case,
            quotation_name_ok,
            subject_ok,
            suggest_file,
            suggest_subject,
        )
        from bot.rules.violations import Finding, record_check

        naming = self.rules.naming
        inquiry = set(self.rules.inquiry_mailboxes)
        in_inquiry = (bool(row.mailboxes & inquiry) or bool(set(row.recipients) & inquiry)
                      or bool(self._thread_boxes(row.thread_id) & inquiry))
        customer = self._customer_name(row.customer_id)
        if naming.subject and self._subject_applies(row, milestones, in_inquiry):
            ok = subject_ok(row.subject)
            record_check(self.db, row.id, "subject_convention", ok, row.person_id, row.customer_id, row.date)
            report.checks += 1
            if not ok:
                first = self._thread_start(row)
                suggestion = suggest_subject(row.subject, customer=customer, products=naming.products, body=row.text,
                                             when=first or now, zone=self.zone,
                                             date_format=naming.date_format)
                self._found(Finding(row.id, row.message_id, row.thread_id, "subject_convention", row.person_id,
                                    row.customer_id, suggestion, row.date,
                                    {"subject": normalize_subject_keep_case(row.subject) or row.subject}), now, report)
        documents = [f for f in row.files if DOCUMENT.search(f)]
        if naming.quotation and "quotation" in milestones and documents:
            bad = {f: suggest_file(f, subject=row.subject, body=row.text, products=naming.products)
                   for f in documents if not quotation_name_ok(f)}
            record_check(self.db, row.id, "quotation_name", not bad, row.person_id, row.customer_id, row.date)
            report.checks += 1
            if bad:
                first_bad = next(iter(bad))
                self._found(Finding(row.id, row.message_id, row.thread_id, "quotation_name", row.person_id,
                                    row.customer_id, bad[first_bad], row.date, {"files": bad}), now, report)

    def _subject_applies(self, row: "MailRow", milestones: list[str], in_inquiry: bool) -> bool:
        """The `[rules] subject_convention` scope for one mail of ours (bot/rules/naming.py)."""
        from bot.mail.parse import normalize_subject
        from bot.rules.naming import about_an_offer, carries_quotation, subject_applies

        scope = self.rules.model.subject_convention
        if scope in ("off", "all_outbound"):
            return subject_applies(scope, quotation=False, new_thread=False, keeps_customer_subject=False,
                                   in_inquiry=in_inquiry)
        if set(milestones) & ORDER_MILESTONES:
            return False  # a PO confirmation with its PI, shipping documents, a complaint conclusion
        boxes = row.mailboxes | set(row.recipients) | self._thread_boxes(row.thread_id)
        if not in_inquiry and boxes & set(self.rules.order_mailboxes + self.rules.support_mailboxes):
            return False  # order and after-sales threads
        earlier = self.db.execute(
            "SELECT direction, subject FROM messages WHERE thread_id = ? AND id != ? "
            "AND (date IS NULL OR ? IS NULL OR date <= ?) LIMIT 200",
            [row.thread_id, row.id, row.date, row.date]).fetchall() if row.thread_id is not None else []
        mine = normalize_subject(row.subject)
        keeps = bool(mine) and any(d == "inbound" and normalize_subject(s or "") == mine for d, s in earlier)
        new_thread = not earlier and not row.in_reply_to and not row.refs
        quotation = "quotation" in milestones or carries_quotation(row.text, row.files)
        offer = new_thread and about_an_offer(row.subject, row.text, self.rules.naming.products)
        return subject_applies(scope, quotation=quotation, new_thread=new_thread, keeps_customer_subject=keeps,
                               in_inquiry=in_inquiry, offer=offer)

    def _customer_name(self, customer_id: int | None) -> str:
        row = self.db.execute("SELECT name FROM customers WHERE id = ?", [customer_id]).fetchone()
        return row[0] if row else "Customer"

    def _thread_start(self, row: "MailRow") -> datetime | None:
        from bot.core.clock import parse_instant

        found = self.db.execute("SELECT first_date FROM threads WHERE id = ?", [row.thread_id]).fetchone()
        return parse_instant(found[0]) if found and found[0] else None

    # -- the tick ------------------------------------------------------------------------------
    def tick(self, now: datetime) -> RulesTick:
        """Scan, pass on timed-out claims, check the pool (hourly), queue nudges and the daily digest."""
        from bot.rules import digest
        from bot.rules.violations import notify
        from bot.store.db import write_transaction

        report = RulesTick(self.scan(now))
        with write_transaction(self.db):
            report.passed_on = self.router(now).timeouts(now)
        hour = now.strftime("%Y-%m-%dT%H")
        checked = self.db.execute("SELECT value FROM rules_state WHERE key = ?", [POOL_KEY]).fetchone()
        if self.pool.enabled and (checked is None or checked[0] != hour):
            pool = self.pool.check(now)
            report.pool_warned, report.pool_moved = pool.warned, pool.moved
            with write_transaction(self.db):
                self.db.execute("INSERT OR REPLACE INTO rules_state (key, value) VALUES (?, ?)", [POOL_KEY, hour])
        report.nudges = notify(self.db, self.directory, self.visibility, self.rules, self.zone, now)
        if self.rules.model.digest:
            report.digests = digest.enqueue_digests(self.db, self.directory, self.zone, now)
        log.debug("rules tick: %s", report.line())
        return report
