"""`mailroom serve` (the HTTP side) and `mailroom run` (everything the environment configures)."""

import logging
import signal
import threading
from types import FrameType
from typing import Any

import click

log = logging.getLogger(__name__)


def load_settings() -> Any:
    """Platform settings from the environment; a bad value or a platform with part of its credentials
    is a ConfigError naming the variable (exit 2)."""
    from bot.chat.settings import load_platform_settings

    return load_platform_settings()


def _env_warnings(app: Any, settings: Any, *, sync: bool) -> list[str]:
    from bot.chat.settings import environment_warnings

    return [f"warning: {line}" for line in environment_warnings(app.config, settings, sync=sync)]


def _quiet_libraries() -> None:
    """httpx logs every Bot API call (each long poll) at INFO: keep that for --verbose."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("httpx", "apscheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _until_signal(stop: threading.Event) -> None:
    """Block until SIGINT or SIGTERM (Ctrl-C, `kill`, a platform stopping the dyno)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def web_apps(app: Any) -> dict[str, Any]:
    """More WSGI apps for `mailroom serve` / `run`, by path prefix, served behind the same limits as the
    chat routes: the read-only dashboard under /dashboard/ (bot/report/dashboard.py), on a connection of
    its own."""
    from bot.services import Services

    return {"/dashboard/": Services(app.config, app.services.clock).dashboard}


@click.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, envvar="PORT", type=click.IntRange(0, 65535),
              help="Port (also $PORT; 0 picks a free one).")
@click.pass_obj
def serve(app: Any, host: str, port: int) -> None:
    """The HTTP side: POST /slack/events, POST /telegram/webhook, GET+POST /wecom/callback, GET /healthz.

    Each platform's route exists when its credentials are in the environment; every request is
    verified (Slack signing secret, Telegram secret token, WeCom msg_signature) before anything runs.
    """
    from bot.chat.adapters.base import ChatBot
    from bot.chat.platforms import Platforms
    from bot.chat.web import Limits, WebServer

    settings = load_settings()
    limits = Limits.from_env()
    for line in app.startup_warnings() + _env_warnings(app, settings, sync=False):
        click.echo(line, err=True)
    _quiet_libraries()
    app.creates_archive = True
    platforms = Platforms(ChatBot(app.services), settings, listen=False)
    if not platforms.names:
        log.warning("no chat platform in the environment: only /healthz is served (see config/env.example)")
    platforms.start()
    from bot.chat.runner import warm_up

    threading.Thread(target=warm_up, args=(app.services,), name="warm-up", daemon=True).start()
    routes = platforms.routes(web_apps(app))
    server = WebServer(routes, host, port, limits=limits)
    server.start()
    click.echo(f"mailroom serve: listening on http://{host}:{server.port} ({', '.join(routes.paths())})", err=True)
    stop = threading.Event()
    try:
        _until_signal(stop)
    finally:
        server.stop()
        platforms.stop()


@click.command("run")
@click.option("--no-http", is_flag=True, help="Do not listen for HTTP (a separate `mailroom serve` does).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface for the HTTP routes.")
@click.option("--port", default=8000, show_default=True, envvar="PORT", type=click.IntRange(0, 65535),
              help="Port for the HTTP routes (also $PORT).")
@click.option("--no-sync", is_flag=True, help="Do not watch the IMAP mailboxes.")
@click.option("--as", "who", metavar="PERSON", help="Console mode only: chat as this person (default: an admin).")
@click.pass_obj
def run(app: Any, no_http: bool, host: str, port: int, no_sync: bool, who: str | None) -> None:
    """Run the bot: every platform with credentials in the environment, IMAP sync, SLA alerts.

    Slack Socket Mode and Telegram polling need no public URL, so one `mailroom run` is enough for
    them; WeCom, Slack HTTP mode and Telegram webhooks are served on --port unless --no-http.
    With no platform credentials at all, it opens the console chat instead.
    """
    from bot.chat.runner import Runner

    settings = load_settings()
    for line in app.startup_warnings() + _env_warnings(app, settings, sync=not no_sync):
        click.echo(line, err=True)
    _quiet_libraries()
    app.creates_archive = True
    runner = Runner(app.services, settings, http=not no_http, host=host, port=port, sync=not no_sync,
                    extra_apps=web_apps(app))
    runner.start()
    try:
        if runner.platforms.names:
            click.echo(f"mailroom run: {', '.join(runner.platforms.names)}"
                       + (f"; HTTP on port {runner.server.port}" if runner.server else ""), err=True)
            _until_signal(runner.stop_event)
        else:
            from bot.chat.adapters.console import chat_loop

            click.echo("mailroom run: no chat platform in the environment; console chat (alerts go to the log)",
                       err=True)
            chat_loop(runner.bot.router, app.person(who))
    finally:
        runner.stop()
