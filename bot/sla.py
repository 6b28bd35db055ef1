"""The SLA engine: which customer messages wait on us, since when, until when, and how late.

Rules (issue 5):
- first_response: every inbound customer message that waits on us has a clock, from its arrival to
  the first later outbound message in the same thread written by a person of the organisation (from
  any mailbox — a personal reply CC'd to inquiry@ counts). Per thread and shared mailbox only the
  oldest unreplied message has a clock: a customer writing again does not restart it.
- initial_solution: from the first customer message of a thread in the policy's mailbox to the first
  outbound message proposing a solution (keywords), or `/sla resolve`.
- Never a clock: auto-replies, bounces, lists and bulk mail, internal mail, and a customer's bare
  acknowledgement ("Thanks, we will check and revert"). Our own auto-reply is never a response.
- The mailbox (and so the policy) of a message comes from its sightings, where aliases are already
  resolved to their shared mailbox (rma@ → support@).

`find_waiting` is the pure part: archive rows in, clocks out, in a few set-wise SQL statements.
`evaluate` persists the result as `sla_items` — incrementally, for the threads touched since the last
evaluation (`sla_dirty`, kept by triggers) — with each level's instant computed once on the policy's
business calendar. A state at any `now` is then a comparison of integers, done in SQL for all items.
"""

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlite_utils import Database

from bot.calendar import BusinessCalendar
from bot.config import Config, SlaPolicy
from bot.sla_items import Item, attach_owners, get_item, open_items
from bot.sla_rules import DEFAULT_SOLUTION_KEYWORDS, register_functions

log = logging.getLogger(__name__)

KINDS = ("first_response", "initial_solution")
CONFIG_KEY = "sla.config"
EVALUATED_KEY = "sla.evaluated_at"
SOLUTION_KEY = "sla.solution_keywords"

HUMAN_REPLY = "o.direction = 'outbound' AND o.auto_submitted = 0 AND o.is_bounce = 0 AND o.is_list = 0"
_RESOLVED = """EXISTS (SELECT 1 FROM sla_items x
                WHERE x.thread_id = o.thread_id AND x.mailbox = o.mailbox AND x.close_reason = 'resolved'
                  AND x.kind = 'first_response' AND x.closed_at >= o.at)"""
_IS_ACK = "EXISTS (SELECT 1 FROM messages a WHERE a.id = c.message AND mailroom_is_ack(a.body, a.from_name))"


def policy_fingerprint(name: str, policy: SlaPolicy, default_timezone: str) -> str:
    raw = f"{name}|{policy.model_dump_json()}|{default_timezone}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class PolicyClock:
    """One clock kind of one policy: its durations in business seconds, calendar and keywords.

    Compared and hashed by identity (each exists once per Policies), which keeps grouping cheap."""

    policy: str
    kind: str
    seconds: int
    warn: int
    escalate: int
    calendar: BusinessCalendar
    fingerprint: str
    keywords: tuple[str, ...] = ()


class Policies:
    """The config's SLA policies, their calendars, and which shared mailbox runs on which."""

    def __init__(self, config: Config):
        zone = config.organization.timezone
        self.by_mailbox = {m.address: m.sla for m in config.mailboxes if m.sla and m.sla in config.sla}
        self.calendars: dict[str, BusinessCalendar] = {}
        self.clocks: dict[tuple[str, str], PolicyClock] = {}
        fingerprints: dict[str, str] = {}
        for name, policy in config.sla.items():
            calendar = BusinessCalendar(policy, zone)
            self.calendars[name] = calendar
            fingerprints[name] = policy_fingerprint(name, policy, zone)
            words = policy.solution_keywords if policy.solution_keywords is not None else DEFAULT_SOLUTION_KEYWORDS
            for kind in KINDS:
                duration = getattr(policy, kind)
                if duration is None:
                    continue
                seconds = int(duration.total_seconds())
                self.clocks[(name, kind)] = PolicyClock(
                    name, kind, seconds, int(seconds * policy.warn_at), int(seconds * policy.escalate_at),
                    calendar, fingerprints[name], tuple(w.lower() for w in words if w),
                )
        self.fingerprint = hashlib.sha256(
            json.dumps([sorted(self.by_mailbox.items()), sorted(fingerprints.items())]).encode()
        ).hexdigest()[:16]

    def clock_for(self, mailbox: str, kind: str) -> PolicyClock | None:
        name = self.by_mailbox.get(mailbox)
        return self.clocks.get((name, kind)) if name else None

    def mailboxes(self, kind: str) -> dict[str, PolicyClock]:
        out = {}
        for mailbox in self.by_mailbox:
            clock = self.clock_for(mailbox, kind)
            if clock is not None:
                out[mailbox] = clock
        return out


