"""`mailroom sync`: fetch new mail from the IMAP mailboxes into the archive, once or continuously."""

import json
import signal
import sys
import threading
from types import FrameType
from typing import Any

import click

from bot.core.errors import MailroomError

BATCH_SIZE = 200
"""Default of --batch-size (the same as bot.mail.imap_sync.BATCH_SIZE, which this module does not import
so that `mailroom --help` stays quick)."""
PROGRESS_FROM = 500
"""A folder with at least this many new messages gets a progress bar (on a terminal)."""


class TerminalProgress:
    """A click progress bar per long folder sync, on stderr, only when it is a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def begin(self, address: str, folder: str, total: int) -> None:
        if total >= PROGRESS_FROM and sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label=f"{address} {folder}", file=sys.stderr)
            self._bar.__enter__()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.command("sync")
@click.option("--once", "mode", flag_value="once", default=True,
              help="Fetch what is new in every mailbox, then exit (default).")
@click.option("--watch", "mode", flag_value="watch",
              help="Keep running: IMAP IDLE where the server has it, else poll every [bot] poll_interval; "
                   "reconnect with backoff. Stop with Ctrl-C or SIGTERM.")
@click.option("--mailbox", "address", metavar="ADDRESS",
              help="Only this mailbox (its address, or a person's e-mail or id for [people.imap]).")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(2, 5000),
              help="Messages per FETCH and per committed transaction.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON object instead of lines.")
@click.pass_obj
def sync(app: Any, mode: str, address: str | None, batch_size: int, as_json: bool) -> None:
    """Sync the archive with the IMAP mailboxes ([mailboxes.imap]); read-only on the server.

    With --once, exits 1 when any mailbox failed (after syncing the ones that work), 0 otherwise.
    """
    from bot.mail.imap_connect import sync_targets

    if as_json and mode == "watch":
        raise click.UsageError("--json goes with --once (--watch logs as it goes)")
    targets = sync_targets(app.config, address)
    if not targets:
        raise MailroomError("no mailbox has an [mailboxes.imap] table: nothing to sync")
    app.creates_archive = True
    services = app.services
    if mode == "watch":
        _watch(services, targets, batch_size)
        return
    from bot.mail.imap_sync import sync_once

    progress = None if as_json else TerminalProgress()
    results = sync_once(services.archive, services.clock, targets, batch_size=batch_size, progress=progress)
    failed = [r for r in results if not r.ok]
    if as_json:
        click.echo(json.dumps({"ok": not failed, "mailboxes": [r.as_dict() for r in results]},
                              ensure_ascii=False, indent=2))
    else:
        for result in results:
            click.echo(result.line(), err=not result.ok)
    if failed:
        raise SystemExit(1)


def _watch(services: Any, targets: list[Any], batch_size: int) -> None:
    from bot.mail.imap_watch import Watcher

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    Watcher(services, targets, batch_size=batch_size).run(stop)
