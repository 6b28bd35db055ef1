"""The customer pool (公海): customers whose owner has not written to them for `pool_after_days` return
to the pool, after a warning `warn_days` before; anyone in the owning teams may then claim one.

How a move is decided, per customer with an owner in the pool teams (explicit owner, else the
inferred one): the baseline is the owner's last mail to the customer (or, if later, the day they
became its explicit owner). At baseline + pool_after_days − warn_days the owner is warned once;
the move happens at baseline + pool_after_days, and never sooner than warn_days after the warning —
nobody loses a customer without having been told. Writing to the customer resets the baseline.

The pool is kept beside the ownership tables, not in them: `effective_owner` (bot.customers.inference)
treats a pool customer as ownerless; claiming one makes the claimer its explicit owner
through bot.customers.ownership (history kept). Every move, claim, request and decision is audited.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.core.clock import iso, parse_instant
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.permissions import has_role
from bot.core.reply import Button, Reply, context, fields, heading
from bot.customers.inference import effective_owner, in_pool
from bot.customers.ownership import owner_of, set_owner
from bot.outbox import Destination, enqueue
from bot.rules.settings import Rules
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

if TYPE_CHECKING:
    from bot.customers.matching import CustomerIndex

SYSTEM = "mailroom"


@dataclass
class PoolReport:
    warned: int = 0
    moved: int = 0


class PoolService:
    def __init__(self, db: Database, directory: Directory, rules: Rules, teams: list[str], *, audit: AuditLog,
                 customer_index: "Callable[[], CustomerIndex]", zone: str):
        """`teams`: the owning teams (bot.rules.settings.pool_teams); `zone`: the organization's time zone,
        for the date in a warning."""
        self.db = db
        self.directory = directory
        self.rules = rules
        self.teams = teams
        self.audit = audit
        self.customer_index = customer_index
        self.zone = zone

    @property
    def enabled(self) -> bool:
        return self.rules.pool.pool_after_days is not None

    def _in_teams(self, person_id: str | None) -> bool:
        person = self.directory.people.get(person_id or "")
        return person is not None and bool(set(person.teams) & set(self.teams))

    # -- the daily check -----------------------------------------------------------------------
    def owners(self, now: datetime) -> dict[int, tuple[str, str]]:
        """customer → (owner, source) for customers outside the pool whose owner is in the pool teams."""
        pooled = {r[0] for r in self.db.execute("SELECT customer_id FROM customer_pool")}
        found: dict[int, tuple[str, str]] = {}
        for customer_id, person_id, source in self.db.execute("SELECT customer_id, person_id, source FROM ownership"):
            if customer_id not in pooled and self._in_teams(person_id):
                found[customer_id] = (person_id, source)
        rows = self.db.execute(
            "SELECT DISTINCT customer_id FROM messages WHERE direction = 'outbound' AND person_id IS NOT NULL "
            "AND customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM ownership)"
        ).fetchall()
        for (customer_id,) in rows:
            if customer_id in pooled:
                continue
            person_id, source = effective_owner(self.db, self.directory, customer_id, now=now)
            if person_id and self._in_teams(person_id):
                found[customer_id] = (person_id, source)
        return found

    def baseline(self, customer_id: int, owner: str) -> datetime | None:
        row = self.db.execute(
            "SELECT max(date) FROM messages WHERE customer_id = ? AND person_id = ? AND direction = 'outbound' "
            "AND auto_submitted = 0", [customer_id, owner]
        ).fetchone()
        moments = [parse_instant(row[0])] if row and row[0] else []
        explicit = owner_of(self.db, customer_id)
        if explicit is not None and explicit.person_id == owner:
            moments.append(parse_instant(explicit.since))
        return max(moments) if moments else None

    def check(self, now: datetime) -> PoolReport:
        """Warn owners and move customers whose time has come; safe to run as often as you like."""
        report = PoolReport()
        if not self.enabled:
            return report
        after = timedelta(days=self.rules.pool.pool_after_days or 0)
        warn = timedelta(days=self.rules.pool.warn_days)
        for customer_id, (owner, source) in sorted(self.owners(now).items()):
            base = self.baseline(customer_id, owner)
            if base is None or now < base + after - warn:
                continue
            stamp = iso(base)
            warned = self.db.execute(
                "SELECT at FROM pool_events WHERE customer_id = ? AND kind = 'warned' AND person_id = ? AND baseline = ?",
                [customer_id, owner, stamp],
            ).fetchone()
            if warned is None:
                self._warn(customer_id, owner, base, base + after, now)
                report.warned += 1
                if warn > timedelta(0):
                    continue
                warned = (iso(now),)
            if now >= base + after and now >= parse_instant(warned[0]) + warn:
                self._move(customer_id, owner, source, base, now)
                report.moved += 1
        return report

    def _name(self, customer_id: int) -> str:
        row = self.db.execute("SELECT name FROM customers WHERE id = ?", [customer_id]).fetchone()
        return row[0] if row else f"customer {customer_id}"

    def _warn(self, customer_id: int, owner: str, base: datetime, due: datetime, now: datetime) -> None:
        name, zone = self._name(customer_id), self.zone
        from zoneinfo import ZoneInfo

        due_local = due.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")
        reply = Reply(
            command="rules.pool",
            blocks=[heading(f"{name} returns to the customer pool (公海) on {due_local}"),
                    context(f"Your last mail to them: {base.astimezone(ZoneInfo(zone)):%Y-%m-%d}. "
                            "Write to them to keep the customer.")],
            data={"pool": {"customer_id": customer_id, "customer": name, "owner": owner, "due": iso(due),
                           "last_contact": iso(base), "level": "warning"}},
        )
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO pool_events (customer_id, kind, person_id, by, at, baseline) VALUES (?, 'warned', ?, ?, ?, ?)",
                [customer_id, owner, SYSTEM, iso(now), iso(base)],
            )
            enqueue(self.db, key=f"rules:pool-warn:{customer_id}:{owner}:{iso(base)}", kind="rules", level="pool",
                    now=now, destination=Destination("person", owner, None), route="rules: pool warning", reply=reply)

    def _move(self, customer_id: int, owner: str, source: str, base: datetime, now: datetime) -> None:
        name = self._name(customer_id)
        reply = Reply(command="rules.pool", text=f"{name} is back in the customer pool (公海): no mail from you since "
                      f"{iso(base)[:10]}. /claim customer {name} takes it back.",
                      data={"pool": {"customer_id": customer_id, "customer": name, "owner": owner, "level": "moved"}})
        with write_transaction(self.db):
            audit_id = self.audit.record(
                SYSTEM, "pool move", {"customer_id": customer_id, "customer": name, "from": owner, "source": source,
                                      "last_contact": iso(base)}, f"{name}: {owner} → pool")
            self.db.execute(
                "INSERT OR REPLACE INTO customer_pool (customer_id, since, from_person, last_contact) VALUES (?, ?, ?, ?)",
                [customer_id, iso(now), owner, iso(base)],
            )
            self.db.execute(
                "INSERT INTO pool_events (customer_id, kind, person_id, by, at, baseline, audit_id) "
                "VALUES (?, 'moved', ?, ?, ?, ?, ?)", [customer_id, owner, SYSTEM, iso(now), iso(base), audit_id],
            )
            enqueue(self.db, key=f"rules:pool-moved:{customer_id}:{owner}:{iso(base)}", kind="rules", level="pool",
                    now=now, destination=Destination("person", owner, None), route="rules: pool move", reply=reply)

    # -- /pool and /claim customer -------------------------------------------------------------
    def listing(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT p.customer_id, c.name, c.country, p.since, p.from_person, p.last_contact FROM customer_pool p "
            "JOIN customers c ON c.id = p.customer_id ORDER BY p.since DESC, c.name"
        ).fetchall()
        return [{"customer_id": r[0], "customer": r[1], "country": r[2], "since": r[3], "from": r[4],
                 "last_contact": r[5]} for r in rows]

    def claim(self, person: Person, text: str, now: datetime) -> dict[str, Any]:
        resolution = self.customer_index().resolve(text)
        if resolution.status != "found":
            names = [m.customer.name for m in (resolution.matches or resolution.suggestions)]
            hint = f" Did you mean: {', '.join(names)}?" if names else ""
            raise CommandError(f"No single customer matches “{text}”.{hint}", code="not_found")
        customer = resolution.matches[0].customer
        if not in_pool(self.db, customer.id):
            owner, _ = effective_owner(self.db, self.directory, customer.id, now=now)
            who = self.directory.people[owner].name if owner in self.directory.people else (owner or "nobody")
            raise CommandError(f"{customer.name} is not in the pool (owner: {who}).", code="not_in_pool")
        if not (self._in_teams(person.id) or has_role(person, "lead")):
            raise CommandError("Only the owning teams may claim pool customers.", code="forbidden")
        if self.rules.pool.needs_approval and not has_role(person, "lead"):
            return self._request(person, customer.id, customer.name, now)
        return self._give(customer.id, customer.name, person.id, by=person.id, now=now, how="claimed")

    def _give(self, customer_id: int, name: str, person_id: str, *, by: str, now: datetime, how: str,
              request_id: int | None = None) -> dict[str, Any]:
        with write_transaction(self.db):
            if not in_pool(self.db, customer_id):
                raise CommandError(f"{name} was taken from the pool meanwhile.", code="conflict")
            audit_id = self.audit.record(
                by, "pool claim", {"customer_id": customer_id, "customer": name, "to": person_id, "request": request_id},
                f"{name}: pool → {person_id}")
            set_owner(self.db, customer_id, person_id, source="assignment", at=now, by=by,
                      reason="claimed from the customer pool", ref=f"audit:{audit_id}")
            self.db.execute("DELETE FROM customer_pool WHERE customer_id = ?", [customer_id])
            self.db.execute(
                "INSERT INTO pool_events (customer_id, kind, person_id, by, at, audit_id) VALUES (?, ?, ?, ?, ?, ?)",
                [customer_id, how, person_id, by, iso(now), audit_id],
            )
            if request_id is not None:
                self.db.execute("UPDATE pool_requests SET state = 'approved', decided_by = ?, decided_at = ? WHERE id = ?",
                                [by, iso(now), request_id])
        return {"customer_id": customer_id, "customer": name, "owner": person_id, "state": "claimed",
                "audit_id": audit_id}

    def _request(self, person: Person, customer_id: int, name: str, now: datetime) -> dict[str, Any]:
        approvers = self.approvers(person)
        with write_transaction(self.db):
            pending = self.db.execute(
                "SELECT id FROM pool_requests WHERE customer_id = ? AND person_id = ? AND state = 'pending'",
                [customer_id, person.id]).fetchone()
            if pending:
                return {"customer_id": customer_id, "customer": name, "state": "pending", "request": pending[0]}
            request_id = int(self.db.execute(
                "INSERT INTO pool_requests (customer_id, person_id, state, requested_at) VALUES (?, ?, 'pending', ?)",
                [customer_id, person.id, iso(now)]).lastrowid or 0)
            audit_id = self.audit.record(person.id, "pool request",
                                         {"customer_id": customer_id, "customer": name, "request": request_id},
                                         f"{name}: {person.id} asks to claim")
            self.db.execute(
                "INSERT INTO pool_events (customer_id, kind, person_id, by, at, audit_id) VALUES (?, 'requested', ?, ?, ?, ?)",
                [customer_id, person.id, person.id, iso(now), audit_id],
            )
            reply = Reply(
                command="rules.pool",
                blocks=[heading(f"{person.name} asks to claim {name} from the customer pool"),
                        fields(("Customer", name), ("Asked by", person.name))],
                buttons=[Button(label="Approve", command=f"/pool approve {request_id}", style="primary"),
                         Button(label="Refuse", command=f"/pool refuse {request_id}", style="danger")],
                data={"pool": {"request": request_id, "customer_id": customer_id, "customer": name,
                               "person": person.id}},
            )
            for approver in approvers:
                enqueue(self.db, key=f"rules:pool-request:{request_id}:{approver}", kind="rules", level="pool",
                        now=now, destination=Destination("person", approver, None), route="rules: pool approval",
                        reply=reply)
        return {"customer_id": customer_id, "customer": name, "state": "pending", "request": request_id,
                "approvers": approvers}

    def approvers(self, person: Person) -> list[str]:
        found = []
        for team_id in person.teams:
            team = self.directory.teams.get(team_id)
            found += [p.id for p in self.directory.members_of(team_id) if p.role == "lead" and p.id != person.id]
            if team and team.manager and team.manager != person.id:
                found.append(team.manager)
        return list(dict.fromkeys(found))

    def decide(self, person: Person, request_text: str, approve: bool, now: datetime) -> dict[str, Any]:
        if not has_role(person, "lead"):
            raise CommandError("Only a lead or manager may decide pool requests.", code="forbidden")
        key = request_text.lstrip("#")
        row = self.db.execute(
            "SELECT r.id, r.customer_id, r.person_id, r.state, c.name FROM pool_requests r JOIN customers c "
            "ON c.id = r.customer_id WHERE r.id = ?", [int(key) if key.isdigit() else -1]).fetchone()
        if row is None:
            raise CommandError(f"No pool request #{key}.", code="not_found")
        request_id, customer_id, requester, state, name = row
        if state != "pending":
            raise CommandError(f"Request #{request_id} was {state} already.", code="closed")
        if approve:
            result = self._give(customer_id, name, requester, by=person.id, now=now, how="approved",
                                request_id=request_id)
            return {**result, "request": request_id}
        with write_transaction(self.db):
            audit_id = self.audit.record(person.id, "pool refuse", {"request": request_id, "customer": name},
                                         f"{name}: request of {requester} refused")
            self.db.execute("UPDATE pool_requests SET state = 'refused', decided_by = ?, decided_at = ? WHERE id = ?",
                            [person.id, iso(now), request_id])
            self.db.execute(
                "INSERT INTO pool_events (customer_id, kind, person_id, by, at, audit_id) VALUES (?, 'refused', ?, ?, ?, ?)",
                [customer_id, requester, person.id, iso(now), audit_id])
        return {"customer_id": customer_id, "customer": name, "state": "refused", "request": request_id}


def events(db: Database, customer_id: int) -> list[dict[str, Any]]:
    rows = db.execute("SELECT kind, person_id, by, at, baseline FROM pool_events WHERE customer_id = ? ORDER BY id",
                      [customer_id]).fetchall()
    return [dict(zip(("kind", "person", "by", "at", "baseline"), r, strict=True)) for r in rows]
