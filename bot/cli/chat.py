"""`mailroom ask` (one chat command) and `mailroom chat` (a prompt in the terminal)."""

import click

from bot.cli.context import AppContext, pass_app
from bot.cli.output import ask_and_echo


@click.command()
@click.argument("text")
@click.option("--as", "who", metavar="PERSON", help="Ask as this person (id, e-mail or name); default: an admin.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole reply as JSON.")
@pass_app
def ask(app: AppContext, text: str, who: str | None, as_json: bool) -> None:
    """Send one chat command, print the reply. Exit 0 when it succeeded, 1 when refused or failed."""
    ask_and_echo(app, text, who, as_json=as_json)


@click.command()
@click.option("--as", "who", metavar="PERSON", help="Chat as this person; default: an admin.")
@pass_app
def chat(app: AppContext, who: str | None) -> None:
    """An interactive chat prompt in the terminal, with history."""
    from bot.chat.adapters.console import chat_loop
    from bot.chat.router import Router

    chat_loop(Router(app.services), app.person(who))
