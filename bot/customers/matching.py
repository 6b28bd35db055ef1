"""Finding a customer from what a person types: a name with typos, an alias, a domain or an e-mail address.

How a search runs (fast enough for 100,000 customers, see bench/owner_bench.py):

1. **Normalise** both sides the same way (`tokens`): NFKC, case-fold, diacritics folded *and* German
   transliteration collapsed (ä → a and ae → a, so Söhne ≈ Sohne ≈ Soehne), dotted abbreviations joined
   (A.Ş. → as), legal forms dropped at the ends (GmbH, Co. Ltd, Sp. z o.o., SA de CV, 有限公司, 株式会社 …),
   connectors dropped (&, and, und), and CJK text split into one token per character — rapidfuzz's token
   scorers otherwise see a whole Chinese name as one token.
2. **Exact lookups** in dicts: contact address, domain (and its parent domains), the literal name or alias,
   the normalised key. Most real questions end here.
3. **Candidates** from an inverted index of character grams (trigrams of each padded Latin token, single
   characters and bigrams of CJK runs): the entries sharing the most of the query's rarer grams.
4. **Re-rank**: rapidfuzz `process.extract` with WRatio over those candidates (in C), then the full scorer
   on the best few — WRatio (typos, word order, partial names), the plain ratio of the space-free keys
   (acmetrading ≈ Acme Trading), and a cap when a query word matches nothing in the name.

The index is built once per process (`CustomerIndexCache`); new customers are appended to it, and an
update or delete of a customer rebuilds it (triggers in bot/customers/schema.py count the changes).
"""

import json
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from bot.core.directory import FREE_MAIL_DOMAINS
from bot.customers.schema import customer_counters

Via = Literal["name", "alias", "domain", "contact"]

ACCEPT = 70.0
"""Below this a candidate is only a suggestion ("did you mean …"), never an answer."""
SUGGEST = 40.0
"""Below this a candidate is not even worth suggesting."""
CONFIDENT = 85.0
"""A single best match at or above this (with no rival within MARGIN) is the answer."""
MARGIN = 5.0
UNMATCHED_WORD_CAP = 75.0
"""The most a candidate scores when a word of the query matches nothing in it (see `similarity`)."""
CANDIDATES = 600
"""Entries the gram pre-filter passes on to a WRatio pass (in C, about 1 µs each)."""
RESCORED = 40
"""Entries re-ranked with the full scorer after the WRatio pass."""
MIN_GRAMS = 5
"""The query's rarest grams always counted, however long their postings (see `CustomerIndex._candidates`)."""
POSTINGS_BUDGET = 10_000
"""Postings read per query beyond the MIN_GRAMS rarest grams."""

# ── normalisation ──────────────────────────────────────────────────────────────────────────────

_CJK = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_DOTTED = re.compile(r"(?<=\b\w)\.(?=\w\b)")  # a.s. → as.  s.a. de c.v. → sa. de cv.
_UMLAUT_E = re.compile(r"([aou])e")  # mueller → muller, the same key as müller → muller
_CJK_LEGAL = re.compile(
    r"股份有限公司|有限责任公司|有限責任公司|有限公司|株式会社|株式會社|有限会社|合同会社|\(株\)|\(有\)|公司$"
)
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                          "ı": "i", "ħ": "h"})
_STOP = frozenset({"and", "und", "the", "et"})

