"""`mailroom sync --watch`: follow every mailbox as mail arrives, until told to stop.

One thread per IMAP account (`Watcher(services).run(stop_event)`, also usable from `mailroom run`):
- after a full catch-up sync, IDLE on the first folder (INBOX) where the server offers IDLE; the other
  folders (Sent) are checked each time IDLE ends, which is at the latest every `poll_interval` and always
  before 29 minutes (RFC 2177 asks clients to re-issue IDLE that often);
- without IDLE, poll every `poll_interval` (config: [bot] poll_interval);
- on any failure: log one line (mailbox, what failed, when the next try is), close, reconnect with
  exponential backoff. A failing mailbox never stops the others. An unexpected error (not the network,
  the server or the config: a bug) is logged at WARNING with its traceback; after
  `[limits] alert_after_failures` identical failures in a row the admins get one alert (through the
  outbox), not a silent loop. A hostile message never is such a failure: it is stored with its defects.

Sleeping and backoff are injected, so tests run in well under a second per reconnect.
"""

import contextlib
import imaplib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imap_tools.errors import ImapToolsError
from imap_tools.idle import get_socket_poller

from bot.core.clock import iso
from bot.core.errors import MailroomError
from bot.mail.imap_connect import SyncTarget, capabilities, describe, sync_targets
from bot.mail.imap_sync import BATCH_SIZE, FolderResult, MailboxSync

IDLE_RENEW = 25 * 60.0
"""Seconds before IDLE is re-issued: under the 29 minutes after which servers may drop an idle client."""
log = logging.getLogger("bot.mail.sync")

Sleep = Callable[[float, threading.Event], object]
"""Wait `seconds` or until the event is set (default: `event.wait(seconds)`)."""


def wait_or_stop(seconds: float, stop: threading.Event) -> object:
    return stop.wait(seconds)


@dataclass(frozen=True)
class Backoff:
    """Delay before reconnect attempt n (1, 2, …): initial × factor^(n-1), at most `maximum` seconds."""

    initial: float = 2.0
    factor: float = 2.0
    maximum: float = 300.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))


