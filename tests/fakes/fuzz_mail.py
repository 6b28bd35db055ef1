"""Hypothesis strategies for hostile mail: structured attacks and mutations of real corpus messages.

Used by tests/unit/test_fuzz_import.py (a few hundred examples) and bench/fuzz_import.py (a long run).
"""

import base64
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
CORPUS = SHARED_CORPUS if SHARED_CORPUS.is_dir() else ROOT / "tests" / "data" / "corpus"

MAX_SIZE = 6_000_000
"""Generated messages are cut here (mail servers refuse much larger; parsing is linear in size anyway)."""
HEAD = b"From: Fuzz <fuzz@evil.example>\r\nTo: inquiry@hengda-valves.com\r\n"
EOLS = (b"\n", b"\r\n", b"\r", b"")
CHARSETS = ("utf-8", "gb2312", "x-unknown", "big5", "iso-2022-jp", "utf-7", "", "utf-8*en", "\xff")

eol = st.sampled_from(EOLS)
small_bytes = st.binary(max_size=40)
nul_or_junk = st.sampled_from([b"\x00", b"\xff\xfe", b"\x1b$B", b"\r", b"=?", b"?=", b"--", b":", b"\t", b"\x85"])


@st.composite
def encoded_word(draw: st.DrawFn) -> bytes:
    charset = draw(st.sampled_from(CHARSETS)).encode("latin-1")
    encoding = draw(st.sampled_from([b"b", b"q", b"B", b"Q", b"x"]))
    size = draw(st.sampled_from([0, 1, 10, 100, 5_000, 200_000]))  # overlong words included
    payload = base64.b64encode(b"\xe4\xbd\xa0" * (size // 3 + 1))[:size] if encoding in b"bB" else b"=E4=BD" * (size // 6)
    if draw(st.booleans()):
        payload += draw(small_bytes).replace(b"?=", b"")  # broken payload
    return b"=?" + charset + b"?" + encoding + b"?" + payload + b"?="


@st.composite
def header_field(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from([b"Subject", b"From", b"To", b"Cc", b"References", b"Message-ID", b"Date",
                                 b"Content-Type", b"Content-Transfer-Encoding", b"X-Junk", b"Received",
                                 b"In-Reply-To", b"Delivered-To", b"Content-Disposition", b""]))
    parts = draw(st.lists(st.one_of(encoded_word(), small_bytes, nul_or_junk,
                                    st.builds(lambda n: b"<id%d@x>" % n, st.integers(0, 10**6)),
                                    st.builds(lambda n, c: c * n, st.sampled_from([1, 1000, 100_000]),
                                              st.sampled_from([b"A", b"a@b.c, ", b"<r@x> ", b"\xe4"]))),
                          max_size=6))
    fold = draw(st.sampled_from([b" ", b"\r\n ", b"\n\t", b""]))
    return name + b":" + fold.join(parts)


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    """Multiparts nested deep, with boundaries that may not match what they declare."""
    depth = draw(st.integers(1, 1200))
    wrong = draw(st.booleans())
    out = [HEAD, b"Subject: nested\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    for level in range(1, depth):
        used = b"x%d" % level if wrong and level % 7 == 0 else b"b%d" % (level - 1)
        out.append(b"--" + used + b"\r\nContent-Type: multipart/alternative; boundary=b%d\r\n\r\n" % level)
    out.append(b"--b%d\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n" % (depth - 1))
    if draw(st.booleans()):
        out.extend(b"--b%d--\r\n" % level for level in range(depth - 1, -1, -1))
    return b"".join(out)[:MAX_SIZE]


@st.composite
def self_contained(draw: st.DrawFn) -> bytes:
    """message/rfc822 inside itself."""
    depth = draw(st.integers(1, 1200))
    inner = b"Subject: core\r\n\r\nbody\r\n"
    for _ in range(depth):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return HEAD + inner


@st.composite
def bad_body(draw: st.DrawFn) -> bytes:
    """Wrong transfer encodings and charsets, giant lines, NUL bytes, HTML soup."""
    cte = draw(st.sampled_from([b"base64", b"quoted-printable", b"8bit", b"x-uuencode", b"7bit", b"b\x00ase64"]))
    ctype = draw(st.sampled_from([b"text/plain", b"text/html", b"application/pdf", b"multipart/mixed",
                                  b"message/delivery-status", b"text/plain; charset=\"x-gbk\""]))
    charset = draw(st.sampled_from(CHARSETS)).encode("latin-1")
    line = draw(st.sampled_from([1, 80, 10_000, 300_000]))
    body = draw(st.sampled_from([b"A", b"<p>", b"=\r\n", b"\x00", b"\xe4\xbd", b"<!--", b"<td>", b"&#x0;"])) * line
    body += draw(st.binary(max_size=200))
    name = draw(st.sampled_from([b"", b"; name=\"" + b"n" * 5000 + b"\"", b"; filename*=utf-8''%E4%BD%A0.pdf"]))
    return (HEAD + b"Subject: body\r\nContent-Type: " + ctype + b"; charset=" + charset + name
            + b"\r\nContent-Transfer-Encoding: " + cte + b"\r\n\r\n" + body)[:MAX_SIZE]


@st.composite
def broken_headers(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(header_field(), min_size=1, max_size=12))
    count = draw(st.sampled_from([1, 1, 1, 1000]))
    separator = draw(st.sampled_from([b"\r\n", b"\n", b"\r", b"\x00\n"]))
    fields = [f[: MAX_SIZE // 20] for f in fields]
    count = min(count, MAX_SIZE // (sum(len(f) + 2 for f in fields)) + 1)  # (never build gigabytes to cut them)
    return (HEAD + separator.join(fields * count) + separator + separator + draw(st.binary(max_size=300)))[:MAX_SIZE]


structured = st.one_of(nested(), self_contained(), bad_body(), broken_headers())


def corpus_files() -> list[bytes]:
    files = sorted(f for f in CORPUS.rglob("*.eml") if f.stat().st_size < 200_000)
    return [f.read_bytes() for f in files[:: max(1, len(files) // 150)]]


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A real message, cut, spliced, with bytes flipped or its blank lines and boundaries damaged."""
    raw = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "flip", "repeat", "no-blank", "boundary", "nul"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "cut":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = draw(st.one_of(small_bytes, nul_or_junk, header_field()))
        elif kind == "flip" and raw:
            raw[at] ^= draw(st.integers(1, 255))
        elif kind == "repeat":
            raw[at:at] = bytes(raw[at:at + 200]) * draw(st.sampled_from([2, 50, 2000]))
        elif kind == "no-blank":
            raw = bytearray(bytes(raw).replace(b"\n\n", b"\n", 1).replace(b"\r\n\r\n", b"\r\n", 1))
        elif kind == "boundary":
            raw = bytearray(bytes(raw).replace(b"boundary=", b"boundary=x", 1))
        else:
            raw[at:at] = b"\x00" * draw(st.integers(1, 5000))
    return bytes(raw[:MAX_SIZE])
