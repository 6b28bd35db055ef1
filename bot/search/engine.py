"""Running a query: correct typos, build the FTS5 expression and filters, rank, cut snippets.

Speed at a million messages comes from two choices, both measured (bench/search_bench.py):

1. Candidates are read newest first and only the newest WINDOW visible matches are ranked. FTS5
   walks its doclists in rowid (= message id) order and stops at LIMIT, so a word in half the archive
   costs a millisecond, not the second a full sort of its 500,000 matches takes. When a query has fewer
   matches than WINDOW — nearly every specific query — every match is ranked.
2. Ranking is ours, not FTS5's bm25(): bm25 first counts every document of every phrase in the query
   over the whole index (its IDF), 20–150 ms for common words and synonym groups, whatever the LIMIT.
   Instead each clause's rarity is estimated on a fixed recent slice of the index, and each candidate
   scores, per clause, by the best field it matched in (subject > sender/customer/attachment names >
   body), plus a bonus when the typed words appear as a phrase, plus a little recency.

A deadline bounds the rare worst case (a common word under a very selective filter): once
MIN_CANDIDATES rows are in, reading stops at SOFT_DEADLINE; at HARD_DEADLINE it stops regardless and
the reply says the ranking covered only the newest matches. The number of rows read is kept with the
session, so `/search more` pages through exactly the same candidates.
"""

import itertools
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.permissions import Permissions
from bot.search.filters import Conditions, CustomerNames, compile_filters
from bot.search.indexer import INLINE_CATCH_UP, SearchIndex
from bot.search.query import (
    Alternative,
    Clause,
    ParsedQuery,
    QueryError,
    build_clauses,
    column_filter,
    correctable,
    fts_expression,
    parse_query,
)
from bot.search.rights import read_scope
from bot.search.snippets import Finder, highlighter, snippet
from bot.search.synonyms import Synonyms
from bot.search.text import normalize
from bot.search.typos import Vocabulary
from bot.store.db import write_transaction

WINDOW = 1000
MIN_CANDIDATES = 100
SOFT_DEADLINE = 0.06
HARD_DEADLINE = 0.3
SLICE = 5_000
"""Clause rarity is estimated on the newest SLICE messages of the index (only when a query has several
clauses: with one, rarity cannot change the order)."""
SUBJECT, META, OTHER = 4.0, 2.0, 1.0
"""Weight of a clause found in the subject; in sender, customer or attachment names; elsewhere."""
PHRASE_BONUS = 2.0
RECENCY = 0.5
RARE = 3
"""A word in at most this many messages is 'rare': a far more common near-spelling is added."""
MAX_COMBINATIONS = 27
_FIELDS = ", m.subject, m.from_name, m.from_addr, m.customer_id, m.attachments"


@dataclass
class Hit:
    id: int
    message_id: str
    subject: str
    sender: str
    from_addr: str
    date: str | None
    mailboxes: list[str]
    customer: str | None
    category: str | None
    score: float
    snippet: str
    attachments: list[str]

    def as_data(self) -> dict[str, object]:
        return {
            "id": self.id, "message_id": self.message_id, "subject": self.subject, "from": self.from_addr,
            "from_name": self.sender, "date": self.date, "mailboxes": self.mailboxes, "customer": self.customer,
            "category": self.category, "score": self.score, "snippet": self.snippet, "attachments": self.attachments,
        }


@dataclass
class Result:
    query: str
    page: int
    page_size: int
    hits: list[Hit]
    matched: int
    """Candidates ranked (all visible matches when `complete`)."""
    complete: bool
    scanned: int
    corrections: dict[str, str] = field(default_factory=dict)
    expression: str = ""
    timed_out: bool = False

    @property
    def more(self) -> bool:
        return self.page * self.page_size < self.matched


@dataclass
class Plan:
    parsed: ParsedQuery
    clauses: list[Clause]
    expression: str
    conditions: Conditions
    scope: list[str] | None
    corrections: dict[str, str]

    @property
    def positive(self) -> list[Clause]:
        return [c for c in self.clauses if not c.negated]


class Deadline(Exception):
    """Reading candidates took too long; the rows read so far are used."""


