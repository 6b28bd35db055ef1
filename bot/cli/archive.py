"""`mailroom import` (old mail into the archive) and `mailroom stats` (what the archive holds)."""

import json
import sys
from pathlib import Path

import click

from bot.cli.context import AppContext, pass_app
from bot.core.errors import MailroomError


@click.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--mailbox", metavar="ADDRESS", help="File every message under this mailbox instead of "
              "finding it from Delivered-To / X-Original-To / To / Cc.")
@click.option("--folder", default="", metavar="NAME", help="Folder name to record (e.g. INBOX, Sent).")
@click.option("--workers", type=click.IntRange(0, 2), default=0, metavar="N",
              help="1: parse and store in one process; 2: parse in a helper process meanwhile "
                   "(default 0: 2 for large imports).")
@pass_app
def import_(app: AppContext, path: str, mailbox: str | None, folder: str, workers: int) -> None:
    """Import a folder of saved mail (any extension), an mbox file or a Maildir. Running it twice adds nothing.

    Files that are not mail (empty, images, PDFs, archives, Outlook .msg) are skipped and named; a message
    that cannot be fully read is stored with its defects ([limits] bounds what one message may cost).
    """
    from bot.mail.importer import default_workers, import_messages
    from bot.mail.sources import count_messages, read_messages

    app.creates_archive = True
    services = app.services
    for line in app.startup_warnings():
        click.echo(line, err=True)
    if mailbox:
        resolved = services.directory.mailbox_for(mailbox)
        if resolved is None:
            raise MailroomError(f"--mailbox {mailbox}: not a configured mailbox or alias")
        mailbox = resolved[0]
    source = Path(path)
    total = count_messages(source)
    workers = workers or default_workers(total)
    messages = read_messages(source, deferred=workers > 1, max_bytes=services.config.limits.message_bytes)
    if sys.stderr.isatty() and total and total > 50:
        with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
            summary = import_messages(services.archive, messages, mailbox=mailbox, folder=folder,
                                      progress=bar.update, workers=workers)
    else:
        summary = import_messages(services.archive, messages, mailbox=mailbox, folder=folder, workers=workers)
    click.echo(summary.line())
    for address, count in sorted(summary.per_mailbox.items()):
        click.echo(f"  {address or '(no configured mailbox)'}: {count} new")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: messages, threads, customers, mailboxes.")
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """How much the archive holds, per mailbox."""
    from bot.mail.stats import archive_stats

    figures = archive_stats(app.services)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    click.echo(f"archive: {figures['archive']}")
    for key in ("messages", "threads", "customers", "with_defects"):
        click.echo(f"{key}: {figures[key]}")
    for address, count in figures["mailboxes"].items():
        click.echo(f"  {address}: {count}")
