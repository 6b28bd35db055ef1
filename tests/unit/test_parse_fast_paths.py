"""The parser's and the search text's fast paths give exactly what the slow, obvious code gives.

Each fast path (header block read without the feed parser, simple address lists without getaddresses,
CJK bigrams laid out in one array, vocabulary words without a regex) is checked against the
straightforward implementation on real mail from the corpus, the demo factory's mail and odd cases.
"""

import email
import email.policy
import email.utils
import random
import re
import unicodedata
from email.message import Message
from pathlib import Path

import pytest

from bot.demo.generator import generate
from bot.mail.mime import _entity, message_from_bytes
from bot.mail.parse import RawHeaders, _simple_addresses
from bot.search.text import index_text, vocabulary_words
from tests.conftest import DATA, DEMO_NOW

SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
CORPUS = SHARED_CORPUS if SHARED_CORPUS.is_dir() else DATA / "corpus"

ODD_MESSAGES = [
    b"Subject: x\n\nbody\n",
    b"Subject: x\r\n\r\nbody",
    b"Subject: x\r\n\nmixed line ends\r\n",
    b"\nSubject: starts with a blank line\n\nb",
    b"Subject: no body at all",
    b"junk line\nSubject: y\n\nz",
    b"From x@y Mon Nov 23 08:00:00 2026\nSubject: a Unix From line\n\nFrom me\n",
    b"Subject: a\nContent-Type: message/rfc822\n\nSubject: inner\n\nhi\n",
    b"Subject: a lone\rCR\nTo: b@c.d\n\nbody",
    b"To: a@b.c,\n  d@e.f\nSubject: folded\n\tover lines\n\nx",
    b" continuation first\nSubject: a\n\nb",
    b"X Bad Name: 1\n\nb",
    b": no name\n\nb",
    b"Subject: \xe4\xbd\xa0\xe5\xa5\xbd raw 8-bit\nContent-Type: text/plain; charset=utf-8\n\n\xe4\xbd\xa0\n",
    b"Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\npart\n--z--\n",
    b"Content-Type: multipart/mixed; boundary=z\r\n\r\npreamble\r\n--z\r\n\r\nno headers\r\n--z--  \r\nepilogue\r\n",
    b"Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: multipart/alternative; boundary=y\n\n--y\n\n"
    b"plain \xe4\xbd\xa0\n--y\nContent-Type: text/html\n\n<p>html</p>\n--y--\n\n--z\n\nlast\n--z--",
    b"Content-Type: multipart/mixed; boundary=z\n\n--z\n\none\n--z\n--z\n\ndoubled boundary\n--z--\n",
    b"Content-Type: multipart/mixed; boundary=z\n\n--z\n\nnever closed\n",
    b"Content-Type: multipart/mixed; boundary=z\n\n--z--\nclosed before opened\n",
    b"Content-Type: multipart/mixed; boundary=z\n\n--zz\nnot a boundary line\n--z \t\n\npart\n--z--",
    b"Content-Type: multipart/digest; boundary=z\n\n--z\n\nSubject: digest part\n\nx\n--z--\n",
    b"Content-Type: multipart/mixed\n\nno boundary parameter\n",
    b"Content-Type: multipart/mixed; boundary=z\nContent-Transfer-Encoding: base64\n\n--z\n\nx\n--z--\n",
    b"Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n--z--\n",
    # folded encoded words: the header values must come out exactly as the feed parser keeps them
    b"Subject: =?utf-8?b?5oqV6K+J77ya5YyF6KOF56C05o2f77yM5ZCI6aG155Sf6ZSI?=\n PO-2026-0311\n\nx\n",
    b"Subject: =?utf-8?b?5oqV6K+J?=\r\n =?utf-8?b?5YyF6KOF?=\r\n\r\nx\r\n",
    b"Subject: Re: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\n\tBerlin\nTo: =?gb2312?b?suK7+Q==?=\n <a@b.c>\n\nx\n",
    b"Subject: =?utf-8?q?a?=  \t\n =?iso-8859-1?q?=E9?=\n\nx\n",
]


