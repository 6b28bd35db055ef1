"""HTML mail → plain text with a real HTML parser (selectolax's lexbor, an HTML5 parser in C).

Only text nodes reach the text: comments, <script>, <style>, <head> and every attribute stay out (a link's
target excepted, added after its text as `text <https://…>`). Block elements start lines, `<br>` breaks
one, list items become `- item` (`1. item` in an ordered list), table rows one line each with their cells
separated by ` | `; `<pre>` keeps its spacing; entities are decoded by the parser, broken markup is
repaired as browsers repair it.

The tree is walked with an explicit stack, never recursion: thousands of nested tags cost no stack.
bench/html_bench.py compares this with inscriptis and the old regular expressions on the corpus.
"""

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

SKIP = frozenset({"head", "script", "style", "title", "noscript", "template", "svg", "math", "iframe", "object",
                  "embed", "select", "-comment", "_comment", "!--", "#comment"})
BLOCKS = frozenset(
    ["address", "article", "aside", "blockquote", "center", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "ul", "caption"]
)
CELLS = frozenset({"td", "th"})
LINK_TARGET = re.compile(r"(?:https?|mailto):\S{1,300}", re.IGNORECASE)
MAX_LINK = 300
_SPACE_RUN = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")


PARAGRAPHS = frozenset(["blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"])
"""Blocks set apart by an empty line; other blocks, rows, list items and <br> start a new line."""


def html_to_text(markup: str) -> str:
    """The text a reader sees in `markup` (see the module docstring)."""
    if not markup.strip():
        return ""
    root = LexborHTMLParser(markup).root
    if root is None:
        return ""
    out = _Text()
    _walk(root, out)
    return "".join(out.parts).strip()


class _Text:
    """The text so far, with how many line breaks it ends with (to never stack more than asked)."""

    __slots__ = ("breaks", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.breaks = 2  # the start counts as a fresh paragraph

    def add(self, text: str, *, pre: bool = False) -> None:
        if not pre:
            text = _SPACE_RUN.sub(" ", text.replace("\n", " "))
            if self.breaks:
                text = text.lstrip(" ")
            elif self.parts and self.parts[-1].endswith(" ") and text.startswith(" "):
                text = text[1:]
        if text:
            self.parts.append(text)
            trailing = len(text) - len(text.rstrip("\n"))
            self.breaks = trailing if trailing < len(text) else self.breaks + trailing

    def newline(self, count: int = 1) -> None:
        if self.breaks < count:
            if self.parts and self.parts[-1].endswith(" "):
                self.parts[-1] = self.parts[-1].rstrip(" ")
            self.parts.append("\n" * (count - self.breaks))
            self.breaks = count


def _walk(root: LexborNode, out: _Text) -> None:
    # Events on the stack: a node to enter, or an int (line breaks to make) or a str (text to add, or the
    # end of a <pre> / list) when an element ends.
    stack: list[LexborNode | str | int] = [root]
    pre = 0
    counters: list[int] = []  # the next number of each open ordered list (0: an unordered one)
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            out.newline(item)
            continue
        if isinstance(item, str):
            if item == "</pre>":
                pre -= 1
            elif item == "</list>":
                counters.pop()
            else:
                out.add(item)
            continue
        tag = item.tag or ""
        if tag == "-text":
            out.add(item.text_content or "", pre=pre > 0)
            continue
        if tag in SKIP:
            continue
        if tag == "br":
            out.newline(min(out.breaks + 1, 2))
            continue
        closing: list[str | int] = []
        if tag in PARAGRAPHS:
            out.newline(2)
            closing.append(2)
        elif tag in BLOCKS or tag == "tr":
            out.newline(1)
            closing.append(1)
        if tag == "pre":
            pre += 1
            closing.append("</pre>")
        elif tag in ("ul", "ol"):
            counters.append(1 if tag == "ol" else 0)
            closing.append("</list>")
        elif tag == "li":
            out.newline(1)
            if counters and counters[-1]:
                out.add(f"{counters[-1]}. ", pre=True)
                counters[-1] += 1
            else:
                out.add("- ", pre=True)
            closing.append(1)
        elif tag in CELLS:
            previous = item.prev
            while previous is not None and previous.tag not in CELLS:
                previous = previous.prev
            if previous is not None:
                out.add(" | ", pre=True)
        elif tag == "a":
            href = (item.attributes.get("href") or "").strip()
            if LINK_TARGET.fullmatch(href[:MAX_LINK + 10]) and not href.lower().startswith("mailto:"):
                text = item.text(deep=True, separator=" ", strip=True)
                if text and href.lower() not in text.lower():
                    closing.append(f" <{href[:MAX_LINK]}>")
        # the children are entered next, first child first; then the closings run
        stack.extend(reversed(closing))
        children: list[LexborNode] = []
        child = item.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend(reversed(children))
