"""`mailroom serve`: the HTTP side, on the standard library's threading HTTP server.

Routes: POST /slack/events (commands, events, interactions), POST /telegram/webhook, GET and POST
/wecom/callback, GET /healthz. Each platform's route is only there when the platform is configured;
each route hands the raw request to its adapter, which verifies it before anything runs.
"""

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20


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


class Routes:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}

    def add(self, method: str, path: str, route: Route) -> None:
        self._routes[(method, path)] = route

    def paths(self) -> list[str]:
        return sorted({f"{m} {p}" for m, p in self._routes})

    def dispatch(self, request: WebRequest) -> WebResponse:
        route = self._routes.get((request.method, request.path))
        if route is None:
            known = any(p == request.path for _, p in self._routes)
            return WebResponse(405 if known else 404, b"method not allowed" if known else b"not found")
        try:
            return route(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return WebResponse(500, b"internal error")


def _handler_class(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mailroom"
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(WebResponse(413, b"request too large"))
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = WebRequest(method, parts.path, parts.query, {k: v for k, v in self.headers.items()}, body)
            self._send(routes.dispatch(request))

        def _send(self, response: WebResponse) -> None:
            self.send_response(response.status)
            headers = {"Content-Type": "text/plain; charset=utf-8", **response.headers}
            headers["Content-Length"] = str(len(response.body))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(response.body)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


class WebServer:
    """A threading HTTP server on (host, port); port 0 picks a free one (see `.port`)."""

    def __init__(self, routes: Routes, host: str = "127.0.0.1", port: int = 0):
        self.routes = routes
        self.httpd = ThreadingHTTPServer((host, port), _handler_class(routes))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def health(platforms: list[str]) -> Route:
    def route(request: WebRequest) -> WebResponse:
        body = json.dumps({"ok": True, "platforms": platforms}).encode("utf-8")
        return WebResponse(200, body, {"Content-Type": "application/json"})

    return route
