"""`mailroom`: the command line. Each command's help text is its documentation."""

import json
import logging
import os
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

import click

from bot.core.clock import Clock, iso, parse_instant
from bot.core.config import Config, Person, find_config, load_config
from bot.core.errors import ConfigError, MailroomError


class AppContext:
    """Lazily loads the config and opens the archive, so `--help` and `init` need neither."""

    def __init__(self, config_path: str | None, now: str | None):
        self.config_path = config_path
        try:
            self.clock = Clock(parse_instant(now)) if now else Clock()
        except ValueError:
            raise click.BadParameter(f"{now!r} is not an ISO 8601 time", param_hint="--now") from None

    @cached_property
    def config(self) -> Config:
        return load_config(find_config(self.config_path))

    @cached_property
    def services(self) -> Any:
        from bot.customers.book import load_crm_if_changed
        from bot.services import Services

        services = Services(self.config, self.clock)
        load_crm_if_changed(services.db, self.config, services.directory, iso(self.clock.now()))
        return services

    def person(self, who: str | None) -> Person:
        """--as PERSON (id, e-mail or name); without it the first admin — the local operator."""
        directory = self.services.directory
        if who:
            person = directory.find_person(who)
            if person is None:
                known = ", ".join(p.id for p in self.config.people)
                raise MailroomError(f"--as {who}: no such person (known: {known})")
            return person
        admins = directory.admins() or self.config.people
        if not admins:
            raise MailroomError("the config has no [[people]]: add at least one admin")
        return admins[0]


class MailroomGroup(click.Group):
    """Turns Mailroom's own errors into short messages and exit codes: 2 for config, 1 otherwise."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for line in exc.problems:
                click.echo(line, err=True)
            ctx.exit(2)
        except MailroomError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=MailroomGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH",
              help="Config file (default: $MAILROOM_CONFIG, ./mailroom.toml, ./config/mailroom.toml).")
@click.option("--now", envvar="MAILROOM_NOW", metavar="ISO8601",
              help="Fix the clock for this run (also $MAILROOM_NOW), e.g. 2026-03-02T09:00:00+08:00.")
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.version_option(package_name="mailroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, now: str | None, verbose: bool) -> None:
    """Mailroom: the shared mailboxes of an export factory, in the team chat."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_path, now)


pass_app = click.make_pass_decorator(AppContext)


@cli.command()
@click.argument("path", default="mailroom.toml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a starter config (the example factory) and its CRM CSV next to it."""
    from bot.demo.files import write_starter

    target = Path(path)
    if target.exists() and not force:
        raise MailroomError(f"{target} exists; use --force to overwrite")
    written = write_starter(target)
    for file in written:
        click.echo(f"wrote {file}")
    click.echo(f"Edit {target}, then: mailroom --config {target} doctor")


@cli.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--mailbox", metavar="ADDRESS", help="File every message under this mailbox instead of "
              "finding it from Delivered-To / X-Original-To / To / Cc.")
@click.option("--folder", default="", metavar="NAME", help="Folder name to record (e.g. INBOX, Sent).")
@click.option("--workers", type=click.IntRange(0, 2), default=0, metavar="N",
              help="1: parse and store in one process; 2: parse in a helper process meanwhile "
                   "(default 0: 2 for large imports).")
@pass_app
def import_(app: AppContext, path: str, mailbox: str | None, folder: str, workers: int) -> None:
    """Import a folder of .eml files, an mbox file or a Maildir. Running it twice adds nothing."""
    from bot.mail.importer import default_workers, import_messages
    from bot.mail.sources import count_messages, read_messages

    services = app.services
    if mailbox:
        resolved = services.directory.mailbox_for(mailbox)
        if resolved is None:
            raise MailroomError(f"--mailbox {mailbox}: not a configured mailbox or alias")
        mailbox = resolved[0]
    source = Path(path)
    total = count_messages(source)
    workers = workers or default_workers(total)
    messages = read_messages(source, deferred=workers > 1)
    if sys.stderr.isatty() and total and total > 50:
        with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
            summary = import_messages(services.archive, messages, mailbox=mailbox, folder=folder,
                                      progress=bar.update, workers=workers)
    else:
        summary = import_messages(services.archive, messages, mailbox=mailbox, folder=folder, workers=workers)
    click.echo(summary.line())
    for address, count in sorted(summary.per_mailbox.items()):
        click.echo(f"  {address or '(no configured mailbox)'}: {count} new")


