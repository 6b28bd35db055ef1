"""`python -m bot` runs the `mailroom` command line."""

from bot.cli import main

main()
