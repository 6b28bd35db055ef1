"""The SLA engine: which customer messages wait on us, since when, until when, and how late.

Rules:
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

`find_waiting` (bot/sla/waiting.py) is the pure part: archive rows in, clocks out, a few set-wise queries.
`evaluate` persists the result as `sla_items` — incrementally, for the threads touched since the last
evaluation (`sla_dirty`, kept by triggers) — with each level's instant computed once on the policy's
business calendar. A state at any `now` is then a comparison of integers, done in SQL for all items.

Speed (bench/sla_bench.py, 100,000 open threads): no Python call per clock anywhere. Business-calendar
instants come from a table of linear pieces (`BusinessCalendar.pieces`, looked up in SQL) or column-wise
(`add_columns`, in `waiting_items`); a first evaluation inserts straight from the summaries, merged in
thread order; solution verdicts are noted while the clocks are found and kept in `sla_solutions`.
"""

import gc
import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import repeat
from operator import add as plus
from typing import Any, NamedTuple

from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.config import Config
from bot.sla.items import Item, attach_owners, get_item, open_items, select_items
from bot.sla.policies import KINDS, Policies, PolicyClock, policy_fingerprint
from bot.sla.text_rules import DEFAULT_SOLUTION_KEYWORDS, LEVELS, register_functions
from bot.sla.waiting import (
    HUMAN_REPLY,
    Waiting,
    WaitingQuery,
    _any_resolved,
    _judge_acknowledgements,
    _memo_valid,
    _remember_solutions,
    _solution_judge,
    _waiting_queries,
    find_waiting,
    first_responses,
)
from bot.store.db import write_transaction

__all__ = [
    "KINDS", "RunningClock", "Evaluation", "Item", "Policies", "PolicyClock", "SlaEngine", "Waiting", "evaluate",
    "find_waiting", "waiting_items",
    "first_responses", "policy_fingerprint", "update_states", "HUMAN_REPLY",
]

log = logging.getLogger(__name__)

CONFIG_KEY = "sla.config"
EVALUATED_KEY = "sla.evaluated_at"
PIECE_WINDOW_DAYS = 120
"""How far back business-calendar instants are tabulated for SQL (older clocks take a Python call)."""


class RunningClock(NamedTuple):
    """A running clock with its level instants (epoch seconds) and its state at the `now` asked for."""

    message: int
    thread_id: int
    mailbox: str
    kind: str
    started: int
    warn_at: int
    due_at: int
    escalate_at: int
    state: str


def waiting_items(db: Database, policies: Policies, now: datetime) -> list[RunningClock]:
    """The engine as a pure function: (archive rows, policies, calendars, now) → every running clock with
    its state. Writes nothing; `evaluate` computes the same and keeps it (incrementally) in `sla_items`.

    The waiting queries of `find_waiting`, mailbox by mailbox: their rows are (message, thread, start)
    alone, and the instants and states are computed column-wise (`BusinessCalendar.add_columns`, C
    builtins mapped over whole columns): no Python call per clock.
    """
    register_functions(db.conn)
    with _bulk_tuples():
        return _waiting_items(db, policies, int(now.timestamp()))


