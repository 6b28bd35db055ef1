"""Raw RFC 5322 bytes → ParsedMail, for any mail the world sends: broken, legacy-encoded, huge, hostile.

Parsing uses the stdlib's compat32 policy (about 7× faster than policy=default) and decodes headers
and bodies itself, trying the declared charset, then UTF-8, then GB18030 (a superset of GB2312/GBK,
common in Chinese mail with raw 8-bit headers). Anything that cannot be decoded is recorded as a
defect, never raised: a message is always archived.

Every message is read within bounds (`Limits`, the config's [limits]): MIME depth and part count, header
fields and their size, References, recipients, attachments and text kept. What is cut is a defect. Any
exception at all while parsing (a RecursionError, a MemoryError, a bug) gives a message read the
degraded way: the header fields that can be read, the raw size and the failure as its defect.
"""

import binascii
import email.utils
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message

from bot.core.config import Limits
from bot.mail.html_text import html_to_text
from bot.mail.mime import message_from_bytes

LIMITS = Limits()
"""The default bounds ([limits] in the config)."""

CHARSET_ALIASES = {
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "x-gb2312": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "x-sjis": "shift_jis",
    "sjis": "shift_jis",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}
FALLBACK_CHARSETS = ("utf-8", "gb18030", "big5hkscs", "shift_jis")
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|rv|tr|odp|res|enc|回复|回覆|答复|转发|轉寄|转寄)\s*(?:\[\d+\])?\s*[:：]\s*|\[(?:ext|external)\]\s*)+",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|out of (the )?office|abwesenheit|自动回复|自動回覆)",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<([^<>\s]+)>")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_SURROGATE = re.compile("[\udc80-\udcff]")
_NOT_SIMPLE = re.compile(r'["()\\:;\[\]\r\n\udc80-\udcff]')
_ADDR_SPEC = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+"
_SIMPLE_ADDRESS = re.compile(rf"[ \t]*(?:([A-Za-z0-9 \t!#$%&'*+/=?^_`{{|}}~-]*?)[ \t]*<({_ADDR_SPEC})>|({_ADDR_SPEC}))[ \t]*")


@dataclass(slots=True)
class Attachment:
    name: str
    type: str
    size: int


@dataclass(slots=True)
class ParsedMail:
    message_id: str
    date: datetime | None
    date_offset: int | None
    from_addr: str
    from_name: str
    to: list[str]
    cc: list[str]
    delivered_to: list[str]
    subject: str
    in_reply_to: str | None
    references: list[str]
    auto_submitted: bool
    is_bounce: bool
    is_list: bool
    precedence: str
    body: str
    attachments: list[Attachment]
    defects: list[str]
    size: int
    content_type: str
    has_message_id: bool = True
    names: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    prepared: dict[str, object] = field(default_factory=dict)
    """The indexes' work done where the mail was parsed, by index ("search", "categories")."""

    @property
    def subject_norm(self) -> str:
        return normalize_subject(self.subject)


def normalize_subject(subject: str) -> str:
    """'RE: Fwd: 回复：PO 4521' → 'po 4521' (used to thread mail without References)."""
    return _SPACES.sub(" ", _PREFIX.sub("", subject or "")).strip().lower()


def decode_bytes(data: bytes, charset: str | None, defects: list[str], what: str) -> str:
    declared = (charset or "").strip().strip('"').lower()
    tried: list[str] = []
    if declared:
        tried.append(CHARSET_ALIASES.get(declared, declared))
    tried.extend(c for c in FALLBACK_CHARSETS if c not in tried)
    for candidate in tried:
        try:
            text = data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
        if declared and candidate != tried[0]:
            defects.append(f"{what}: charset {declared!r} failed, decoded as {candidate}")
        return text
    defects.append(f"{what}: undecodable bytes (charset {declared or 'none'}), replaced")
    return data.decode("utf-8", errors="replace")


def decode_header(
    value: object, defects: list[str], what: str, hint: str | Callable[[], str | None] | None = None
) -> str:
    """RFC 2047 words and raw 8-bit bytes → text; never raises.

    Raw 8-bit headers carry no charset: `hint` (the body's declared charset) is tried first.
    """
    if value is None:
        return ""
    text = str(value)
    if _SURROGATE.search(text):
        raw = text.encode("ascii", "surrogateescape")
        try:
            text = raw.decode("utf-8")  # RFC 6532 UTF-8 headers are legitimate
        except UnicodeDecodeError:
            text = decode_bytes(raw, hint() if callable(hint) else hint, [], f"{what} header (raw 8-bit)")
            defects.append(f"{what} header: raw 8-bit bytes")
    if "=?" not in text:
        return _SPACES.sub(" ", text.replace("\n", " ")).strip()
    return _SPACES.sub(" ", decode_words(text, defects, what).replace("\n", " ")).strip()


