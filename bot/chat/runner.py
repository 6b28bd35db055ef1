"""The long-running process: chat platforms, HTTP routes, IMAP watching, SLA scheduling, alert delivery.

Threads, each with its own archive connection (SQLite in WAL mode lets them work side by side):
- chat: the platform adapters (Socket Mode, Telegram's loop, WeCom's workers, HTTP request threads)
  share one connection behind `ChatBot.lock`;
- scheduler: every `[bot] sla_interval`, evaluate SLAs and deliver due alerts through the outbox;
- sync: `bot.mail.imap_watch.Watcher` for every mailbox with an `[mailboxes.imap]` table;
- warm-up: builds the customer matcher at start (about 8 s per 100,000 customers), so the first /owner
  does not wait for it.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.chat.adapters.base import ChatBot
from bot.chat.platforms import Platforms
from bot.chat.settings import PlatformSettings
from bot.chat.web import WebServer
from bot.core.config import Config
from bot.scheduler import scheduler_tick
from bot.services import Services

log = logging.getLogger(__name__)


class Runner:
    """Starts what the environment configures; `stop()` (or the stop event) ends it all."""

    def __init__(self, services: Services, settings: PlatformSettings, *,
                 services_factory: Callable[[], Services] | None = None, http: bool = True,
                 host: str = "0.0.0.0", port: int = 8000, sync: bool = True,
                 tick: Callable[[Services, list[Any]], Any] = scheduler_tick):
        """`services` serves the chat; `services_factory` opens one more connection per background thread."""
        self.config: Config = services.config
        self.make_services = services_factory or (lambda: Services(services.config, services.clock))
        self.settings = settings
        self.http = http
        self.host = host
        self.port = port
        self.sync = sync
        self.tick = tick
        self.stop_event = threading.Event()
        self.services = services
        self.bot = ChatBot(self.services)
        self.platforms = Platforms(self.bot, settings, listen=True)
        self.server: WebServer | None = None
        self._threads: list[threading.Thread] = []
        self._opened: list[Services] = [self.services]

    def start(self) -> None:
        self.platforms.start()
        if self.http and self.platforms.needs_http:
            self.server = WebServer(self.platforms.routes(), self.host, self.port)
            self.server.start()
            log.info("HTTP on %s:%s: %s", self.host, self.server.port, ", ".join(self.platforms.routes().paths()))
        elif self.platforms.needs_http:
            log.info("no HTTP here (--no-http): webhook and callback platforms are served by `mailroom serve`")
        self._spawn("warm-up", self._warm_up)
        self._spawn("scheduler", self._schedule)
        if self.sync:
            from bot.mail.imap_connect import sync_targets

            if sync_targets(self.config):
                self._spawn("sync", self._watch)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _own_services(self) -> Services:
        services = self.make_services()
        self._opened.append(services)
        return services

    def _warm_up(self) -> None:
        """Under the chat's lock (the chat's connection is shared): a command arriving meanwhile waits for
        the index instead of building a second one."""
        try:
            with self.bot.lock:
                self.services.customer_index.get()
        except Exception:
            log.exception("building the customer index failed; the first /owner builds it")

    def _schedule(self) -> None:
        services = self._own_services()
        channels = self.platforms.channels(ChatBot(services))
        interval = self.config.bot.sla_interval.total_seconds()
        while not self.stop_event.is_set():
            try:
                report = self.tick(services, channels)
                errors = getattr(getattr(report, "delivery", None), "errors", None)
                if errors:
                    log.warning("alerts: %s", "; ".join(errors[:5]))
            except Exception:
                log.exception("SLA round failed; next round in %g s", interval)
            self.stop_event.wait(interval)

    def _watch(self) -> None:
        from bot.mail.imap_watch import Watcher

        Watcher(self._own_services()).run(self.stop_event)

    def wait(self) -> None:
        while not self.stop_event.wait(0.5):
            pass

    def stop(self) -> None:
        self.stop_event.set()
        if self.server is not None:
            self.server.stop()
        self.platforms.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        for opened in self._opened[1:]:
            opened.db.conn.close()
