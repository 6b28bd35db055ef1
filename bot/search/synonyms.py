"""The trade's vocabulary as synonym groups: any member of a group finds mail with any other.

The groups are data, in `trade_vocabulary.toml` beside this module: about 90 groups English ↔ Chinese ↔
abbreviation — quotation/报价, PI/形式发票, invoice/发票, B/L/提单, L/C/信用证, T/T/电汇, deposit/定金,
lead time/交期, inspection/QC/验货, RMA/退货, ETD, HS code/海关编码, freight forwarder/货代 … `[search] synonyms`
in the config adds groups (or extends a built-in group when they share a member).

A query is matched against the members longest first ("commercial invoice" before "invoice"), so a
longer term keeps its own, narrower group.
"""

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from bot.search.text import strip_accents

VOCABULARY = Path(__file__).with_name("trade_vocabulary.toml")


@lru_cache(maxsize=1)
def trade_vocabulary() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(topic, terms) for every group of trade_vocabulary.toml, in file order."""
    data = tomllib.loads(VOCABULARY.read_text(encoding="utf-8"))
    return tuple((g["topic"], tuple(g["terms"])) for g in data["group"])


BUILT_IN: tuple[tuple[str, ...], ...] = tuple(terms for _topic, terms in trade_vocabulary())
_WORD = re.compile(r"\w+")


def synonym_key(text: str) -> str:
    """'B/L' → 'b l', 'Bill of  Lading' → 'bill of lading': how members are compared."""
    return " ".join(_WORD.findall(strip_accents(text)))


class Synonyms:
    """Groups of equivalent terms, matched against the words of a query (longest match first)."""

    def __init__(self, extra: list[list[str]] | None = None):
        groups: list[list[str]] = [list(g) for g in BUILT_IN]
        for group in extra or []:
            keys = {synonym_key(m) for m in group}
            target = next((g for g in groups if keys & {synonym_key(m) for m in g}), None)
            if target is None:
                groups.append([m for m in group if synonym_key(m)])
            else:
                target.extend(m for m in group if synonym_key(m) not in {synonym_key(t) for t in target})
        self.groups = groups
        self._by_key: dict[tuple[str, ...], int] = {}
        for index, group in enumerate(groups):
            for member in group:
                words = tuple(synonym_key(member).split())
                if words:
                    self._by_key.setdefault(words, index)
        self.longest = max((len(k) for k in self._by_key), default=1)

    def match(self, words: list[str], start: int) -> tuple[int, list[str]] | None:
        """The longest group member spelled by the query words from `start`: (words used, group)."""
        for size in range(min(self.longest, len(words) - start), 0, -1):
            key_words: list[str] = []
            for word in words[start : start + size]:
                key_words.extend(synonym_key(word).split())
            index = self._by_key.get(tuple(key_words))
            if index is not None:
                return size, self.groups[index]
        return None

    def members(self, key: str) -> list[str] | None:
        index = self._by_key.get(tuple(key.split()))
        return self.groups[index] if index is not None else None