def corpus_messages() -> list[bytes]:
    return [f.read_bytes() for f in sorted(CORPUS.rglob("*")) if f.is_file() and f.suffix != ".tsv"]


def demo_messages() -> list[bytes]:
    return [m.raw for m in generate(DEMO_NOW)]


def shape(msg: Message) -> tuple[object, ...]:
    """Everything the parser reads from a Message, recursively (payloads as stored: raw 8-bit kept)."""
    payload = msg._payload
    parts = [shape(p) for p in payload] if isinstance(payload, list) else payload
    return (msg._headers, [type(d).__name__ for d in msg.defects], parts, msg.get_unixfrom(), msg.preamble,
            msg.epilogue)


def test_folded_encoded_words_decode_as_the_standard_parser_does() -> None:
    """The fast header path and the stdlib's policy=default parser agree on folded encoded words: RFC 5322
    unfolding keeps the whitespace; RFC 2047 drops only whitespace between two encoded words."""
    from bot.mail.parse import parse_mail

    folded = [raw for raw in ODD_MESSAGES if b"=?" in raw]
    assert len(folded) == 4
    for raw in folded:
        standard = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
        assert parse_mail(raw).subject == " ".join(standard.split()), raw


def test_fast_message_parse_equals_the_feed_parser() -> None:
    raws = corpus_messages() + demo_messages() + ODD_MESSAGES
    assert len(raws) > 400
    differing = [raw[:80] for raw in raws if shape(message_from_bytes(raw)) != shape(email.message_from_bytes(raw))]
    assert differing == []


def test_random_header_blocks_parse_like_the_feed_parser() -> None:
    rng = random.Random(7)
    lines = [b"Subject: hi", b"To: a@b.c", b" folded", b"\tfolded", b"From x@y", b"X Bad: 1", b":empty", b"junk",
             b"Content-Type: multipart/mixed; boundary=z", b"Content-Type: text/plain; charset=gb2312",
             b"Subject: \xe4\xbd\xa0", b"Subject: a\rb", b"", b"Content-Type: message/rfc822"]
    for _ in range(3000):
        sep = rng.choice([b"\n", b"\r\n"])
        raw = sep.join(rng.choice(lines) for _ in range(rng.randint(0, 6))) + sep + sep + b"body" + sep + b"--z" + sep
        assert shape(message_from_bytes(raw)) == shape(email.message_from_bytes(raw)), raw


def random_multipart(rng: random.Random, eol: str, boundary: str, depth: int = 0) -> str:
    """A multipart body: mostly well formed, sometimes with one of the glitches mail carries."""
    def line(*choices: str) -> str:
        return rng.choice(choices)

    out = [line("", "preamble", f"preamble{eol}two lines")] if rng.random() < 0.5 else []
    for _ in range(rng.randint(1, 3)):
        out.append(f"--{boundary}" + line("", "", "  ", "\t", "x"))
        if depth < 2 and rng.random() < 0.3:
            inner = f"{boundary}{depth}"
            out.append(f"Content-Type: multipart/alternative; boundary={inner}{eol}")
            out.append(random_multipart(rng, eol, inner, depth + 1))
            continue
        headers = line("", "Content-Type: text/plain", "Content-Type: text/html; charset=utf-8",
                       f"Content-Type: text/plain{eol} ; charset=gb2312", "Content-Type: message/rfc822", "Bad line")
        out.append(f"{headers}{eol}" if headers else "")
        out.append(line("text", f"two{eol}lines \udce4\udcbd", "", f"--{boundary}", f"--{boundary}x"))
    out.append(line(f"--{boundary}--", f"--{boundary}--", f"--{boundary}-- ", "", f"--{boundary}"))
    out.append(line("", "", "epilogue", f"epilogue{eol}"))
    return eol.join(out)


