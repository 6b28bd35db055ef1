"""A local OAuth2 provider for the XOAUTH2 tests, and a Dovecot that trusts it.

`FakeOAuth` is an HTTP server on 127.0.0.1 with two endpoints:
  POST /token       refresh_token grant: a known (client_id, refresh_token) gets a fresh access token;
                    anything else gets 400 {"error": "invalid_grant"} as real providers answer
  POST /introspect  RFC 7662, asked by Dovecot's oauth2 passdb: {"active": true, "username": …} for a
                    token it issued and has not revoked
`oauth_dovecot(root, fake)` starts tests.fakes.dovecot's server with XOAUTH2/OAUTHBEARER enabled through
that introspection endpoint (password login keeps working for the tests' own clients).
"""

import itertools
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import tests.fakes.dovecot as dovecot
from tests.fakes.dovecot import DovecotServer


class FakeOAuth:
    def __init__(self) -> None:
        self.grants: dict[tuple[str, str], str] = {}
        """(client_id, refresh_token) → the IMAP user its access tokens log in as."""
        self.tokens: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self._serial = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                status, answer = fake.answer(self.path, form)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def grant(self, client_id: str, refresh_token: str, user: str) -> None:
        self.grants[(client_id, refresh_token)] = user

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if path == "/token":
            self.token_requests.append(form)
            user = self.grants.get((form.get("client_id", ""), form.get("refresh_token", "")))
            if form.get("grant_type") != "refresh_token" or user is None:
                return 400, {"error": "invalid_grant", "error_description": "refresh token expired or revoked"}
            token = f"at-{next(self._serial)}"
            self.tokens[token] = user
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599}
        if path == "/introspect":
            token = form.get("token", "")
            if token in self.tokens and token not in self.revoked:
                return 200, {"active": True, "username": self.tokens[token]}
            return 200, {"active": False}
        return 404, {"error": "not_found"}

    def start(self) -> "FakeOAuth":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeOAuth":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def oauth_dovecot(root: Path, fake: FakeOAuth) -> DovecotServer:
    """A started Dovecot (tests.fakes.dovecot) that also accepts XOAUTH2/OAUTHBEARER checked by `fake`."""
    (root / "oauth2.conf.ext").write_text(
        f"introspection_mode = post\nintrospection_url = {fake.url}/introspect\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
    original = dovecot.CONFIG
    config = original.replace("auth_mechanisms = plain login", "auth_mechanisms = plain login xoauth2 oauthbearer")
    config = config.replace(
        "passdb {{\n  driver = passwd-file",
        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {dir}/oauth2.conf.ext\n}}\n"
        "passdb {{\n  driver = passwd-file",
    )
    assert config.count("driver = oauth2") == 1, "tests.fakes.dovecot.CONFIG changed: update oauth_dovecot"
    dovecot.CONFIG = config
    try:
        return DovecotServer(root).start()
    finally:
        dovecot.CONFIG = original
