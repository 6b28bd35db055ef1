"""Cutting a rendered reply into messages a platform accepts: lines kept whole where they fit, a line
longer than a message cut between characters with its markup repeated on each piece. Each platform
measures size its own way (Telegram in UTF-16 units, WeCom in UTF-8 bytes)."""

from collections.abc import Callable, Iterable

Size = Callable[[str], int]


def wrap_split(raw: str, before: str, after: str, limit: int, size: Size,
               render: Callable[[str], str] = str) -> list[str]:
    """`before + render(raw) + after` in pieces of at most `limit`, each wrapped whole; never cuts what
    `render` makes of one character (an HTML entity, say)."""
    whole = before + render(raw) + after
    if size(whole) <= limit:
        return [whole]
    budget = limit - size(before) - size(after)
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for char in raw:
        cost = size(render(char))
        if used + cost > budget:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    pieces.append("".join(current))
    return [before + render(piece) + after for piece in pieces]


def pack_lines(lines: Iterable[str], limit: int, size: Size) -> list[str]:
    """Lines joined by newlines into as few messages of at most `limit` as their order allows."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        cost = size(line)
        if current and used + 1 + cost > limit:
            chunks.append("\n".join(current))
            current, used = [], 0
        used += cost + (1 if current else 0)
        current.append(line)
    text = "\n".join(current)
    if text.strip():
        chunks.append(text)
    return chunks
