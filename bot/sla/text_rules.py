"""The SLA rules that read mail text: solution keywords and customer acknowledgements.

Both run inside SQLite as deterministic functions (`register_functions`), so the engine still
evaluates every thread in a few set-wise queries:

- `mailroom_has_solution(subject, body, keywords)` — an outbound message proposes a solution when its
  own text (quoted history cut off, so a customer's "please send a replacement" quoted under our
  "we are checking" does not count) contains one of the policy's keywords.
- `mailroom_is_ack(body, from_name)` — a short customer message that only acknowledges ("Thanks, we
  will check and revert.", "收到,谢谢") does not wait on us. The test is deliberately narrow: every
  phrase of the message must be a known acknowledgement or closing, with no question mark, so
  "Thanks. Please also quote DN80" still starts a clock.
"""

import json
import re
import sqlite3
from functools import lru_cache

DEFAULT_SOLUTION_KEYWORDS = (
    "replacement", "补发",
    "repair", "返修",
    "refund", "退款",
    "discount", "折扣",
    "credit note",
    "rma number",
    "technical support", "技术支持",
)

LEVELS = ("ok", "warning", "breached", "escalated")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
ALERT_LEVELS = ("warning", "breached", "escalated")

_QUOTE_START = re.compile(
    r"^\s*(?:>|on .{0,200}wrote:|am .{0,200}schrieb|-{2,}\s*original message|-{2,}\s*原始邮件|-{2,}\s*forwarded"
    r"|from:\s|发件人[:：]|寄件者[:：]|在.{0,80}写道[:：])",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
ACK_MAX_CHARS = 200

_ACK_PHRASES = (
    # English
    "thanks", "thank you", "thanks a lot", "thanks so much", "thank you very much", "thanks very much",
    "many thanks", "thx", "ty", "noted", "well noted", "noted with thanks", "received", "well received",
    "received with thanks", "ok", "okay", "ok thanks", "got it", "great", "perfect", "appreciated",
    "much appreciated", "we will check and revert", "will check and revert", "we will check", "we will revert",
    "will revert", "we'll check and revert", "we will revert soon", "will revert soon", "we will get back to you",
    "will get back to you", "we will come back to you", "have a nice day", "have a good day", "have a nice weekend",
    "best regards", "kind regards", "regards", "best", "br", "cheers", "sincerely", "yours sincerely",
    # other European languages customers of an export factory write in
    "danke", "vielen dank", "merci", "merci beaucoup", "gracias", "muchas gracias", "obrigado", "obrigada",
    "grazie", "dziękuję", "tack",
    # Chinese
    "收到", "已收到", "谢谢", "多谢", "感谢", "非常感谢", "好的", "知悉", "了解", "辛苦了", "我们确认后回复",
    "确认后回复", "我们会尽快回复", "稍后回复", "祝好", "此致", "敬礼",
)
_CLOSINGS = frozenset({"best regards", "kind regards", "regards", "best", "br", "cheers", "sincerely",
                       "yours sincerely", "have a nice day", "have a good day", "have a nice weekend", "祝好",
                       "此致", "敬礼"})
_PUNCT = re.compile(r"[\s,.!;:~\-–—_()\[\]，。！；：、…]+")


def _alternation(phrases: "set[str] | frozenset[str] | tuple[str, ...]") -> str:
    return "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))


# a sequence of known phrases, each ending at a word boundary for Latin ("ok" must not eat "okra")
_ACK_RE = re.compile(rf"(?:(?:{_alternation(_ACK_PHRASES)})(?![a-z0-9'])\s*)+")
_CLOSING_RE = re.compile(rf"(?:(?:{_alternation(_CLOSINGS)})(?![a-z0-9'])\s*)+")
_ACK_STARTS = frozenset(p[:2] for p in _ACK_PHRASES)


def own_text(body: str) -> str:
    """The author's own words: quoted history and the signature cut off."""
    text = body or ""
    stripped = text.strip()
    if "\n" not in stripped and not stripped.startswith(">"):
        return stripped  # one line: nothing quoted, no signature (the usual short message)
    match = _QUOTE_START.search(text)
    if match:
        text = text[: match.start()]
    match = _SIGNATURE.search(text)
    if match:
        text = text[: match.start()]
    return text.strip()


def has_solution(subject: str | None, body: str | None, keywords: list[str] | tuple[str, ...]) -> bool:
    """Whether the author's own text (subject included, quoted history not) names a solution."""
    whole = f"{subject or ''}\n{body or ''}".lower()
    if not any(map(whole.__contains__, keywords)):
        return False  # the common case, decided without parsing
    text = f"{subject or ''}\n{own_text(body or '')}".lower()
    return any(map(text.__contains__, keywords))


def is_acknowledgement(body: str | None, from_name: str | None = None) -> bool:
    """True when the whole message is a thank-you / noted / 收到 with nothing asked."""
    start = (body or "").lstrip()[:2].lower()
    if start not in _ACK_STARTS:
        return False  # most customer mail, decided in a microsecond
    text = own_text(body or "")
    if not text or len(text) > ACK_MAX_CHARS or "?" in text or "？" in text:
        return False
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    names = _name_forms(from_name or "")
    while lines and lines[-1].lower() in names:
        lines.pop()
    normalized = _PUNCT.sub(" ", " ".join(lines).lower()).strip()
    return bool(normalized) and bool(_ACK_RE.fullmatch(normalized)) and not _CLOSING_RE.fullmatch(normalized)


def _name_forms(name: str) -> frozenset[str]:
    name = name.strip().lower()
    if not name:
        return frozenset()
    parts = name.split()
    return frozenset({name, parts[0], parts[-1]})


@lru_cache(maxsize=64)
def _keywords(encoded: str) -> tuple[str, ...]:
    return tuple(k.lower() for k in json.loads(encoded) if k)


def _sql_has_solution(subject: str | None, body: str | None, keywords: str) -> int:
    return int(has_solution(subject, body, _keywords(keywords)))


def _sql_is_ack(body: str | None, from_name: str | None) -> int:
    return int(is_acknowledgement(body, from_name))


def register_functions(conn: sqlite3.Connection) -> None:
    """Make the text rules callable from SQL on this connection (idempotent)."""
    conn.create_function("mailroom_has_solution", 3, _sql_has_solution, deterministic=True)
    conn.create_function("mailroom_is_ack", 2, _sql_is_ack, deterministic=True)


def level_of(now: int, warn_at: int, due_at: int, escalate_at: int) -> str:
    if now >= escalate_at:
        return "escalated"
    if now >= due_at:
        return "breached"
    if now >= warn_at:
        return "warning"
    return "ok"
