"""`mailroom doctor` (the admin checklist) and `mailroom rights` (who may do what with each mailbox)."""

import json

import click

from bot.cli.context import AppContext, pass_app


@click.command()
@click.option("--dns", "dns_only", is_flag=True, help="Only the DNS checks (SPF, DKIM, DMARC, MX per domain).")
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: {"checks": [{"area", "name", "status", "detail", "fix"}]}.')
@pass_app
def doctor(app: AppContext, dns_only: bool, as_json: bool) -> None:
    """The admin checklist: config, DNS sender authentication, rights, audit, archive, IMAP migration, MFA.

    Exit 0 when nothing failed (warnings allowed), 1 when any check failed. The nameserver is the system's
    or $MAILROOM_DNS (IP[:PORT]).
    """
    from bot.doctor.checks import as_json as checks_json
    from bot.doctor.checks import render, run_checks
    from bot.doctor.model import exit_status

    checks = list(run_checks(app, dns_only=dns_only))
    if as_json:
        click.echo(json.dumps(checks_json(checks), ensure_ascii=False, indent=2))
    else:
        for line in render(checks):
            click.echo(line)
    if exit_status(checks):
        raise SystemExit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: {"mailboxes": [{"address", "role", "team", "read", "reply", "delete", '
                   '"export"}], "checks": [...]}.')
@pass_app
def rights(app: AppContext, as_json: bool) -> None:
    """Who may read, reply, delete and export each shared mailbox, and where the guide advises otherwise."""
    from bot.core.directory import Directory
    from bot.doctor.rights import rights_lines, rights_report

    directory = Directory(app.config)  # from the config alone: no archive needed
    if as_json:
        click.echo(json.dumps(rights_report(directory), ensure_ascii=False, indent=2))
        return
    for line in rights_lines(directory):
        click.echo(line)