class Waiting(NamedTuple):
    """A clock that runs now: the waiting customer message, its thread, mailbox, kind, start (epoch)."""

    message: int
    thread_id: int
    mailbox: str
    kind: str
    started: int


def _summary(table: str, alias: str, scoped: bool) -> str:
    """FROM clause over a summary table, all threads or (driven by the scope) the threads in scope."""
    if scoped:
        return f"temp.sla_scope d CROSS JOIN {table} {alias} ON {alias}.thread_id = d.thread_id"
    return f"{table} {alias}"


def _waiting_queries(
    policies: Policies, *, scoped: bool, resolved: bool, memo: bool = False
) -> list[tuple[str, list[Any]]]:
    """The SELECTs (with their parameters) whose rows are every running clock: (message, thread_id,
    mailbox, kind, started).

    First response: `sla_open` holds, per thread and mailbox, the oldest message no human reply
    followed. Where that message is (or may be) a bare acknowledgement, or a clock was resolved by
    hand (`resolved`), the thread and mailbox are worked out again from `sla_mail` row by row.
    Initial solution: `sla_first`, unless a later human reply proposes a solution (with `memo`, as
    remembered in `sla_mail.solution` where judged already).
    """
    queries: list[tuple[str, list[Any]]] = []
    first = list(policies.mailboxes("first_response"))
    if first:
        marks = ", ".join("?" for _ in first)
        special = f"o.maybe_ack <> 0 OR {_RESOLVED}" if resolved else "o.maybe_ack <> 0"
        queries.append((f"""
            SELECT o.message, o.thread_id, o.mailbox, 'first_response', o.at
            FROM {_summary("sla_open", "o", scoped)}
            WHERE o.mailbox IN ({marks}) AND NOT ({special})""", first))
        queries.append((f"""
            WITH x AS MATERIALIZED (
                SELECT o.thread_id, o.mailbox FROM {_summary("sla_open", "o", scoped)}
                WHERE o.mailbox IN ({marks}) AND ({special})
            )
            SELECT c.message, c.thread_id, c.mailbox, 'first_response', min(c.at)
            FROM x CROSS JOIN sla_mail c ON c.thread_id = x.thread_id AND c.mailbox = x.mailbox
            WHERE NOT EXISTS (
                  SELECT 1 FROM sla_mail r WHERE r.thread_id = c.thread_id AND r.mailbox = '' AND r.at >= c.at)
              AND NOT EXISTS (
                  SELECT 1 FROM sla_items y
                  WHERE y.thread_id = c.thread_id AND y.mailbox = c.mailbox AND y.close_reason = 'resolved'
                    AND y.kind = 'first_response' AND y.closed_at >= c.at)
              AND NOT (c.maybe_ack = 2 OR (c.maybe_ack = 1 AND {_IS_ACK}))
            GROUP BY c.thread_id, c.mailbox""", first))
    by_policy: dict[PolicyClock, list[str]] = defaultdict(list)
    for mailbox, clock in policies.mailboxes("initial_solution").items():
        by_policy[clock].append(mailbox)
    for clock, mailboxes in by_policy.items():
        marks = ", ".join("?" for _ in mailboxes)
        queries.append((f"""
            SELECT f.message, f.thread_id, f.mailbox, 'initial_solution', f.at
            FROM {_summary("sla_first", "f", scoped)}
            WHERE f.mailbox IN ({marks}) AND NOT EXISTS (
                SELECT 1 FROM sla_mail r
                WHERE r.thread_id = f.thread_id AND r.mailbox = '' AND r.at >= f.at
                  AND CASE WHEN r.solution IS NOT NULL AND ? THEN r.solution ELSE
                      (SELECT mailroom_has_solution(m.subject, m.body, ?) FROM messages m WHERE m.id = r.message) END)""",
                        [*mailboxes, int(memo), json.dumps(clock.keywords)]))
    return queries