_LEGAL_FORMS = (
    # as they read after normalisation: "Sp. z o.o." → "sp z oo", "A.Ş." → "as", "S.A. de C.V." → "sa de cv"
    "gmbh", "mbh", "ag", "kg", "ohg", "ug", "ev", "gbr", "se", "gmbh co kg",  # DE, AT, CH, EU
    "ltd", "limited", "plc", "llp", "lp", "llc", "inc", "incorporated", "corp", "corporation", "co", "company",
    "co ltd", "co inc", "pty", "pte", "pvt", "pvt ltd", "pty ltd", "pte ltd", "private limited",
    "sa", "s a", "sas", "sarl", "srl", "spa", "sl", "slu", "sau",  # FR, IT, ES, …
    "bv", "nv", "vof",  # NL, BE
    "ab", "aps", "as", "a s", "asa", "oy", "oyj",  # SE, DK, NO, FI
    "lda", "ltda",  # PT, BR
    "sp z oo", "spzoo", "sp k", "sp j", "sro", "spol s r o", "kft", "zrt", "nyrt", "doo",  # PL, CZ, SK, HU, …
    "sa de cv", "s de rl", "s de rl de cv", "sapi de cv", "sab de cv",  # MX
    "sti", "ltd sti", "tic ltd sti", "san ve tic ltd sti", "as sti",  # TR (A.Ş. is "as")
    "kk", "yk", "kabushiki kaisha",  # JP in Latin letters
    "est", "establishment", "fzco", "fze", "fzc", "fz llc",  # Gulf
    "jsc", "ojsc", "pjsc", "cjsc", "ooo", "zao", "oao",  # RU, CIS
    "bhd", "sdn bhd", "tbk",  # MY, ID
)
_LEGAL = frozenset(tuple(form.split()) for form in _LEGAL_FORMS)
_LEADING_FORMS = frozenset({"pt", "ab", "ooo", "oao", "zao"})  # "PT Astra", "AB Volvo", "OOO Romashka"
_LEGAL_LONGEST = max(len(p) for p in _LEGAL)


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case without diacritics; ä/ae, ö/oe, ü/ue collapse to a, o, u. CJK is left alone."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_SPECIAL)
    if not text.isascii():
        text = "".join(c if c < "\x80" or c >= "\u2e80" else _fold_char(c) for c in text)
    return _UMLAUT_E.sub(r"\1", text)


def tokens(text: str) -> list[str]:
    """The normalised words of a name: folded, legal forms and connectors dropped, CJK one per character."""
    folded = _DOTTED.sub("", _CJK_LEGAL.sub(" ", fold(text)))
    words = _TOKEN.findall(folded)
    kept = [w for w in words if w not in _STOP] or words
    return strip_legal_tokens(kept)


def strip_legal_tokens(words: list[str]) -> list[str]:
    """Drop legal forms at the end (repeatedly) and a few at the start; never drop the last word."""
    words = list(words)
    while len(words) > 1:
        for n in range(min(_LEGAL_LONGEST, len(words) - 1), 0, -1):
            if tuple(words[-n:]) in _LEGAL:
                del words[-n:]
                break
        else:
            break
    if len(words) > 1 and words[0] in _LEADING_FORMS:
        del words[0]
    return words


def name_key(text: str) -> str:
    """'Müller & Söhne GmbH' → 'muller sohne'; '深圳华通贸易有限公司' → '深 圳 华 通 贸 易'."""
    return " ".join(tokens(text))


def _raw(text: str) -> str:
    """The literal text, only case and spacing normalised: how a button re-asks for one exact name."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def grams(words: list[str]) -> set[str]:
    """Trigrams of each space-padded Latin token; CJK characters and bigrams of adjacent CJK characters."""
    out: set[str] = set()
    previous_cjk = ""
    for word in words:
        if len(word) == 1 and _IS_CJK.match(word):
            out.add(word)
            if previous_cjk:
                out.add(previous_cjk + word)
            previous_cjk = word
            continue
        previous_cjk = ""
        padded = f" {word} "
        out.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return out


_EMAIL = re.compile(r"^[^@\s]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$")
_DOMAIN = re.compile(r"^@?((?:[a-z0-9-]+\.)+[a-z]{2,})$")
_URL = re.compile(r"^(?:https?://)?(?:www\.)?([^/\s]+)/?.*$")
_COUNTRY_SECOND = ("co", "com", "net", "org", "ac", "gov", "or", "ne", "edu")


def domain_words(domain: str) -> str:
    """'acme-trading.de' → 'acme trading'; 'tokyokikai.co.jp' → 'tokyokikai'."""
    labels = domain.lower().split(".")
    core = labels[:-1] or labels
    if len(labels) >= 3 and labels[-2] in _COUNTRY_SECOND and len(labels[-1]) == 2:
        core = labels[:-2]
    return " ".join(re.split(r"[-_.]+", ".".join(core[-1:])))


def parent_domains(domain: str) -> list[str]:
    """'mail.acme-trading.de' → ['mail.acme-trading.de', 'acme-trading.de'] (never a bare TLD)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