def test_random_multiparts_parse_like_the_feed_parser() -> None:
    rng = random.Random(13)
    fast = nested = 0
    for _ in range(3000):
        eol = rng.choice(["\n", "\r\n"])
        text = f"Content-Type: multipart/mixed; boundary=b{eol}{eol}{random_multipart(rng, eol, 'b')}"
        raw = text.encode("ascii", "surrogateescape")
        assert shape(message_from_bytes(raw)) == shape(email.message_from_bytes(raw)), raw
        clean = _entity(text, top=True)
        fast += clean is not None
        nested += clean is not None and any(p.is_multipart() for p in clean.get_payload())
    assert fast > 300 and nested > 30  # the fast path itself was compared, nested parts included


def address_values() -> list[list[str]]:
    values = []
    for raw in corpus_messages() + demo_messages():
        headers = RawHeaders(email.message_from_bytes(raw))
        values += [headers.all(name) for name in ("from", "to", "cc", "sender", "reply-to") if headers.all(name)]
    return values


@pytest.mark.parametrize("value", [
    "amy@hengda-valves.com", "Amy Li <amy@hengda-valves.com>", "  Amy   Li\t<amy@x.com> , bob@y.de",
    "=?utf-8?b?5byg5Lyf?= <zw@huatong.cn>", "<only@brackets.com>", "o'brien+tag@x.co.uk",
])
def test_simple_address_lists_take_the_fast_path(value: str) -> None:
    assert _simple_addresses([value]) == email.utils.getaddresses([value])


@pytest.mark.parametrize("value", ['"Li, Amy" <amy@x.com>', "amy@x.com (Amy)", "team: a@x.com, b@y.com;",
                                   "Dr. Amy <amy@x.com>", "a@b <c@d.com>", "amy@x.com,", "amy@x.com bob@y.com"])
def test_anything_unusual_is_left_to_getaddresses(value: str) -> None:
    assert _simple_addresses([value]) is None


def test_fast_address_lists_equal_getaddresses_on_real_mail() -> None:
    fast = 0
    for value in address_values():
        simple = _simple_addresses(value)
        if simple is not None:
            fast += 1
            assert simple == email.utils.getaddresses(value), value
    assert fast > 300


CJK = "\u3005\u3007\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"


def reference_index_text(text: str) -> str:
    """The obvious version: each CJK run (after NFKC and the extra folds) as bigrams plus its last character."""
    from bot.search.text import _EXTRA_FOLD

    text = unicodedata.normalize("NFKC", text).translate(_EXTRA_FOLD)

    def bigrams(match: re.Match[str]) -> str:
        run = match.group()
        return " " + " ".join([run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]) + " "

    return re.sub(f"[{CJK}\u3021-\u3029\u3031-\u3035\u309d-\u309f\u30fc-\u30ff\u31f0-\u31ff]+", bigrams, text)


def reference_vocabulary(prepared: str) -> set[str]:
    """The obvious version: whole words of 3–24 Latin letters, accents removed, lower case."""
    words = set()
    for token in re.findall(r"(?<!\w)[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]{3,24}(?!\w)", prepared):
        folded = unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode("ascii").lower()
        if 3 <= len(folded) <= 24:
            words.add(folded)
    return words


def sample_texts() -> list[str]:
    texts = []
    for raw in demo_messages()[:150]:
        msg = email.message_from_bytes(raw)
        texts.append(str(msg["Subject"] or ""))
        for part in msg.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    rng = random.Random(11)
    alphabet = "ab Zé1_。、，,.々〆〇阀不锈钢ｶＡ１ßæłøx\n\t-'\U00020001가PO"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(4000)]
    return texts


def test_bigrams_and_vocabulary_equal_the_obvious_code() -> None:
    texts = sample_texts()
    assert any("不锈" in t or "阀" in t for t in texts)
    for text in texts:
        prepared = index_text(text)
        assert prepared.split() == reference_index_text(text).split(), text
        assert vocabulary_words(prepared) == reference_vocabulary(prepared), text
