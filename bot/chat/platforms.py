"""The chat platforms of one process, built from the environment: their HTTP routes, listeners, channels.

Which side runs what:
- Slack: Socket Mode (SLACK_APP_TOKEN) connects from `mailroom run`; HTTP mode (SLACK_SIGNING_SECRET) is
  the POST /slack/events route of `mailroom serve` (or of `mailroom run` without --no-http).
- Telegram: polling from `mailroom run`, or, with TELEGRAM_WEBHOOK_SECRET, the POST /telegram/webhook
  route. Telegram refuses getUpdates while a webhook is set, so webhook mode never polls.
- WeCom has no pull mode: its callback is always an HTTP route.
"""

import logging
import sqlite3
from concurrent.futures import Executor
from typing import Any

from bot.chat.adapters.base import ChatBot
from bot.chat.adapters.slack import SlackAdapter, SlackChannel, make_client
from bot.chat.adapters.telegram import TelegramAdapter, TelegramChannel
from bot.chat.adapters.wecom import RobotSender, WecomAdapter, WecomChannel
from bot.chat.settings import PlatformSettings
from bot.chat.web import Routes, WebRequest, WebResponse, WSGIApp, health
from bot.core.errors import MailroomError

log = logging.getLogger(__name__)


class Platforms:
    def __init__(self, bot: ChatBot, settings: PlatformSettings, *, listen: bool = True,
                 executor: Executor | None = None):
        """`listen`: also receive without HTTP (Slack Socket Mode, Telegram polling)."""
        self.bot = bot
        self.settings = settings
        self.listen = listen
        # without `listen` (mailroom serve) only what has an HTTP route is built
        slack_here = settings.slack_enabled and (listen or settings.slack_signing_secret is not None)
        telegram_here = settings.telegram_enabled and (listen or settings.telegram_webhook_mode)
        self.slack = SlackAdapter(bot, settings, executor=executor) if slack_here else None
        self.telegram = (
            TelegramAdapter(bot, settings, polling=listen and not settings.telegram_webhook_mode)
            if telegram_here else None
        )
        self.wecom = WecomAdapter(bot, settings, executor=executor) if settings.wecom_enabled else None
        self.robots = RobotSender(settings.wecom_api_url)
        self._socket: Any = None

    @property
    def names(self) -> list[str]:
        return [n for n, a in (("slack", self.slack), ("telegram", self.telegram), ("wecom", self.wecom)) if a]

    @property
    def needs_http(self) -> bool:
        """Whether any configured platform can only reach us over HTTP."""
        return bool(
            (self.slack and not self.settings.slack_socket_mode)
            or (self.telegram and self.settings.telegram_webhook_mode)
            or self.wecom
        )

    def archive_problem(self) -> str | None:
        """None when the archive answers a read on this thread's connection, else why not (for /healthz)."""
        try:
            self.bot.store.db.execute("SELECT max(id) FROM messages").fetchone()
        except (sqlite3.Error, MailroomError) as exc:
            return str(exc)
        return None

    def routes(self, extra_apps: dict[str, WSGIApp] | None = None) -> Routes:
        """The HTTP routes; `extra_apps` mounts more WSGI apps by prefix (e.g. {"/dashboard/": app})."""
        routes = Routes()
        routes.add("GET", "/healthz", health(self.names, self.archive_problem))
        if self.slack is not None and self.settings.slack_signing_secret is not None:
            routes.add_app("POST", "/slack/events", self.slack.wsgi_app())
        if self.telegram is not None and self.settings.telegram_webhook_mode:
            telegram = self.telegram

            def telegram_webhook(request: WebRequest) -> WebResponse:
                return WebResponse(*telegram.handle_webhook(request.headers, request.body))

            routes.add("POST", "/telegram/webhook", telegram_webhook)
        if self.wecom is not None:
            wecom = self.wecom

            def wecom_callback(request: WebRequest) -> WebResponse:
                return WebResponse(*wecom.handle_callback(request.method, request.params, request.body))

            routes.add("GET", "/wecom/callback", wecom_callback)
            routes.add("POST", "/wecom/callback", wecom_callback)
        for prefix, app in (extra_apps or {}).items():
            routes.mount(prefix, app)
        return routes

    def start(self) -> None:
        for line in self.settings.describe():
            if line.split(":", 1)[0] in self.names:
                log.info(line)
        if self.telegram is not None:
            self.telegram.start()
        if self.slack is not None and self.listen and self.settings.slack_socket_mode:
            self._socket = self.slack.socket_mode()
            self._socket.connect()

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self.telegram is not None:
            self.telegram.stop()
        if self.slack is not None:
            self.slack.stop()
        if self.wecom is not None:
            self.wecom.stop()
        self.bot.close()

    def channels(self, bot: ChatBot | None = None) -> list[Any]:
        """The outbox's channels, one per configured platform; `bot` is the outbox thread's own."""
        bot = bot or self.bot
        channels: list[Any] = []
        if self.slack is not None:
            channels.append(SlackChannel(make_client(self.settings), bot))
        if self.telegram is not None:
            channels.append(TelegramChannel(self.telegram, bot))
        if self.wecom is not None:
            channels.append(WecomChannel(self.wecom, self.robots, bot))
        return channels