class SearchEngine:
    def __init__(self, db: Database, directory: Directory, permissions: Permissions, index: SearchIndex,
                 synonyms: Synonyms):
        self.db = db
        self.directory = directory
        self.permissions = permissions
        self.index = index
        self.synonyms = synonyms
        self.vocabulary = Vocabulary(db)
        self.customers = CustomerNames(db)
        self._rarity: dict[str, tuple[int, float]] = {}

    # -- public --------------------------------------------------------------------------------
    def search(self, text: str, person: Person, *, now: datetime, page: int = 1, page_size: int = 10,
               scanned: int | None = None) -> Result:
        """One page of hits, best first. `scanned` repeats an earlier page's candidate set."""
        plan = self.plan(text, person, now=now)
        fields: dict[int, tuple[str, str]] = {}
        if scanned is None:
            ids, complete, timed_out = self._window(plan, limit=WINDOW, floor=max(MIN_CANDIDATES, page * page_size),
                                                    fields=fields)
        else:  # the same newest `scanned` candidates as before (one more row tells whether that was all)
            ids, complete, timed_out = self._window(plan, limit=scanned + 1, floor=None, fields=fields)
            ids = ids[:scanned]
        scores = self._rank(plan, ids, fields)
        ranked = sorted(ids, key=lambda pk: (-scores[pk], -pk))
        start = (page - 1) * page_size
        page_ids = ranked[start : start + page_size]
        hits = self._hits([(pk, scores[pk]) for pk in page_ids], plan)
        return Result(query=text, page=page, page_size=page_size, hits=hits, matched=len(ids), complete=complete,
                      scanned=len(ids), corrections=plan.corrections, expression=plan.expression,
                      timed_out=timed_out)

    def match_ids(self, text: str, person: Person, *, now: datetime, limit: int) -> list[int]:
        """Every visible match, newest first, at most `limit` (no deadline): for export and recall."""
        plan = self.plan(text, person, now=now)
        ids, _complete, _timed_out = self._window(plan, limit=limit, floor=None)
        return ids

    def plan(self, text: str, person: Person, *, now: datetime) -> Plan:
        self._ensure_indexed()
        parsed = parse_query(text)
        filters = parsed.filters
        column_filters = []
        if filters.sender:
            column_filters.append(column_filter("sender", self._people_values(filters.sender)))
        if filters.recipient:
            column_filters.append(column_filter("recipients", self._people_values(filters.recipient)))
        clauses = build_clauses(parsed, self.synonyms)
        if not any(not c.negated for c in clauses) and any(c.negated for c in clauses) and not column_filters:
            raise QueryError("a query needs at least one word to look for besides the -excluded ones")
        corrections = self._corrections(parsed, clauses, column_filters)
        if corrections:
            clauses = build_clauses(parsed, self.synonyms, corrections)
            for clause in clauses:
                original = next((w for w, c in corrections.items() if c == clause.raw), None)
                if original and self._count(f'"{original}"', 1):
                    clause.alternatives.append(Alternative(original, highlight=original))
        expression = fts_expression(clauses, column_filters)
        conditions = compile_filters(filters, customers=self.customers, directory=self.directory, now=now, db=self.db)
        if not expression and not conditions.any:
            raise QueryError("nothing to search for: give words, a \"phrase\" or a filter such as mailbox:order")
        return Plan(parsed, clauses, expression, conditions, read_scope(self.permissions, person), corrections)

    # -- candidates ----------------------------------------------------------------------------
    def _window(self, plan: Plan, *, limit: int, floor: int | None,
                fields: dict[int, tuple[str, str]] | None = None) -> tuple[list[int], bool, bool]:
        """Ids of the newest `limit` visible matches: (ids, complete, timed out). With `fields`, also
        each candidate's subject and short fields for ranking, read in the same pass."""
        cond = plan.conditions
        if cond.empty:
            return [], True, False
        id_expr = "search_fts.rowid" if plan.expression else "m.id"
        where, params = cond.sql(id_expr, fts=bool(plan.expression))
        if plan.scope is not None:
            marks = ", ".join("?" for _ in plan.scope)
            where.append(f"EXISTS (SELECT 1 FROM sightings s WHERE s.message = {id_expr} AND s.mailbox IN ({marks}))")
            params.extend(plan.scope)
        if plan.expression:
            if cond.id_low is not None:
                where.append("search_fts.rowid >= ?")
                params.append(cond.id_low)
            if cond.id_high is not None:
                where.append("search_fts.rowid <= ?")
                params.append(cond.id_high)
            wanted = fields is not None or cond.needs_message
            join = " CROSS JOIN messages m ON m.id = search_fts.rowid" if wanted else ""
            sql = (f"SELECT search_fts.rowid{_FIELDS if fields is not None else ''} FROM search_fts{join} "
                   f"WHERE search_fts MATCH ?{''.join(' AND ' + w for w in where)} "
                   "ORDER BY search_fts.rowid DESC LIMIT ?")
            params = [plan.expression, *params, limit]
        else:
            # newest by id, as on the FTS path; it also lets a customer's id list drive the query
            sql = (f"SELECT m.id{_FIELDS if fields is not None else ''} FROM messages m WHERE {' AND '.join(where)} "
                   "ORDER BY m.id DESC LIMIT ?")
            params = [*params, limit]
        rows: list[int] = []
        names = self.customers.names() if fields is not None else {}
        try:
            with self._deadline(rows, floor):
                cursor = self.db.execute(sql, params)
                while chunk := cursor.fetchmany(50):
                    for row in chunk:
                        rows.append(row[0])
                        if fields is not None:
                            pk, subject, from_name, from_addr, customer_id, attachments = row
                            meta = f"{from_name} {from_addr} {names.get(customer_id, '')} {attachments}"
                            fields[pk] = (subject or "", meta)
        except Deadline:
            return rows, False, True
        return rows, len(rows) < limit, False

    @contextmanager
    def _deadline(self, rows: list[int], floor: int | None) -> Iterator[None]:
        """Interrupt the running statement when time is up (never when `floor` is None)."""
        if floor is None:
            yield
            return
        started = time.perf_counter()
        owner = threading.get_ident()

        def check() -> int:
            if threading.get_ident() != owner:
                return 0
            elapsed = time.perf_counter() - started
            return int(elapsed > HARD_DEADLINE or (elapsed > SOFT_DEADLINE and len(rows) >= floor))

        self.db.conn.set_progress_handler(check, 2000)
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
            raise Deadline() from None
        finally:
            self.db.conn.set_progress_handler(None, 0)

    # -- ranking -------------------------------------------------------------------------------
    def _rank(self, plan: Plan, ids: list[int], fields: dict[int, tuple[str, str]]) -> dict[int, float]:
        """Score each candidate: per clause, rarity × the weight of the best field it was found in.

        Subject and the short fields (read with the candidates) are tested with the same case- and
        accent-folding patterns that highlight snippets; the body is where a clause must be when it is
        in neither (every candidate matched every clause somewhere)."""
        scores = dict.fromkeys(ids, 0.0)
        if not ids:
            return scores
        low, high = min(ids), max(ids)
        span = max(high - low, 1)
        for pk in ids:
            scores[pk] = RECENCY * (pk - low) / span
        if len(ids) == 1 or not plan.positive:
            return scores
        several = len(plan.positive) > 1
        for clause in plan.positive:
            weight = self._rarity_of(clause.fts()) if several else 1.0
            finder = Finder([a.highlight for a in clause.alternatives])
            if finder.pattern is None:
                continue
            for pk in ids:
                subject, meta = fields.get(pk, ("", ""))
                place = SUBJECT if finder.found_in(subject) else META if finder.found_in(meta) else OTHER
                scores[pk] += weight * place
        words = [c for c in plan.positive if c.kind in ("word", "group", "code") and " " not in c.alternatives[0].text]
        if len(words) >= 2:
            bonus = PHRASE_BONUS * len(words)
            typed = " ".join(c.alternatives[0].text for c in words)
            if span <= 20 * len(ids):  # a dense window: one FTS query over its id range finds the phrase anywhere
                found = self._ids_within('"' + typed.replace('"', '""') + '"', low, high)
            else:
                pattern = highlighter([typed])
                found = {pk for pk, (subject, _meta) in fields.items() if pattern and pattern.search(subject)}
            for pk in found & set(ids):
                scores[pk] += bonus
        return {pk: round(score, 4) for pk, score in scores.items()}

    def _rarity_of(self, expression: str) -> float:
        """ln(1 + n / (matches + 0.5)) over the newest n (≤ SLICE) messages; cached per index size."""
        watermark = self.index.watermark()
        cached = self._rarity.get(expression)
        if cached and cached[0] == watermark:
            return cached[1]
        first = max(0, watermark - SLICE)
        rows: list[int] = []
        try:
            with self._deadline(rows, 0):
                hits = self._count(expression, SLICE, after=first)
            value = math.log(1 + (watermark - first) / (hits + 0.5))
        except Deadline:  # a phrase of very common words: too slow to count, so not rare
            value = 1.0
        if len(self._rarity) > 2000:
            self._rarity.clear()
        self._rarity[expression] = (watermark, value)
        return value

    def _ids_within(self, expression: str, low: int, high: int) -> set[int]:
        rows: list[int] = []
        try:
            with self._deadline(rows, 0):
                cursor = self.db.execute(
                    "SELECT rowid FROM search_fts WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ?",
                    [expression, low, high])
                while chunk := cursor.fetchmany(200):
                    rows.extend(r[0] for r in chunk)
        except Deadline:
            pass
        return set(rows)

    def _count(self, expression: str, cap: int, *, after: int = 0) -> int:
        try:
            sql = "SELECT count(*) FROM (SELECT rowid FROM search_fts WHERE search_fts MATCH ? AND rowid > ? LIMIT ?)"
            return int(self.db.execute(sql, [expression, after, cap]).fetchone()[0])
        except sqlite3.OperationalError as exc:  # an odd token made a bad expression: treat as absent
            if "interrupt" in str(exc):
                raise
            return 0

    # -- typo correction -----------------------------------------------------------------------
    def _corrections(self, parsed: ParsedQuery, clauses: list[Clause], column_filters: list[str]) -> dict[str, str]:
        """Misspelled words → their most likely spelling; with several, the combination finding most mail."""
        options: dict[str, list[str]] = {}
        plain = {c.raw: c for c in clauses if c.kind == "word" and not c.negated}
        for word in parsed.words:
            clause = plain.get(normalize(word))
            if clause is None or not correctable(word):
                continue
            key = clause.alternatives[0].text
            df = self._count(f'"{key}"', RARE + 1)
            if df > RARE:
                continue
            self.vocabulary.ensure(self.index.watermark())
            found = self.vocabulary.candidates(key, frequent_only=bool(df))
            if df:  # a rare word that exists: only a far more common near-spelling joins it
                found = [c for c in found if c.distance == 1 and c.df >= 20 * df]
            if found:
                options[word] = [c.term for c in found]
        if not options:
            return {}
        words = list(options)
        combos = list(itertools.islice(itertools.product(*(options[w] for w in words)), MAX_COMBINATIONS))
        if len(combos) == 1 or len(clauses) + len(column_filters) == 1:
            return dict(zip(words, combos[0], strict=True))  # no context to choose by: the most frequent
        best, best_count = combos[0], -1
        for combo in combos:
            trial = build_clauses(parsed, self.synonyms, dict(zip(words, combo, strict=True)))
            count = self._count(fts_expression(trial, column_filters), 30)
            if count > best_count:
                best, best_count = combo, count
        return dict(zip(words, best, strict=True))

    # -- hits ----------------------------------------------------------------------------------
    def _hits(self, rows: list[tuple[int, float]], plan: Plan) -> list[Hit]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        marks = ", ".join("?" for _ in ids)
        details = {
            r[0]: r
            for r in self.db.execute(
                f"""SELECT m.id, m.message_id, m.subject, m.from_name, m.from_addr, m.date, m.category,
                           c.name, m.body, m.attachments
                    FROM messages m LEFT JOIN customers c ON c.id = m.customer_id WHERE m.id IN ({marks})""",
                ids,
            )
        }
        seen: dict[int, list[str]] = {}
        for message, mailbox in self.db.execute(
            f"SELECT DISTINCT message, mailbox FROM sightings WHERE message IN ({marks}) ORDER BY mailbox", ids
        ):
            seen.setdefault(message, []).append(mailbox)
        pattern = highlighter([a.highlight for c in plan.positive for a in c.alternatives])
        hits: list[Hit] = []
        for pk, score in rows:
            row = details.get(pk)
            if row is None:
                continue
            _pk, message_id, subject, from_name, from_addr, date, category, customer, body, attachments = row
            boxes = [b for b in seen.get(pk, []) if b and (plan.scope is None or b in plan.scope)]
            hits.append(Hit(
                id=pk, message_id=message_id, subject=subject, sender=from_name, from_addr=from_addr, date=date,
                mailboxes=boxes, customer=customer, category=category, score=score, snippet=snippet(body, pattern),
                attachments=_names(attachments),
            ))
        return hits

    # -- helpers -------------------------------------------------------------------------------
    def _people_values(self, values: list[str]) -> list[str]:
        """from:/to: values as the index holds them, avoiding tokens every mail of ours has.

        A person of ours (from:amy, from:boss) → their address's local part and their name; one of our
        own addresses → its local part (the organisation's domain is in every internal address and
        would make the filter read half the index); anything else as typed."""
        org_domains = self.directory.org_domains
        out: list[str] = []
        for value in values:
            person = self.directory.find_person(value)
            if person is not None:
                out.extend([person.email.split("@")[0], person.name])
            elif "@" in value and value.rpartition("@")[2].lower() in org_domains:
                out.append(value.split("@")[0])
            else:
                out.append(value)
        return out

    def _ensure_indexed(self) -> None:
        backlog = self.index.backlog()
        if not backlog:
            return
        if backlog > INLINE_CATCH_UP:
            raise QueryError(f"the search index is {backlog} messages behind: run `mailroom reindex` first")
        with write_transaction(self.db):
            self.index.catch_up()


def _names(attachments_json: str) -> list[str]:
    try:
        items = json.loads(attachments_json or "[]")
    except ValueError:
        return []
    return [str(a.get("name") or "") for a in items if isinstance(a, dict) and a.get("name")]
