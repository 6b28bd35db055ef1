"""`python -m bot` runs the `mailroom` command line."""

from bot.cli.main import main

main()
