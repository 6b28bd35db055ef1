"""Which clocks run: the SLA rules (bot/sla/engine.py) as set-wise SQL over the SLA's summary tables.

- first_response: `sla_open` holds, per thread and shared mailbox, the oldest customer message no
  human reply followed (kept by triggers, bot/sla/schema.py). Where that message is, or may be, a bare
  acknowledgement, or a clock was resolved by hand, the pair is worked out again from `sla_mail`.
- initial_solution: `sla_first`, the first customer message per thread and mailbox, unless a later
  human reply proposes a solution (keywords; remembered per reply in `sla_solutions`).

The text rules run in Python inside SQLite (bot/sla/text_rules.py `register_functions`). `find_waiting`
only reads; `_judge_acknowledgements` and `_solution_judge` remember text verdicts for evaluation.
"""

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlite_utils import Database

from bot.sla.policies import Policies, PolicyClock
from bot.sla.text_rules import has_solution, register_functions

SOLUTION_KEY = "sla.solution_keywords"
HUMAN_REPLY = "o.direction = 'outbound' AND o.auto_submitted = 0 AND o.is_bounce = 0 AND o.is_list = 0"
_RESOLVED = """EXISTS (SELECT 1 FROM sla_items x
                WHERE x.thread_id = o.thread_id AND x.mailbox = o.mailbox AND x.close_reason = 'resolved'
                  AND x.kind = 'first_response' AND x.closed_at >= o.at)"""
_IS_ACK = "EXISTS (SELECT 1 FROM messages a WHERE a.id = c.message AND mailroom_is_ack(a.body, a.from_name))"


class Waiting(NamedTuple):
    """A clock that runs now: the waiting customer message, its thread, mailbox, kind, start (epoch)."""

    message: int
    thread_id: int
    mailbox: str
    kind: str
    started: int


def _in_scope(alias: str, scoped: bool) -> str:
    """A WHERE condition (with its AND) keeping the rows of a summary table to the threads in scope.

    An IN list, not a join: joined to temp.sla_scope (no statistics) SQLite would build a Bloom
    filter over the whole summary table first, a full scan for an evaluation of a few threads."""
    return f"{alias}.thread_id IN (SELECT thread_id FROM temp.sla_scope) AND " if scoped else ""


class WaitingQuery(NamedTuple):
    """A SELECT whose rows are running clocks (message, thread_id, mailbox, kind, started), with its
    parameters; `mailbox` and `kind` when all its rows share them (None: mixed)."""

    sql: str
    params: list[Any]
    mailbox: str | None = None
    kind: str | None = None
    reads_items: bool = False  # reads sla_items (the clocks resolved by hand)


