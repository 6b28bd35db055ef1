"""The trade's abbreviations as synonym groups: any member of a group finds mail with any other.

Built in: B/L ↔ bill of lading ↔ 提单, PI ↔ proforma invoice, PO ↔ purchase order, CI ↔ commercial
invoice, PL ↔ packing list ↔ 装箱单, RFQ ↔ request for quotation ↔ 询价. `[search] synonyms` in the
config adds groups (or extends a built-in group when they share a member).
"""

import re

from bot.search.text import strip_accents

BUILT_IN: tuple[tuple[str, ...], ...] = (
    ("B/L", "BL", "bill of lading", "提单"),
    ("PI", "proforma invoice", "pro forma invoice", "形式发票"),
    ("PO", "purchase order", "采购订单"),
    ("CI", "commercial invoice", "商业发票"),
    ("PL", "packing list", "装箱单"),
    ("RFQ", "request for quotation", "询价"),
)
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
