"""Text in → command → rights → handler → Reply. The one place that catches handler errors.

Slash commands are parsed here; sentences ("who owns acme?", "li 请假到 2026-12-20") go to the grammar in
`bot.chat.plain_language`, which answers with the command and its argument text. Whatever the text,
a reply quotes at most 80 characters of it back (`bot.core.reply.echo`).
"""

import logging
import re
from datetime import date
from zoneinfo import ZoneInfo

from bot.chat import plain_language
from bot.chat.commands import REGISTRY, Command, Request, UsageError, split_args
from bot.core.config import Person
from bot.core.errors import CommandError, MailroomError
from bot.core.permissions import has_role
from bot.core.reply import Reply, echo, failure
from bot.services import Services

log = logging.getLogger(__name__)
MAX_MESSAGE = 4000
"""Longer chat messages are refused (quoting 80 characters): no command needs more."""
_MENTION = re.compile(r"^\s*(?:<@[A-Z0-9]+>|@[\w.-]+)[\s,:]*")
# "/owner acme", "/owner@MailroomBot acme" (Telegram in groups); "／owner" and "、owner" (a Chinese IME's
# slash) become "/owner" in plain_language.normalize
_SLASH = re.compile(r"^/(?P<name>[^\s@]+)(?:@\S+)?(?:\s+(?P<rest>.*))?$", re.DOTALL)


class Router:
    def __init__(self, services: Services):
        import handlers  # noqa: F401 - registers every command

        self.services = services

    def identify(self, platform: str, user_id: str | int) -> Person | None:
        if platform == "console":
            return self.services.directory.find_person(str(user_id))
        return self.services.directory.person_by_chat(platform, user_id)

    def handle(self, text: str, person: Person | None, *, platform: str = "console") -> Reply:
        if person is None:
            return self.unknown_user()
        if len(text) > MAX_MESSAGE:
            return failure("unknown", "too_long", f"That message is too long ({len(text):,} characters): a command "
                           f"takes at most {MAX_MESSAGE:,}. It began “{echo(text)}”.", limit=MAX_MESSAGE)
        parsed = self.parse(text)
        if parsed is None:
            return self.unknown(text, person)
        cmd, arg_text = parsed
        if not has_role(person, cmd.min_role):
            return failure(cmd.name, "forbidden", f"/{cmd.name} needs the {cmd.min_role} role or higher.")
        request = Request(
            person=person, args=split_args(arg_text), text=arg_text.strip(), services=self.services,
            platform=platform, command=cmd.name,
        )
        try:
            return cmd.handler(request)
        except UsageError as exc:
            message = f"{exc}\nUsage: {cmd.usage}" if str(exc) else f"Usage: {cmd.usage}"
            return failure(cmd.name, "usage", message, usage=cmd.usage)
        except CommandError as exc:
            return failure(cmd.name, exc.code, str(exc))
        except MailroomError as exc:
            return failure(cmd.name, "failed", str(exc))
        except Exception:
            log.exception("command /%s failed", cmd.name)
            return failure(cmd.name, "internal", "Sorry, something went wrong; the error has been logged.")

    def parse(self, text: str) -> tuple[Command, str] | None:
        text = plain_language.normalize(text)
        text = _MENTION.sub("", text, count=1).strip()
        slash = _SLASH.match(text)
        if slash:
            cmd = self.lookup(slash.group("name").lower())
            return (cmd, slash.group("rest") or "") if cmd else None
        intent = plain_language.understand(text, today=self.today(), people=self.people_words())
        if intent is not None and intent.command in REGISTRY:
            return REGISTRY[intent.command], intent.args
        if len(text) > plain_language.MAX_TEXT:
            return None
        for cmd in REGISTRY.values():  # phrasings a command registers itself (`patterns=`)
            for pattern in cmd.patterns:
                match = pattern.match(text)
                if match:
                    groups = match.groupdict()
                    return cmd, (groups.get("args") or "").strip(" ?？。.!！")
        return None

    def today(self) -> date:
        zone = ZoneInfo(self.services.config.organization.timezone)
        return self.services.clock.now().astimezone(zone).date()

    def people_words(self) -> set[str]:
        """How people are named in sentences: ids, names, first names, e-mail local parts."""
        words: set[str] = set()
        for person in self.services.config.people:
            words.update({person.id.lower(), person.name.lower(), person.name.split()[0].lower(),
                          person.email.split("@")[0].lower()})
        return words

    def lookup(self, name: str) -> Command | None:
        if name in REGISTRY:
            return REGISTRY[name]
        return next((c for c in REGISTRY.values() if name in c.aliases), None)

    def unknown(self, text: str, person: Person | None = None) -> Reply:
        allowed = sorted(n for n, c in REGISTRY.items() if person is None or has_role(person, c.min_role))
        names = ", ".join(f"/{n}" for n in allowed)
        text = plain_language.normalize(text)
        word = text.split(None, 1)[0] if text else ""
        if word.startswith("/"):
            close = self.closest(word.lstrip("/"), allowed)
            if close is not None:
                message = f"I don't know {echo(word)!r}. Did you mean /{close.name}? Usage: {close.usage}"
            else:
                message = f"I don't know {echo(word)!r}. Try /help. Commands: {names}"
            return failure("unknown", "unknown_command", message, commands=allowed,
                           suggestion=close.name if close else None, usage=close.usage if close else None,
                           suggestions=[close.name] if close else [])
        if not text:
            return failure("unknown", "unknown_command", f"Try /help. Commands: {names}", commands=allowed,
                           suggestion=None, usage=None, suggestions=[])
        closest = plain_language.suggest(text, allowed) or [n for n in ("owner", "sla", "search") if n in allowed]
        lines = [f"  {REGISTRY[n].usage}" for n in closest]
        message = (f"I didn't understand “{echo(text)}”. The closest commands:\n" + "\n".join(lines)
                   + "\nTry /help for all of them.")
        return failure("unknown", "unknown_command", message, commands=allowed, suggestion=closest[0] if closest else None,
                       usage=REGISTRY[closest[0]].usage if closest else None, suggestions=closest)

    def closest(self, name: str, allowed: list[str] | None = None) -> Command | None:
        """The registered command a mistyped name most likely meant (/onwer → /owner), if any is close."""
        from rapidfuzz import fuzz, process

        choices = allowed if allowed is not None else list(REGISTRY)
        found = process.extractOne(name.lower()[:64], choices, scorer=fuzz.ratio, score_cutoff=70)
        return REGISTRY[found[0]] if found else None

    def unknown_user(self) -> Reply:
        admins = [p.name for p in self.services.directory.admins()]
        whom = " or ".join(admins) if admins else "your Mailroom administrator"
        return failure(
            "unknown",
            "unknown_user",
            f"Sorry, I don't know you yet. Please ask {whom} to add your chat id to Mailroom's people list.",
            admins=admins,
        )
