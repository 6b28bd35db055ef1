"""Dashboard access without a browser: the WSGI app called directly — links, sessions, revocation, headers."""

from io import BytesIO
from typing import Any

from bot.report.access import issue_link, revoke
from bot.report.dashboard import COOKIE, Dashboard
from bot.services import Services


def call(app: Dashboard, path: str, *, method: str = "GET", query: str = "", cookie: str | None = None
         ) -> tuple[str, dict[str, str], str]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "/dashboard",
               "wsgi.input": BytesIO(b""), "wsgi.url_scheme": "http"}
    if cookie:
        environ["HTTP_COOKIE"] = f"{COOKIE}={cookie}"
    body = b"".join(app(environ, start_response)).decode()
    return seen["status"], seen["headers"], body


def sign_in(services: Services, person: str, next_page: str = "/") -> tuple[str, dict[str, str]]:
    app = services.dashboard
    token = issue_link(services.db, services.audit, person, services.clock.now()).token
    status, headers, _ = call(app, "/signin", query=f"t={token}&next={next_page}")
    return status, headers


def cookie_of(headers: dict[str, str]) -> str:
    return headers["Set-Cookie"].split(";")[0].split("=", 1)[1]


def test_sign_in_sets_a_hardened_cookie_and_pages_need_it(demo_services: Services) -> None:
    services = demo_services
    app = services.dashboard
    assert call(app, "/")[0].startswith("401")
    status, headers = sign_in(services, "boss", "/team/sales")
    assert status == "303 See Other" and headers["Location"] == "/dashboard/team/sales"
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]
    assert "Path=/dashboard" in headers["Set-Cookie"]
    status, headers, body = call(app, "/team/sales", cookie=cookie_of(sign_in(services, "boss")[1]))
    assert status == "200 OK" and "Sales 销售" in body
    assert "script-src 'nonce-" in headers["Content-Security-Policy"] and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_read_only_and_no_open_redirect(demo_services: Services) -> None:
    services = demo_services
    app = services.dashboard
    assert call(app, "/", method="POST")[0].startswith("405")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil"):
        assert sign_in(services, "boss", target)[1]["Location"] == "/dashboard/"


def test_revoke_ends_sessions_and_unused_links(demo_services: Services) -> None:
    services = demo_services
    app = services.dashboard
    cookie = cookie_of(sign_in(services, "amy")[1])
    unused = issue_link(services.db, services.audit, "amy", services.clock.now()).token
    assert call(app, "/", cookie=cookie)[0] == "200 OK"
    assert revoke(services.db, services.audit, "amy", "boss", services.clock.now()) == (1, 1)
    assert call(app, "/", cookie=cookie)[0].startswith("401")
    assert "revoked" in call(app, "/signin", query=f"t={unused}")[2]
    commands = [c for (c,) in services.db.execute("SELECT command FROM audit_log WHERE command LIKE 'dashboard.%'")]
    assert commands.count("dashboard.link") == 2 and commands.count("dashboard.revoke") == 1


def test_sessions_expire(demo_services: Services) -> None:
    services = demo_services
    app = services.dashboard
    cookie = cookie_of(sign_in(services, "amy")[1])
    services.clock.advance(hours=8, seconds=1)
    assert call(app, "/", cookie=cookie)[0].startswith("401")


def test_a_link_is_for_one_person_only(demo_services: Services) -> None:
    services = demo_services
    app = services.dashboard
    token = issue_link(services.db, services.audit, "amy", services.clock.now()).token
    with services.db.conn:  # someone edits the row to point the link at another person: the signature no longer fits
        services.db.execute("UPDATE dashboard_links SET person_id = 'boss'")
    assert "not valid" in call(app, "/signin", query=f"t={token}")[2]


def test_dashboard_command_gives_a_url(demo_services: Services) -> None:
    from bot.chat.router import Router

    router = Router(demo_services)
    reply = router.handle("/dashboard", demo_services.directory.people["amy"], platform="console")
    assert reply.error is None and reply.data["url"].startswith("http://127.0.0.1:8080/dashboard/signin?t=")
    token = reply.data["url"].split("t=", 1)[1]
    status, _, _ = call(demo_services.dashboard, "/signin", query=f"t={token}")
    assert status == "303 See Other"
    refused = router.handle("/dashboard revoke boss", demo_services.directory.people["amy"], platform="console")
    assert refused.error is not None and refused.error.code == "forbidden"
