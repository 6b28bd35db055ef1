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
from array import array
from functools import lru_cache

# Letters unicode61's remove_diacritics does not fold (they are letters of their own, not accents).
_EXTRA_FOLD_CHARS = {
    "ß": "ss", "ẞ": "ss", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "þ": "th", "Þ": "th", "ð": "d", "Ð": "d",
}
_EXTRA_FOLD = str.maketrans(_EXTRA_FOLD_CHARS)
_CJK_CLASS = (
    "\u3005\u3007\u3021-\u3029\u3031-\u3035\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
IS_CJK = re.compile(f"[{_CJK_CLASS}]")
_CJK_SPLIT = re.compile(f"([{_CJK_CLASS}]+)")
_NEEDS_FOLD = re.compile("[" + "".join(_EXTRA_FOLD_CHARS) + "]")
_NO_WORDS = re.compile(
    f"[{_CJK_CLASS}"
    + "".join(re.escape(c) for c in map(chr, [*range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)]) if not c.isalnum() and c != "_")
    + "]+"
)
"""CJK runs and CJK punctuation: no vocabulary words there (runs are space-padded by index_text)."""
_ASCII_WORDS = str.maketrans(
    {c: c.lower() if c.isalpha() else c if c.isalnum() or c == "_" else " " for c in map(chr, range(128))}
)
_LATIN_TOKEN = re.compile(r"(?<!\w)[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]{3,24}(?!\w)")
_SPACE_CODE = array("I", " ".encode("utf-32-le"))


def _bigram_runs(text: str) -> str:
    """Every CJK run of `text` as ` b1 b2 … last ` (see the module docstring), the rest untouched.

    All runs are laid out at once in a UTF-32 array (character i at 3i+1, character i+1 at 3i+2,
    a space at 3i+3): one pass in C instead of a Python string operation per character pair, about
    5× faster on Chinese mail. A pair that straddles two runs is cut off when each run is sliced out."""
    parts = _CJK_SPLIT.split(text)
    runs = parts[1::2]
    if not runs:
        return text
    joined = "".join(runs)
    codes = array("I", joined.encode("utf-32-le"))
    laid = _SPACE_CODE * (3 * len(codes) + 1)
    laid[1::3] = codes
    laid[2 : 3 * len(codes) - 1 : 3] = codes[1:]
    pairs = laid.tobytes().decode("utf-32-le")
    start = 0
    for k, run in enumerate(runs):
        end = start + len(run)
        parts[2 * k + 1] = pairs[3 * start : 3 * end - 1] + "  "
        start = end
    return "".join(parts)


def normalize(text: str) -> str:
    """NFKC (full-width ＰＯ１２ → PO12) plus the folds unicode61 lacks; ASCII passes untouched."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_EXTRA_FOLD) if _NEEDS_FOLD.search(text) else text


def index_text(text: str) -> str:
    """What FTS5 receives for one field: normalized, CJK runs as bigrams."""
    if text.isascii():
        return text
    return _bigram_runs(normalize(text))


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
    document numbers must match exactly and are never "corrected". A word is a whole run of word
    characters made of letters only ("po4521" is not one)."""
    if not prepared.isascii():
        prepared = _NO_WORDS.sub(" ", prepared)
        if not prepared.isascii():
            return _accented_words(prepared)
    return {w for w in set(prepared.translate(_ASCII_WORDS).split()) if 3 <= len(w) <= 24 and w.isalpha()}


def _accented_words(text: str) -> set[str]:
    words = set()
    for token in _LATIN_TOKEN.findall(text):
        folded = unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode("ascii").lower()
        if 3 <= len(folded) <= 24:
            words.add(folded)
    return words


PreparedText = tuple[str, str, str]
"""A message's subject and body as FTS5 receives them, and their vocabulary words joined by spaces
(one string crosses the parse helper's pipe three times faster than a set of them)."""


def prepare_text(subject: str, body: str, body_limit: int) -> PreparedText:
    """The CPU-heavy part of indexing one message — its subject and body as FTS5 receives them and
    their vocabulary words — as a pure function, so it can run in the parse helper process."""
    subject_text, body_text = index_text(subject), index_text(body[:body_limit])
    return subject_text, body_text, " ".join(vocabulary_words(subject_text) | vocabulary_words(body_text))


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
