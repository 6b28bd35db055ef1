"""`mailroom search` and `mailroom reindex`: the archive's search from the command line.

`search` goes through the same router and /search handler as the chat, so both always agree.
"""

import sys
import time

import click

from bot.cli.context import AppContext, pass_app
from bot.cli.output import ask_and_echo
from bot.store.db import write_transaction

REINDEX_BATCH = 50_000


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--as", "who", metavar="PERSON", help="Search as this person (id, e-mail or name); default: an admin.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the reply as JSON: data.hits[] with message_id, subject, from, date, mailboxes, "
                   "customer, score (best first), plus id, snippet, category.")
@pass_app
def search(app: AppContext, query: tuple[str, ...], who: str | None, as_json: bool) -> None:
    """Search the archive (same query language as /search; `mailroom search more` pages on)."""
    ask_and_echo(app, "/search " + " ".join(query), who, as_json=as_json)


@click.command("reindex")
@click.option("--full", is_flag=True, help="Drop the index and build it again from every archived message.")
@pass_app
def reindex(app: AppContext, full: bool) -> None:
    """Bring the search index up to date (after an upgrade, or with --full after renaming customers).

    Commits every 50,000 messages, so an interrupted run resumes where it stopped."""
    services = app.services
    index = services.search.index
    started = time.perf_counter()
    if full:
        with write_transaction(services.db):
            index.clear()
    total = index.backlog()
    count = 0
    bar = click.progressbar(length=total, label="indexing", file=sys.stderr) if sys.stderr.isatty() and total > 1000 else None
    try:
        while True:
            with write_transaction(services.db):
                done = index.catch_up(progress=bar.update if bar else None, max_rows=REINDEX_BATCH)
            count += done
            if done < REINDEX_BATCH:
                break
    finally:
        if bar:
            bar.render_finish()
    if count:
        with write_transaction(services.db):
            index.optimize()
    click.echo(f"indexed {count} messages in {time.perf_counter() - started:.1f} s")