@contextmanager
def _bulk_tuples() -> Iterator[None]:
    """The cyclic garbage collector paused while hundreds of thousands of tuples are made.

    Every 700 new tuples CPython runs a collection, and the full ones walk every tuple made so far:
    for 133,000 clocks that was a third of the time. Tuples of numbers and strings hold no cycles;
    the collector runs again (and untracks them) as soon as it is re-enabled."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _waiting_items(db: Database, policies: Policies, now_s: int) -> list[RunningClock]:
    groups: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    queries = _waiting_queries(policies, scoped=False, resolved=_any_resolved(db), memo=_memo_valid(db, policies),
                               split=True)
    for query in queries:
        if query.mailbox is not None and query.kind is not None:
            rows = db.execute(f"SELECT message, thread_id, started FROM ({query.sql})", query.params).fetchall()
            groups[(query.mailbox, query.kind)].extend(rows)
        else:
            for message, thread_id, mailbox, kind, started in db.execute(query.sql, query.params):
                groups[(mailbox, kind)].append((message, thread_id, started))
    clocks: list[RunningClock] = []
    for (mailbox, kind), rows in groups.items():
        clock = policies.clock_for(mailbox, kind)
        if clock is None or not rows:
            continue
        messages, threads, starts = zip(*rows, strict=True)
        warn, due, escalate = clock.calendar.add_columns(starts, (clock.warn, clock.seconds, clock.escalate))
        # levels reached = how many of warn <= due <= escalate lie at or before now: `level_of`, column-wise
        reached = map(plus, map(plus, map(now_s.__ge__, warn), map(now_s.__ge__, due)), map(now_s.__ge__, escalate))
        states = map(LEVELS.__getitem__, reached)
        clocks.extend(map(_running, zip(messages, threads, repeat(mailbox), repeat(kind), starts, warn, due, escalate,
                                        states, strict=False)))  # (repeat() is endless; the rest are as long)
    return clocks


_running = partial(tuple.__new__, RunningClock)
"""A RunningClock from a row of its nine values (tuple.__new__ in C, no Python call per row)."""


@dataclass
class Evaluation:
    """What one evaluation did."""

    scope: str  # full | incremental | idle
    threads: int = 0
    opened: int = 0
    closed: int = 0
    recomputed: int = 0
    state_changes: int = 0


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
        fresh = False  # every open item is opened by this evaluation, its state set at `now` already
        if full or result.threads:
            scope = " AND i.thread_id IN (SELECT thread_id FROM temp.sla_scope)" if not full else ""
            any_open = db.execute(f"SELECT 1 FROM sla_items i WHERE i.closed_at IS NULL{scope} LIMIT 1").fetchone()
            reopenable = db.execute(
                f"SELECT 1 FROM sla_items i WHERE i.close_reason IN ('superseded', 'dropped'){scope} LIMIT 1"
            ).fetchone()
            _judge_acknowledgements(db, scoped=not full)
            verdicts = _solution_judge(db, policies)
            memo = verdicts is not None
            groups = _clock_tables(db, policies, now_s)
            if any_open or reopenable:
                _collect(db, _waiting_queries(policies, scoped=not full, resolved=_any_resolved(db), memo=memo,
                                              note=memo))
                _remember_solutions(db, verdicts)
                kept = 0  # open items whose clock still runs
                if any_open:
                    kept = db.execute(f"SELECT count(*) FROM sla_items i WHERE i.closed_at IS NULL{scope}").fetchone()[0]
                    result.closed = _close_stopped(db, policies, now_s, scope=scope)
                    kept -= result.closed
                reopened = _reopen(db) if reopenable else 0
                result.opened = reopened
                # each clock has at most one item: when as many items run as clocks were found, none is new
                if db.execute("SELECT count(*) FROM temp.sla_found").fetchone()[0] > kept + reopened:
                    arm = _arm(WaitingQuery("SELECT * FROM temp.sla_found", []), policies, groups, known=True)
                    result.opened += _open_new(db, [arm], now_s)
                db.execute("DROP TABLE temp.sla_found")
            else:  # nothing to close or reopen (a first run): the clocks go straight into sla_items
                split = _waiting_queries(policies, scoped=not full, resolved=_any_resolved(db), memo=memo, split=True,
                                         note=memo)
                # closed items may hold some of these clocks (an item is never opened twice); with no item at
                # all, nothing is looked up (the two batches never find the same clock)
                known = db.execute("SELECT 1 FROM sla_items LIMIT 1").fetchone() is not None
                # the few clocks worked out row by row read sla_items: an INSERT of their own (else SQLite
                # would first copy every row of the one INSERT aside, as it reads the table it writes)
                batches = [[_arm(q, policies, groups, known=known) for q in split if q.reads_items == part]
                           for part in (False, True)]
                result.opened = sum(_open_new(db, arms, now_s) for arms in batches if arms)
                _remember_solutions(db, verdicts)
                fresh = full
            db.execute("DROP TABLE temp.sla_clock")
            db.execute("DROP TABLE temp.sla_piece")
        else:
            result.scope = "idle"
        db.execute("DELETE FROM sla_dirty")
        if changed:
            result.recomputed = _recompute_instants(db, policies)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [CONFIG_KEY, policies.fingerprint])
        if not fresh:
            result.state_changes = update_states(db, now_s)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [EVALUATED_KEY, str(now_s)])
    return result


def _collect(db: Database, queries: list[WaitingQuery]) -> None:
    """temp.sla_found: every running clock in scope, as `find_waiting` would return it, clustered by
    (message, mailbox, kind) for the lookups of items to close or reopen."""
    db.execute("DROP TABLE IF EXISTS temp.sla_found")
    db.execute("CREATE TEMP TABLE sla_found (message INTEGER, thread_id INTEGER, mailbox TEXT, kind TEXT, "
               "started INTEGER, PRIMARY KEY (message, mailbox, kind)) WITHOUT ROWID")
    for query in queries:
        db.execute(f"INSERT INTO temp.sla_found {query.sql}", query.params)


def _close_stopped(db: Database, policies: Policies, now_s: int, *, scope: str) -> int:
    """Open items (in scope) whose clock no longer runs: closed with the reply or solution that stopped them.
    An item whose clock runs in another thread (its message was re-threaded) moves there."""
    rows = db.execute(
        f"""SELECT id, thread_id, mailbox, kind, started, message, found FROM (
                SELECT i.id, i.thread_id, i.mailbox, i.kind, i.started, i.message,
                       (SELECT f.thread_id FROM temp.sla_found f
                        WHERE f.message = i.message AND f.mailbox = i.mailbox AND f.kind = i.kind) AS found
                FROM sla_items i WHERE i.closed_at IS NULL{scope})
            WHERE found IS NOT thread_id"""
    ).fetchall()
    db.conn.executemany("UPDATE sla_items SET thread_id = ? WHERE id = ?",
                        [(found, item_id) for item_id, *_, found in rows if found is not None])
    stopped = [row[:6] for row in rows if row[6] is None]
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
    later) or they had dropped out, which run again: open again (in the thread the clock runs in), with
    the alerts already sent kept."""
    return max(0, db.execute(
        """UPDATE sla_items SET closed_at = NULL, close_reason = NULL, closed_by = NULL, thread_id = (
               SELECT f.thread_id FROM temp.sla_found f
               WHERE f.message = sla_items.message AND f.mailbox = sla_items.mailbox AND f.kind = sla_items.kind)
           WHERE close_reason IN ('superseded', 'dropped') AND EXISTS (
               SELECT 1 FROM temp.sla_found f
               WHERE f.message = sla_items.message AND f.mailbox = sla_items.mailbox AND f.kind = sla_items.kind)"""
    ).rowcount)


