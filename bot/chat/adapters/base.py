"""What every chat adapter shares: one router behind one lock, the delivery store, destinations.

Adapters stay thin: verify the platform's request, pull out (user id, text), call `ChatBot.answer`,
render the Reply. Identity (chat id → person) and refusing unknown users politely live in the router.
"""

import threading
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from bot.chat.delivery_store import ChatStore
from bot.chat.router import Router
from bot.core.config import Config
from bot.core.errors import MailroomError
from bot.core.reply import Image, Reply
from bot.services import Services
from bot.store.db import archive_file, connect


class InFlight:
    """Work an adapter took on after answering its HTTP request (Slack's dispatch, a Telegram update, a
    WeCom message), so that stopping can wait for it."""

    def __init__(self) -> None:
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def add(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._discard)

    def _discard(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait (bounded) until all work taken so far has finished; True when it all did."""
        with self._lock:
            pending = list(self._futures)
        return not wait(pending, timeout=timeout).not_done


class UndeliverableError(MailroomError):
    """A destination has no id on this platform, or the platform refused it for good: do not retry."""


class ChatBot:
    """The router, used by every adapter thread of one process.

    Commands run concurrently: each thread gets its own `Services` (its own SQLite connection; WAL lets
    readers and the one writer work side by side; writes wait for SQLite's lock in `write_transaction`).
    What is shared in memory has its own lock: the customer matcher (`Services.customer_index`, built
    once per process by the warm-up thread while other commands run). `services` is the creating
    thread's. With an injected `router`, or an archive not in a file, calls are serialised by `lock`.
    """

    def __init__(self, services: Services, *, router: Router | None = None):
        self.services = services
        self.lock = threading.RLock()
        self._path = archive_file(services.db)
        self._serial = router is not None or self._path is None
        self._router = router or Router(services)
        self._local = threading.local()
        self._local.services, self._local.router = services, self._router
        self._local.store = ChatStore(services.db, services.clock, self.lock)
        self._serial_store = self._local.store
        self._opened: list[Services] = []
        self._opened_lock = threading.Lock()

    def _mine(self) -> Any:
        local = self._local
        if getattr(local, "services", None) is None:
            assert self._path is not None
            services = Services(self.services.config, self.services.clock, db=connect(self._path, create=False),
                                shared=self.services)
            local.services, local.router = services, Router(services)
            local.store = ChatStore(services.db, services.clock)
            with self._opened_lock:
                self._opened.append(services)
        return local

    @property
    def router(self) -> Router:
        return self._router if self._serial else self._mine().router

    @property
    def store(self) -> ChatStore:
        """This thread's delivery store (its own connection), or the one shared store when serialised."""
        return self._serial_store if self._serial else self._mine().store

    def answer(self, platform: str, user_id: str | int, text: str) -> Reply:
        """Run `text` as the person behind `user_id` on `platform` (unknown users get a polite refusal)."""
        if self._serial:
            with self.lock:
                person = self._router.identify(platform, user_id)
                return self._router.handle(text, person, platform=platform)
        router = self.router
        person = router.identify(platform, user_id)
        return router.handle(text, person, platform=platform)

    def close(self) -> None:
        """Close the connections opened for other threads."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for services in opened:
            services.db.conn.close()


@dataclass(frozen=True)
class Target:
    """A destination resolved to one platform's id, e.g. a Slack channel or a WeCom user."""

    platform: str
    kind: str
    id: str
    robot_key_env: str | None = field(default=None, compare=False)


def resolve(config: Config, platform: str, kind: str, person_id: str | None, team_id: str | None) -> Target:
    """A person's chat id or a team's alert channel on `platform`, from `[[people]]` and `[[teams]]`."""
    if kind == "person":
        person = next((p for p in config.people if p.id == person_id), None)
        if person is None:
            raise UndeliverableError(f"no person {person_id!r} in the config")
        value = getattr(person, platform, None)
        if value is None:
            raise UndeliverableError(f"{person.name} has no {platform} id in the config")
        return Target(platform, "person", str(value))
    team = next((t for t in config.teams if t.id == team_id), None)
    if team is None:
        raise UndeliverableError(f"no team {team_id!r} in the config")
    value = getattr(team.channels, platform, None)
    robot = team.channels.wecom_robot_key_env if platform == "wecom" else None
    if value is None and robot is None:
        raise UndeliverableError(f"team {team.name} has no {platform} channel in the config")
    return Target(platform, "team", str(value) if value is not None else "", robot)


def unsent_target(bot: "ChatBot", platform: str, destination: Any, idempotency_key: str) -> Target | None:
    """Where an alert goes on `platform`, or None when it was sent already (the outbox re-delivering
    after a crash between sending and marking sent)."""
    if bot.store.was_sent(platform, idempotency_key):
        return None
    return resolve(bot.services.config, platform, destination.kind, destination.person_id, destination.team_id)


MAX_IMAGE_BYTES = 10 << 20
"""Telegram's photo limit (Slack and WeCom allow as much or more; a WeCom robot image: 2 MiB)."""


def image_bytes(image: Image, *, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of a reply's image (a PNG the report wrote beside the archive)."""
    try:
        with open(image.path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise UndeliverableError(f"image {image.filename} cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise UndeliverableError(f"image {image.filename} is larger than {limit >> 20} MiB")
    return data


def text_part_pending(bot: "ChatBot", platform: str, reply: Reply, idempotency_key: str) -> bool:
    """Whether a reply's text still has to go out. With images, the text and the images are sent (and
    remembered) apart, so a retry after a failed upload does not post the text again."""
    return not (reply.images and bot.store.was_sent(platform, f"{idempotency_key}:text"))


def text_part_sent(bot: "ChatBot", platform: str, reply: Reply, idempotency_key: str) -> None:
    if reply.images:
        bot.store.mark_sent(platform, f"{idempotency_key}:text")
