"""Printing a chat Reply on the command line, as text or as JSON: written once for every command."""

import click

from bot.chat.adapters.console import render, render_json
from bot.chat.router import Router
from bot.cli.context import AppContext
from bot.core.reply import Reply


def echo_reply(reply: Reply, as_json: bool = False) -> None:
    """Print `reply` as console text, or as the JSON every `--json` prints."""
    click.echo(render_json(reply) if as_json else render(reply))


def ask_and_echo(app: AppContext, text: str, who: str | None, *, as_json: bool = False) -> None:
    """Send `text` through the chat router as `who`; print the reply; exit 1 when refused or failed."""
    reply = Router(app.services).handle(text, app.person(who), platform="console")
    echo_reply(reply, as_json=as_json)
    if reply.error is not None:
        raise SystemExit(1)