def _open_new(db: Database, arms: list[tuple[str, list[Any]]], now_s: int) -> int:
    """Insert the new clocks of `arms` (see `_arm`), with their states at `now`.

    Several arms are merged by thread (each reads its summary table in thread order, so ORDER BY
    merges them and sorts nothing): rows go in in the order of `sla_items_open`, which every later
    pass over open items follows, and neighbours share pages (half the time of `update_states` on
    100,000 items). The order is only for speed: no result depends on it.
    """
    union = " UNION ALL ".join(sql for sql, _ in arms) + (" ORDER BY thread_id" if len(arms) > 1 else "")
    cursor = db.execute(
        f"""
        INSERT OR IGNORE INTO sla_items (message, thread_id, mailbox, kind, policy, started, warn_at, due_at,
                                         escalate_at, fingerprint, state, created_at)
        SELECT message, thread_id, mailbox, kind, policy, started, w, d, e, fingerprint,
               CASE WHEN :now >= e THEN 'escalated' WHEN :now >= d THEN 'breached'
                    WHEN :now >= w THEN 'warning' ELSE 'ok' END, :now
        FROM ({union})""",
        {"now": now_s, **{name: value for _, params in arms for name, value in params}},
    )
    return max(cursor.rowcount, 0)


def _arm(
    query: WaitingQuery, policies: Policies, groups: dict[tuple[str, str], int | None], *, known: bool
) -> tuple[str, list[tuple[str, Any]]]:
    """A SELECT of new items — (message, thread_id, mailbox, kind, policy, started, w, d, e, fingerprint)
    — from the clocks `query` finds, with each level's instant, and its named parameters.

    Calendar time is `started + seconds`. On a business calendar, an instant is `slope * started +
    offset` of the piece the start falls in (temp.sla_piece): an indexed lookup, no Python call (but
    outside the tabulated window, or on a calendar that cannot be tabulated, `mailroom_sla_add`).
    A query of one mailbox and kind gets its clock as constants; a mixed one joins temp.sla_clock.
    `known`: some clocks may already have items, skipped before any computing: an item is opened once per
    (message, mailbox, kind) — an open one is in the clock's thread (`sla_items_open`), a closed one is
    found by message (`sla_items_closed_message`); see migration m005. With no item at all, nothing is
    looked up.
    """
    tag = f"a{id(query)}"  # names of this arm's parameters
    params = [(f"{tag}_{n}", value) for n, value in enumerate(query.params)]
    sql = _named(query.sql, tag, len(query.params))
    levels = (("w", "warn", 0), ("d", "seconds", 1), ("e", "escalate", 2))
    if query.mailbox is not None and query.kind is not None:
        clock = policies.clock_for(query.mailbox, query.kind)
        assert clock is not None
        group = groups[(query.mailbox, query.kind)]
        params += [(f"{tag}_policy", clock.policy), (f"{tag}_fingerprint", clock.fingerprint)]
        policy, fingerprint = f":{tag}_policy", f":{tag}_fingerprint"
        if group is None:
            at = {level: f"q.started + {seconds}" for (level, _, _), seconds in zip(levels, _durations(clock),
                                                                                        strict=True)}
        else:
            at = {level: f"COALESCE(p.{level}s * q.started + p.{level}, mailroom_sla_add({group}, q.started, {n}))"
                  for level, _, n in levels}
        clock_join = "" if group is None else f"""LEFT JOIN temp.sla_piece p ON p.grp = {group} AND p.lo = (
            SELECT max(x.lo) FROM temp.sla_piece x WHERE x.grp = {group} AND x.lo <= q.started)"""
    else:
        policy, fingerprint = "k.policy", "k.fingerprint"
        at = {level: f"""CASE WHEN k.grp IS NULL THEN q.started + k.{column} ELSE
                         COALESCE(p.{level}s * q.started + p.{level}, mailroom_sla_add(k.grp, q.started, {n})) END"""
              for level, column, n in levels}
        clock_join = """JOIN temp.sla_clock k ON k.mailbox = q.mailbox AND k.kind = q.kind
            LEFT JOIN temp.sla_piece p ON p.grp = k.grp AND p.lo = (  -- no lookup at all when k.grp is NULL
                SELECT max(x.lo) FROM temp.sla_piece x WHERE x.grp = k.grp AND x.lo <= q.started)"""
    skip_known = ("WHERE NOT EXISTS (SELECT 1 FROM sla_items i WHERE i.thread_id = q.thread_id AND i.closed_at IS NULL"
                  " AND i.message = q.message AND i.mailbox = q.mailbox AND i.kind = q.kind)"
                  " AND NOT EXISTS (SELECT 1 FROM sla_items i WHERE i.message = q.message AND i.closed_at IS NOT NULL"
                  " AND i.mailbox = q.mailbox AND i.kind = q.kind)") if known else ""
    return (f"""SELECT q.message, q.thread_id, q.mailbox, q.kind, {policy} AS policy, q.started, {at["w"]} AS w,
                       {at["d"]} AS d, {at["e"]} AS e, {fingerprint} AS fingerprint
                FROM ({sql}) q {clock_join} {skip_known}""", params)