def _waiting_queries(
    policies: Policies, *, scoped: bool, resolved: bool, memo: bool = False, split: bool = False, note: bool = False
) -> list[WaitingQuery]:
    """The SELECTs (with their parameters) whose rows are every running clock: (message, thread_id,
    mailbox, kind, started). With `split`, the big ones go mailbox by mailbox (each reads its summary
    table once more, but its rows need not carry their mailbox and kind).

    First response: `sla_open` holds, per thread and mailbox, the oldest message no human reply
    followed. Where that message is (or may be) a bare acknowledgement, or a clock was resolved by
    hand (`resolved`), the thread and mailbox are worked out again from `sla_mail` row by row.
    Initial solution: `sla_first`, unless a later human reply proposes a solution (with `memo`, as
    remembered in `sla_solutions` where judged already; with `note`, replies judged now are noted by
    `mailroom_judge_solution`, see `_solution_judge`).
    """
    queries: list[WaitingQuery] = []
    first = list(policies.mailboxes("first_response"))
    if first:
        marks = ", ".join("?" for _ in first)
        special = f"o.maybe_ack <> 0 OR {_RESOLVED}" if resolved else "o.maybe_ack <> 0"
        for boxes in ([[m] for m in first] if split else [first]):
            queries.append(WaitingQuery(f"""
            SELECT o.message, o.thread_id, o.mailbox, 'first_response' AS kind, o.at AS started
            FROM sla_open o
            WHERE {_in_scope("o", scoped)}o.mailbox IN ({", ".join("?" for _ in boxes)}) AND NOT ({special})""", boxes,
                                        boxes[0] if split else None, "first_response"))
        queries.append(WaitingQuery(f"""
            WITH x AS MATERIALIZED (
                SELECT o.thread_id, o.mailbox FROM sla_open o
                WHERE {_in_scope("o", scoped)}o.mailbox IN ({marks}) AND ({special})
            )
            SELECT c.message, c.thread_id, c.mailbox, 'first_response' AS kind, min(c.at) AS started
            FROM x CROSS JOIN sla_mail c ON c.thread_id = x.thread_id AND c.mailbox = x.mailbox
            WHERE NOT EXISTS (
                  SELECT 1 FROM sla_mail r WHERE r.thread_id = c.thread_id AND r.mailbox = '' AND r.at >= c.at)
              AND NOT EXISTS (
                  SELECT 1 FROM sla_items y
                  WHERE y.thread_id = c.thread_id AND y.mailbox = c.mailbox AND y.close_reason = 'resolved'
                    AND y.kind = 'first_response' AND y.closed_at >= c.at)
              AND NOT (c.maybe_ack = 2 OR (c.maybe_ack = 1 AND {_IS_ACK}))
            GROUP BY c.thread_id, c.mailbox""", first, None, "first_response", True))
    by_policy: dict[PolicyClock, list[str]] = defaultdict(list)
    for mailbox, clock in policies.mailboxes("initial_solution").items():
        by_policy[clock].append(mailbox)
    for clock, mailboxes in by_policy.items():
        judge, keywords = (("mailroom_judge_solution(r.message, m.subject, m.body)", []) if note else
                           ("mailroom_has_solution(m.subject, m.body, ?)", [json.dumps(clock.keywords)]))
        for boxes in ([[m] for m in mailboxes] if split else [mailboxes]):
            queries.append(WaitingQuery(f"""
            SELECT f.message, f.thread_id, f.mailbox, 'initial_solution' AS kind, f.at AS started
            FROM sla_first f
            WHERE {_in_scope("f", scoped)}f.mailbox IN ({", ".join("?" for _ in boxes)}) AND NOT EXISTS (
                SELECT 1 FROM sla_mail r
                WHERE r.thread_id = f.thread_id AND r.mailbox = '' AND r.at >= f.at
                  AND COALESCE(CASE WHEN ? THEN (SELECT v.solution FROM sla_solutions v WHERE v.message = r.message) END,
                      (SELECT {judge} FROM messages m WHERE m.id = r.message)))""",
                                        [*boxes, int(memo), *keywords], boxes[0] if split else None,
                                        "initial_solution"))
    return queries


def _keywords_fingerprint(policies: Policies) -> str | None:
    """The one keyword list of every initial-solution policy, as a fingerprint (None: several lists, or none)."""
    lists = {clock.keywords for clock in policies.clocks.values() if clock.kind == "initial_solution"}
    if len(lists) != 1:
        return None
    return hashlib.sha256(json.dumps(sorted(next(iter(lists)))).encode()).hexdigest()[:16]


def _memo_valid(db: Database, policies: Policies) -> bool:
    """Whether `sla_solutions` holds verdicts on the policies' keywords (reads only)."""
    fingerprint = _keywords_fingerprint(policies)
    stored = db.execute("SELECT value FROM meta WHERE key = ?", [SOLUTION_KEY]).fetchone()
    return fingerprint is not None and stored is not None and stored[0] == fingerprint


def _solution_memo(db: Database, policies: Policies) -> bool:
    """Whether `sla_solutions` can hold valid verdicts: only while every policy uses one keyword list.

    When that list changes, the remembered verdicts are forgotten and judged again.
    """
    fingerprint = _keywords_fingerprint(policies)
    if fingerprint is None:
        return False
    stored = db.execute("SELECT value FROM meta WHERE key = ?", [SOLUTION_KEY]).fetchone()
    if stored is None or stored[0] != fingerprint:
        db.execute("DELETE FROM sla_solutions")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [SOLUTION_KEY, fingerprint])
    return True