class Watcher:
    """Watches IMAP accounts in threads; `run(stop)` returns once `stop` is set and every thread ended."""

    def __init__(self, services: Any, targets: list[SyncTarget] | None = None, *, backoff: Backoff = Backoff(),
                 sleep: Sleep = wait_or_stop, poll_interval: float | None = None, use_idle: bool | None = None,
                 idle_renew: float = IDLE_RENEW, tick: float = 1.0, batch_size: int = BATCH_SIZE,
                 lock: contextlib.AbstractContextManager[Any] | None = None, alert_after: int | None = None):
        self.services = services
        self.targets = sync_targets(services.config) if targets is None else targets
        self.backoff = backoff
        self.sleep = sleep
        interval = services.config.bot.poll_interval.total_seconds()
        self.poll_interval = float(poll_interval if poll_interval is not None else interval)
        self.use_idle = use_idle
        self.idle_renew = min(idle_renew, IDLE_RENEW)
        self.tick = tick
        self.batch_size = batch_size
        # every thread writes through services.archive (one connection): one transaction at a time
        self.lock = lock if lock is not None else threading.Lock()
        self.alert_after = alert_after or services.config.limits.alert_after_failures

    def run(self, stop: threading.Event) -> None:
        threads = [
            threading.Thread(target=self.watch, args=(target, stop), name=f"sync {target.address}", daemon=True)
            for target in self.targets
        ]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.5)

    def watch(self, target: SyncTarget, stop: threading.Event) -> None:
        """Follow one account until `stop` is set; never raises."""
        attempt = same = 0
        last_failure = ""
        while not stop.is_set():
            session = MailboxSync(target, self.services.archive, self.services.clock,
                                  batch_size=self.batch_size, lock=self.lock, stop=stop)
            try:
                session.connect()
                for problem in session.problems:
                    log.warning("%s: %s (watching the other folders)", target.address, problem)
                self._report(target, session.sync())
                attempt = same = 0
                last_failure = ""
                idle = self._idle_supported(session)
                log.info("%s: watching %s %s", target.address, ", ".join(session.folders) or "no folder",
                         f"(IDLE on {session.folders[0]})" if idle and session.folders
                         else f"(polling every {self.poll_interval:g} s)")
                while not stop.is_set():
                    if idle and session.folders:
                        others = len(session.folders) > 1
                        self._idle(session, stop, min(self.idle_renew, self.poll_interval) if others
                                   else self.idle_renew)
                    else:
                        self.sleep(self.poll_interval, stop)
                    if not stop.is_set():
                        self._report(target, session.sync())
            except Exception as exc:  # noqa: BLE001 - report, back off, reconnect: never die
                attempt += 1
                delay = self.backoff.delay(attempt)
                what = describe(exc, target)
                same = same + 1 if what == last_failure else 1
                last_failure = what
                expected = isinstance(exc, EXPECTED)
                if expected:
                    log.debug("%s: failure details", target.address, exc_info=True)
                alerted = self._alert_admins(target, what, same) if same == self.alert_after else ""
                log.warning("%s: %s; next try in %s%s%s", target.address, what, _seconds(delay),
                            f" ({attempt} failures in a row)" if attempt > 1 else "", alerted,
                            exc_info=not expected)
                session.close()
                self.sleep(delay, stop)
            finally:
                session.close()
        log.info("%s: stopped watching", target.address)

    def _alert_admins(self, target: SyncTarget, what: str, count: int) -> str:
        """One alert per admin (through the outbox) that a mailbox keeps failing the same way; what to add to
        the log line about it. Never raises."""
        from bot.core.reply import Reply
        from bot.outbox import Destination, enqueue
        from bot.store.db import write_transaction

        admins = self.services.directory.admins()
        if not admins:
            return "; no admin is configured to alert"
        now = self.services.clock.now()
        text = (f"Mail sync for {target.address} has failed {count} times in a row: {what}. New mail of this "
                f"mailbox is not being archived; it keeps retrying (see the log of `mailroom run`).")
        reply = Reply(command="sync.failing", text=text, data={"mailbox": target.address, "error": what,
                                                               "failures": count})
        try:
            with self.lock, write_transaction(self.services.db):
                for admin in admins:
                    enqueue(self.services.db, key=f"sync:failing:{target.address}:{admin.id}:{iso(now)}",
                            kind="sync", level="failing", now=now, destination=Destination("person", admin.id, None),
                            route="admin: mail sync failing", reply=reply)
            return "; the admins are alerted"
        except Exception as exc:  # noqa: BLE001 - alerting is best effort; the failure itself is logged already
            return f"; alerting the admins failed ({type(exc).__name__}: {exc})"

    def _idle_supported(self, session: MailboxSync) -> bool:
        if self.use_idle is not None:
            return self.use_idle
        return session.box is not None and "IDLE" in capabilities(session.box)

    def _idle(self, session: MailboxSync, stop: threading.Event, seconds: float) -> bool:
        """IDLE on the first folder until something happens there, `seconds` pass, or `stop` is set.

        Waits in `tick`-second slices so a stop request is seen quickly, without re-issuing IDLE.
        """
        box = session.box
        assert box is not None
        box.folder.set(session.folders[0], readonly=True)
        box.idle.start()
        changed = False
        deadline = time.monotonic() + seconds
        while not stop.is_set() and not changed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            line = _idle_line(box, min(self.tick, remaining))
            if line is None or line.startswith(b"* OK"):  # nothing yet, or a keep-alive ("Still here")
                continue
            if line.startswith(b"* BYE"):
                raise ConnectionError(f"server closed the connection: {line[6:].decode(errors='replace')}")
            changed = True  # EXISTS, EXPUNGE, FETCH …: look again
        box.idle.stop()
        return changed

    def _report(self, target: SyncTarget, results: list[FolderResult]) -> None:
        for result in results:
            if result.fetched or result.rescanned:
                log.info("%s %s: %d new, %d already archived (last UID %d)", target.address, result.folder,
                         result.new, result.already, result.last_uid)


EXPECTED = (MailroomError, OSError, imaplib.IMAP4.error, ImapToolsError)
"""Failures of the network, the server or the config: one line in the log. Anything else is a bug: its
traceback is logged too."""


def _idle_line(box: Any, timeout: float) -> bytes | None:
    """The next line the server sends during IDLE, or None after `timeout` seconds of silence.

    A closed connection raises (imaplib's abort on EOF) instead of looking like silence.
    """
    sock = box.client.sock
    pending = getattr(sock, "pending", None)  # TLS may hold decrypted bytes the socket no longer shows
    if not (pending and pending()) and not get_socket_poller(sock, int(timeout)):
        return None
    line: bytes = box.client._get_line()  # noqa: SLF001 - imap-tools' IdleManager reads the same way
    return line


def _seconds(delay: float) -> str:
    return f"{delay:.1f} s" if delay < 10 else f"{delay:.0f} s"