def decode_words(text: str, defects: list[str], what: str) -> str:
    """RFC 2047 encoded words in an unfolded-on-the-fly header value → text.

    Unfolding removes only the line breaks (RFC 5322 §2.2.3: the whitespace stays); whitespace is
    dropped only *between two encoded words* (RFC 2047 §6.2). Adjacent encoded words in one charset
    are decoded together, so a character split across two words survives.
    """
    text = _FOLDING.sub("", text)
    chunks: list[tuple[str | bytes, str | None]] = []
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        if between and not (after_word and not between.strip(" \t")):
            chunks.append((between, None))
        position = match.end()
        charset, encoding, payload = match.groups()
        charset = charset.partition("*")[0].lower()  # RFC 2231 language tag
        try:
            if encoding in "bB":
                data = binascii.a2b_base64((payload + "=" * (-len(payload) % 4)).encode("ascii"))
            else:
                data = binascii.a2b_qp(payload.encode("ascii"), header=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            defects.append(f"{what} header: malformed encoded word")
            chunks.append((match.group(), None))
            after_word = False
            continue
        last = chunks[-1] if chunks else None
        if after_word and last is not None and isinstance(last[0], bytes) and last[1] == charset:
            chunks[-1] = (last[0] + data, charset)
        else:
            chunks.append((data, charset))
        after_word = True
    if position < len(text):
        chunks.append((text[position:], None))
    return "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, charset, defects, f"{what} header")
        for chunk, charset in chunks
    )


def _clean(text: str) -> str:
    """Raw 8-bit bytes (kept as surrogates) in places that should be ASCII → readable text."""
    if _SURROGATE.search(text):
        return text.encode("ascii", "surrogateescape").decode("utf-8", errors="replace")
    return text


def _simple_addresses(values: list[str]) -> list[tuple[str, str]] | None:
    """`a@b.com`, `Name <a@b.com>` lists without quotes, comments, groups or folding: what
    getaddresses() would return, ten times faster; None when a value is not that simple."""
    pairs = []
    for value in values:
        if _NOT_SIMPLE.search(value):
            return None
        for item in value.split(","):
            match = _SIMPLE_ADDRESS.fullmatch(item)
            if match is None:
                return None
            name, bracketed, bare = match.groups()
            pairs.append((" ".join(name.split()), bracketed) if bracketed else ("", bare))
    return pairs


def parse_addresses(values: list[str], defects: list[str], what: str) -> list[tuple[str, str]]:
    """[(name, address)] with addresses lower-cased; group syntax and garbage are tolerated."""
    if not values:
        return []
    try:
        pairs = _simple_addresses(values) or email.utils.getaddresses([str(v) for v in values])
    except Exception:  # noqa: BLE001
        defects.append(f"{what} header: unparsable address list")
        return []
    result: list[tuple[str, str]] = []
    for name, address in pairs:
        address = _clean(address).strip().strip("<>").lower()
        if "@" not in address:
            continue
        result.append((decode_header(name, defects, what) if name else "", address))
    return result


def parse_message_ids(value: object) -> list[str]:
    if not value:
        return []
    text = _clean(str(value))
    found = _MSGID.findall(text)
    if found:
        return found
    return [token for token in text.split() if "@" in token]


UNCUT_HEADERS = frozenset({"references", "in-reply-to"})
"""Read whole whatever their size: their ids are scanned in linear time, then trimmed (Limits.references)."""


class RawHeaders:
    """Header values as parsed (raw 8-bit bytes kept as surrogates for decode_header to recover),
    indexed once per message instead of scanning the header list per lookup. At most
    `limits.header_fields` fields are read, each cut at `limits.header_chars` (cuts are defects)."""

    __slots__ = ("_values",)

    def __init__(self, source: Message | Iterable[tuple[str, str]], limits: Limits = LIMITS,
                 defects: list[str] | None = None):
        self._values: dict[str, list[str]] = {}
        items = source.raw_items() if isinstance(source, Message) else source
        fields = cut = 0
        for name, value in items:
            fields += 1
            if fields > limits.header_fields:
                continue
            text = str(value)
            key = name.lower()
            if len(text) > limits.header_chars and key not in UNCUT_HEADERS:
                text = text[: limits.header_chars]
                cut += 1
            self._values.setdefault(key, []).append(text)
        if defects is not None:
            if fields > limits.header_fields:
                defects.append(f"limit: {fields:,} header fields, the first {limits.header_fields:,} read")
            if cut:
                defects.append(f"limit: {cut:,} header field(s) longer than {limits.header_chars:,} characters cut")

    def first(self, name: str) -> str:
        values = self._values.get(name.lower())
        return values[0] if values else ""

    def all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])


