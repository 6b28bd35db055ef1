"""`mailroom serve`: the HTTP side, a WSGI app on waitress (pure Python, threads).

Routes: POST /slack/events (Bolt's own WSGI adapter, behind a signature check on the raw bytes), POST
/telegram/webhook, GET and POST /wecom/callback, GET /healthz, and whatever WSGI apps are mounted under a
prefix (`extra_apps`, e.g. the read-only dashboard under /dashboard/). Each platform's route is only there
when the platform is configured.

Every limit lives in `Limits`, with defaults fit for a public port:
- the body: Content-Length required on POST (411 without), digits only (400), at most `max_body` (413,
  answered before a byte of the body is read); chunked bodies are de-chunked by waitress under the same cap;
- time: a request's headers and body must arrive within `request_timeout` of its first byte, and a
  keep-alive connection with nothing in flight is closed after `idle_timeout` (waitress's channel_timeout);
- connections: at most `max_connections` at once (poll(), not select(), so more than 1,024 sockets work);
  a stalled connection costs a socket, never a worker thread: waitress reads requests in its event loop
  and hands only complete ones to `threads` workers; one that has sent nothing yet stays in the kernel
  (TCP_DEFER_ACCEPT) and costs the event loop nothing.
Nothing is decoded or parsed before the platform's signature is verified; a bad body gets 400, never 500.
"""

import io
import json
import logging
import os
import resource
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from bot.core.errors import ConfigError

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
BODY_KEY = "mailroom.body"
"""Where the limits layer leaves the request body it read (bytes, at most `Limits.max_body`)."""


@dataclass(frozen=True)
class Limits:
    """Every HTTP limit of `mailroom serve`, in one place."""

    max_body: int = 1 << 20
    """Request body cap in bytes (Slack, Telegram and WeCom send a few KiB)."""
    max_header: int = 16 << 10
    """Request line + headers cap in bytes (waitress answers 431 above it)."""
    request_timeout: float = 10.0
    """Seconds from a request's first byte until its headers and body must all have arrived."""
    idle_timeout: int = 15
    """Seconds a connection may sit with no request in flight (keep-alive) before it is closed."""
    max_connections: int = 4000
    """Open connections at most; beyond it new ones wait in the listen backlog."""
    threads: int = 16
    """Worker threads running the WSGI app (each route answers at once; the work runs elsewhere)."""
    backlog: int = 1024

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Limits":
        """Defaults, each overridable by `MAILROOM_HTTP_<FIELD>` (e.g. MAILROOM_HTTP_MAX_BODY=2097152)."""
        environ = dict(os.environ) if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"MAILROOM_HTTP_{f.name.upper()}"
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            kind = float if isinstance(getattr(DEFAULT_LIMITS, f.name), float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError([f"environment: {name}: not a number: {raw!r}"]) from None
            if value <= 0:
                raise ConfigError([f"environment: {name}: must be above 0"])
            values[f.name] = value
        return cls(**values)


DEFAULT_LIMITS = Limits()


# ── small routes ────────────────────────────────────────────────────────────────────────────
@dataclass
class WebRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class WebResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[WebRequest], WebResponse]

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 411: "Length Required", 413: "Content Too Large",
           500: "Internal Server Error", 503: "Service Unavailable"}


def _headers_of(environ: dict[str, Any]) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").title(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = str(environ[key])
    return headers


def _respond(start_response: Callable[..., Any], response: WebResponse) -> list[bytes]:
    headers = {"Content-Type": "text/plain; charset=utf-8", **response.headers}
    headers["Content-Length"] = str(len(response.body))
    start_response(f"{response.status} {REASONS.get(response.status, 'Status')}", list(headers.items()))
    return [response.body]