@cli.command()
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


@cli.command()
@pass_app
def doctor(app: AppContext) -> None:
    """Check the config and the archive (and, with IMAP, log in to each mailbox)."""
    from bot.doctor.checks import run_checks

    failures = 0
    for ok, line in run_checks(app):
        click.echo(("ok    " if ok else "FAIL  ") + line)
        failures += not ok
    if failures:
        raise SystemExit(1)


@cli.command()
@click.argument("text")
@click.option("--as", "who", metavar="PERSON", help="Ask as this person (id, e-mail or name); default: an admin.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole reply as JSON.")
@pass_app
def ask(app: AppContext, text: str, who: str | None, as_json: bool) -> None:
    """Send one chat command, print the reply. Exit 0 when it succeeded, 1 when refused or failed."""
    from bot.chat.adapters.console import render, render_json
    from bot.chat.router import Router

    reply = Router(app.services).handle(text, app.person(who), platform="console")
    click.echo(render_json(reply) if as_json else render(reply))
    if reply.error is not None:
        raise SystemExit(1)


@cli.command()
@click.option("--as", "who", metavar="PERSON", help="Chat as this person; default: an admin.")
@pass_app
def chat(app: AppContext, who: str | None) -> None:
    """An interactive chat prompt in the terminal, with history."""
    from bot.chat.adapters.console import chat_loop
    from bot.chat.router import Router

    chat_loop(Router(app.services), app.person(who))


@cli.command()
@click.option("--as", "who", default="boss", metavar="PERSON", help="Demo person to chat as (default: boss).")
@click.option("--dir", "folder", metavar="DIR", type=click.Path(file_okay=False),
              help="Keep the demo here instead of a temporary folder.")
@click.option("--ask", "question", metavar="TEXT", help="Ask one question instead of opening the prompt.")
@click.pass_context
def demo(ctx: click.Context, who: str, folder: str | None, question: str | None) -> None:
    """Build the demo factory's archive in a temporary folder and chat with it."""
    import tempfile

    from bot.demo.files import build_demo

    app: AppContext = ctx.obj
    with tempfile.TemporaryDirectory(prefix="mailroom-demo-") as tmp:
        where = Path(folder or tmp)
        config_path = build_demo(where, now=app.clock.now())
        click.echo(f"demo archive in {where} ({config_path.name})", err=True)
        demo_app = AppContext(str(config_path), iso(app.clock.now()) if app.clock.is_fixed else None)
        if not app.clock.is_fixed:
            demo_app.clock = app.clock
        if question:
            _demo_ask(demo_app, who, question)
            return
        from bot.chat.adapters.console import chat_loop
        from bot.chat.router import Router

        chat_loop(Router(demo_app.services), demo_app.person(who))


def _demo_ask(app: AppContext, who: str, question: str) -> None:
    from bot.chat.adapters.console import render
    from bot.chat.router import Router

    click.echo(render(Router(app.services).handle(question, app.person(who))))


@cli.group()
def audit() -> None:
    """The audit log of every state change."""


@audit.command("verify")
@pass_app
def audit_verify(app: AppContext) -> None:
    """Check the hash chain: exit 0 when intact, 1 naming the first broken entry."""
    problem = app.services.audit.verify()
    if problem is None:
        count = app.services.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        click.echo(f"audit log intact: {count} entries")
        return
    click.echo(problem.line(), err=True)
    raise SystemExit(1)


from bot.cli.sync import sync as sync_command  # noqa: E402 - defined in its own module

cli.add_command(sync_command)

from bot.cli.run import run as run_command  # noqa: E402 - chat platforms and processes
from bot.cli.run import serve as serve_command  # noqa: E402

cli.add_command(serve_command)
cli.add_command(run_command)
cli.add_command(__import__("bot.cli.sla", fromlist=["sla"]).sla)  # mailroom sla [tick | digest]


from bot.cli.search import reindex as reindex_command  # noqa: E402 - defined in its own module
from bot.cli.search import search as search_command  # noqa: E402

cli.add_command(search_command)
cli.add_command(reindex_command)

cli.add_command(__import__("bot.cli.rules", fromlist=["rules"]).rules)  # mailroom rules [tick | digest]
cli.add_command(__import__("bot.cli.rules", fromlist=["categories"]).categories)  # mailroom categories [backfill]
cli.add_command(__import__("bot.cli.report", fromlist=["report"]).report)  # mailroom report (issue 19)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="mailroom")

