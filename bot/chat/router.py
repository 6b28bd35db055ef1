"""Text in → command → rights → handler → Reply. The one place that catches handler errors."""

import logging
import re

from bot.chat.commands import REGISTRY, Command, Request, UsageError, split_args
from bot.core.config import Person
from bot.core.errors import CommandError, MailroomError
from bot.core.permissions import has_role
from bot.core.reply import Reply, failure
from bot.services import Services

log = logging.getLogger(__name__)
_MENTION = re.compile(r"^\s*(?:<@[A-Z0-9]+>|@[\w.-]+)[\s,:]*")
# "/owner acme", "/owner@MailroomBot acme" (Telegram in groups), "／owner acme" (a Chinese IME's slash)
_SLASH = re.compile(r"^[/／](?P<name>[^\s@]+)(?:@\S+)?(?:\s+(?P<rest>.*))?$", re.DOTALL)


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
        parsed = self.parse(text)
        if parsed is None:
            return self.unknown(text)
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
        text = _MENTION.sub("", text.strip(), count=1).strip()
        slash = _SLASH.match(text)
        if slash:
            cmd = self.lookup(slash.group("name").lower())
            return (cmd, slash.group("rest") or "") if cmd else None
        for cmd in REGISTRY.values():
            for pattern in cmd.patterns:
                match = pattern.match(text)
                if match:
                    groups = match.groupdict()
                    return cmd, (groups.get("args") or "").strip(" ?？。.!！")
        return None

    def lookup(self, name: str) -> Command | None:
        if name in REGISTRY:
            return REGISTRY[name]
        return next((c for c in REGISTRY.values() if name in c.aliases), None)

    def unknown(self, text: str) -> Reply:
        names = ", ".join(f"/{n}" for n in sorted(REGISTRY))
        word = text.strip().split(None, 1)[0] if text.strip() else ""
        message = f"I don't know {word!r}. Try /help. Commands: {names}" if word else f"Try /help. Commands: {names}"
        close = self.closest(word.lstrip("/／")) if word[:1] in ("/", "／") else None
        if close is not None:
            message = f"I don't know {word!r}. Did you mean /{close.name}? Usage: {close.usage}"
        return failure("unknown", "unknown_command", message, commands=sorted(REGISTRY),
                       suggestion=close.name if close else None, usage=close.usage if close else None)

    def closest(self, name: str) -> Command | None:
        """The registered command a mistyped name most likely meant (/onwer → /owner), if any is close."""
        from rapidfuzz import fuzz, process

        found = process.extractOne(name.lower(), list(REGISTRY), scorer=fuzz.ratio, score_cutoff=70)
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