# ── the index ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int
    name: str
    domains: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    customer: CustomerRecord
    score: float
    matched: str
    """The name, alias, domain or address that matched."""
    via: Via


@dataclass
class Resolution:
    """What a query resolves to: one customer, several close ones, or none (with the closest names)."""

    status: Literal["found", "ambiguous", "none"]
    matches: list[Match] = field(default_factory=list)
    suggestions: list[Match] = field(default_factory=list)

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.status == "found" else None


class CustomerIndex:
    """Search structure over customers. Built once; `add` appends new customers (imports create them one
    by one) while searches may run — appends only, so a reader never sees half an entry."""

    def __init__(
        self,
        records: Iterable[CustomerRecord] = (),
        *,
        keys: Iterable[tuple[str, int]] = (),
        free_mail: frozenset[str] = FREE_MAIL_DOMAINS,
    ):
        self.free_mail = free_mail
        self.customers: dict[int, CustomerRecord] = {}
        # One entry per distinct normalised name, alias or domain of a customer (parallel lists).
        self._entry_customer: list[int] = []
        self._entry_key: list[str] = []
        self._entry_text: list[str] = []
        self._entry_via: list[Via] = []
        self._postings: dict[str, list[int]] = {}
        # Exact lookups. A value is one int, or a tuple of ints when several share the key (rare).
        self._by_contact: dict[str, int | tuple[int, ...]] = {}  # address → customers
        self._by_domain: dict[str, int | tuple[int, ...]] = {}  # domain → customers
        self._by_raw: dict[str, int | tuple[int, ...]] = {}  # literal name or alias → entries
        self._by_compact: dict[str, int | tuple[int, ...]] = {}  # normalised key without spaces → entries
        self.add(records, keys=keys)

    def __len__(self) -> int:
        return len(self.customers)

    @property
    def entry_count(self) -> int:
        return len(self._entry_key)

    @property
    def gram_count(self) -> int:
        return len(self._postings)

    def add(self, records: Iterable[CustomerRecord], *, keys: Iterable[tuple[str, int]] = ()) -> None:
        """Index customers (new ids only: a changed customer needs a rebuild) and extra mail keys."""
        for record in records:
            if record.id not in self.customers:
                self._add(record)
        for key, customer_id in keys:
            if customer_id in self.customers:
                _put(self._by_contact if "@" in key else self._by_domain, key.lower(), customer_id)

    def _add(self, record: CustomerRecord) -> None:
        self.customers[record.id] = record
        seen: dict[str, int] = {}
        for text, via in [(record.name, "name"), *((a, "alias") for a in record.aliases)]:
            entry = self._add_entry(record.id, text, tokens(text), via, seen)  # type: ignore[arg-type]
            if entry is not None:
                _put(self._by_raw, _raw(text), entry)
        for domain in record.domains:
            domain = domain.lower()
            _put(self._by_domain, domain, record.id)
            self._add_entry(record.id, domain, tokens(domain_words(domain)), "domain", seen)
        for contact in record.contacts:
            _put(self._by_contact, contact.lower(), record.id)

    def _add_entry(self, customer_id: int, text: str, words: list[str], via: Via, seen: dict[str, int]) -> int | None:
        """The entry for these words (an existing one of the same customer when the key repeats)."""
        key = " ".join(words)
        if not key:
            return None
        if key in seen:
            return seen[key]
        entry = seen[key] = len(self._entry_key)
        self._entry_customer.append(customer_id)
        self._entry_text.append(text)
        self._entry_via.append(via)
        self._entry_key.append(key)  # last: a reader checks postings → entry, never the reverse
        _put(self._by_compact, "".join(words), entry)
        postings = self._postings
        for gram in grams(words):
            found = postings.get(gram)
            if found is None:
                postings[gram] = [entry]
            else:
                found.append(entry)
        return entry

    # ── searching ──

    def search(self, query: str, *, limit: int = 5) -> list[Match]:
        """The best matches, best first; exact lookups score 100, fuzzy ones at most 99. Weak ones included."""
        text = _clean(query)
        if not text:
            return []
        found: dict[int, Match] = {}

        def hit(ids: Iterable[int], matched: str, via: Via) -> None:
            for customer_id in ids:
                if customer_id not in found:
                    found[customer_id] = Match(self.customers[customer_id], 100.0, matched, via)

        def hit_entries(entries: Iterable[int]) -> None:
            for entry in entries:
                hit([self._entry_customer[entry]], self._entry_text[entry], self._entry_via[entry])

        lowered = text.lower()
        fuzzy_text, weight = text, 1.0
        email, domain = _EMAIL.match(lowered), _DOMAIN.match(lowered)
        if email:
            hit(_get(self._by_contact, lowered), lowered, "contact")
            host = email.group(1)
            if host in self.free_mail:
                fuzzy_text, weight = lowered.partition("@")[0], 0.8
            else:
                self._domain_hits(host, hit)
                fuzzy_text, weight = domain_words(host), 0.9
        elif domain:
            self._domain_hits(domain.group(1), hit)
            fuzzy_text, weight = domain_words(domain.group(1)), 0.9
        else:
            hit_entries(_get(self._by_raw, _raw(text)))
            if not found:
                hit_entries(_get(self._by_compact, "".join(tokens(text))))
        if found:
            return sorted(found.values(), key=lambda m: m.customer.name)[:limit]
        return self._fuzzy(tokens(fuzzy_text), weight=weight, limit=limit)

    def resolve(self, query: str, *, limit: int = 5) -> Resolution:
        """One customer, several close candidates, or none with the closest names as suggestions."""
        matches = self.search(query, limit=limit)
        good = [m for m in matches if m.score >= ACCEPT]
        if not good:
            return Resolution("none", [], [m for m in matches if m.score >= SUGGEST][:3])
        rivals = [m for m in good if m.score >= good[0].score - MARGIN]
        if len(rivals) == 1 and good[0].score >= CONFIDENT:
            return Resolution("found", good)
        return Resolution("ambiguous", good)

    def _domain_hits(self, domain: str, hit: Callable[[Iterable[int], str, Via], None]) -> None:
        for candidate in parent_domains(domain.removeprefix("www.")):
            ids = _get(self._by_domain, candidate)
            if ids:
                hit(ids, candidate, "domain")
                return

    def _fuzzy(self, words: list[str], *, weight: float, limit: int) -> list[Match]:
        """Gram pre-filter, a broad WRatio pass in C over the survivors, the full scorer on the best few.
        `weight` < 1 marks a guess from an unknown address."""
        entries = self._candidates(grams(words))
        if not entries:
            return []
        query, compact = " ".join(words), "".join(words)
        keys = self._entry_key
        shortlist = process.extract(query, [keys[e] for e in entries], scorer=fuzz.WRatio, processor=None,
                                    limit=RESCORED)
        best: dict[int, tuple[float, int]] = {}
        for _, _, position in shortlist:
            entry = entries[position]
            score = similarity(query, compact, keys[entry], keys[entry].replace(" ", ""))
            customer_id = self._entry_customer[entry]
            if score > best.get(customer_id, (-1.0, 0))[0]:
                best[customer_id] = (score, entry)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], self.customers[item[0]].name))[:limit]
        return [
            Match(self.customers[cid], round(min(score, 99.0) * weight, 1), self._entry_text[entry],
                  self._entry_via[entry])
            for cid, (score, entry) in ranked
        ]

    def _candidates(self, query_grams: set[str]) -> list[int]:
        """Entries sharing the most grams with the query, at most CANDIDATES of them.

        Grams are counted rarest first: always the MIN_GRAMS rarest, then commoner ones while the postings
        read stay within POSTINGS_BUDGET. The rare grams come from the words that tell customers apart
        ("korvanti"); the common ones ("ing", " co", "valve") would touch much of the index and add little
        but time. Then the entries with the highest counts, as many as CANDIDATES allows.
        """
        lists = sorted((p for g in query_grams if (p := self._postings.get(g))), key=len)
        if not lists:
            return []
        required = min(MIN_GRAMS, len(lists))
        counts: Counter[int] = Counter()
        read = 0
        for i, postings in enumerate(lists):
            if i >= required and read + len(postings) > POSTINGS_BUDGET:
                break
            counts.update(postings)
            read += len(postings)
        if len(counts) <= CANDIDATES:
            return list(counts)
        histogram = Counter(counts.values())
        threshold, taken = max(histogram), 0
        for value in sorted(histogram, reverse=True):
            if taken + histogram[value] > CANDIDATES and taken:
                break
            threshold, taken = value, taken + histogram[value]
        chosen = [e for e, c in counts.items() if c >= threshold]
        return chosen[:CANDIDATES]


