"""Asking the bot as a person of the config, through the real router: what every chat test starts from."""

from bot.chat.router import Router
from bot.core.reply import Reply
from bot.services import Services


def ask(services: Services, text: str, who: str = "boss") -> Reply:
    """What `who` (a person's id, e-mail or name) gets back for `text`."""
    person = services.directory.find_person(who)
    assert person is not None, f"no person {who!r} in the config"
    return Router(services).handle(text, person)
