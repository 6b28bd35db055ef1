"""The one structured answer every handler returns; each adapter renders it its own way."""

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class Button(BaseModel):
    """A button that, when pressed, runs `command` as the person who pressed it."""

    label: str
    command: str
    style: Literal["default", "primary", "danger"] = "default"


class Block(BaseModel):
    type: Literal["heading", "text", "fields", "list", "context", "divider"]
    text: str = ""
    items: list[str] = []
    fields: list[tuple[str, str]] = []


class ReplyError(BaseModel):
    code: str
    message: str


class Reply(BaseModel):
    command: str
    text: str = ""
    blocks: list[Block] = []
    buttons: list[Button] = []
    data: dict[str, Any] = Field(default_factory=dict)
    error: ReplyError | None = None

    @model_validator(mode="after")
    def _fallback_text(self) -> "Reply":
        if not self.text:
            self.text = blocks_to_text(self.blocks) or (self.error.message if self.error else "")
        return self

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        """The `--json` shape: command, text, data, error (plus blocks and buttons for renderers)."""
        return self.model_dump(mode="json")


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