def similarity(query: str, query_compact: str, key: str, key_compact: str) -> float:
    """0–100 over normalised keys: WRatio (typos, word order, partial names) or the space-free ratio.

    A query word found nowhere in the key ("zzz trading" against "shenzhen huatong trading") caps the
    score at UNMATCHED_WORD_CAP: WRatio's partial scoring would otherwise call it a confident match.
    """
    score = max(fuzz.WRatio(query, key), fuzz.ratio(query_compact, key_compact))
    if score > UNMATCHED_WORD_CAP:
        for word in query.split():
            if len(word) >= 3 and not _IS_CJK.match(word) and fuzz.partial_ratio(word, key_compact) < 60:
                return UNMATCHED_WORD_CAP
    return score


def _clean(query: str) -> str:
    text = query.strip().strip("\"'“”‘’「」").strip()
    looks_like_url = not any(c.isspace() for c in text) and ("/" in text or text.lower().startswith("www."))
    url = _URL.match(text.lower()) if looks_like_url else None
    return url.group(1) if url else text


def _put(target: dict[str, int | tuple[int, ...]], key: str, value: int) -> None:
    """Add `value` under `key`: a bare int for the first, a tuple once several share the key."""
    current = target.get(key)
    if current is None:
        target[key] = value
    elif isinstance(current, int):
        if current != value:
            target[key] = (current, value)
    elif value not in current:
        target[key] = (*current, value)