def _solution_memo(db: Database, policies: Policies) -> bool:
    """Whether `sla_mail.solution` holds valid verdicts: only while every policy uses one keyword list.

    When that list changes, the remembered verdicts are forgotten and judged again.
    """
    lists = {clock.keywords for clock in policies.clocks.values() if clock.kind == "initial_solution"}
    if len(lists) != 1:
        return False
    fingerprint = hashlib.sha256(json.dumps(sorted(next(iter(lists)))).encode()).hexdigest()[:16]
    stored = db.execute("SELECT value FROM meta WHERE key = ?", [SOLUTION_KEY]).fetchone()
    if stored is None or stored[0] != fingerprint:
        db.execute("UPDATE sla_mail SET solution = NULL WHERE mailbox = '' AND solution IS NOT NULL")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [SOLUTION_KEY, fingerprint])
    return True


def _judge_solutions(db: Database, policies: Policies, *, scoped: bool) -> bool:
    """Decide once, and remember, whether each new human reply in an after-sales thread proposes a solution."""
    if not policies.mailboxes("initial_solution") or not _solution_memo(db, policies):
        return False
    keywords = json.dumps(next(c.keywords for c in policies.clocks.values() if c.kind == "initial_solution"))
    scope = " AND r.thread_id IN (SELECT thread_id FROM temp.sla_scope)" if scoped else ""
    boxes = list(policies.mailboxes("initial_solution"))
    marks = ", ".join("?" for _ in boxes)
    db.execute(
        "UPDATE sla_mail AS r SET solution = (SELECT mailroom_has_solution(m.subject, m.body, ?) FROM messages m"
        f" WHERE m.id = r.message) WHERE r.mailbox = '' AND r.solution IS NULL{scope}"
        f" AND EXISTS (SELECT 1 FROM sla_first f WHERE f.thread_id = r.thread_id AND f.mailbox IN ({marks}))",
        [keywords, *boxes],
    )
    return True


def _any_resolved(db: Database) -> bool:
    return db.execute("SELECT 1 FROM sla_items WHERE close_reason = 'resolved' AND kind = 'first_response' "
                      "LIMIT 1").fetchone() is not None


def find_waiting(db: Database, policies: Policies, *, scoped: bool = False) -> list[Waiting]:
    """Every running clock, from archive rows alone (pure: reads only).

    Reads `sla_mail` (customer messages per shared mailbox, human replies with mailbox ''), which
    triggers keep in step with `messages` and `sightings`. With `scoped`, only the threads in
    `temp.sla_scope` are looked at.
    """
    register_functions(db.conn)
    found: list[Waiting] = []
    for sql, params in _waiting_queries(policies, scoped=scoped, resolved=_any_resolved(db)):
        found.extend(map(Waiting._make, db.execute(sql, params)))
    return found


