"""docs/cli.md, generated from the commands' own help text, so the reference and `--help` never drift.

`python -m bot.cli.reference > docs/cli.md` rewrites it; tests/unit/test_docs.py fails when it is stale.
"""

import click

INTRO = """# CLI reference

Generated from `mailroom --help` by `python -m bot.cli.reference > docs/cli.md` (a test fails when it is
stale). `--now` (or `MAILROOM_NOW`) fixes the clock for every command; `--as` takes a person's id, e-mail
or name, and without it the CLI acts as the first admin (the local operator). Exit status: 0 ok, 1 a
command failed or was refused, 2 a bad config, environment or missing archive.
"""


def _sections(command: click.Command, path: list[str]) -> list[str]:
    with click.Context(command, info_name=" ".join(path), terminal_width=110, max_content_width=110,
                       help_option_names=["-h", "--help"]) as ctx:
        help_text = command.get_help(ctx)
    level = "#" * min(len(path) + 1, 4)
    out = [f"{level} `{' '.join(path)}`\n\n```\n{help_text}\n```\n"]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            out.extend(_sections(command.commands[name], [*path, name]))
    return out


def cli_reference() -> str:
    from bot.cli.main import cli

    return INTRO + "\n" + "\n".join(_sections(cli, ["mailroom"]))


if __name__ == "__main__":
    print(cli_reference(), end="")