def _solution_judge(db: Database, policies: Policies) -> list[int] | None:
    """Verdicts to remember: the list `mailroom_judge_solution` notes each reply it judges in (as
    `mailroom_has_solution` would), for `_remember_solutions` once the clocks are found; each as one
    integer, `message * 2 + verdict`, so they go in as one JSON array.

    Judged while finding the clocks, not in a pass of their own before: each after-sales thread and
    its replies are read once (a first evaluation of 100,000 threads: a fifth less time). Only replies
    that can stop a clock are judged: at or after the thread's first customer message in an after-sales
    mailbox, up to the first solution. None: no memo (policies with different keyword lists).
    """
    if not policies.mailboxes("initial_solution") or not _solution_memo(db, policies):
        return None
    keywords = next(c.keywords for c in policies.clocks.values() if c.kind == "initial_solution")
    verdicts: list[int] = []

    def judge(message: int, subject: str | None, body: str | None) -> int:
        verdict = int(has_solution(subject, body, keywords))
        verdicts.append(message * 2 + verdict)
        return verdict

    db.conn.create_function("mailroom_judge_solution", 3, judge)  # not deterministic: it notes what it judged
    return verdicts


def _remember_solutions(db: Database, verdicts: list[int] | None) -> None:
    """The verdicts `_solution_judge` noted, in one statement (a first evaluation of 100,000 threads notes
    21,666: 4 ms, against 18 ms for an executemany)."""
    if verdicts:
        db.execute("INSERT OR IGNORE INTO sla_solutions (message, solution) SELECT value >> 1, value & 1 "
                   "FROM json_each(?)", [json.dumps(verdicts)])
        verdicts.clear()


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
    memo = _memo_valid(db, policies)
    for query in _waiting_queries(policies, scoped=scoped, resolved=_any_resolved(db), memo=memo):
        found.extend(map(Waiting._make, db.execute(query.sql, query.params)))
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


def first_responses_by(
    db: Database, mailboxes: list[str], since: datetime, until: datetime
) -> list[tuple[str, int, int, str | None]]:
    """`first_responses` with who gave each: (mailbox, waiting since, answered at, the reply's `person_id`
    or None) — the report's per-person figures, over periods of months.

    The same rule read the other way round: the human replies of the period straight from `sla_mail` (one
    pass over it, where `first_responses` looks the period's threads up by date: cheaper for a day or a
    week, not for 90 days of 100,000 threads), each with the reply before it in its thread.
    (tests/unit/test_report_figures.py checks both give the same answers.)"""
    if not mailboxes:
        return []
    register_functions(db.conn)
    marks = ", ".join("?" for _ in mailboxes)
    sql = f"""
        SELECT c.mailbox, min(c.at), r.at, (SELECT o.person_id FROM messages o WHERE o.id = r.message)
        FROM (SELECT r.thread_id, r.at, r.message,
                     (SELECT max(p.at) FROM sla_mail p
                      WHERE p.thread_id = r.thread_id AND p.mailbox = '' AND p.at < r.at) AS prev
              FROM sla_mail r WHERE r.mailbox = '' AND r.at >= ? AND r.at < ?) r
        JOIN sla_mail c ON c.thread_id = r.thread_id AND c.mailbox IN ({marks}) AND c.at <= r.at
                       AND (r.prev IS NULL OR c.at > r.prev)
        WHERE NOT (c.maybe_ack = 2 OR (c.maybe_ack = 1 AND {_IS_ACK}))
        GROUP BY r.thread_id, r.at, c.mailbox
    """
    params = [int(since.timestamp()), int(until.timestamp()), *mailboxes]
    return [(mailbox, started, replied, person) for mailbox, started, replied, person in db.execute(sql, params)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _judge_acknowledgements(db: Database, *, scoped: bool) -> None:
    """Decide once, and remember, whether an oldest unreplied message is a bare acknowledgement (2) or
    not (0). Only those: an acknowledgement further down a thread never decides anything."""
    scope = " AND thread_id IN (SELECT thread_id FROM temp.sla_scope)" if scoped else ""
    db.execute(
        "UPDATE sla_mail SET maybe_ack = CASE WHEN EXISTS (SELECT 1 FROM messages a WHERE a.id = sla_mail.message"
        " AND mailroom_is_ack(a.body, a.from_name)) THEN 2 ELSE 0 END"
        f" WHERE (thread_id, mailbox, at, message) IN (SELECT thread_id, mailbox, at, message FROM sla_open"
        f" WHERE maybe_ack <> 0 AND maybe_ack = 1{scope})"  # (the first term: the partial index sla_open_second_look)
    )
