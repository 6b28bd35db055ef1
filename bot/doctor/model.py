"""One row of the admin checklist: what was checked, how it stands, and what to do about it."""

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["ok", "warn", "fail"]
MARKS: dict[str, str] = {"ok": "✓", "warn": "!", "fail": "✗"}


class Check(BaseModel):
    """`doctor --json` prints these as {"checks": [{"area", "name", "status", "detail", "fix"}]}."""

    model_config = ConfigDict(frozen=True)

    area: str
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        """`✗ example.com SPF: no SPF record → publish: @ TXT "v=spf1 …"` (one terminal line)."""
        text = f"{MARKS[self.status]} {self.name}: {self.detail}"
        return f"{text} → {self.fix}" if self.fix else text


def clip(text: str, limit: int = 160) -> str:
    """A record quoted in a finding's detail, cut short when hostile or huge (the fix keeps it whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ok(area: str, name: str, detail: str) -> Check:
    return Check(area=area, name=name, status="ok", detail=detail)


def warn(area: str, name: str, detail: str, fix: str = "") -> Check:
    return Check(area=area, name=name, status="warn", detail=detail, fix=fix)


def fail(area: str, name: str, detail: str, fix: str = "") -> Check:
    return Check(area=area, name=name, status="fail", detail=detail, fix=fix)


def exit_status(checks: Iterable[Check]) -> int:
    """0 when nothing failed (warnings allowed), 1 when any check failed."""
    return 1 if any(c.status == "fail" for c in checks) else 0
