"""`mailroom audit`: the audit log of every state change."""

import click

from bot.cli.context import AppContext, pass_app


@click.group()
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