def read_body(environ: dict[str, Any], limits: Limits) -> bytes | WebResponse:
    """The request body, or the error response: 411 without Content-Length, 400 when it is not a number
    or the body is shorter, 413 above the cap (before reading any of it)."""
    raw = environ.get("CONTENT_LENGTH")
    if raw is None or raw == "":
        return WebResponse(411, b"Content-Length required")
    if not str(raw).isdigit():
        return WebResponse(400, b"bad Content-Length")
    length = int(raw)
    if length > limits.max_body:
        return WebResponse(413, b"request too large")
    body = environ["wsgi.input"].read(length) if length else b""
    if len(body) != length:
        return WebResponse(400, b"body shorter than Content-Length")
    return body


def _route_app(route: Route) -> WSGIApp:
    """A small route as a WSGI app (its body already read and bounded, in environ[BODY_KEY])."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = WebRequest(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "") or "/",
                             environ.get("QUERY_STRING", ""), _headers_of(environ), environ[BODY_KEY])
        return _respond(start_response, route(request))

    return app


class Routes:
    """(method, path) → a small route, plus whole WSGI apps at a path (Slack) or under a prefix (dashboard)."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], WSGIApp] = {}
        self._apps: dict[str, tuple[str, WSGIApp]] = {}
        self._prefixes: dict[str, WSGIApp] = {}

    def add(self, method: str, path: str, route: Route) -> None:
        self._routes[(method, path)] = _route_app(route)

    def add_app(self, method: str, path: str, app: WSGIApp) -> None:
        """A WSGI app answering `method path` (its body already read and bounded, in environ[BODY_KEY])."""
        self._apps[path] = (method, app)

    def mount(self, prefix: str, app: WSGIApp) -> None:
        """A WSGI app for everything under `prefix` (e.g. "/dashboard/"); it sees SCRIPT_NAME = prefix."""
        self._prefixes["/" + prefix.strip("/") + "/"] = app

    def paths(self) -> list[str]:
        return sorted({f"{m} {p}" for m, p in self._routes} | {f"{m} {p}" for p, (m, _) in self._apps.items()}
                      | {f"* {p}" for p in self._prefixes})

    def prefix_of(self, path: str) -> tuple[str, WSGIApp] | None:
        """The mounted app `path` falls under (also the prefix itself without its slash), with its prefix."""
        for prefix, app in self._prefixes.items():
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return prefix, app
        return None

    def handler(self, method: str, path: str) -> WSGIApp | WebResponse:
        """The WSGI app answering `method path` (a small route's included), or the 404 / 405 answer."""
        mounted = self._apps.get(path)
        if mounted is not None and mounted[0] == method:
            return mounted[1]
        route = self._routes.get((method, path))
        if route is not None:
            return route
        if mounted is not None or any(p == path for _, p in self._routes):
            return WebResponse(405, b"method not allowed")
        return WebResponse(404, b"not found")


class WebApp:
    """The WSGI app: limits first, then the route, the mounted app or the prefix app."""

    def __init__(self, routes: Routes, limits: Limits = DEFAULT_LIMITS):
        self.routes = routes
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        _LAST_REQUEST[0] = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        under = self.routes.prefix_of(path)
        if under is not None:
            prefix, app = under
            if path == prefix.rstrip("/"):
                return _respond(start_response, WebResponse(308, b"", {"Location": prefix}))
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix.rstrip("/")
            environ["PATH_INFO"] = path[len(prefix) - 1:]
            return app(environ, start_response)
        handler = self.routes.handler(method, path)
        if isinstance(handler, WebResponse):
            return _respond(start_response, handler)
        body = b""
        if method in ("POST", "PUT", "PATCH"):
            read = read_body(environ, self.limits)
            if isinstance(read, WebResponse):
                return _respond(start_response, read)
            body = read
        environ[BODY_KEY] = body
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return handler(environ, start_response)
        except Exception:
            log.exception("%s %s failed", method, path)
            return _respond(start_response, WebResponse(500, b"internal error"))


# ── the server ──────────────────────────────────────────────────────────────────────────────
class _Channel(HTTPChannel):
    """waitress's connection, remembering when the request being read began (for `request_timeout`)."""

    request_started = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None:
            self.request_started = time.time()
        return bool(super().received(data))


