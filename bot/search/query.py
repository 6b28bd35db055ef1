"""The query language: words, "exact phrases", document numbers, synonyms, -exclusions and filters.

    PO 4521 valve mailbox:order after:2026-01-01
    "packing list" customer:acme has:attachment
    发票 from:amy -draft

A query is lexed once (`parse_query`) and turned into clauses (`build_clauses`); each clause is a set of
alternatives (OR), clauses are ANDed. The FTS5 expression is assembled only from prepared tokens, each
inside double quotes, so nothing a person types can change the expression's structure.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.core.errors import CommandError
from bot.search.synonyms import Synonyms, synonym_key
from bot.search.text import CJK_RUN, IS_CJK, cjk_query_tokens, normalize

FILTER_KEYS = ("mailbox", "from", "to", "customer", "category", "after", "before", "has", "in")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "「": '"', "」": '"', "『": '"', "』": '"', "＂": '"'})
_LEX = re.compile(
    r"""(?P<neg>-(?=\S))?
        (?:
            (?P<key>[A-Za-z]+):(?P<val>"[^"]*"?|[^\s"]+)
          | "(?P<phrase>[^"]*)"?
          | (?P<word>[^\s"]+)
        )""",
    re.VERBOSE,
)
_DIGIT = re.compile(r"\d")
_CODE_SPLIT = re.compile(r"^([A-Za-z]{1,6})[-#_.]?(\d{2,})$")
_CORRECTABLE = re.compile(r"^[^\W\d_]{3,24}$")
_WORDCHAR = re.compile(r"\w")

ClauseKind = Literal["word", "phrase", "code", "cjk", "group", "prefix"]


@dataclass(frozen=True)
class Alternative:
    """One way a clause may match: a phrase of prepared text (maybe with its last token a prefix)."""

    text: str
    prefix: bool = False
    highlight: str = ""

    def fts(self) -> str:
        quoted = '"' + self.text.replace('"', '""') + '"'
        return f"{quoted} *" if self.prefix else quoted


@dataclass
class Clause:
    kind: ClauseKind
    raw: str
    alternatives: list[Alternative]
    negated: bool = False

    def fts(self) -> str:
        parts = [a.fts() for a in self.alternatives]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


@dataclass
class Filters:
    mailbox: list[str] = field(default_factory=list)
    sender: list[str] = field(default_factory=list)
    recipient: list[str] = field(default_factory=list)
    customer: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    after: str | None = None
    before: str | None = None
    has: list[str] = field(default_factory=list)
    folder: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return any([self.mailbox, self.sender, self.recipient, self.customer, self.category, self.after,
                    self.before, self.has, self.folder])


@dataclass
class Item:
    """One lexed piece of the query."""

    kind: Literal["word", "phrase", "or"]
    text: str
    negated: bool = False


@dataclass
class ParsedQuery:
    text: str
    items: list[Item]
    filters: Filters

    @property
    def words(self) -> list[str]:
        return [i.text for i in self.items if i.kind == "word" and not i.negated]


def parse_query(text: str) -> ParsedQuery:
    """Lex the query; filters are collected, everything else stays in order."""
    text = text.translate(_QUOTES).strip()
    items: list[Item] = []
    filters = Filters()
    for match in _LEX.finditer(text):
        negated = bool(match.group("neg"))
        key = (match.group("key") or "").lower()
        if key:
            value = match.group("val").strip('"')
            if key in FILTER_KEYS:
                if negated:
                    raise QueryError(f"-{key}: is not supported; filters can only include")
                if value:
                    _add_filter(filters, key, value)
                continue
            items.append(Item("word", f"{match.group('key')}:{value}", negated))
        elif match.group("phrase") is not None:
            if match.group("phrase").strip():
                items.append(Item("phrase", match.group("phrase"), negated))
        else:
            word = match.group("word")
            if word == "OR" and not negated:
                items.append(Item("or", word))
            else:
                items.append(Item("word", word, negated))
    return ParsedQuery(text=text, items=items, filters=filters)


class QueryError(CommandError):
    """The query cannot be understood; the message says why."""

    def __init__(self, message: str):
        super().__init__(message, code="bad_query")


def _add_filter(filters: Filters, key: str, value: str) -> None:
    if key == "mailbox":
        filters.mailbox.append(value)
    elif key == "from":
        filters.sender.append(value)
    elif key == "to":
        filters.recipient.append(value)
    elif key == "customer":
        filters.customer.append(value)
    elif key == "category":
        filters.category.append(value.lower())
    elif key == "after":
        filters.after = value
    elif key == "before":
        filters.before = value
    elif key == "has":
        filters.has.append(value.lower())
    elif key == "in":
        filters.folder.append(value.lower())


def build_clauses(parsed: ParsedQuery, synonyms: Synonyms, corrections: dict[str, str] | None = None) -> list[Clause]:
    """Clauses in query order; `corrections` replaces misspelled words before synonyms are matched."""
    corrections = corrections or {}
    clauses: list[Clause] = []
    pending_or = False
    run: list[str] = []

    def flush_run() -> None:
        nonlocal pending_or
        index = 0
        while index < len(run):
            found = synonyms.match(run, index)
            if found:
                size, group = found
                raw = " ".join(run[index : index + size])
                alts = _dedupe([alt for member in group for alt in phrase_alternatives(member)])
                _append(Clause("group", raw, alts))
                index += size
                continue
            for clause in word_clauses(run[index]):
                _append(clause)
            index += 1
        run.clear()

    def _append(clause: Clause) -> None:
        nonlocal pending_or
        if pending_or and clauses and not clauses[-1].negated and not clause.negated:
            last = clauses[-1]
            clauses[-1] = Clause("group", f"{last.raw} OR {clause.raw}",
                                 _dedupe(last.alternatives + clause.alternatives))
        else:
            clauses.append(clause)
        pending_or = False

    for item in parsed.items:
        if item.kind == "word" and not item.negated:
            run.append(corrections.get(item.text, item.text))
            continue
        flush_run()
        if item.kind == "or":
            pending_or = bool(clauses)
        elif item.kind == "phrase":
            alts = phrase_alternatives(item.text)
            if alts:
                _append(Clause("phrase", item.text, alts, negated=item.negated))
        else:
            for clause in word_clauses(item.text):
                clause.negated = item.negated
                _append(clause)
    flush_run()
    return clauses


def word_clauses(word: str) -> list[Clause]:
    """One typed word → clauses: CJK runs, document numbers, prefixes and plain words."""
    word = normalize(word)
    if IS_CJK.search(word):
        clauses: list[Clause] = []
        position = 0
        for match in CJK_RUN.finditer(word):
            clauses.extend(word_clauses(word[position : match.start()]))
            clauses.append(Clause("cjk", match.group(), phrase_alternatives(match.group())))
            position = match.end()
        clauses.extend(word_clauses(word[position:]))
        return clauses
    if not _WORDCHAR.search(word):
        return []
    if word.endswith("*") and len(word.rstrip("*")) >= 2:
        stem = word.rstrip("*")
        return [Clause("prefix", word, [Alternative(synonym_key(stem), prefix=True, highlight=synonym_key(stem))])]
    if _DIGIT.search(word):
        stripped = word.strip(".,;:!?()[]<>'#")
        key = synonym_key(stripped)
        alts = [Alternative(key, highlight=key)]
        split = _CODE_SPLIT.match(stripped)
        if split:
            letters, digits = split.group(1).lower(), split.group(2)
            for text in (f"{letters}{digits}", f"{letters} {digits}"):
                alts.append(Alternative(text, highlight=text))
        return [Clause("code", word, _dedupe(alts))]
    key = synonym_key(word)
    return [Clause("word", word, [Alternative(key, highlight=key)])]


def phrase_alternatives(text: str) -> list[Alternative]:
    """A phrase (or a synonym member) as one alternative, CJK runs written as the index writes them."""
    text = normalize(text)
    pieces: list[str] = []
    runs = list(CJK_RUN.finditer(text))
    position = 0
    prefix = False
    for number, match in enumerate(runs):
        pieces.append(text[position : match.start()])
        tokens = cjk_query_tokens(match.group())
        is_last = number == len(runs) - 1 and not _WORDCHAR.search(text[match.end() :])
        if not is_last and len(match.group()) > 1:
            tokens.append(match.group()[-1])  # the index ends every run with its last character
        if is_last and len(match.group()) == 1:
            prefix = True  # one character at the end: the index has it only as the start of a bigram
        pieces.append(" " + " ".join(tokens) + " ")
        position = match.end()
    pieces.append(text[position:])
    prepared = " ".join("".join(pieces).split())
    if not _WORDCHAR.search(prepared):
        return []
    return [Alternative(prepared, prefix=prefix, highlight=synonym_key(text) if not runs else text.strip())]


def correctable(word: str) -> bool:
    """Plain words of three letters or more may be typo-corrected; numbers and codes never."""
    return bool(_CORRECTABLE.match(word)) and not IS_CJK.search(word)


def fts_expression(clauses: list[Clause], column_filters: Sequence[str] = ()) -> str:
    """AND of the positive clauses and column filters, then NOT each negated clause."""
    positive = [c.fts() for c in clauses if not c.negated] + list(column_filters)
    if not positive:
        return ""
    expression = " AND ".join(positive)
    for clause in clauses:
        if clause.negated:
            expression = f"({expression}) NOT {clause.fts()}"
    return expression


def column_filter(column: str, values: list[str]) -> str:
    """`sender : ("amy" OR "amy hengda valves com")` for from:/to: values."""
    alts = _dedupe([alt for value in values for alt in phrase_alternatives(value)])
    inner = " OR ".join(a.fts() for a in alts)
    return f"{column} : ({inner})"


def _dedupe(alternatives: list[Alternative]) -> list[Alternative]:
    seen: set[tuple[str, bool]] = set()
    kept: list[Alternative] = []
    for alt in alternatives:
        key = (alt.text.lower(), alt.prefix)
        if key not in seen:
            seen.add(key)
            kept.append(alt)
    return kept
