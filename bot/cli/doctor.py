"""`mailroom doctor`: the admin checklist."""

import click

from bot.cli.context import AppContext, pass_app


@click.command()
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
