"""The one structured answer every handler returns; each adapter renders it its own way.

Trusted and untrusted text: every string in a Reply (text, blocks, button labels) may carry mail text
(subjects, names, addresses, snippets, file names), so every renderer escapes all of it for the place it
lands — nothing in a string is ever live markup. What is ours and must stay live is structured: a
`Mention` (an owner pinged in an alert) is rendered by each adapter in its own syntax, and a `Button`
runs a command. `inert` is the step every renderer shares before its own escaping: no terminal control
sequences (ESC, CSI, CR tricks, other C0/C1 controls) and no bidi overrides from mail.
"""

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class Button(BaseModel):
    """A button that, when pressed, runs `command` as the person who pressed it."""

    label: str
    command: str
    style: Literal["default", "primary", "danger"] = "default"


class Mention(BaseModel):
    """Someone we ping (ours, trusted): their name and their id on each chat platform."""

    person_id: str
    name: str
    slack: str | None = None
    telegram: str | None = None
    wecom: str | None = None


_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """Text with no terminal control sequence and no bidi override: ESC (so no CSI/OSC), CR, the other
    C0 and C1 controls and the bidi embedding/override/isolate marks become U+FFFD; newline and tab stay."""
    return _CONTROLS.sub("\ufffd", text)


class Block(BaseModel):
    type: Literal["heading", "text", "fields", "list", "context", "divider"]
    text: str = ""
    items: list[str] = []
    fields: list[tuple[str, str]] = []


class Image(BaseModel):
    """A picture sent with a reply (a report chart): a PNG file on this machine, read when it is sent."""

    path: str
    title: str = ""

    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


class ReplyError(BaseModel):
    code: str
    message: str


class Reply(BaseModel):
    command: str
    text: str = ""
    blocks: list[Block] = []
    buttons: list[Button] = []
    mentions: list[Mention] = []
    """People to ping (trusted): rendered live by each adapter, after the escaped text."""
    data: dict[str, Any] = Field(default_factory=dict)
    error: ReplyError | None = None
    images: list[Image] = []

    @model_validator(mode="after")
    def _fallback_text(self) -> "Reply":
        if not self.text:
            self.text = blocks_to_text(self.blocks) or (self.error.message if self.error else "")
        return self

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        """The `--json` shape: command, text, data, error (plus blocks and buttons for renderers; mentions and
        images only when there are some)."""
        empty = {name for name in ("mentions", "images") if not getattr(self, name)}
        return self.model_dump(mode="json", exclude=empty or None)


def blocks_to_text(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.type in ("heading", "text", "context"):
            lines.append(block.text)
        elif block.type == "fields":
            lines.extend(f"{label}: {value}" for label, value in block.fields)
        elif block.type == "list":
            if block.text:
                lines.append(block.text)
            lines.extend(f"• {item}" for item in block.items)
        elif block.type == "divider":
            lines.append("")
    return "\n".join(lines).strip()


def heading(text: str) -> Block:
    return Block(type="heading", text=text)


def paragraph(text: str) -> Block:
    return Block(type="text", text=text)


def fields(*pairs: tuple[str, str]) -> Block:
    return Block(type="fields", fields=list(pairs))


def bullets(items: list[str], title: str = "") -> Block:
    return Block(type="list", text=title, items=items)


def context(text: str) -> Block:
    return Block(type="context", text=text)


def failure(command: str, code: str, message: str, **data: Any) -> Reply:
    return Reply(command=command, text=message, error=ReplyError(code=code, message=message), data=data)


ECHO_LIMIT = 80


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """What someone typed, quoted back in a reply: one line, at most `limit` characters (… when cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
