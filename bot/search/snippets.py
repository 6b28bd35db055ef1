"""Snippets with the matched words highlighted, cut in Python from the stored text.

The index is contentless (FTS5's own snippet() needs the text stored twice), and only one page of
hits ever needs a snippet, so one regular expression over a few bodies is cheap. Matching is case-
and accent-insensitive ("muller" highlights "Müller") and takes the word's endings along ("valve"
highlights "valves", as the porter stemmer matched it).
"""

import re

from bot.search.text import IS_CJK, folding_pattern

MARK = "**"
WIDTH = 180


def highlighter(terms: list[str]) -> re.Pattern[str] | None:
    """One regex for all the query's terms (longest first, so phrases win over their words)."""
    patterns: list[str] = []
    for term in sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True):
        if IS_CJK.search(term):
            patterns.append(folding_pattern(term))
        else:
            patterns.append(r"(?<!\w)" + folding_pattern(term) + r"\w*")
    if not patterns:
        return None
    return re.compile("|".join(patterns), re.IGNORECASE)


class Finder:
    """`highlighter(terms).search(text)` as a yes/no, with a substring pre-check for ASCII text: a term can
    only match ASCII text if its first word is in the lower-cased text (the pattern's accent classes and
    word boundaries only narrow that down). Ranking asks this of every candidate's subject and short
    fields; with a synonym group of seven terms the pre-check skips the regex for most of them."""

    def __init__(self, terms: list[str]):
        self.pattern = highlighter(terms)
        self.keys = tuple({t.split()[0].lower() for t in terms if t.strip()})

    def found_in(self, text: str) -> bool:
        if self.pattern is None:
            return False
        if text.isascii():
            lowered = text.lower()
            if not any(key in lowered for key in self.keys):
                return False
        return self.pattern.search(text) is not None


def highlight(text: str, pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return text
    return pattern.sub(lambda m: f"{MARK}{m.group()}{MARK}", text)


def snippet(body: str, pattern: re.Pattern[str] | None, *, width: int = WIDTH) -> str:
    """About `width` characters around the first match in the body (or its start), highlighted."""
    text = " ".join(body.split())
    match = pattern.search(text) if pattern is not None else None
    if match is None:
        cut = text[:width]
        return cut + ("…" if len(text) > width else "")
    start = max(0, match.start() - width // 3)
    if start:
        space = text.find(" ", start, match.start())
        start = space + 1 if space >= 0 and not IS_CJK.match(text[start]) else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", match.end(), end)
        end = space if space > match.end() else end
    cut = highlight(text[start:end], pattern)
    return ("…" if start else "") + cut + ("…" if end < len(text) else "")
