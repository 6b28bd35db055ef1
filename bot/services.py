"""Everything a handler may use, built once per process from the config and the clock."""

from functools import cached_property
from typing import TYPE_CHECKING

from sqlite_utils import Database

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.directory import Directory
from bot.core.permissions import Permissions
from bot.mail.archive import Archive
from bot.schema import open_archive
from bot.store.audit import AuditLog
from bot.store.db import archive_file, connect

if TYPE_CHECKING:  # built on first use: a command that needs none of them never imports them
    from bot.customers.matching import CustomerIndexCache
    from bot.handover.alerts import HandoverAlerts
    from bot.handover.brief import HandoverBriefs
    from bot.handover.service import HandoverDesk
    from bot.handover.undo import HandoverUndo
    from bot.mail.visibility import Visibility
    from bot.report.dashboard import Dashboard
    from bot.report.weekly import Reports
    from bot.rules.engine import RulesEngine
    from bot.search.service import SearchService
    from bot.sla.actions import SlaActions
    from bot.sla.alerts import SlaAlerts
    from bot.sla.digest import SlaDigests
    from bot.sla.engine import SlaEngine


class Services:
    def __init__(self, config: Config, clock: Clock | None = None, db: Database | None = None, *,
                 create: bool = True, shared: "Services | None" = None):
        """`create=False`: a missing archive is an ArchiveError instead of a new, empty archive.
        `shared`: another thread's Services whose in-memory caches (the customer matcher) this one uses,
        over a connection of its own (`db`)."""
        self.config = config
        self._shared = shared
        self.clock = clock or Clock()
        self.directory = Directory(config)
        self.db = db if db is not None else open_archive(config.archive_path, create=create)
        self.permissions = Permissions(self.directory)

    @cached_property
    def visibility(self) -> "Visibility":
        """The one choke point for mail facts (bot/mail/visibility.py)."""
        from bot.mail.visibility import Visibility

        return Visibility(self.permissions)

    @cached_property
    def archive(self) -> Archive:
        categories = self.rules.categories
        return Archive(self.db, self.directory, self.clock, indexers=self.indexers(),
                       prepare_hooks=[self.search.index.prepare_hook, categories.prepare_hook(self.directory)],
                       categorize=categories.categorize_new, limits=self.config.limits)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db, self.clock)

    @cached_property
    def sla(self) -> "SlaEngine":
        from bot.sla.engine import SlaEngine

        return SlaEngine(self.db, self.config, self.directory)

    @cached_property
    def search(self) -> "SearchService":
        from bot.search.service import SearchService

        return SearchService(self.db, self.config, self.directory, self.permissions, self.clock, self.audit)

    @cached_property
    def customer_index(self) -> "CustomerIndexCache":
        """The customer matcher (/owner, /assign, …): new customers appended, rebuilt when one changes.

        One per process: Services of other threads (`shared`) use this one. It reads over a connection of
        its own (when the archive is a file), behind its own lock, so any thread may call it."""
        if self._shared is not None:
            return self._shared.customer_index
        from bot.customers.matching import CustomerIndexCache

        path = archive_file(self.db)
        db = connect(path, create=False) if path else self.db
        return CustomerIndexCache(db, free_mail=frozenset(self.directory.free_mail))

    def indexers(self) -> list:
        """Functions that index each committed batch of new messages (search, categories, …)."""
        return [self.search.index.index_new, self.rules.index_new]

    # ── rules ──
    @cached_property
    def rules(self) -> "RulesEngine":
        """The guide's mail rules: categories, CC rule, naming, routing, collisions, pool."""
        from bot.rules.engine import RulesEngine

        return RulesEngine(self.db, self.config, self.directory, audit=self.audit, visibility=self.visibility,
                           permissions=self.permissions, customer_index=lambda: self.customer_index.get())

    # ── sla ──
    @cached_property
    def sla_actions(self) -> "SlaActions":
        """ack, snooze, resolve, away, back: each audited."""
        from bot.sla.actions import SlaActions

        return SlaActions(self.db, self.sla, self.permissions, self.audit, self.clock,
                          self.config.organization.timezone)

    @cached_property
    def sla_alerts(self) -> "SlaAlerts":
        """Alert routing (never where the mailbox may not be read), the alert Reply, queueing due alerts."""
        from bot.sla.alerts import SlaAlerts

        return SlaAlerts(self.db, self.directory, self.permissions, self.visibility, self.sla.policies,
                         self.config.organization.timezone)

    @cached_property
    def sla_digests(self) -> "SlaDigests":
        """The daily SLA digest per team."""
        from bot.sla.digest import SlaDigests

        return SlaDigests(self.db, self.directory, self.sla.policies, self.config.organization.timezone)

    # ── report ──
    @cached_property
    def reports(self) -> "Reports":
        """The managers' report with charts, asked for or weekly (imports matplotlib)."""
        from bot.report.weekly import Reports

        return Reports(self.db, self.config, self.directory, self.permissions, self.visibility,
                       self.sla.policies)

    @cached_property
    def dashboard(self) -> "Dashboard":
        """The read-only web dashboard (WSGI) over this Services' connection."""
        from bot.report.dashboard import Dashboard

        return Dashboard(self.db, self.config, self.directory, self.permissions, self.visibility, self.sla,
                         self.clock)

    # ── handover ──
    @cached_property
    def handover_alerts(self) -> "HandoverAlerts":
        """A handover's unsent SLA alerts, routed again with the SLA engine's own router and alert text."""
        from bot.handover.alerts import HandoverAlerts

        return HandoverAlerts(self.db, self.directory, router_for=self.sla_alerts.router,
                              render_alert=self.sla_alerts.reply)

    @cached_property
    def handover_briefs(self) -> "HandoverBriefs":
        from bot.handover.brief import HandoverBriefs

        return HandoverBriefs(self.db, self.config, self.directory, self.permissions, self.visibility, self.sla)

    @cached_property
    def handover(self) -> "HandoverDesk":
        """Plan, confirm, cancel (/handover)."""
        from bot.handover.service import HandoverDesk

        return HandoverDesk(self.db, self.directory, self.clock, self.audit, self.sla, self.handover_alerts,
                            self.handover_briefs)

    @cached_property
    def handover_undo(self) -> "HandoverUndo":
        from bot.handover.undo import HandoverUndo

        return HandoverUndo(self.db, self.directory, self.clock, self.audit, self.handover_alerts)