def first_responses(
    db: Database, mailboxes: list[str], since: datetime, until: datetime
) -> list[tuple[str, int, int]]:
    """(mailbox, waiting since, answered at) for every first response given in [since, until).

    Straight from the archive, by the same rules as the clocks: each human reply answers the oldest
    customer message (no auto-reply, bounce, list or bare acknowledgement) written since the previous
    human reply in the thread. Used by the digest, so history from before the first evaluation counts.
    """
    if not mailboxes:
        return []
    register_functions(db.conn)
    marks = ", ".join("?" for _ in mailboxes)
    sql = f"""
        WITH replies AS (
            SELECT r.thread_id, r.at, LAG(r.at) OVER (PARTITION BY r.thread_id ORDER BY r.at) AS prev
            FROM sla_mail r
            WHERE r.mailbox = '' AND r.at < ? AND r.thread_id IN (
                SELECT o.thread_id FROM messages o WHERE o.date >= ? AND o.date < ? AND {HUMAN_REPLY})
        )
        SELECT c.mailbox, min(c.at), r.at
        FROM replies r
        JOIN sla_mail c ON c.thread_id = r.thread_id AND c.at <= r.at AND (r.prev IS NULL OR c.at > r.prev)
        WHERE r.at >= ? AND c.mailbox IN ({marks}) AND NOT (c.maybe_ack = 2 OR (c.maybe_ack = 1 AND {_IS_ACK}))
        GROUP BY r.thread_id, r.at, c.mailbox
    """
    start, end = int(since.timestamp()), int(until.timestamp())
    params = [end, _iso(since), _iso(until), start, *mailboxes]
    return [(mailbox, started, replied) for mailbox, started, replied in db.execute(sql, params)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Evaluation:
    """What one evaluation did."""

    scope: str  # full | incremental | idle
    threads: int = 0
    opened: int = 0
    closed: int = 0
    recomputed: int = 0
    state_changes: int = 0


@contextmanager
def write_transaction(db: Database) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT: what is read inside is what is written, even with two processes."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def evaluate(db: Database, policies: Policies, now: datetime, *, full: bool = False) -> Evaluation:
    """Bring `sla_items` up to date at `now`: new clocks opened, stopped ones closed, states set.

    Incremental unless `full`, the policies changed, or it never ran: then every thread is looked at.
    Everything is set-wise SQL over temp tables; Python only touches the few items that closed.
    """
    register_functions(db.conn)
    now_s = int(now.timestamp())
    with write_transaction(db):
        stored = db.execute("SELECT value FROM meta WHERE key = ?", [CONFIG_KEY]).fetchone()
        changed = stored is not None and stored[0] != policies.fingerprint  # items exist on other policies
        full = full or changed or stored is None
        result = Evaluation("full" if full else "incremental")
        if not full:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS sla_scope (thread_id INTEGER PRIMARY KEY)")
            db.execute("DELETE FROM temp.sla_scope")
            result.threads = db.execute("INSERT INTO temp.sla_scope SELECT thread_id FROM sla_dirty").rowcount
        if full or result.threads:
            _judge_acknowledgements(db, scoped=not full)
            _collect(db, policies, scoped=not full)
            scope = " AND i.thread_id IN (SELECT thread_id FROM temp.sla_scope)" if not full else ""
            any_open = db.execute(f"SELECT 1 FROM sla_items i WHERE i.closed_at IS NULL{scope} LIMIT 1").fetchone()
            if any_open:
                result.closed = _close_stopped(db, policies, now_s, scope=scope)
            result.opened = _reopen(db) + _open_new(db, policies, now_s, known=any_open is not None)
            db.execute("DROP TABLE temp.sla_found")
        else:
            result.scope = "idle"
        db.execute("DELETE FROM sla_dirty")
        if changed:
            result.recomputed = _recompute_instants(db, policies)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [CONFIG_KEY, policies.fingerprint])
        result.state_changes = update_states(db, now_s)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [EVALUATED_KEY, str(now_s)])
    return result


def _judge_acknowledgements(db: Database, *, scoped: bool) -> None:
    """Decide once, and remember, whether an oldest unreplied message is a bare acknowledgement (2) or
    not (0). Only those: an acknowledgement further down a thread never decides anything."""
    scope = " AND thread_id IN (SELECT thread_id FROM temp.sla_scope)" if scoped else ""
    db.execute(
        "UPDATE sla_mail SET maybe_ack = CASE WHEN EXISTS (SELECT 1 FROM messages a WHERE a.id = sla_mail.message"
        " AND mailroom_is_ack(a.body, a.from_name)) THEN 2 ELSE 0 END"
        f" WHERE (thread_id, mailbox, at, message) IN (SELECT thread_id, mailbox, at, message FROM sla_open"
        f" WHERE maybe_ack = 1{scope})"
    )


def _collect(db: Database, policies: Policies, *, scoped: bool) -> None:
    """temp.sla_found: every running clock in scope, as `find_waiting` would return it."""
    db.execute("DROP TABLE IF EXISTS temp.sla_found")
    db.execute("CREATE TEMP TABLE sla_found (message INTEGER, thread_id INTEGER, mailbox TEXT, kind TEXT, "
               "started INTEGER, PRIMARY KEY (message, mailbox, kind)) WITHOUT ROWID")
    memo = _judge_solutions(db, policies, scoped=scoped)
    for sql, params in _waiting_queries(policies, scoped=scoped, resolved=_any_resolved(db), memo=memo):
        db.execute(f"INSERT INTO temp.sla_found {sql}", params)


