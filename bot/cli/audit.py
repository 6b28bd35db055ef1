"""`mailroom audit`: the audit log of every state change."""

import click

from bot.cli.context import AppContext, pass_app


@click.group()
def audit() -> None:
    """The audit log of every state change."""


@audit.command("verify")
@pass_app
def audit_verify(app: AppContext) -> None:
    """Check the chain, its key (MAILROOM_AUDIT_KEY) and its anchors: exit 0 when intact, 1 naming what is wrong."""
    log = app.services.audit
    problems = log.problems()
    if not problems:
        count = app.services.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        click.echo(f"audit log intact: {count} entries ({log.protection()})")
        return
    for problem in problems:
        click.echo(problem.line(), err=True)
    raise SystemExit(1)


@audit.command("anchor")
@pass_app
def audit_anchor(app: AppContext) -> None:
    """Append the chain head (entry number + hash) to the anchor file (MAILROOM_AUDIT_ANCHORS or beside the archive).

    With MAILROOM_AUDIT_KEY newly set and nothing recorded since, it first records a keyed `audit.key` entry,
    so the keyed part of the chain begins (and covers every earlier entry through its hash)."""
    from bot.store.db import write_transaction

    log = app.services.audit
    head = log.head()
    if log.key is not None and head is not None:
        keyed = app.services.db.execute("SELECT keyed FROM audit_log WHERE id = ?", [head[0]]).fetchone()
        if keyed is not None and not keyed[0]:
            with write_transaction(app.services.db):
                log.record("mailroom", "audit.key", {"after": head[0]}, "keyed chain begins")
    anchor = log.anchor()
    if anchor is None:
        click.echo(f"nothing new to anchor ({log.protection()})")
    else:
        click.echo(f"anchored entry {anchor.entry} ({anchor.hash[:16]}…) in {log.anchor_path}")
