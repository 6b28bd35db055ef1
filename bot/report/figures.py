"""What managers look at: figures per team or person over a period, straight from the archive.

Pure functions: (archive, config, now, rights) → a `Figures` model. Nothing is written; the caller
evaluates the SLA engine first (`services.sla.evaluate(now)`) so its items are current.

- **Rights**: `rights` is the set of mailboxes the reader may read. Every figure about mail (clocks,
  volumes, customers) counts only mail of those mailboxes; the rules and handover figures are counts
  about people, no mail text, as in the daily rules digest.
- **Where the numbers come from** (the SLA engine's own rules, never a second interpretation):
  first responses from `bot.sla.waiting.first_responses_by` (the archive, so history from before the
  engine's first run counts), measured on the policy's calendar (business hours where it has them);
  initial solutions from `sla_first` and the solution verdicts, or `/sla resolve`; breaches, escalations,
  open items and the customers waiting longest from the engine's items (`sla_items`: each level's
  instant as the engine computed it on the policy's calendar).
- **Percentiles**: nearest rank — p50 of n values is the ⌈n/2⌉-th smallest, p90 the ⌈0.9·n⌉-th.
"""

import json
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlite_utils import Database

from bot.core.config import Config
from bot.rules.digest import CHECKS as RULE_CHECKS
from bot.rules.digest import RuleFigures
from bot.sla.policies import Policies
from bot.sla.text_rules import DEFAULT_SOLUTION_KEYWORDS, register_functions
from bot.sla.waiting import first_responses_by

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 4 h", 0, 4), ("4–24 h", 4, 24), ("1–2 d", 24, 48), ("2–7 d", 48, 168), ("> 7 d", 168, None),
)
"""Open items by how long the customer has waited (wall-clock hours; lower bound inclusive)."""
WAITING_LONGEST = 10


# ── the model ──────────────────────────────────────────────────────────────────────────────────
class Period(BaseModel):
    since: str  # UTC ISO, inclusive
    until: str  # UTC ISO, exclusive (now)
    days: int
    timezone: str  # days are counted in this zone
    team: str | None = None
    person: str | None = None
    mailboxes: list[str] = []  # the mailboxes counted: the scope's, among those the reader may read


class Times(BaseModel):
    """Response times in minutes, on the policy's calendar (business minutes where it has hours)."""

    count: int = 0
    p50_minutes: float | None = None
    p90_minutes: float | None = None
    within_sla: int = 0
    share_within_sla: float | None = None


class DayCount(BaseModel):
    day: str  # local date, YYYY-MM-DD
    breaches: int = 0
    escalations: int = 0
    inquiries: int = 0


class AgeBucket(BaseModel):
    label: str
    min_hours: int
    max_hours: int | None
    count: int = 0


class WaitingCustomer(BaseModel):
    customer_id: int | None
    customer: str
    country: str
    mailbox: str
    waiting_since: str  # UTC ISO: the oldest open item's start
    waiting_hours: float
    items: int
    state: str  # the worst state of its open items
    owner: str | None = None


class Volume(BaseModel):
    """New inquiries: threads whose first customer message in a mailbox arrived in the period (counted
    by the thread's customer's country)."""

    total: int = 0
    by_mailbox: dict[str, int] = {}
    by_country: dict[str, int] = {}  # "" → "unknown"


class HandoverRow(BaseModel):
    id: int
    from_person: str
    to_person: str
    customers: int
    state: str
    confirmed_at: str | None


class Handovers(BaseModel):
    done: int = 0
    undone: int = 0
    customers_moved: int = 0
    recent: list[HandoverRow] = []


class PersonRow(BaseModel):
    person: str
    name: str
    answered: int = 0
    first_response_p50_minutes: float | None = None
    open_items: int = 0
    breached_items: int = 0
    rules: RuleFigures = Field(default_factory=RuleFigures)


