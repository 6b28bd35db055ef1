"""`mailroom`: the command line. Each command's help text is its documentation.

Commands live in one module per group (bot/cli/*.py) and are registered here, at the top.
"""

import logging
import os
from typing import Any

import click

from bot.cli import archive, audit, chat, doctor, report, rules, run, search, setup, sla, sync
from bot.cli.context import AppContext
from bot.core import redact
from bot.core.errors import ArchiveError, ConfigError, MailroomError


class MailroomGroup(click.Group):
    """Turns Mailroom's own errors into short messages and exit codes: 2 for config and archive, 1 otherwise."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for line in exc.problems:
                click.echo(line, err=True)
            ctx.exit(2)
        except ArchiveError as exc:
            click.echo(str(exc), err=True)
            ctx.exit(2)
        except MailroomError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=MailroomGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH",
              help="Config file (default: $MAILROOM_CONFIG, ./mailroom.toml, ./config/mailroom.toml).")
@click.option("--now", envvar="MAILROOM_NOW", metavar="ISO8601",
              help="Fix the clock for this run (also $MAILROOM_NOW), e.g. 2026-03-02T09:00:00+08:00; "
                   "years 1970-2100.")
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.version_option(package_name="mailroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, now: str | None, verbose: bool) -> None:
    """Mailroom: the shared mailboxes of an export factory, in the team chat."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact.install()  # no token, secret, password or key in any log line, ours or the libraries'
    quiet_chat_sdks()
    ctx.obj = AppContext(config_path, now)


CHAT_SDK_LOGGERS = ("slack_sdk", "slack_bolt", "telegram", "httpx", "httpcore", "urllib3")
"""Their DEBUG records carry whole request bodies — the text of replies and alerts, subjects included."""


def quiet_chat_sdks() -> None:
    """`-v` is our own DEBUG: the chat SDKs stay at INFO, so no log line carries a message body (and with
    it the subject of mail in a mailbox the log's reader may not read)."""
    for name in CHAT_SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


for command in (setup.init, archive.import_, archive.stats, doctor.doctor, doctor.rights, chat.ask, chat.chat,
                setup.demo, audit.audit, sync.sync, run.serve, run.run, sla.sla, search.search, search.reindex,
                rules.rules, rules.categories, report.report):
    cli.add_command(command)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="mailroom")
