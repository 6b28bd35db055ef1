"""The read-only dashboard: a plain WSGI app, mounted by `mailroom serve` under /dashboard/.

Pages (GET only): overview (SLA now and the trend), team, person, customer (owner, history, the open
threads the reader may read), handovers, rules compliance. Server-rendered with Jinja2 (autoescape on:
every subject, name and address is escaped), charts as inline SVG drawn from the same figures as the
PNG report, tables sortable by a few lines of inline script, no framework and nothing from a CDN.

Access: `/signin?t=TOKEN[&next=/path]` spends a chat-issued link (bot/report/access.py) and sets an
HttpOnly session cookie; every page looks the person up again and reads with their rights (the
figures by `Permissions.readable_mailboxes`, a customer's mail through bot/mail/visibility.py, the
choke point of every other view). A page the reader may not
see answers 404, like a missing one. Security headers: a nonce-based CSP, no referrer (the link is in
the URL), no caching.
"""

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlite_utils import Database

from bot.core.clock import Clock
from bot.core.config import Config, Person
from bot.core.directory import Directory
from bot.core.permissions import Permissions, has_role
from bot.mail.visibility import Audience, Visibility
from bot.report.access import AccessError, end_session, session_person, sign_in
from bot.report.figures import STATE_RANK, compute
from bot.report.summary import STATE_COLOURS, hours

if TYPE_CHECKING:
    from bot.sla.engine import SlaEngine

log = logging.getLogger(__name__)