class Figures(BaseModel):
    first_response: Times = Field(default_factory=Times)
    initial_solution: Times = Field(default_factory=Times)
    open_by_state: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(("ok", "warning", "breached",
                                                                                   "escalated"), 0))
    per_day: list[DayCount] = []
    breaches: int = 0
    escalations: int = 0
    open_by_age: list[AgeBucket] = []
    waiting_longest: list[WaitingCustomer] = []
    volume: Volume = Field(default_factory=Volume)
    rules: RuleFigures = Field(default_factory=RuleFigures)
    handovers: Handovers = Field(default_factory=Handovers)
    people: list[PersonRow] = []


class Report(BaseModel):
    period: Period
    figures: Figures


# ── helpers ───────────────────────────────────────────────────────────────────────────────────
def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the ⌈q·n⌉-th smallest value (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _times(pairs: list[tuple[float, bool]]) -> Times:
    minutes = [m for m, _ in pairs]
    within = sum(1 for _, ok in pairs if ok)
    p50, p90 = percentile(minutes, 0.5), percentile(minutes, 0.9)
    return Times(count=len(pairs), p50_minutes=None if p50 is None else round(p50, 1),
                 p90_minutes=None if p90 is None else round(p90, 1), within_sla=within,
                 share_within_sla=round(within / len(pairs), 4) if pairs else None)


def _iso(epoch: int | float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _marks(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)


STATE_RANK = {"ok": 0, "warning": 1, "breached": 2, "escalated": 3}


def _state(now_s: int, warn: int, due: int, escalate: int) -> str:
    return "escalated" if now_s >= escalate else "breached" if now_s >= due else "warning" if now_s >= warn else "ok"


class Scope:
    """Who and what one report is about: the mailboxes counted, the people, the period."""

    def __init__(self, config: Config, now: datetime, rights: Iterable[str], *, team: str | None = None,
                 person: str | None = None, days: int = 7):
        if days < 1:
            raise ValueError("days must be at least 1")
        people = {p.id: p for p in config.people}
        if team is not None and team not in {t.id for t in config.teams}:
            raise ValueError(f"no team {team!r}")
        if person is not None and person not in people:
            raise ValueError(f"no person {person!r}")
        readable = set(rights)
        worked = [m.address for m in config.mailboxes if team is None or m.team == team]
        self.config = config
        self.now = now.astimezone(UTC)
        self.since = self.now - timedelta(days=days)
        self.days = days
        self.team = team
        self.person = person
        self.zone = ZoneInfo(config.organization.timezone)
        self.mailboxes = [m for m in worked if m in readable]
        if person is not None:
            self.people = [person]
        elif team is not None:
            members = [p.id for p in config.people if team in p.teams]
            manager = next((t.manager for t in config.teams if t.id == team), None)
            self.people = members + ([manager] if manager and manager not in members else [])
        else:
            self.people = list(people)
        self.names = {p.id: p.name for p in config.people}

    @property
    def period(self) -> Period:
        return Period(since=_iso(self.since.timestamp()), until=_iso(self.now.timestamp()), days=self.days,
                      timezone=str(self.zone), team=self.team, person=self.person, mailboxes=self.mailboxes)

    def day_list(self) -> list[str]:
        return list(self._days)

    def count_by_day(self, epochs: Iterable[int]) -> Counter[str]:
        """How many of the instants fall on each of the period's local days (sorted once, then a binary
        search per day boundary: no Python call per instant)."""
        ordered = sorted(epochs)
        cuts = [bisect_left(ordered, start) for start in self._starts]
        return Counter({day: cuts[n + 1] - cuts[n] for n, day in enumerate(self._days) if cuts[n + 1] > cuts[n]})

    @cached_property
    def _days(self) -> list[str]:
        first = self.since.astimezone(self.zone).date()
        last = (self.now - timedelta(seconds=1)).astimezone(self.zone).date()
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    @cached_property
    def _starts(self) -> list[int]:
        """Each day's local midnight as epoch seconds, and the midnight after the last (a day may be 23 or 25 h)."""
        first = self.since.astimezone(self.zone).date()
        return [int(datetime.combine(first + timedelta(days=n), time(0), tzinfo=self.zone).timestamp())
                for n in range(len(self._days) + 1)]


# ── the figures ───────────────────────────────────────────────────────────────────────────────
def compute(db: Database, config: Config, *, now: datetime, rights: Iterable[str], team: str | None = None,
            person: str | None = None, days: int = 7, policies: Policies | None = None,
            owners: dict[int, str | None] | None = None, people: bool = True) -> Report:
    """Every figure of one report. `owners` (customer id → person id) gives the customers' effective
    owners when the caller has them; else they are looked up (`bot.customers.inference`) for the
    customers of open items in scope — with `people=False` (no per-person table; `people` is then
    empty), only for the customers waiting longest.

    A person's report: first responses they wrote; clocks, breaches, open items and inquiries of the
    customers they own. A team's: its mailboxes' mail, its members' (and manager's) rules and handovers."""
    scope = Scope(config, now, rights, team=team, person=person, days=days)
    policies = policies or Policies(config)
    register_functions(db.conn)
    figures = Figures()
    open_rows = _open_items(db, scope)
    if owners is None and (people or person is not None):
        owners = _owners(db, config, {row["customer_id"] for row in open_rows if row["customer_id"] is not None}, now)
    elif owners is None:  # the customers waiting longest are the only ones whose owner is shown
        longest = _waiting_longest(open_rows, int(scope.now.timestamp()), {})
        owners = _owners(db, config, {w.customer_id for w in longest if w.customer_id is not None}, now)
    if person is not None:
        open_rows = [row for row in open_rows if owners.get(row["customer_id"]) == person]
    answered = _first_responses(db, scope, policies)
    figures.first_response = _times([(minutes, ok) for who, minutes, ok in answered
                                     if person is None or who == person])
    figures.initial_solution = _times(_initial_solutions(db, scope, policies, owners))
    now_s = int(scope.now.timestamp())
    for row in open_rows:
        figures.open_by_state[row["state"]] += 1
    figures.open_by_age = _by_age(open_rows, now_s)
    figures.waiting_longest = _waiting_longest(open_rows, now_s, owners)
    reached = _levels_reached(db, scope, owners)
    counts = {kind: scope.count_by_day(at for level, at in reached if level == kind)
              for kind in ("breaches", "escalations")}
    counts["inquiries"] = Counter()
    figures.volume = _volume(db, scope, counts["inquiries"], owners)
    figures.per_day = [DayCount(day=day, breaches=counts["breaches"][day], escalations=counts["escalations"][day],
                                inquiries=counts["inquiries"][day]) for day in scope.day_list()]
    figures.breaches = sum(d.breaches for d in figures.per_day)
    figures.escalations = sum(d.escalations for d in figures.per_day)
    collisions = _collisions_in_period(db, scope)
    by_person = _rules(db, scope, collisions)
    for checks in by_person.values():
        for key, value in checks.model_dump().items():
            setattr(figures.rules, key, getattr(figures.rules, key) + value)
    figures.rules.collisions = _collisions(collisions, scope)
    figures.handovers = _handovers(db, scope)
    figures.people = _people(scope, answered, open_rows, owners, by_person) if people else []
    return Report(period=scope.period, figures=figures)


def _open_items(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """The engine's open items in the scope's mailboxes, with their state at `now`."""
    if not scope.mailboxes:
        return []
    now_s = int(scope.now.timestamp())
    rows = db.execute(
        f"""SELECT i.id, i.mailbox, i.kind, i.started, i.warn_at, i.due_at, i.escalate_at, m.customer_id,
                   COALESCE(c.name, NULLIF(m.from_name, ''), m.from_addr), COALESCE(c.country, '')
            FROM sla_items i JOIN messages m ON m.id = i.message LEFT JOIN customers c ON c.id = m.customer_id
            WHERE i.closed_at IS NULL AND i.mailbox IN ({_marks(scope.mailboxes)}) AND i.started <= ?""",
        [*scope.mailboxes, now_s],
    ).fetchall()
    keys = ("id", "mailbox", "kind", "started", "warn_at", "due_at", "escalate_at", "customer_id", "customer",
            "country")
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["state"] = _state(now_s, item["warn_at"], item["due_at"], item["escalate_at"])
        out.append(item)
    return out


def _owners(db: Database, config: Config, customers: set[int], now: datetime) -> dict[int, str | None]:
    """Each customer's effective owner (explicit, else inferred from mail; none while in the pool)."""
    if not customers:
        return {}
    from bot.core.directory import Directory
    from bot.customers.inference import effective_owners

    return effective_owners(db, Directory(config), customers, now=now)


def _first_responses(db: Database, scope: Scope, policies: Policies) -> list[tuple[str | None, float, bool]]:
    """(who answered, minutes on the policy's calendar, within the SLA) per first response in the period."""
    rows = first_responses_by(db, [m for m in scope.mailboxes if policies.clock_for(m, "first_response")],
                              scope.since, scope.now)
    out = []
    for mailbox, started, replied, who in rows:
        clock = policies.clock_for(mailbox, "first_response")
        assert clock is not None
        minutes = clock.calendar.elapsed(started, replied) / 60
        out.append((who, minutes, replied <= clock.calendar.add(started, clock.seconds)))
    return out


def _initial_solutions(db: Database, scope: Scope, policies: Policies,
                       owners: dict[int, str | None]) -> list[tuple[float, bool]]:
    """Initial solutions given in the period: from the thread's first customer message in the mailbox
    (`sla_first`) to the first human reply proposing a solution, or to `/sla resolve` if earlier."""
    out = []
    for mailbox in scope.mailboxes:
        clock = policies.clock_for(mailbox, "initial_solution")
        if clock is None:
            continue
        keywords = json.dumps(list(clock.keywords or DEFAULT_SOLUTION_KEYWORDS))
        since, until = int(scope.since.timestamp()), int(scope.now.timestamp())
        resolved = dict(db.execute(
            "SELECT thread_id, min(closed_at) FROM sla_items WHERE kind = 'initial_solution' AND mailbox = ? "
            "AND close_reason = 'resolved' GROUP BY thread_id", [mailbox]).fetchall())
        # threads with a human reply in the period (a solution given in it is one of them), and those resolved
        rows = db.execute(
            """SELECT f.thread_id, f.at, m.customer_id, (
                   SELECT min(r.at) FROM sla_mail r
                   WHERE r.thread_id = f.thread_id AND r.mailbox = '' AND r.at >= f.at
                     AND COALESCE((SELECT v.solution FROM sla_solutions v WHERE v.message = r.message),
                                  (SELECT mailroom_has_solution(o.subject, o.body, :keywords)
                                   FROM messages o WHERE o.id = r.message)))
               FROM sla_first f JOIN messages m ON m.id = f.message
               WHERE f.mailbox = :mailbox AND f.at < :until
                 AND (EXISTS (SELECT 1 FROM sla_mail r WHERE r.thread_id = f.thread_id AND r.mailbox = ''
                              AND r.at >= :since AND r.at < :until)
                      OR f.thread_id IN (SELECT value FROM json_each(:resolved)))""",
            {"keywords": keywords, "mailbox": mailbox, "until": until, "since": since,
             "resolved": json.dumps(list(resolved))},
        ).fetchall()
        for thread_id, started, customer, solved_at in rows:
            done = min(t for t in (solved_at, resolved.get(thread_id)) if t is not None) \
                if solved_at is not None or thread_id in resolved else None
            if done is None or not since <= done < until:
                continue
            if scope.person is not None and owners.get(customer) != scope.person:
                continue
            out.append((clock.calendar.elapsed(started, done) / 60, done <= clock.calendar.add(started, clock.seconds)))
    return out


def _by_age(rows: list[dict[str, Any]], now_s: int) -> list[AgeBucket]:
    buckets = [AgeBucket(label=label, min_hours=lo, max_hours=hi) for label, lo, hi in AGE_BUCKETS]
    for row in rows:
        hours = (now_s - row["started"]) / 3600
        for bucket in buckets:
            if hours >= bucket.min_hours and (bucket.max_hours is None or hours < bucket.max_hours):
                bucket.count += 1
                break
    return buckets


def _waiting_longest(rows: list[dict[str, Any]], now_s: int, owners: dict[int, str | None]) -> list[WaitingCustomer]:
    """The customers whose oldest open item started earliest (a customer without a record: its sender)."""
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["customer_id"] if row["customer_id"] is not None else ("sender", row["customer"])].append(row)
    ranked = sorted(groups.values(), key=lambda g: (min(r["started"] for r in g), min(r["id"] for r in g)))
    out = []
    for group in ranked[:WAITING_LONGEST]:
        oldest = min(group, key=lambda r: (r["started"], r["id"]))
        out.append(WaitingCustomer(
            customer_id=oldest["customer_id"], customer=oldest["customer"], country=oldest["country"],
            mailbox=oldest["mailbox"], waiting_since=_iso(oldest["started"]),
            waiting_hours=round((now_s - oldest["started"]) / 3600, 1), items=len(group),
            state=max((r["state"] for r in group), key=STATE_RANK.__getitem__),
            owner=owners.get(oldest["customer_id"]) if oldest["customer_id"] is not None else None,
        ))
    return out


def _levels_reached(db: Database, scope: Scope, owners: dict[int, str | None]) -> list[tuple[str, int]]:
    """("breaches" | "escalations", instant) for every item that reached its due or escalation time in the
    period while still open (the engine's instants, on the policy's calendar)."""
    if not scope.mailboxes:
        return []
    since, until = int(scope.since.timestamp()), int(scope.now.timestamp())
    out = []
    for level, column in (("breaches", "due_at"), ("escalations", "escalate_at")):
        customer = "(SELECT m.customer_id FROM messages m WHERE m.id = i.message)" if scope.person else "NULL"
        rows = db.execute(
            f"""SELECT i.{column}, {customer} FROM sla_items i
                WHERE i.mailbox IN ({_marks(scope.mailboxes)}) AND i.{column} >= ? AND i.{column} < ?
                  AND (i.closed_at IS NULL OR i.closed_at > i.{column})""",
            [*scope.mailboxes, since, until],
        ).fetchall()
        out += [(level, at) for at, customer in rows if scope.person is None or owners.get(customer) == scope.person]
    return out


def _volume(db: Database, scope: Scope, per_day: Counter[str], owners: dict[int, str | None]) -> Volume:
    volume = Volume(by_mailbox=dict.fromkeys(scope.mailboxes, 0))
    if not scope.mailboxes:
        return volume
    rows = db.execute(
        f"""SELECT f.mailbox, f.at, t.customer_id, COALESCE(c.country, '')
            FROM sla_first f JOIN threads t ON t.id = f.thread_id LEFT JOIN customers c ON c.id = t.customer_id
            WHERE f.mailbox IN ({_marks(scope.mailboxes)}) AND f.at >= ? AND f.at < ?""",
        [*scope.mailboxes, int(scope.since.timestamp()), int(scope.now.timestamp())],
    ).fetchall()
    if scope.person is not None:
        missing = {c for _, _, c, _ in rows if c is not None and c not in owners}
        if missing:
            owners.update(_owners(db, scope.config, missing, scope.now))
        rows = [r for r in rows if owners.get(r[2]) == scope.person]
    countries = Counter(country or "unknown" for _, _, _, country in rows)
    boxes = Counter(mailbox for mailbox, _, _, _ in rows)
    per_day.update(scope.count_by_day(at for _, at, _, _ in rows))
    volume.by_mailbox = {m: boxes[m] for m in scope.mailboxes}
    volume.total = len(rows)
    volume.by_country = dict(sorted(countries.items(), key=lambda kv: (-kv[1], kv[0])))
    return volume


def _rules(db: Database, scope: Scope, collisions: list[tuple[str | None, str | None]]) -> dict[str, RuleFigures]:
    """Per person of the scope: the rule checks of their mail in the period, and customers moved to the pool."""
    since, until = _iso(scope.since.timestamp()), _iso(scope.now.timestamp())
    people = scope.people
    found: dict[str, RuleFigures] = {}
    if not people:
        return found
    for person_id, rule, total, ok in db.execute(
        f"SELECT person_id, rule, count(*), sum(ok) FROM rule_checks WHERE person_id IN ({_marks(people)}) "
        "AND at >= ? AND at < ? GROUP BY person_id, rule", [*people, since, until]
    ):
        name = RULE_CHECKS.get(rule)
        if name:
            figures = found.setdefault(person_id, RuleFigures())
            setattr(figures, name, total)
            setattr(figures, f"{name}_ok", ok or 0)
    for person_id, count in _collision_rows(collisions, scope).items():
        found.setdefault(person_id, RuleFigures()).collisions = count
    for (person_id,) in db.execute(
        f"SELECT person_id FROM pool_events WHERE kind = 'moved' AND person_id IN ({_marks(people)}) "
        "AND at >= ? AND at < ?", [*people, since, until]
    ):
        found.setdefault(person_id, RuleFigures()).pool_moves += 1
    return found


def _collision_rows(collisions: list[tuple[str | None, str | None]], scope: Scope) -> dict[str, int]:
    """Per person of the scope: the collisions (writer, owner) they were on either side of."""
    counts: Counter[str] = Counter()
    members: set[str | None] = set(scope.people)
    for writer, owner in collisions:
        for who in {writer, owner} & members:
            if who is not None:
                counts[who] += 1
    return dict(counts)


def _collisions_in_period(db: Database, scope: Scope) -> list[tuple[str | None, str | None]]:
    return db.execute(
        "SELECT person_id, expected FROM rule_violations WHERE rule = 'collision' AND at >= ? AND at < ?",
        [_iso(scope.since.timestamp()), _iso(scope.now.timestamp())],
    ).fetchall()


def _collisions(collisions: list[tuple[str | None, str | None]], scope: Scope) -> int:
    """Collisions with someone of the scope on either side, each counted once."""
    members = set(scope.people)
    return sum(1 for writer, owner in collisions if writer in members or owner in members)


def _handovers(db: Database, scope: Scope) -> Handovers:
    """Handovers confirmed in the period from or to someone of the scope (undone ones counted apart)."""
    people = scope.people
    if not people:
        return Handovers()
    rows = db.execute(
        f"""SELECT id, from_person, to_person, customers, state, confirmed_at FROM handovers
            WHERE state IN ('done', 'undone') AND confirmed_at >= ? AND confirmed_at < ?
              AND (from_person IN ({_marks(people)}) OR to_person IN ({_marks(people)}))
            ORDER BY confirmed_at DESC, id DESC""",
        [_iso(scope.since.timestamp()), _iso(scope.now.timestamp()), *people, *people],
    ).fetchall()
    result = Handovers()
    for hid, giver, receiver, customers, state, confirmed in rows:
        moved = len(json.loads(customers or "[]"))
        if state == "done":
            result.done += 1
            result.customers_moved += moved
        else:
            result.undone += 1
        if len(result.recent) < 10:
            result.recent.append(HandoverRow(id=hid, from_person=giver, to_person=receiver, customers=moved,
                                             state=state, confirmed_at=confirmed))
    return result


def _people(scope: Scope, answered: list[tuple[str | None, float, bool]], open_rows: list[dict[str, Any]],
            owners: dict[int, str | None], rules: dict[str, RuleFigures]) -> list[PersonRow]:
    """One row per person of the scope: first responses they wrote, open items of the customers they own."""
    minutes: dict[str, list[float]] = defaultdict(list)
    for who, value, _ in answered:
        if who is not None:
            minutes[who].append(value)
    open_count: Counter[str] = Counter()
    breached: Counter[str] = Counter()
    for row in open_rows:
        owner = owners.get(row["customer_id"])
        if owner is not None:
            open_count[owner] += 1
            breached[owner] += row["state"] in ("breached", "escalated")
    rows = []
    for person_id in scope.people:
        p50 = percentile(minutes[person_id], 0.5)
        rows.append(PersonRow(person=person_id, name=scope.names.get(person_id, person_id),
                              answered=len(minutes[person_id]),
                              first_response_p50_minutes=None if p50 is None else round(p50, 1),
                              open_items=open_count[person_id], breached_items=breached[person_id],
                              rules=rules.get(person_id, RuleFigures())))
    return rows
