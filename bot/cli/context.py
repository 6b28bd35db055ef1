"""What every `mailroom` command shares: the config, the clock, the archive, and who is asking."""

from functools import cached_property
from typing import Any

import click

from bot.core.clock import Clock, iso, parse_instant
from bot.core.config import Config, Person, find_config, load_config
from bot.core.errors import MailroomError


class AppContext:
    """Lazily loads the config and opens the archive, so `--help` and `init` need neither."""

    def __init__(self, config_path: str | None, now: str | None):
        self.config_path = config_path
        try:
            self.clock = Clock(parse_instant(now)) if now else Clock()
        except ValueError:
            raise click.BadParameter(f"{now!r} is not an ISO 8601 time", param_hint="--now") from None

    @cached_property
    def config(self) -> Config:
        return load_config(find_config(self.config_path))

    @cached_property
    def services(self) -> Any:
        from bot.customers.book import load_crm_if_changed
        from bot.services import Services

        services = Services(self.config, self.clock)
        load_crm_if_changed(services.db, self.config, services.directory, iso(self.clock.now()))
        return services

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
