"""What every `mailroom` command shares: the config, the clock, the archive, and who is asking."""

from datetime import datetime
from functools import cached_property
from typing import Any

import click

from bot.core.clock import Clock, iso, parse_instant
from bot.core.config import Config, Person, find_config, load_config
from bot.core.errors import ConfigError, MailroomError

NOW_YEARS = range(1970, 2101)
"""--now is a moment to evaluate the archive at: mail and SLA dates need no more (and date arithmetic
beyond year 9999 fails)."""


def parse_now(text: str) -> datetime:
    """--now / $MAILROOM_NOW as an instant, or a ConfigError of one line (exit 2)."""
    try:
        moment = parse_instant(text)
    except (ValueError, OverflowError):
        raise ConfigError([f"--now {text[:40]!r}: not an ISO 8601 time such as 2026-03-02T09:00:00+08:00 "
                           "(also $MAILROOM_NOW)"]) from None
    if moment.year not in NOW_YEARS:
        raise ConfigError([f"--now {text[:40]!r}: year {moment.year} is out of range "
                           f"({NOW_YEARS.start}–{NOW_YEARS.stop - 1})"])
    return moment


class AppContext:
    """Lazily loads the config and opens the archive, so `--help` and `init` need neither."""

    def __init__(self, config_path: str | None, now: str | None):
        self.config_path = config_path
        self.clock = Clock(parse_now(now)) if now else Clock()

    creates_archive = False
    """Set by the commands that may create a missing archive (import, sync, run, serve); every other
    command refuses a missing one rather than answering from a new, empty archive."""

    @cached_property
    def config(self) -> Config:
        return load_config(find_config(self.config_path))

    @cached_property
    def services(self) -> Any:
        from bot.customers.book import load_crm_if_changed
        from bot.services import Services

        services = Services(self.config, self.clock, create=self.creates_archive)
        load_crm_if_changed(services.db, self.config, services.directory, iso(self.clock.now()))
        return services

    def startup_warnings(self, *, limit: int = 20) -> list[str]:
        """What `import`, `run` and `serve` print at start (they go on regardless): config warnings and
        the CRM export's problem lines, at most `limit` of them (`mailroom doctor` lists all)."""
        from bot.core.config import config_warnings
        from bot.customers.book import crm_problems

        lines = config_warnings(self.config) + crm_problems(self.config)
        if len(lines) > limit:
            lines = lines[:limit] + [f"… and {len(lines) - limit} more (mailroom doctor lists them all)"]
        return [f"warning: {line}" for line in lines]

    def person(self, who: str | None) -> Person:
        """--as PERSON (id, e-mail or name); without it the first admin — the local operator."""
        directory = self.services.directory
        if who:
            person = directory.find_person(who)
            if person is None:
                known = ", ".join(p.id for p in self.config.people)
                raise MailroomError(f"--as {who}: no such person (known: {known})")
            return person
        admins = directory.admins() or self.config.people
        if not admins:
            raise MailroomError("the config has no [[people]]: add at least one admin")
        return admins[0]


pass_app = click.make_pass_decorator(AppContext)