def walk(msg: Message, limits: Limits, defects: list[str] | None = None) -> Iterator[Message]:
    """msg.walk() without recursion, at most `limits.mime_depth` levels and `limits.mime_parts` parts deep;
    what is left unread is recorded in `defects` (when given)."""
    stack: list[tuple[Message, int]] = [(msg, 1)]
    parts = 0
    too_deep = False
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > limits.mime_parts:
            if defects is not None:
                defects.append(f"limit: more than {limits.mime_parts:,} MIME parts, the rest not read")
            return
        yield part
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list) and payload:
            if depth >= limits.mime_depth:
                too_deep = True
                continue
            stack.extend((child, depth + 1) for child in reversed(payload) if isinstance(child, Message))
    if too_deep and defects is not None:
        defects.append(f"limit: MIME parts nested deeper than {limits.mime_depth} levels not read")


def _charset_hint(msg: Message, limits: Limits = LIMITS) -> str | None:
    for part in walk(msg, limits):
        charset = part.get_param("charset")
        if isinstance(charset, str) and charset.lower() not in ("us-ascii", "utf-8"):
            return charset
    return None


def _parse_date(value: str, defects: list[str]) -> tuple[datetime | None, int | None]:
    if not value:
        return None, None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, AttributeError, OverflowError):
        defects.append(f"Date header unparsable: {value[:60]!r}")
        return None, None
    if parsed is None:
        return None, None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), 0
    offset = parsed.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return parsed.astimezone(UTC), minutes


def _date_from_received(headers: RawHeaders) -> datetime | None:
    for received in headers.all("Received"):
        stamp = str(received).rpartition(";")[2].strip()
        try:
            parsed = email.utils.parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError, AttributeError, OverflowError):
            continue
        if parsed is not None:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def _body_offset(raw: bytes) -> int:
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index >= 0:
            return index + len(separator)
    return len(raw)


TRANSPORT_HEADERS = frozenset(
    b"received delivered-to x-original-to return-path status x-status x-uid x-keywords x-mozilla-status "
    b"x-mozilla-status2 x-spam-status x-spam-score x-virus-scanned content-length lines".split()
)


def content_id(raw: bytes) -> str:
    """A stable id for mail without a Message-ID: the same letter, delivered to two mailboxes or
    fetched twice, hashes the same (transport headers that differ per copy are left out)."""
    digest = hashlib.sha256()
    offset = _body_offset(raw)
    skipping = False
    for line in raw[:offset].splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                digest.update(line)
            continue
        skipping = line.split(b":", 1)[0].strip().lower() in TRANSPORT_HEADERS
        if not skipping:
            digest.update(line)
    digest.update(raw[offset:])
    return f"sha256-{digest.hexdigest()[:40]}@mailroom.invalid"


def fingerprint(mail: "ParsedMail") -> str:
    """What makes two copies the same letter: sender, date, subject, text and attachments."""
    digest = hashlib.sha256()
    for part in (mail.from_addr, mail.date.isoformat() if mail.date else "", mail.subject, mail.body):
        digest.update(part.encode("utf-8", "replace") + b"\0")
    for attachment in mail.attachments:
        digest.update(f"{attachment.name}|{attachment.size}".encode("utf-8", "replace"))
    return digest.hexdigest()[:24]