class _Server(TcpWSGIServer):
    channel_class = _Channel
    request_timeout = DEFAULT_LIMITS.request_timeout

    def maintenance(self, now: float) -> None:
        """Close idle connections (waitress) and those whose request has been arriving for too long."""
        super().maintenance(now)
        cutoff = now - self.request_timeout
        for channel in list(self.active_channels.values()):
            request = getattr(channel, "request", None)
            if request is not None and not request.completed and channel.request_started < cutoff:
                log.info("closing a connection from %s: request not received within %g s",
                         channel.addr[0] if channel.addr else "?", self.request_timeout)
                channel.will_close = True


_DISPATCHERS: "weakref.WeakSet[ThreadedTaskDispatcher]" = weakref.WeakSet()


_LAST_REQUEST = [0.0]
QUIET = 0.02
"""Seconds without a new request after which a burst counts as acked."""


def http_busy() -> bool:
    """Whether this process's HTTP side is in a burst: requests waiting for a worker thread, or one began
    in the last QUIET seconds. Chat work about to start yields meanwhile (bounded), so acks go first."""
    if time.monotonic() - _LAST_REQUEST[0] < QUIET:
        return True
    return any(dispatcher.queue for dispatcher in list(_DISPATCHERS))


def yield_to_acks(max_wait: float = 0.5) -> None:
    """Background chat work calls this before it starts: while a burst of requests is being answered,
    wait (at most `max_wait` seconds), so every request is acked before commands take the CPU."""
    deadline = time.monotonic() + max_wait
    while http_busy() and time.monotonic() < deadline:
        time.sleep(0.005)


def raise_file_limit(wanted: int) -> None:
    """Let the process hold `wanted` sockets (the soft RLIMIT_NOFILE up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class WebServer:
    """waitress on (host, port) serving `routes`; port 0 picks a free one (see `.port`)."""

    def __init__(self, routes: Routes, host: str = "127.0.0.1", port: int = 0, *,
                 limits: Limits = DEFAULT_LIMITS):
        self.routes = routes
        self.limits = limits
        self.app = WebApp(routes, limits)
        raise_file_limit(limits.max_connections + 256)
        adj = Adjustments(
            host=host, port=port, threads=limits.threads, connection_limit=limits.max_connections,
            channel_timeout=limits.idle_timeout, cleanup_interval=1,
            max_request_body_size=limits.max_body + 1, max_request_header_size=limits.max_header,
            backlog=limits.backlog, asyncore_use_poll=True, ident="mailroom", expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self.dispatcher = ThreadedTaskDispatcher()
        self.dispatcher.set_thread_count(limits.threads)
        _DISPATCHERS.add(self.dispatcher)
        self._map: dict[int, Any] = {}
        self.server = _Server(self.app, self._map, dispatcher=self.dispatcher, adj=adj, sockinfo=adj.listen[0])
        self.server.request_timeout = limits.request_timeout
        if hasattr(socket, "TCP_DEFER_ACCEPT"):
            # a connection that has sent nothing stays in the kernel until its first byte (or the request
            # timeout): idle sockets cost the event loop nothing (nginx's `listen … deferred`)
            self.server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT,
                                          max(1, int(limits.request_timeout)))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.run, name="http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self.server.run()

    def stop(self) -> None:
        """Close every connection and the listening socket; the event loop ends with an empty map."""
        for channel in list(self._map.values()):
            try:
                channel.handle_close() if isinstance(channel, HTTPChannel) else channel.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing a channel failed", exc_info=True)
        self.dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=10)


def health(platforms: list[str], archive_check: Callable[[], str | None] | None = None) -> Route:
    """GET /healthz: 200 `{"ok": true, "platforms": [...], "archive": "readable"}`; 503 when the archive
    cannot be read (`archive_check` returns the reason)."""

    def route(request: WebRequest) -> WebResponse:
        problem = archive_check() if archive_check is not None else None
        payload = {"ok": problem is None, "platforms": platforms,
                   "archive": "readable" if problem is None else f"unreadable: {problem}"}
        return WebResponse(200 if problem is None else 503, json.dumps(payload).encode("utf-8"),
                           {"Content-Type": "application/json"})

    return route
