"""Text helpers shared by the rules: keyword tables in English and Chinese, the part of a body the
sender wrote (not the quoted history), and the quoted headers of earlier mail ("From: … / 发件人：…").

Keywords are matched as whole words in Latin script (so "po" does not fire inside "report") and as
plain substrings in CJK, which has no spaces. Longer keywords win over the shorter ones inside them
("delivery date change" is one hit, not also "delivery").
"""

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.mail.parse import normalize_subject

BODY_CHARS = 1500
"""Characters of the sender's own text read for keywords (signatures and quoted history add noise)."""

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_QUOTE_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message|原始邮件|原始郵件|转发的邮件)\s*-{2,}"
    r"|_{5,}\s*$"
    r"|(?:from|发件人|寄件者|von|de)\s*[:：].*(?:@|\[mailto:)"
    r"|on\s.{4,200}\swrote:\s*$"
    r"|在\s?.{4,120}写道\s*[:：]"
    r"|am\s.{4,120}schrieb.*:\s*$)",
    re.IGNORECASE,
)
_HEADER = re.compile(r"^\s*>*\s*(from|发件人|寄件者|von|de)\s*[:：]\s*(?P<value>.+)$", re.IGNORECASE)
_WROTE = re.compile(
    r"^\s*>*\s*(?:on\s(?P<date1>.{4,120}?),?\s+|在\s?(?P<date2>.{4,80}?)[,，]\s*)"
    r"(?P<who>[^<>\n]*<[^<>\s]+@[^<>\s]+>)\s*(?:wrote:|写道\s*[:：])",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^\s*>*\s*(?P<key>sent|date|发送时间|日期|时间|subject|主题|gesendet|betreff)\s*[:：]\s*(?P<value>.*)$",
                    re.IGNORECASE)
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:[^\d]{0,6}(\d{1,2})[:：](\d{2}))?")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def own_text(body: str, limit: int = BODY_CHARS) -> str:
    """The sender's own words: the body up to the first quoted header or quote marker, '>' lines dropped."""
    lines: list[str] = []
    for line in body[: limit * 3].splitlines():
        if _QUOTE_START.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        lines.append(line)
    return "\n".join(lines)[:limit]


@dataclass(frozen=True)
class QuotedHeader:
    """One earlier message quoted in a reply: who wrote it, and (when given) its subject and date."""

    name: str
    address: str
    subject: str
    date: datetime | None


def quoted_headers(body: str) -> list[QuotedHeader]:
    """Every quoted header block: Outlook/Foxmail ("From: … Sent: … Subject: …", "发件人: … 主题: …")
    and Gmail/Apple style ("On …, Amy <amy@x> wrote:", "在 2026年11月3日 10:00,Amy <amy@x> 写道:")."""
    found: list[QuotedHeader] = []
    lines = body.splitlines()
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            name, address = _name_address(match.group("value"))
            if not address:
                continue
            subject, when = "", None
            for follow in lines[i + 1: i + 7]:
                field_match = _FIELD.match(follow)
                if not field_match:
                    continue
                key, value = field_match.group("key").lower(), field_match.group("value").strip()
                if key in ("subject", "主题", "betreff"):
                    subject = value
                elif when is None:
                    when = parse_loose_date(value)
            found.append(QuotedHeader(name, address, subject, when))
            continue
        wrote = _WROTE.match(line)
        if wrote:
            name, address = _name_address(wrote.group("who"))
            if address:
                found.append(QuotedHeader(name, address, "", parse_loose_date(wrote.group("date1") or wrote.group("date2") or "")))
    return found


def _name_address(value: str) -> tuple[str, str]:
    value = value.strip()
    mailto = _MAILTO.search(value)
    if mailto:
        return value[: mailto.start()].strip().strip('"'), mailto.group(1).lower()
    name, address = email.utils.parseaddr(value)
    if "@" not in address:
        bare = _ADDRESS.search(value)
        return (value[: bare.start()].strip(" <\"'"), bare.group(0).lower()) if bare else ("", "")
    return name.strip(), address.lower()


