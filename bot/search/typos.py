"""Typo tolerance: misspelled query words are corrected against the words the archive really holds.

Only words that are absent from the index (or rare while a near neighbour is common) are touched;
numbers and codes never are. Candidates come from `search_terms` (word → document frequency), held
in memory in buckets by length and compared with rapidfuzz's optimal-string-alignment distance, so a
swapped pair of letters ("invioce") costs one edit, like a missing one ("quotaton", "packng").
"""

from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlite_utils import Database

MAX_TERMS_ALL = 300_000
"""Below this vocabulary size every word is a candidate; above it only words seen in 2+ messages."""
RELOAD_GROWTH = 0.05
"""Reload the in-memory vocabulary when the index has grown by this fraction since loading."""
MAX_CANDIDATES = 3
FREQUENT = 20_000
"""Size of the first tier: the most common words, searched before the whole vocabulary."""


def max_distance(word: str) -> int:
    return 1 if len(word) <= 4 else 2


@dataclass(frozen=True)
class Candidate:
    term: str
    distance: int
    df: int


class Vocabulary:
    """The index's plain words, bucketed by length; loaded lazily, reloaded as the archive grows.

    Two tiers: the FREQUENT most common words are tried first (typos are nearly always of common
    words, and that tier is small enough to scan in a few milliseconds); only when none of them is
    close enough does the search go through the whole vocabulary."""

    def __init__(self, db: Database):
        self.db = db
        self._frequent: dict[int, tuple[list[str], list[int]]] | None = None
        self._all: dict[int, tuple[list[str], list[int]]] = {}
        self._loaded_at = 0
        self._cache: dict[tuple[str, bool], list[Candidate]] = {}

    def ensure(self, watermark: int) -> None:
        if self._frequent is not None and watermark <= self._loaded_at * (1 + RELOAD_GROWTH):
            return
        total = int(self.db.execute("SELECT count(*) FROM search_terms").fetchone()[0])
        min_df = 1 if total <= MAX_TERMS_ALL else 2
        frequent: dict[int, tuple[list[str], list[int]]] = {}
        everything: dict[int, tuple[list[str], list[int]]] = {}
        rows = self.db.execute("SELECT term, df FROM search_terms WHERE df >= ? ORDER BY df DESC", [min_df])
        for rank, (term, df) in enumerate(rows):
            for buckets in (frequent, everything) if rank < FREQUENT else (everything,):
                terms, dfs = buckets.setdefault(len(term), ([], []))
                terms.append(term)
                dfs.append(df)
        self._frequent, self._all = frequent, everything
        self._loaded_at = max(watermark, 1)
        self._cache.clear()

    def candidates(self, word: str, *, frequent_only: bool = False) -> list[Candidate]:
        """The closest known words (fewest edits, then most frequent), at most MAX_CANDIDATES."""
        assert self._frequent is not None, "call ensure() first"
        key = (word, frequent_only)
        if key not in self._cache:
            found = self._search(word, self._frequent)
            if not found and not frequent_only:
                found = self._search(word, self._all)
            if len(self._cache) > 5000:
                self._cache.clear()
            self._cache[key] = found
        return self._cache[key]

    @staticmethod
    def _search(word: str, buckets: dict[int, tuple[list[str], list[int]]]) -> list[Candidate]:
        limit = max_distance(word)
        found: list[Candidate] = []
        for length in range(len(word) - limit, len(word) + limit + 1):
            bucket = buckets.get(length)
            if not bucket:
                continue
            terms, dfs = bucket
            for term, distance, index in process.extract(
                word, terms, scorer=OSA.distance, score_cutoff=limit, limit=50
            ):
                if term != word:
                    found.append(Candidate(term, int(distance), dfs[index]))
        if not found:
            return []
        best = min(c.distance for c in found)
        closest = sorted((c for c in found if c.distance == best), key=lambda c: -c.df)
        return closest[:MAX_CANDIDATES]