def _get(source: dict[str, int | tuple[int, ...]], key: str) -> tuple[int, ...]:
    value = source.get(key)
    if value is None:
        return ()
    return (value,) if isinstance(value, int) else value


# ── loading and caching ────────────────────────────────────────────────────────────────────────


def _records(db: Database, *, after: int = 0) -> Iterable[CustomerRecord]:
    for row in db.execute("SELECT id, name, domains, aliases, contacts FROM customers WHERE id > ? ORDER BY id",
                          [after]):
        yield CustomerRecord(row[0], row[1], tuple(json.loads(row[2])), tuple(json.loads(row[3])),
                             tuple(json.loads(row[4])))


def _keys(db: Database) -> list[tuple[str, int]]:
    return db.execute("SELECT key, customer_id FROM customer_keys").fetchall()


def load_index(db: Database, *, free_mail: frozenset[str] = FREE_MAIL_DOMAINS) -> CustomerIndex:
    """Build the index from the archive's customers and their mail keys (domains, free-mail addresses)."""
    return CustomerIndex(_records(db), keys=_keys(db), free_mail=free_mail)


class CustomerIndexCache:
    """One index per process. New customers are appended to it; any update or delete rebuilds it.

    The counters come from triggers (bot/customers/schema.py), so no writer has to remember the cache.
    Building takes about 8 s per 100,000 customers, appending a few new ones a few milliseconds.
    """

    def __init__(self, db: Database, *, free_mail: frozenset[str] = FREE_MAIL_DOMAINS):
        self.db = db
        self.free_mail = free_mail
        self._lock = threading.Lock()
        self._index: CustomerIndex | None = None
        self._counters = (-1, -1)
        self.builds = 0
        self.appends = 0

    def get(self) -> CustomerIndex:
        counters = customer_counters(self.db)
        with self._lock:
            if self._index is None or counters[1] != self._counters[1]:
                self._index = load_index(self.db, free_mail=self.free_mail)
                self.builds += 1
            elif counters[0] != self._counters[0]:
                newest = max(self._index.customers, default=0)
                self._index.add(_records(self.db, after=newest), keys=_keys(self.db))
                self.appends += 1
            self._counters = counters
            return self._index