COOKIE = "mailroom_dashboard"
TEMPLATES = Path(__file__).parent / "templates"
DAY_CHOICES = (7, 30, 90)
CACHE_TTL = timedelta(seconds=60)
CACHE_SIZE = 64
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Page(Exception):
    """An answer other than a page: status and a message for the person."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Dashboard:
    """The WSGI application. One archive connection, so requests are served one at a time (a lock).
    `config` for the figures (`compute`), the teams listed and the organisation's time zone."""

    def __init__(self, db: Database, config: Config, directory: Directory, permissions: Permissions,
                 visibility: Visibility, sla: "SlaEngine", clock: Clock, *, secure_cookies: bool = False):
        self.db = db
        self.config = config
        self.directory = directory
        self.permissions = permissions
        self.visibility = visibility
        self.sla = sla
        self.clock = clock
        self.secure_cookies = secure_cookies
        self.lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], tuple[datetime, Any]] = {}
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["hours"] = hours
        self.env.filters["pct"] = lambda v: "—" if v is None else f"{v:.0%}"
        self.env.filters["local"] = self._local

    # ── WSGI ──────────────────────────────────────────────────────────────────────────────────
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        base = environ.get("SCRIPT_NAME", "").rstrip("/")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20).items()}
        nonce = secrets.token_urlsafe(16)
        headers = [("Content-Security-Policy", f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                    f"script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
                   ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                   ("Cache-Control", "no-store")]
        if method not in ("GET", "HEAD"):
            return self._send(start_response, 405, "read-only: GET only", headers, method)
        try:
            with self.lock:
                now = self.clock.now()
                if path == "/signin":
                    return self._sign_in(environ, start_response, query, base, headers, now)
                cookie = _cookie(environ)
                if path == "/logout":
                    end_session(self.db, cookie, now)
                    raise Page(200, "Signed out. Ask for a new link with /dashboard in chat.")
                person = self._person(session_person(self.db, cookie, now))
                body = self._page(path, query, person, now, base, nonce)
        except Page as page:
            return self._send(start_response, page.status, page.message, headers, method, base=base, nonce=nonce)
        except Exception:  # noqa: BLE001 - a bug shows a short page, never a traceback
            log.exception("dashboard: %s failed", path)
            return self._send(start_response, 500, "Something went wrong; it has been logged.", headers, method)
        headers.append(("Content-Type", "text/html; charset=utf-8"))
        data = body.encode("utf-8")
        headers.append(("Content-Length", str(len(data))))
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [data]

    def _send(self, start_response: StartResponse, status: int, message: str, headers: list[tuple[str, str]],
              method: str, *, base: str = "", nonce: str = "") -> list[bytes]:
        body = self.env.get_template("message.html").render(message=message, base=base, nonce=nonce,
                                                            status=status).encode("utf-8")
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [*headers, ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    def _sign_in(self, environ: dict[str, Any], start_response: StartResponse, query: dict[str, str], base: str,
                 headers: list[tuple[str, str]], now: datetime) -> list[bytes]:
        try:
            person_id, cookie = sign_in(self.db, query.get("t", ""), now)
        except AccessError as exc:
            raise Page(403, str(exc)) from None
        if self._person(person_id) is None:
            raise Page(403, "You are not in this Mailroom's config any more.")
        target = query.get("next", "/")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"
        secure = self.secure_cookies or environ.get("wsgi.url_scheme") == "https"
        attributes = f"Path={base or '/'}; HttpOnly; SameSite=Lax; Max-Age=28800" + ("; Secure" if secure else "")
        start_response("303 See Other", [*headers, ("Location", f"{base}{quote(target, safe='/?=&')}"),
                                         ("Set-Cookie", f"{COOKIE}={cookie}; {attributes}"), ("Content-Length", "0")])
        return []

    def _person(self, person_id: str | None) -> Person | None:
        if person_id is None:
            return None
        return self.directory.people.get(person_id)

    # ── pages ─────────────────────────────────────────────────────────────────────────────────
    def _page(self, path: str, query: dict[str, str], person: Person | None, now: datetime, base: str,
              nonce: str) -> str:
        if person is None:
            raise Page(401, "Please sign in: type /dashboard in the chat for a personal link.")
        days = int(query["days"]) if query.get("days", "").isdigit() and 1 <= int(query["days"]) <= 366 else 7
        parts = [p for p in path.split("/") if p]
        context: dict[str, Any] = {"me": person, "base": base, "nonce": nonce, "days": days, "day_choices": DAY_CHOICES,
                                   "path": path, "teams": self._teams_for(person), "now": now}
        if not parts:
            return self._render("overview.html", context, self._report(person, now, days))
        if parts[0] == "team" and len(parts) == 2 and parts[1] in self.directory.teams:
            team = self.directory.teams[parts[1]]
            return self._render("team.html", {**context, "team": team},
                                self._report(person, now, days, team=team.id, people=True))
        if parts[0] == "person" and len(parts) == 2 and self._may_see_person(person, parts[1]):
            other = self.directory.people[parts[1]]
            return self._render("person.html", {**context, "person": other},
                                self._report(person, now, days, person_id=other.id))
        if parts[0] == "customer" and len(parts) == 2 and parts[1].isdigit():
            return self._render("customer.html", {**context, **self._customer(person, int(parts[1]), now)})
        if parts == ["handovers"]:
            return self._render("handovers.html", {**context, "handovers": self._handovers(person)})
        if parts == ["rules"]:
            scope = None if has_role(person, "manager") else (person.teams[0] if person.teams else None)
            report = self._report(person, now, days, team=scope, people=True)
            return self._render("rules.html", {**context, "scope_team": scope}, report)
        raise Page(404, "No such page (or not one you may see).")

    def _render(self, template: str, context: dict[str, Any], report: Any = None) -> str:
        if report is not None:
            context = {**context, "report": report, "f": report.figures, "period": report.period,
                       "charts": _charts(report.figures)}
        return self.env.get_template(template).render(**context)

    def _report(self, person: Person, now: datetime, days: int, *, team: str | None = None,
                person_id: str | None = None, people: bool = False) -> Any:
        """The figures, kept for CACHE_TTL per (rights, scope, days) while the SLA engine has not run again:
        figures move only as mail arrives (one engine tick a minute), and a large team's take a second."""
        rights = tuple(self.permissions.readable_mailboxes(person))
        row = self.db.execute("SELECT value FROM meta WHERE key = 'sla.evaluated_at'").fetchone()
        key = (rights, team, person_id, days, people, row[0] if row else None)
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < CACHE_TTL:
            return cached[1]
        report = compute(self.db, self.config, now=now, rights=list(rights), team=team, person=person_id,
                         days=days, policies=self.sla.policies, people=people)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (now, report)
        return report

    def _teams_for(self, person: Person) -> list[Any]:
        return list(self.config.teams)

    def _may_see_person(self, reader: Person, person_id: str) -> bool:
        """Oneself; managers and admins anyone; a lead the people of their teams."""
        other = self.directory.people.get(person_id)
        if other is None:
            return False
        if other.id == reader.id or has_role(reader, "manager"):
            return True
        return reader.role == "lead" and bool(set(reader.teams) & set(other.teams))

    def _customer(self, reader: Person, customer_id: int, now: datetime) -> dict[str, Any]:
        """A customer the reader may read mail of: owner, ownership history, open threads in readable mailboxes."""
        from bot.customers.inference import effective_owner
        from bot.customers.ownership import history
        from bot.customers.threads import waiting_threads

        db = self.db
        reader_only = Audience.person(reader)
        readable, params = self.visibility.message_filter(reader_only)
        row = db.execute("SELECT id, name, country, domains FROM customers WHERE id = ?", [customer_id]).fetchone()
        seen = db.execute(f"SELECT 1 FROM messages m WHERE m.customer_id = ? AND {readable} LIMIT 1",
                          [customer_id, *params]).fetchone()
        if row is None or not (seen or reader.role == "admin"):
            raise Page(404, "No such customer (or not one whose mail you may read).")
        owner, source = effective_owner(db, self.directory, customer_id, now=now)
        threads = self.visibility.sieve(reader_only, waiting_threads(db, customer_id), lambda t: t.mailboxes).shown
        items = {}
        if threads:
            items = self.sla.thread_states([t.id for t in threads], now)
        people = self.directory.people
        return {"customer": {"id": row[0], "name": row[1], "country": row[2], "domains": json.loads(row[3] or "[]")},
                "owner": people[owner].name if owner in people else owner, "owner_source": source,
                "history": history(db, customer_id),
                "threads": [{"id": t.id, "subject": t.subject, "last_inbound": t.last_inbound,
                             "mailboxes": [m for m in t.mailboxes if self.visibility.may_read(reader_only, [m])],
                             "state": items.get(t.id, {}).get("state", "—")} for t in threads]}

    def _handovers(self, reader: Person) -> list[dict[str, Any]]:
        """Managers and admins see every handover; others those they gave, received or ran."""
        rows = self.db.execute(
            "SELECT id, from_person, to_person, customers, state, reason, actor, created_at, confirmed_at "
            "FROM handovers ORDER BY id DESC LIMIT 200").fetchall()
        people = self.directory.people
        out = []
        for hid, giver, receiver, customers, state, reason, actor, created, confirmed in rows:
            if not has_role(reader, "manager") and reader.id not in (giver, receiver, actor):
                continue
            names = [c.get("name", "") for c in json.loads(customers or "[]") if isinstance(c, dict)]
            out.append({"id": hid, "from": people[giver].name if giver in people else giver,
                        "to": people[receiver].name if receiver in people else receiver, "customers": names,
                        "state": state, "reason": reason or "", "at": confirmed or created})
        return out

    def _local(self, value: str | None) -> str:
        if not value:
            return "—"
        zone = ZoneInfo(self.config.organization.timezone)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        return moment.astimezone(zone).strftime("%m-%d %H:%M")


def _cookie(environ: dict[str, Any]) -> str | None:
    raw = environ.get("HTTP_COOKIE", "")
    if not raw or len(raw) > 4096:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def _charts(f: Any) -> dict[str, Any]:
    """Numbers for the inline SVG charts (drawn by templates/_charts.html)."""
    per_day = [(d.day[5:], d.breaches, d.escalations, d.inquiries) for d in f.per_day]
    top = max([b + e for _, b, e, _ in per_day] + [1])
    top_inquiries = max([i for *_, i in per_day] + [1])
    ages = [(b.label, b.count) for b in f.open_by_age]
    states = [(s, n, STATE_COLOURS[s]) for s, n in sorted(f.open_by_state.items(), key=lambda kv: STATE_RANK[kv[0]])]
    return {"per_day": per_day, "top": top, "top_inquiries": top_inquiries, "ages": ages,
            "top_age": max([n for _, n in ages] + [1]), "states": states, "state_colours": STATE_COLOURS}
