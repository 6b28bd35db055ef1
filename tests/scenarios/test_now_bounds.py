"""--now (and $MAILROOM_NOW) is limited to sane years with a one-line error, never a traceback (issue 17 item 10)."""

from pathlib import Path

import pytest

from bot.cli.context import parse_now
from bot.core.errors import ConfigError
from bot.demo.files import write_starter
from tests.fakes.cli import mailroom


@pytest.mark.parametrize(("value", "expected"), [
    ("9999-12-31", "--now '9999-12-31': year 9999 is out of range (1970–2100)"),
    ("0001-01-01", "--now '0001-01-01': year 1 is out of range (1970–2100)"),
    ("2101-01-01T00:00:00Z", "year 2101 is out of range"),
    ("2026-13-01", "--now '2026-13-01': not an ISO 8601 time such as 2026-03-02T09:00:00+08:00"),
    ("tomorrow", "not an ISO 8601 time"),
    ("9" * 500, "not an ISO 8601 time"),
])
def test_bad_now_is_one_line(value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_now(value)
    assert len(info.value.problems) == 1 and expected in info.value.problems[0]
    assert len(info.value.problems[0]) < 200


def test_sane_years_pass() -> None:
    assert parse_now("2026-12-03T09:00:00+08:00").isoformat() == "2026-12-03T01:00:00+00:00"
    assert parse_now("1970-01-02").year == 1970 and parse_now("2100-06-01").year == 2100


@pytest.mark.parametrize("args", [["ask", "/sla"], ["stats"], ["sla", "--json"]])
@pytest.mark.parametrize("how", ["option", "environment"])
def test_cli_refuses_far_years_without_traceback(tmp_path: Path, args: list[str], how: str) -> None:
    config = write_starter(tmp_path / "mailroom.toml")[0]
    if how == "option":
        result = mailroom("--config", str(config), "--now", "9999-12-31", *args)
    else:
        result = mailroom("--config", str(config), *args, env={"MAILROOM_NOW": "9999-12-31"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "--now '9999-12-31': year 9999 is out of range (1970–2100)"
    assert "Traceback" not in result.stdout