def _close_stopped(db: Database, policies: Policies, now_s: int, *, scope: str) -> int:
    """Open items (in scope) whose clock no longer runs: closed with the reply or solution that stopped them."""
    stopped = db.execute(
        f"""SELECT i.id, i.thread_id, i.mailbox, i.kind, i.started, i.message FROM sla_items i
            WHERE i.closed_at IS NULL{scope}
              AND NOT EXISTS (SELECT 1 FROM temp.sla_found f
                              WHERE f.message = i.message AND f.mailbox = i.mailbox AND f.kind = i.kind)"""
    ).fetchall()
    for item_id, thread_id, mailbox, kind, started, message in stopped:
        summary = "sla_open" if kind == "first_response" else "sla_first"
        other = db.execute(f"SELECT message FROM {summary} WHERE thread_id = ? AND mailbox = ?",
                           [thread_id, mailbox]).fetchone()
        superseded = other is not None and other[0] != message
        reason, at, by = _stop(db, policies, thread_id, mailbox, kind, started, now_s, superseded=superseded)
        db.execute("UPDATE sla_items SET closed_at = ?, close_reason = ?, closed_by = ? WHERE id = ?",
                   [at, reason, by, item_id])
    return len(stopped)


def _reopen(db: Database) -> int:
    """Clocks closed only because another message had taken their place (an older message imported
    later) or they had dropped out, which run again: open again, with the alerts already sent kept."""
    return max(0, db.execute(
        """UPDATE sla_items SET closed_at = NULL, close_reason = NULL, closed_by = NULL
           WHERE close_reason IN ('superseded', 'dropped') AND EXISTS (
               SELECT 1 FROM temp.sla_found f
               WHERE f.message = sla_items.message AND f.mailbox = sla_items.mailbox AND f.kind = sla_items.kind)"""
    ).rowcount)


def _open_new(db: Database, policies: Policies, now_s: int, *, known: bool) -> int:
    """Insert the new clocks of temp.sla_found, each level's instant computed once.

    `known`: some clocks in scope already have items, so those are skipped before any computing
    (on a first run nothing is known, and the unique key alone keeps inserts exactly-once).

    Calendar time is `started + seconds` in SQL; business time goes through `mailroom_business_add_N`,
    calendar N's prepared binary searches, called from the same INSERT … SELECT.
    """
    calendars: dict[int, int] = {}  # id(calendar) → its number in SQL (1, 2, …)
    clocks = []
    for kind in KINDS:
        for mailbox, clock in policies.mailboxes(kind).items():
            cal = None
            if not clock.calendar.always:
                if id(clock.calendar) not in calendars:
                    calendars[id(clock.calendar)] = cal = len(calendars) + 1
                    db.conn.create_function(f"mailroom_business_add_{cal}", 2, _adder(db, policies, clock.calendar),
                                            deterministic=True)
                cal = calendars[id(clock.calendar)]
            clocks.append((mailbox, kind, clock.policy, clock.fingerprint, clock.warn, clock.seconds, clock.escalate,
                           cal))
    db.execute("DROP TABLE IF EXISTS temp.sla_clock")
    db.execute("CREATE TEMP TABLE sla_clock (mailbox TEXT, kind TEXT, policy TEXT, fingerprint TEXT, warn INTEGER, "
               "seconds INTEGER, escalate INTEGER, cal INTEGER, PRIMARY KEY (mailbox, kind))")
    db.conn.executemany("INSERT INTO temp.sla_clock VALUES (?, ?, ?, ?, ?, ?, ?, ?)", clocks)

    def add(seconds: str) -> str:
        if not calendars:
            return f"f.started + {seconds}"
        business = " ".join(f"WHEN {n} THEN mailroom_business_add_{n}(f.started, {seconds})"
                            for n in calendars.values())
        return f"CASE k.cal {business} ELSE f.started + {seconds} END"

    skip_known = ("WHERE NOT EXISTS (SELECT 1 FROM sla_items i "
                  "WHERE i.message = f.message AND i.mailbox = f.mailbox AND i.kind = f.kind)") if known else ""
    cursor = db.execute(
        f"""
        INSERT OR IGNORE INTO sla_items (message, thread_id, mailbox, kind, policy, started, warn_at, due_at,
                                         escalate_at, fingerprint, state, created_at)
        WITH l AS MATERIALIZED (
            SELECT f.message, f.thread_id, f.mailbox, f.kind, f.started, k.policy, k.fingerprint,
                   {add("k.warn")} AS w, {add("k.seconds")} AS d, {add("k.escalate")} AS e
            FROM temp.sla_found f JOIN temp.sla_clock k ON k.mailbox = f.mailbox AND k.kind = f.kind
            {skip_known}
        )
        SELECT message, thread_id, mailbox, kind, policy, started, w, d, e, fingerprint,
               CASE WHEN :now >= e THEN 'escalated' WHEN :now >= d THEN 'breached'
                    WHEN :now >= w THEN 'warning' ELSE 'ok' END, :now
        FROM l""",
        {"now": now_s},
    )
    db.execute("DROP TABLE temp.sla_clock")
    return max(cursor.rowcount, 0)


