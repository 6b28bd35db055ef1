"""The console: replies as plain text, and an interactive prompt (`mailroom chat`, `mailroom demo`)."""

import json
from collections.abc import Callable

import click

from bot.config import Person
from bot.reply import Reply
from bot.router import Router


def render(reply: Reply) -> str:
    lines = [reply.text]
    if reply.buttons:
        lines.append("")
        lines.extend(f"  [{b.label}] → {b.command}" for b in reply.buttons)
    return "\n".join(lines)


def render_json(reply: Reply) -> str:
    return json.dumps(reply.as_json(), ensure_ascii=False, indent=2)


def chat_loop(router: Router, person: Person, *, read: Callable[[str], str] | None = None) -> None:
    """Read a line, answer it, until EOF or /quit. Line editing and history come from readline."""
    try:
        import readline  # noqa: F401 - enables history and editing for input()
    except ImportError:  # pragma: no cover - not on every platform
        pass
    read = read or input
    click.echo(f"Mailroom console — you are {person.name} ({person.role}). /help lists commands, /quit leaves.")
    while True:
        try:
            line = read("mailroom> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo("")
            return
        if not line:
            continue
        if line in ("/quit", "/exit", "quit", "exit"):
            return
        click.echo(render(router.handle(line, person)))
