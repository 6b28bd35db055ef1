"""The command registry: a decorator records name, usage, rights and phrasings, and returns the
function unchanged so tests call handlers directly (as slack-machine and bolt do)."""

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.config import Person
from bot.core.reply import Reply

if TYPE_CHECKING:
    from bot.services import Services

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass
class Request:
    """Who asks, what they typed after the command name, and where from."""

    person: Person
    args: list[str]
    text: str
    services: "Services"
    platform: str = "console"
    command: str = ""

    @property
    def now(self) -> datetime:
        return self.services.clock.now()


Handler = Callable[[Request], Reply]


@dataclass
class Command:
    name: str
    handler: Handler
    usage: str
    help: str
    min_role: str = "member"
    aliases: tuple[str, ...] = ()
    patterns: list[re.Pattern[str]] = field(default_factory=list)


REGISTRY: dict[str, Command] = {}


class UsageError(Exception):
    """Bad arguments: the router answers with the command's usage."""

    def __init__(self, message: str = ""):
        super().__init__(message)


def command(
    name: str,
    *,
    usage: str,
    min_role: str = "member",
    aliases: tuple[str, ...] = (),
    patterns: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a handler. Its docstring's first line is its /help text (required).

    `patterns` are regular expressions for plain-language requests; the named group `args`
    (or the whole match) becomes the argument text.
    """

    def register(handler: Handler) -> Handler:
        if not NAME.match(name):
            raise ValueError(f"invalid command name {name!r}")
        doc = (handler.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"command {name!r} needs a docstring: its first line is the help text")
        if name in REGISTRY and REGISTRY[name].handler is not handler:
            raise ValueError(f"command {name!r} registered twice")
        REGISTRY[name] = Command(
            name=name,
            handler=handler,
            usage=usage,
            help=doc[0],
            min_role=min_role,
            aliases=aliases,
            patterns=[re.compile(p, re.IGNORECASE) for p in patterns],
        )
        return handler

    return register


def split_args(text: str) -> list[str]:
    """Shell-like words ("quoted phrases" stay whole); unbalanced quotes fall back to spaces."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
