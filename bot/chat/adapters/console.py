"""The console: replies as plain text, and an interactive prompt (`mailroom chat`, `mailroom demo`)."""

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import click

from bot.chat.router import Router
from bot.core.config import Person
from bot.core.reply import Reply, inert


def render(reply: Reply, *, numbered: bool = False) -> str:
    """The reply's text, then its buttons; `numbered` (the chat prompt) lets one type 1, 2 … to press one."""
    lines = [reply.text]
    if reply.mentions:
        lines.append("cc " + " ".join(f"@{m.person_id}" for m in reply.mentions))
    if reply.buttons:
        lines.append("")
        lines.extend(f"  [{i if numbered else b.label}] {b.label + ' → ' if numbered else '→ '}{b.command}"
                     for i, b in enumerate(reply.buttons, 1))
    return inert("\n".join(lines))  # no terminal control sequence or bidi override from mail


_RAW_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def render_json(reply: Reply) -> str:
    """The `--json` shape. json escapes C0 controls itself; DEL, the C1 controls (CSI is \\x9b) and the bidi
    marks are escaped as \\uXXXX too — the same JSON value, but nothing a terminal would act on."""
    text = json.dumps(reply.as_json(), ensure_ascii=False, indent=2)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


HISTORY = Path.home() / ".mailroom_history"


def chat_loop(router: Router, person: Person, *, read: Callable[[str], str] | None = None) -> None:
    """Read a line, answer it, until EOF or /quit. With the terminal (no `read`), readline gives line
    editing and a history kept in ~/.mailroom_history. A number presses a button of the last reply."""
    history = read is None and _start_history()
    read = read or input
    click.echo(f"Mailroom console — you are {person.name} ({person.role}). /help lists commands, /quit leaves.")
    buttons: list[str] = []
    try:
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
            if line.isdigit() and 1 <= int(line) <= len(buttons):
                line = buttons[int(line) - 1]
                click.echo(f"mailroom> {line}")
            reply = router.handle(line, person)
            buttons = [b.command for b in reply.buttons]
            click.echo(render(reply, numbered=True))
    finally:
        if history:
            _save_history()


def _start_history() -> bool:
    try:
        import readline
    except ImportError:  # not on every platform
        return False
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    readline.set_history_length(1000)
    return True


def _save_history() -> None:
    import readline

    with contextlib.suppress(OSError):
        readline.write_history_file(HISTORY)
