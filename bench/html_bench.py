"""HTML → text: Mailroom's converter (selectolax/lexbor, bot/mail/html_text.py) against inscriptis (lxml, a
layout-aware converter) and the regular expressions Mailroom used before, on every text/html part of
../shared/corpus and of the demo factory's mail, plus a quality checklist (tables, lists, links, <br>,
entities, broken markup; comments, scripts, styles and attributes must never reach the text).

    python bench/html_bench.py            # needs `pip install inscriptis` for the comparison
"""

import email
import html
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.mail.html_text import html_to_text  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"

_TAGS = re.compile(r"<[^>]*>")
_DROP_BLOCKS = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def old_regex(markup: str) -> str:
    """The converter before issue 15."""
    text = _DROP_BLOCKS.sub(" ", markup)
    text = _BREAKS.sub("\n", text)
    text = html.unescape(_TAGS.sub(" ", text))
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def inscriptis_text(markup: str) -> str:
    from inscriptis import get_text
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    return get_text(markup, ParserConfig(css=CSS_PROFILES["strict"], display_links=True)).strip()


CHECKS: list[tuple[str, str, Callable[[str], bool]]] = [
    ("attribute text stays out", '<p title="a>b">Hello</p>', lambda t: "b\">" not in t and "a>b" not in t),
    ("comments stay out", "Hello<!-- x > y -->World", lambda t: "x > y" not in t and "-->" not in t),
    ("scripts and styles stay out", "<style>p{color:red}</style><script>var a='<p>';</script>ok",
     lambda t: "color" not in t and "var a" not in t),
    ("table row on one line", "<table><tr><td>Valve DN50</td><td>100 pcs</td></tr><tr><td>Gasket</td><td>5</td>"
     "</tr></table>", lambda t: any("Valve DN50" in line and "100 pcs" in line for line in t.splitlines())
     and not any("Valve DN50" in line and "Gasket" in line for line in t.splitlines())),
    ("list items on their own lines", "<ul><li>first</li><li>second</li></ul>",
     lambda t: [line.strip(" -*•\t") for line in t.splitlines() if line.strip()] == ["first", "second"]),
    ("link target kept", '<a href="https://acme.example/po/4521">the PO</a>', lambda t: "acme.example/po/4521" in t),
    ("<br> breaks a line", "one<br>two", lambda t: t.split() == ["one", "two"] and "\n" in t),
    ("entities decoded", "&amp; &lt;b&gt; &euro; &#20013;", lambda t: "& <b> € 中" in t),
    ("broken markup keeps its text", "<div><b>unclosed <i>markup</div> after", lambda t: "unclosed markup" in t
     and "after" in t),
    ("a stray < in text kept", "<p>a < b and c > d</p>", lambda t: "a < b and c > d" in t),
]


def html_parts() -> list[str]:
    parts: list[str] = []
    files = [f for f in sorted(CORPUS.rglob("*.eml"))] if CORPUS.is_dir() else []
    raws = [f.read_bytes() for f in files]
    from bot.demo.generator import generate
    from tests.conftest import DEMO_NOW

    raws += [m.raw for m in generate(DEMO_NOW)]
    for raw in raws:
        try:
            for part in email.message_from_bytes(raw).walk():
                if part.get_content_type() == "text/html":
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        except Exception:  # noqa: BLE001, S112 - a part the stdlib cannot walk is not a benchmark input
            continue
    return parts


def measure(name: str, convert: Callable[[str], str], parts: list[str]) -> None:
    started = time.perf_counter()
    failures = 0
    for markup in parts:
        try:
            convert(markup)
        except Exception:  # noqa: BLE001
            failures += 1
    seconds = time.perf_counter() - started
    passed = [label for label, markup, check in CHECKS if _safe(check, convert, markup)]
    size = sum(len(p) for p in parts) / 2**20
    print(f"  {name:<24} {len(parts) / seconds:8,.0f} parts/s  {size / seconds:6.1f} MiB/s  "
          f"exceptions {failures}  checks {len(passed)}/{len(CHECKS)}")
    missed = [label for label, _m, _c in CHECKS if label not in passed]
    if missed:
        print(f"  {'':<24} misses: {'; '.join(missed)}")


def _safe(check: Callable[[str], bool], convert: Callable[[str], str], markup: str) -> bool:
    try:
        return check(convert(markup))
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    parts = html_parts()
    print(f"HTML → text: {len(parts)} text/html parts ({sum(len(p) for p in parts) / 2**20:.1f} MiB) from the corpus "
          "and the demo factory")
    measure("selectolax (Mailroom)", html_to_text, parts)
    try:
        import inscriptis  # noqa: F401
    except ImportError:
        print("  inscriptis: not installed (pip install inscriptis)")
    else:
        measure("inscriptis", inscriptis_text, parts)
    measure("regular expressions (old)", old_regex, parts)


if __name__ == "__main__":
    main()