def _adder(db: Database, policies: Policies, calendar: BusinessCalendar) -> Callable[[int, int], int]:
    """The calendar's fast add, prepared for the start times found on it."""
    boxes = sorted({m for kind in KINDS for m, c in policies.mailboxes(kind).items() if c.calendar is calendar})
    marks = ", ".join("?" for _ in boxes)
    lo, hi = db.execute(f"SELECT min(started), max(started) FROM temp.sla_found WHERE mailbox IN ({marks})",
                        boxes).fetchone()
    if lo is None:
        return calendar.add
    longest = max(c.escalate for c in policies.clocks.values() if c.calendar is calendar)
    return calendar.adder(lo, hi, longest)


def _stop(
    db: Database, policies: Policies, thread_id: int, mailbox: str, kind: str, started: int, now_s: int, *,
    superseded: bool,
) -> tuple[str, int, str | None]:
    """Why and when a clock that no longer runs stopped: the reply or solution that stopped it."""
    clock = policies.clock_for(mailbox, kind)
    if kind == "first_response":
        condition, params, reason = "", [], "replied"
    else:
        keywords = json.dumps(clock.keywords if clock else DEFAULT_SOLUTION_KEYWORDS)
        condition, params, reason = " AND mailroom_has_solution(o.subject, o.body, ?)", [keywords], "solved"
    row = db.execute(
        f"SELECT o.message_id, r.at FROM sla_mail r JOIN messages o ON o.id = r.message "
        f"WHERE r.thread_id = ? AND r.mailbox = '' AND r.at >= ?{condition} ORDER BY r.at LIMIT 1",
        [thread_id, started, *params],
    ).fetchone()
    if row is not None:
        return reason, int(row[1]), row[0]
    return ("superseded" if superseded else "dropped"), now_s, None


def _recompute_instants(db: Database, policies: Policies) -> int:
    """After a policy changed: the open items' level instants, on the new durations and calendar."""
    changed = 0
    for kind in KINDS:
        for mailbox, clock in policies.mailboxes(kind).items():
            stale = db.execute(
                "SELECT id, started FROM sla_items WHERE closed_at IS NULL AND mailbox = ? AND kind = ? "
                "AND fingerprint <> ?",
                [mailbox, kind, clock.fingerprint],
            ).fetchall()
            instants = clock.calendar.add_many([s for _, s in stale], [clock.warn, clock.seconds, clock.escalate])
            db.conn.executemany(
                "UPDATE sla_items SET policy = ?, warn_at = ?, due_at = ?, escalate_at = ?, fingerprint = ? WHERE id = ?",
                [(clock.policy, w, d, e, clock.fingerprint, item_id) for (item_id, _), (w, d, e) in
                 zip(stale, instants, strict=True)],
            )
            changed += len(stale)
    return changed


STATE_SQL = (
    "CASE WHEN :now >= escalate_at THEN 'escalated' WHEN :now >= due_at THEN 'breached' "
    "WHEN :now >= warn_at THEN 'warning' ELSE 'ok' END"
)


def update_states(db: Database, now_s: int) -> int:
    """Every open item's state at `now`, set-wise; returns how many changed."""
    cursor = db.execute(
        f"UPDATE sla_items SET state = {STATE_SQL} WHERE closed_at IS NULL AND state <> {STATE_SQL}",
        {"now": now_s},
    )
    return max(cursor.rowcount, 0)


class SlaEngine:
    """The engine bound to one archive and config (`services.sla`)."""

    def __init__(self, db: Database, config: Config, directory: Any):
        self.db = db
        self.config = config
        self.directory = directory
        self.policies = Policies(config)

    def evaluate(self, now: datetime, *, full: bool = False) -> Evaluation:
        return evaluate(self.db, self.policies, now, full=full)

    def open_items(self, now: datetime, *, mailboxes: list[str] | None = None, owners: bool = True) -> list[Item]:
        items = open_items(self.db, now, mailboxes=mailboxes)
        return attach_owners(self.db, self.directory, items, now) if owners else items

    def item(self, item_id: int, now: datetime) -> Item | None:
        item = get_item(self.db, item_id, now)
        if item is not None:
            attach_owners(self.db, self.directory, [item], now)
        return item
