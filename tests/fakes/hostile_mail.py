"""Hostile and junk files for the isolation tests and benches: what anyone on the internet can send."""

import base64
from pathlib import Path

HEAD = "From: Attacker <x@evil.example>\nTo: inquiry@hengda-valves.com\nDate: Mon, 23 Nov 2026 08:00:00 +0800\n"


def deep_nesting(depth: int = 500, *, tag: str = "deep") -> bytes:
    """Multiparts nested `depth` deep (~30 KB at 500): the feed parser recurses once per level."""
    out = [f"{HEAD}Subject: nested {depth}\nMessage-ID: <{tag}-{depth}@evil.example>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=b0\n\n"]
    for level in range(1, depth):
        out.append(f"--b{level - 1}\nContent-Type: multipart/mixed; boundary=b{level}\n\n")
    out.append(f"--b{depth - 1}\nContent-Type: text/plain\n\ninnermost\n")
    for level in range(depth - 1, -1, -1):
        out.append(f"--b{level}--\n")
    return "".join(out).encode()


def many_references(count: int = 100_000, *, tag: str = "refs") -> bytes:
    refs = "\n ".join(f"<ref-{i}@nowhere.invalid>" for i in range(count))
    return (f"{HEAD}Subject: many references\nMessage-ID: <{tag}-{count}@evil.example>\n"
            f"References: {refs}\nIn-Reply-To: <ref-{count - 1}@nowhere.invalid>\n\nshort body\n").encode()


def huge_body(megabytes: int = 39, *, tag: str = "huge") -> bytes:
    line = "The quick brown fox jumps over the lazy dog 0123456789 " * 2 + "\n"
    body = line * (megabytes * 2**20 // len(line))
    return (f"{HEAD}Subject: huge text body\nMessage-ID: <{tag}-{megabytes}@evil.example>\n"
            f"Content-Type: text/plain; charset=utf-8\n\n{body}").encode()


def many_recipients(count: int = 20_000, *, tag: str = "rcpt") -> bytes:
    to = ",\n ".join(f"user{i}@many.example" for i in range(count))
    return (f"From: x@evil.example\nTo: {to}\nSubject: everyone\nMessage-ID: <{tag}-{count}@evil.example>\n"
            "Date: Mon, 23 Nov 2026 08:00:00 +0800\n\nhi all\n").encode()


def many_parts(count: int = 20_000, *, tag: str = "parts") -> bytes:
    parts = "".join(f"--p\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\n\nx\n" for i in range(count))
    return (f"{HEAD}Subject: many parts\nMessage-ID: <{tag}-{count}@evil.example>\nMIME-Version: 1.0\n"
            f"Content-Type: multipart/mixed; boundary=p\n\n{parts}--p--\n").encode()


def many_headers(count: int = 100_000, *, tag: str = "headers") -> bytes:
    junk = "".join(f"X-Junk-{i}: {'v' * 20}\n" for i in range(count))
    return (f"{HEAD}Subject: many headers\nMessage-ID: <{tag}-{count}@evil.example>\n{junk}\nbody\n").encode()


def giant_header_line(size: int = 5_000_000, *, tag: str = "longline") -> bytes:
    return (f"{HEAD}Subject: {'A' * size}\nMessage-ID: <{tag}-{size}@evil.example>\n\nbody\n").encode()


def self_rfc822(depth: int = 300, *, tag: str = "rfc822") -> bytes:
    """message/rfc822 inside itself, `depth` times."""
    inner = "Subject: innermost\n\ncore\n"
    for _ in range(depth):
        inner = f"Subject: wrapper\nContent-Type: message/rfc822\n\n{inner}"
    return (f"{HEAD}Message-ID: <{tag}-{depth}@evil.example>\n{inner}").encode()


def hostile_html(*, tag: str = "html") -> bytes:
    markup = ('<html><head><style>p {color: red}</style><script>var s = "<p>no</p>";</script></head><body>'
              '<p title="a>b">Hello</p><!-- x > y -->World<br>line two'
              '<table><tr><td>Item</td><td>Qty</td></tr><tr><td>Valve DN50</td><td>100</td></tr></table>'
              '<ul><li>first</li><li>second</li></ul><a href="https://acme.example/po">the PO</a> &amp; &lt;more&gt;'
              "<div><b>unclosed <i>markup</div></body></html>")
    return (f"{HEAD}Subject: html\nMessage-ID: <{tag}@evil.example>\nContent-Type: text/html; charset=utf-8\n\n"
            f"{markup}\n").encode()


def folded_encoded_subject(*, tag: str = "folded") -> bytes:
    word = base64.b64encode("投诉：包装破损，合页生锈".encode()).decode()
    return (f"{HEAD}Subject: =?utf-8?b?{word}?=\n PO-2026-0311\nMessage-ID: <{tag}@evil.example>\n\nbody\n").encode()


JUNK: dict[str, bytes] = {
    "photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8,
    "scan.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20,
    "mail.msg": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000,
    "archive.zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4,
    "empty.eml": b"",
    "random.bin": bytes((i * 7919 + 13) % 256 for i in range(4096)),
}


def hostile_set() -> dict[str, bytes]:
    """The named hostile messages (each must be archived, with defects)."""
    return {
        "deep.eml": deep_nesting(),
        "refs.eml": many_references(),
        "huge.eml": huge_body(),
        "recipients.eml": many_recipients(),
        "parts.eml": many_parts(),
        "headers.eml": many_headers(),
        "longline.eml": giant_header_line(),
        "rfc822.eml": self_rfc822(),
        "html.eml": hostile_html(),
        "folded.eml": folded_encoded_subject(),
        "notes.txt": "这不是邮件，只是一些笔记。\nJust notes, no header block at all.\n".encode(),
    }


def write_folder(folder: Path, normal: dict[str, bytes]) -> None:
    """Normal mail (without extension: raw mail saved so), the hostile set and the junk in one folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in {**normal, **hostile_set(), **JUNK}.items():
        (folder / name).write_bytes(raw)