def _walk_parts(msg: Message, defects: list[str], limits: Limits) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[Attachment] = []
    found_attachments = 0
    text_chars = 0
    for part in walk(msg, limits, defects):
        for defect in part.defects:
            defects.append(type(defect).__name__)
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition_header = str(part.get("Content-Disposition", ""))
        disposition = disposition_header.split(";", 1)[0].strip().lower()
        filename = None
        if "name" in disposition_header.lower() or "name" in str(part.get("Content-Type", "")).lower():
            try:  # (filename= or name= parameters, RFC 2231 ones included, all contain "name")
                filename = part.get_filename()
            except Exception:  # noqa: BLE001
                filename = None
        if filename:
            filename = decode_header(filename[: limits.header_chars], defects, "attachment name")[:500]
        is_text = ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
        if not is_text:
            if ctype.startswith("multipart/") or ctype == "message/delivery-status" and not filename:
                continue
            found_attachments += 1
            if found_attachments <= limits.attachments:
                attachments.append(Attachment(filename or "", ctype, _payload_size(part, limits)))
            continue
        if text_chars >= limits.body_chars:
            continue  # enough text kept; sized below
        text = _part_text(part, ctype, defects, limits)
        text_chars += len(text)
        (plain if ctype == "text/plain" else markup).append(text)
    if found_attachments > limits.attachments:
        defects.append(f"limit: {found_attachments:,} attachments, the first {limits.attachments:,} kept")
    if plain:
        body = "\n\n".join(t.strip() for t in plain)
    elif markup:
        body = "\n\n".join(html_to_text(_cut(t, limits.html_chars, "HTML", defects)) for t in markup)
    else:
        body = ""
    body = body.replace("\r\n", "\n").replace("\x00", "")
    if len(body) > limits.body_chars:
        defects.append(f"limit: text of {len(body):,} characters, the first {limits.body_chars:,} kept")
        body = body[: limits.body_chars]
    return body, attachments


def _cut(text: str, limit: int, what: str, defects: list[str]) -> str:
    if len(text) <= limit:
        return text
    defects.append(f"limit: {what} of {len(text):,} characters, the first {limit:,} converted")
    return text[:limit]


def _part_text(part: Message, ctype: str, defects: list[str], limits: Limits) -> str:
    """A text part's text, decoding no more of its payload than the text kept needs (HTML: its limit)."""
    keep = limits.html_chars if ctype == "text/html" else limits.body_chars
    raw_payload = part.get_payload()
    if isinstance(raw_payload, str) and len(raw_payload) > 4 * keep + 4:
        # at most 4 bytes a character, whatever the transfer encoding: the rest cannot be kept anyway
        # (the payload is cut at a line end, so base64 and quoted-printable stay decodable)
        end = raw_payload.rfind("\n", 0, 4 * keep)
        defects.append(f"limit: {ctype} part of {len(raw_payload):,} characters, only its start read")
        part = _with_payload(part, raw_payload[: end if end > 0 else 4 * keep])
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        defects.append(f"{ctype} part: undecodable transfer encoding")
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return decode_bytes(payload if isinstance(payload, bytes) else b"", part.get_content_charset(), defects,
                        f"{ctype} part")


def _with_payload(part: Message, payload: str) -> Message:
    copy = Message()
    for name, value in part.raw_items():
        copy.set_raw(name, value)
    copy.set_payload(payload)
    return copy


def _payload_size(part: Message, limits: Limits) -> int:
    total = 0
    for inner in walk(part, limits):
        payload = inner.get_payload()
        if not isinstance(payload, str):
            continue
        if str(inner.get("Content-Transfer-Encoding", "")).strip().lower() == "base64":
            total += (len(payload) - payload.count("\n") - payload.count("\r")) * 3 // 4
        else:
            total += len(payload)
    return total


def parse_mail(raw: bytes, limits: Limits = LIMITS) -> ParsedMail:
    """Parse one message within `limits`; every problem is recorded in `defects`, nothing raises."""
    try:
        return _parse_mail(raw, limits)
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError, bugs: one message never stops the rest
        return degraded_mail(raw, f"{type(exc).__name__}: {str(exc)[:200]}", limits)


def _parse_mail(raw: bytes, limits: Limits) -> ParsedMail:
    defects: list[str] = []
    msg = message_from_bytes(raw, limits.mime_depth)
    headers = RawHeaders(msg, limits, defects)
    for defect in msg.defects:
        defects.append(type(defect).__name__)
    body, attachments = "", list[Attachment]()
    try:
        body, attachments = _walk_parts(msg, defects, limits)
    except Exception as exc:  # noqa: BLE001 - a message is always archived, even half-read
        defects.append(f"body unreadable: {type(exc).__name__}")
    return _mail(raw, headers, defects, limits, ctype=msg.get_content_type(), body=body, attachments=attachments,
                 charset_hint=lambda: _charset_hint(msg, limits))


def degraded_mail(raw: bytes, reason: str, limits: Limits = LIMITS) -> ParsedMail:
    """What can be read of a message the parser failed on: its header block (read line by line, no MIME),
    the raw size and the failure as a defect. Never raises."""
    defects = [f"unreadable message ({reason}): stored with the header fields that could be read"]
    try:
        headers = RawHeaders(_header_fields(raw, limits), limits, defects)
        return _mail(raw, headers, defects, limits, ctype="text/plain", body="", attachments=[],
                     charset_hint=None)
    except Exception as exc:  # noqa: BLE001 - even the header block is beyond reading
        defects.append(f"header block unreadable: {type(exc).__name__}")
        return _mail(raw, RawHeaders([]), defects, limits, ctype="text/plain", body="", attachments=[],
                     charset_hint=None)