def parse_loose_date(text: str) -> datetime | None:
    """RFC 2822 dates, ISO-ish dates and Chinese dates (2026年11月3日 10:00) as UTC; None when unsure."""
    text = text.strip().replace(" at ", " ")
    if not text:
        return None
    for fmt in ("%A, %B %d, %Y %I:%M %p", "%A, %d %B %Y %H:%M", "%B %d, %Y %I:%M %p"):  # Outlook's "Sent:" lines
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        if parsed is not None:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        pass
    chinese = _CN_DATE.search(text)
    if chinese:
        y, m, d, hh, mm = chinese.groups()
        try:
            return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), tzinfo=UTC)
        except ValueError:
            return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return datetime.strptime(text[:16].strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# ── keyword tables ─────────────────────────────────────────────────────────────────────────────


class KeywordTable:
    """Weighted keywords per label, compiled into one pattern (one pass over a text for every label).

    A word may belong to several labels. At each position the longest keyword wins, across labels too:
    "交期变更" (a change) is not also "交期" (a delivery date).
    """

    def __init__(self, table: dict[str, dict[str, float]]):
        self.weights = {label: {_squash(k.lower()): w for k, w in words.items()} for label, words in table.items()}
        self.owners: dict[str, list[tuple[str, float]]] = {}
        for label, words in self.weights.items():
            for word, weight in words.items():
                self.owners.setdefault(word, []).append((label, weight))
        self.latin = _compile_latin([w for w in self.owners if not has_cjk(w)])
        self.cjk = _compile_cjk([w for w in self.owners if has_cjk(w)])

    def hits_all(self, text: str) -> dict[str, dict[str, float]]:
        """label → {keyword: weight}, each distinct keyword once."""
        found: dict[str, dict[str, float]] = {}
        if not text:
            return found
        text = " ".join(text.lower().split())  # whitespace runs squashed, like the keywords (split: 10× a regex)
        patterns = [p for p in (self.latin, None if text.isascii() else self.cjk) if p is not None]
        for match in (m for pattern in patterns for m in pattern.finditer(text)):
            word = match.group(0)
            for label, weight in self.owners.get(word, ()):
                found.setdefault(label, {})[word] = weight
        return found

    def hits(self, label: str, text: str) -> dict[str, float]:
        return self.hits_all(text).get(label, {})

    def scores(self, text: str) -> dict[str, float]:
        return {label: sum(words.values()) for label, words in self.hits_all(text).items()}

    def score(self, label: str, text: str) -> float:
        return sum(self.hits(label, text).values())

    @property
    def labels(self) -> list[str]:
        return list(self.weights)


def _squash(word: str) -> str:
    return re.sub(r"\s+", " ", word)


def _compile_latin(words: list[str]) -> re.Pattern[str] | None:
    """Latin keywords as one character trie (the regex engine then follows one branch per character
    instead of trying each keyword at each position), standing as whole words; optional groups are
    greedy, so the longest keyword wins. Latin and CJK keywords are two patterns: in one alternation
    the engine loses its first-character skip and runs twice as slow."""
    return re.compile(rf"(?<![a-z0-9])(?:{_trie(words)})(?![a-z0-9])") if words else None


def _compile_cjk(words: list[str]) -> re.Pattern[str] | None:
    """CJK keywords (no spaces in CJK, so plain substrings) as one character trie."""
    return re.compile(_trie(words)) if words else None


def _trie(words: Iterable[str]) -> str:
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def merge(base: dict[str, dict[str, float]], extra: dict[str, list[str]], weight: float = 3.0) -> dict[str, dict[str, float]]:
    """Built-in tables plus the config's extra keywords (each with a strong weight)."""
    merged = {label: dict(words) for label, words in base.items()}
    for label, words in extra.items():
        target = merged.setdefault(label, {})
        for word in words:
            target[word.lower()] = weight
    return merged


def file_words(name: str) -> str:
    """'BL-NGB45008821.pdf' → 'BL NGB45008821 pdf': file names read as words."""
    return re.sub(r"[-_.()\[\]]+", " ", name)


def example_key(subject: str) -> str:
    """A subject as a correction example: no Re:/Fwd:, digits masked, CJK split into characters."""
    text = re.sub(r"\d+", "#", normalize_subject(subject))
    text = _CJK.sub(lambda m: f" {m.group(0)} ", text)
    return " ".join(text.split())
