"""`mailroom init` (a starter config) and `mailroom demo` (the demo factory, ready to chat)."""

from pathlib import Path

import click

from bot.cli.context import AppContext
from bot.core.clock import iso
from bot.core.errors import MailroomError


@click.command()
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


@click.command()
@click.option("--as", "who", default="boss", metavar="PERSON", help="Demo person to chat as (default: boss).")
@click.option("--dir", "folder", metavar="DIR", type=click.Path(file_okay=False),
              help="Keep the demo here instead of a temporary folder.")
@click.option("--ask", "question", metavar="TEXT", help="Ask one question instead of opening the prompt.")
@click.option("--force", is_flag=True, help="With --dir: overwrite a folder that holds something else.")
@click.pass_context
def demo(ctx: click.Context, who: str, folder: str | None, question: str | None, force: bool) -> None:
    """Build the demo factory's archive in a temporary folder and chat with it.

    With --dir the demo is kept; a folder holding anything but an earlier demo is refused.
    """
    import tempfile

    from bot.demo.files import build_demo, clear_demo_folder

    app: AppContext = ctx.obj
    if folder:
        clear_demo_folder(Path(folder), force=force)
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
    from bot.cli.output import ask_and_echo

    ask_and_echo(app, question, who)