def _header_fields(raw: bytes, limits: Limits) -> list[tuple[str, str]]:
    """(name, value) of the header block, unfolded by joining lines, without the email package."""
    end = _body_offset(raw[: limits.header_fields * limits.header_chars])
    fields: list[tuple[str, list[str]]] = []
    for line in raw[:end].decode("ascii", "surrogateescape").splitlines():
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1].append(line)
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append((name.strip(), [value.strip()]))
            if len(fields) > limits.header_fields:
                break
    return [(name, "\n".join(lines)) for name, lines in fields]


def _recipients(headers: RawHeaders, names: tuple[str, ...], defects: list[str], what: str,
                limits: Limits) -> list[tuple[str, str]]:
    values = [v for name in names for v in headers.all(name)]
    found: list[tuple[str, str]] = []
    for index, value in enumerate(values):  # field by field, so that hundreds of huge fields are not all parsed
        found += parse_addresses([value], defects, what)
        if len(found) > limits.recipients:
            rest = values[index + 1:]
            about = " or so" if rest else ""
            defects.append(f"limit: {what} lists {len(found) + sum(v.count('@') for v in rest):,} addresses{about}, "
                           f"the first {limits.recipients:,} kept")
            return found[: limits.recipients]
    return found


def _mail(raw: bytes, headers: RawHeaders, defects: list[str], limits: Limits, *, ctype: str, body: str,
          attachments: list[Attachment], charset_hint: Callable[[], str | None] | None) -> ParsedMail:
    """The ParsedMail of a message whose header fields and body are read."""
    ids = parse_message_ids(headers.first("Message-ID"))
    has_id = bool(ids)
    if not has_id:
        defects.append("no Message-ID: id derived from content")
    message_id = ids[0][:500] if ids else content_id(raw)

    date, offset = _parse_date(headers.first("Date"), defects)
    if date is None:
        date = _date_from_received(headers)
        defects.append("no usable Date: " + ("taken from Received" if date else "unknown"))

    senders = parse_addresses(headers.all("From"), defects, "From")
    if not senders:
        senders = parse_addresses(headers.all("Sender"), defects, "Sender")
    from_name, from_addr = senders[0] if senders else ("", "")
    to = _recipients(headers, ("To",), defects, "To", limits)
    cc = _recipients(headers, ("Cc",), defects, "Cc", limits)
    delivered = [a for _, a in _recipients(headers, ("Delivered-To", "X-Original-To"), defects, "Delivered-To",
                                           limits)]
    subject = decode_header(headers.first("Subject"), defects, "Subject", charset_hint)
    reply_to = parse_message_ids(headers.first("In-Reply-To"))
    references = parse_message_ids(headers.first("References"))
    if len(references) > limits.references:
        head = max(1, limits.references // 10)
        defects.append(f"limit: {len(references):,} References, the first {head} and last "
                       f"{limits.references - head} kept")
        references = references[:head] + references[len(references) - (limits.references - head):]

    local = from_addr.partition("@")[0]
    auto_value = headers.first("Auto-Submitted").strip().lower()
    auto = bool(
        (auto_value and auto_value != "no")
        or headers.first("X-Autoreply")
        or headers.first("X-Autorespond")
        or headers.first("X-Autogenerated")
        or _AUTO_SUBJECT.match(subject)
    )
    precedence = headers.first("Precedence").strip().lower()[:50]
    is_bounce = ctype == "multipart/report" or local in ("mailer-daemon", "postmaster")
    is_list = bool(headers.first("List-Id") or headers.first("List-Unsubscribe") or precedence in ("bulk", "junk", "list"))

    names = {address: name for name, address in senders + to + cc if name}
    mail = ParsedMail(
        message_id=message_id,
        date=date,
        date_offset=offset,
        from_addr=from_addr,
        from_name=from_name,
        to=[a for _, a in to],
        cc=[a for _, a in cc],
        delivered_to=delivered,
        subject=subject,
        in_reply_to=reply_to[0] if reply_to else None,
        references=references,
        auto_submitted=auto,
        is_bounce=is_bounce,
        is_list=is_list,
        precedence=precedence,
        body=body,
        attachments=attachments,
        defects=list(dict.fromkeys(defects)),
        size=len(raw),
        content_type=ctype,
        has_message_id=has_id,
        names=names,
    )
    mail.fingerprint = fingerprint(mail)
    return mail
