"""Reading raw mail into compat32 Message objects, fast for clean messages.

The stdlib feed parser reads a message line by line in Python, and for each multipart compiles a
regular expression for its boundary — together most of the time Mailroom spends parsing. Yet a clean
message is simple: a header block of `Name: value` lines, then either the payload as it stands or, for
a multipart, parts between boundary lines found with str.find. `message_from_bytes` reads clean messages
so and hands everything else (a Unix From line, a line that is not a header, a lone CR, message/*,
multipart/digest, a missing or doubled boundary, a part without headers' blank line: whatever the feed
parser would treat specially or record a defect for) to the feed parser. The result is the same
Message either way; tests/test_parse_fast_paths.py compares both on real mail.
"""

import email
import re
from email.message import Message

_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+")
_BOUNDARY_REST = re.compile(r"(--)?[ \t]*(\r\n|\r|\n)?")
"""What may follow `--boundary` on a boundary line (the feed parser's boundary pattern, less the boundary)."""
_EOL = re.compile(r"(\r\n|\r|\n)\Z")


FAST_DEPTH = 50
"""Multiparts nested deeper than this are left to the feed parser (the fast path recurses per level)."""


def message_from_bytes(raw: bytes, max_depth: int = FAST_DEPTH) -> Message:
    """compat32's `email.message_from_bytes(raw)`."""
    text = raw.decode("ascii", "surrogateescape")
    return _entity(text, top=True, depth=min(max_depth, FAST_DEPTH)) or email.message_from_bytes(raw)


def _entity(text: str, *, top: bool = False, depth: int = FAST_DEPTH) -> Message | None:
    """A message or body part read from `text`, or None when it is not clean (or nested deeper than `depth`)."""
    if depth <= 0:
        return None
    if not top and text[:1] in ("\n", "\r"):
        eol = 2 if text.startswith("\r\n") else 1
        headers: list[tuple[str, str]] | None = []
        body = text[eol:]
    else:
        split = _header_end(text)
        if split < 0:
            return None
        headers, body = _clean_headers(text[:split]), text[split:]
    if headers is None:
        return None
    msg = Message()
    for name, value in headers:
        msg.set_raw(name, value)
    kind = msg.get_content_maintype()
    if kind == "message":
        return None
    if kind == "multipart":
        return msg if _read_parts(msg, body, depth) else None
    msg.set_payload(body if top else _EOL.sub("", body))  # a part's last line break belongs to the boundary
    return msg


def _header_end(text: str) -> int:
    """Where the body starts: after the first empty line (LF or CRLF), or -1 without one."""
    ends = [found + len(blank) for blank in ("\n\n", "\n\r\n") if (found := text.find(blank)) >= 0]
    return min(ends, default=-1)


def _clean_headers(head: str) -> list[tuple[str, str]] | None:
    """The (name, value) pairs of a header block ending with its empty line, as the compat32 feed parser
    reads them (values unfolded only by joining their lines, trailing line break removed); None when
    the block holds anything the feed parser treats specially."""
    lines = head.split("\n")[:-2]  # the empty line, and what follows its line break
    headers: list[tuple[str, list[str]]] = []  # a folded value's lines, joined once at the end (linear)
    for line in lines:
        if "\r" in line[:-1]:
            return None
        if line[:1] in (" ", "\t"):
            if not headers:
                return None
            headers[-1][1].append(line)
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or not _FIELD_NAME.fullmatch(name) or line.startswith("From "):
            return None
        headers.append((name, [value.lstrip(" \t")]))
    return [(name, "\n".join(value).rstrip("\r\n")) for name, value in headers]


def _read_parts(msg: Message, body: str, depth: int) -> bool:
    """Fill a multipart `msg` from its body as the feed parser would: preamble, parts, epilogue; the
    line break before each boundary line belongs to the boundary. False when anything is unusual."""
    boundary = msg.get_boundary()
    if not boundary or msg.get_content_subtype() == "digest" or "\r" in body.replace("\r\n", ""):
        return False
    if str(msg.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
        return False
    lines = _boundary_lines(body, "--" + boundary)
    if not lines or lines[0][2]:
        return False
    preamble = body[: lines[0][0]]
    if preamble:
        msg.preamble = _EOL.sub("", preamble)
    for (_start, after, is_end, _eol), (following, _, _, _) in zip(lines, lines[1:], strict=False):
        if is_end:
            break
        if following == after:  # two boundary lines in a row
            return False
        part = _entity(body[after:following], depth=depth - 1)
        if part is None:
            return False
        if part.is_multipart():
            part.epilogue = _EOL.sub("", part.epilogue) if part.epilogue else None
        msg.attach(part)
    closing = next((line for line in lines if line[2]), None)
    if closing is None or not msg.is_multipart():
        return False
    msg.epilogue = body[closing[1]:]
    return True


def _boundary_lines(body: str, separator: str) -> list[tuple[int, int, bool, bool]]:
    """(start, end, closes, has a line break) of each line that is a boundary line for `separator`."""
    found = []
    start = 0 if body.startswith(separator) else _next_line_start(body, separator, 0)
    while start >= 0:
        newline = body.find("\n", start)
        end = len(body) if newline < 0 else newline + 1
        rest = _BOUNDARY_REST.fullmatch(body, start + len(separator), end)
        if rest is not None:
            found.append((start, end, rest.group(1) is not None, rest.group(2) is not None))
        start = -1 if newline < 0 else _next_line_start(body, separator, newline)
    return found


def _next_line_start(body: str, separator: str, after: int) -> int:
    """The start of the next line (after `after`) that begins with `separator`, or -1."""
    found = body.find("\n" + separator, after)
    return found + 1 if found >= 0 else -1