def _named(sql: str, tag: str, count: int) -> str:
    """`sql` with its `count` positional parameters (?) named :tag_0, :tag_1, … (so several queries
    go into one statement; the waiting queries hold no other question mark)."""
    parts = sql.split("?")
    assert len(parts) == count + 1, "a question mark in the text of a waiting query"
    return "".join(part + (f":{tag}_{n}" if n < count else "") for n, part in enumerate(parts))


def _clock_tables(db: Database, policies: Policies, now_s: int) -> dict[tuple[str, str], int | None]:
    """temp.sla_clock: what each mailbox and kind runs on (calendar time: its durations; business time:
    its group, one per calendar and durations), and temp.sla_piece: each group's linear pieces.

    The pieces cover PIECE_WINDOW_DAYS before `now` (whole days, so ticks of one day reuse them); a clock
    that started earlier or later, or on a calendar that cannot be tabulated, uses `mailroom_sla_add`.
    Returns each (mailbox, kind)'s group (None: calendar time)."""
    groups: dict[tuple[int, int, int, int], PolicyClock] = {}  # (calendar, durations) → a clock on it
    clocks = []
    group_of: dict[tuple[str, str], int | None] = {}
    for kind, mailbox, clock in _clocks_of(policies):
        group = None
        if not clock.calendar.always:
            key = (id(clock.calendar), clock.warn, clock.seconds, clock.escalate)
            groups.setdefault(key, clock)
            group = list(groups).index(key) + 1
        group_of[(mailbox, kind)] = group
        clocks.append((mailbox, kind, clock.policy, clock.fingerprint, *_durations(clock), group))
    db.execute("DROP TABLE IF EXISTS temp.sla_clock")
    db.execute("CREATE TEMP TABLE sla_clock (mailbox TEXT, kind TEXT, policy TEXT, fingerprint TEXT, warn INTEGER, "
               "seconds INTEGER, escalate INTEGER, grp INTEGER, PRIMARY KEY (mailbox, kind)) WITHOUT ROWID")
    db.conn.executemany("INSERT INTO temp.sla_clock VALUES (?, ?, ?, ?, ?, ?, ?, ?)", clocks)
    db.execute("DROP TABLE IF EXISTS temp.sla_piece")
    db.execute("CREATE TEMP TABLE sla_piece (grp INTEGER, lo INTEGER, ws INTEGER, w INTEGER, ds INTEGER, d INTEGER, "
               "es INTEGER, e INTEGER, PRIMARY KEY (grp, lo)) WITHOUT ROWID")
    day = 86400
    lo = (now_s // day - PIECE_WINDOW_DAYS) * day
    hi = (now_s // day + 2) * day - 1
    numbered = list(groups.values())
    for number, clock in enumerate(numbered, start=1):
        pieces = clock.calendar.pieces(lo, hi, (clock.warn, clock.seconds, clock.escalate))
        if pieces:
            rows: list[tuple[int | None, ...]] = [(number, *piece) for piece in pieces]
            rows.append((number, hi + 1, None, None, None, None, None, None))  # later starts: no piece
            db.conn.executemany("INSERT INTO temp.sla_piece VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def add(group: int, started: int, level: int) -> int:
        clock = numbered[group - 1]
        return clock.calendar.add(started, (clock.warn, clock.seconds, clock.escalate)[level])

    db.conn.create_function("mailroom_sla_add", 3, add, deterministic=True)
    return group_of


def _durations(clock: PolicyClock) -> tuple[int, int, int]:
    """The seconds after the start of each level, as `BusinessCalendar.add` counts them (none below 0)."""
    return max(clock.warn, 0), max(clock.seconds, 0), max(clock.escalate, 0)


def _clocks_of(policies: Policies) -> list[tuple[str, str, PolicyClock]]:
    return [(kind, mailbox, clock) for kind in KINDS for mailbox, clock in policies.mailboxes(kind).items()]


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

    def thread_states(self, thread_ids: list[int], now: datetime) -> dict[int, dict[str, str]]:
        """Per thread, its worst open item at `now` (state, kind, mailbox, due): one indexed query for
        just these threads, for /owner and handover briefs."""
        if not thread_ids:
            return {}
        marks = ", ".join("?" for _ in thread_ids)
        worst: dict[int, Item] = {}
        for item in select_items(self.db, now, f"i.closed_at IS NULL AND i.thread_id IN ({marks})", list(thread_ids)):
            if item.thread_id not in worst or item.rank > worst[item.thread_id].rank:
                worst[item.thread_id] = item
        return {
            thread_id: {"state": item.state, "kind": item.kind, "mailbox": item.mailbox,
                        "due": iso(datetime.fromtimestamp(item.due_at, tz=UTC))}
            for thread_id, item in worst.items()
        }

    def item(self, item_id: int, now: datetime) -> Item | None:
        item = get_item(self.db, item_id, now)
        if item is not None:
            attach_owners(self.db, self.directory, [item], now)
        return item
