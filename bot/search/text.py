"""Text as the search index sees it: folded Latin, and CJK runs written out as overlapping bigrams.

SQLite's unicode61 tokenizer (remove_diacritics 2) folds case and accents, but keeps a whole run of
Chinese or Japanese characters as one token, so `发票` inside `请寄发票给我们` is never found; trigram
finds nothing under three characters. So before text reaches FTS5, every CJK run is rewritten as
its overlapping character bigrams followed by its last character:

    不锈钢球阀  →  不锈 锈钢 钢球 球阀 阀

A query of two or more CJK characters becomes the phrase of its bigrams (`"不锈 锈钢"`), which
matches exactly where the characters are adjacent — substring semantics, like LIKE. The trailing
single character ends each run, so a phrase can never match across two runs that punctuation
separates, and a one-character query can use the prefix query `阀*` (bigrams starting with it, or
the run's last character).

The same functions prepare the documents and the query terms, so both sides always agree.
"""

import re
import unicodedata
from functools import lru_cache

# Letters unicode61's remove_diacritics does not fold (they are letters of their own, not accents).
_EXTRA_FOLD = str.maketrans(
    {
        "ß": "ss", "ẞ": "ss", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
        "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "þ": "th", "Þ": "th", "ð": "d", "Ð": "d",
    }
)
_CJK_CLASS = (
    "\u3005\u3007\u3021-\u3029\u3031-\u3035\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
IS_CJK = re.compile(f"[{_CJK_CLASS}]")
_VOCAB_WORD = re.compile(r"\b[a-z]{3,24}\b")
_LATIN_TOKEN = re.compile(r"(?<!\w)[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]{3,24}(?!\w)")


def _bigram_run(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) == 1:
        return f" {run} "
    pairs = " ".join(map(str.__add__, run, run[1:]))
    return f" {pairs} {run[-1]} "


def normalize(text: str) -> str:
    """NFKC (full-width ＰＯ１２ → PO12) plus the folds unicode61 lacks; ASCII passes untouched."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_EXTRA_FOLD)


def index_text(text: str) -> str:
    """What FTS5 receives for one field: normalized, CJK runs as bigrams."""
    if text.isascii():
        return text
    return CJK_RUN.sub(_bigram_run, normalize(text))


def strip_accents(text: str) -> str:
    """'Müller' → 'muller' (what unicode61 remove_diacritics 2 does to a token), lower case."""
    text = normalize(text)
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def vocabulary_words(prepared: str) -> set[str]:
    """The plain Latin words (3–24 letters) of an already index_text()-ed field, accent-folded.

    These feed the typo corrector's vocabulary; numbers and codes are left out on purpose, since
    document numbers must match exactly and are never "corrected"."""
    if prepared.isascii():
        return set(_VOCAB_WORD.findall(prepared.lower()))
    words = set()
    for token in _LATIN_TOKEN.findall(prepared):  # fold only the Latin words, not the CJK bulk
        folded = unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode("ascii").lower()
        if 3 <= len(folded) <= 24:
            words.add(folded)
    return words


PreparedText = tuple[str, str, frozenset[str]]
"""A message's subject and body as FTS5 receives them, and their vocabulary words."""


def prepare_text(subject: str, body: str, body_limit: int) -> PreparedText:
    """The CPU-heavy part of indexing one message — its subject and body as FTS5 receives them and
    their vocabulary words — as a pure function, so it can run in the parse helper process."""
    subject_text, body_text = index_text(subject), index_text(body[:body_limit])
    return subject_text, body_text, frozenset(vocabulary_words(subject_text) | vocabulary_words(body_text))


def cjk_query_tokens(run: str) -> list[str]:
    """The bigrams a CJK query run must match, in order (one character stays one token)."""
    if len(run) == 1:
        return [run]
    return list(map(str.__add__, run, run[1:]))


def has_cjk(text: str) -> bool:
    return IS_CJK.search(text) is not None


@lru_cache(maxsize=1)
def _letter_classes() -> dict[str, str]:
    """For each base letter, a regex class of the Latin letters that fold to it ('u' → '[uùúûü…]')."""
    variants: dict[str, set[str]] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = strip_accents(char.translate(_EXTRA_FOLD))
        if len(base) == 1 and base.isascii() and base.isalpha():
            variants.setdefault(base, set()).update({char, char.upper(), char.lower()})
    return {base: "[" + re.escape(base) + "".join(sorted(re.escape(v) for v in chars)) + "]"
            for base, chars in variants.items()}


def folding_pattern(term: str) -> str:
    """A case- and accent-insensitive regex for a folded term, used to highlight snippets."""
    classes = _letter_classes()
    parts: list[str] = []
    for char in term:
        if char in classes:
            parts.append(classes[char])
        elif char.isspace():
            parts.append(r"[\W_]+")
        else:
            parts.append(re.escape(char))
    return "".join(parts)
