"""Bad configs name the file, the key and the problem; exit status 2; never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.config import load_config
from bot.core.errors import ConfigError
from bot.demo.files import write_starter
from tests.conftest import ROOT


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_starter(tmp_path / "mailroom.toml")[0]


def break_config(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_the_example_config_is_valid(config_file: Path) -> None:
    config = load_config(config_file)
    assert config.archive_path == config_file.parent / "mailroom.db"
    assert config.sla["support"].initial_solution.total_seconds() == 48 * 3600


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('members = ["mei", "tom"]', 'members = ["mei", "tommy"]', "groups.1.members.1: unknown person 'tommy'"),
        ('target = "support@hengda-valves.com"', 'target = "suport@hengda-valves.com"',
         "aliases.0.target: 'suport@hengda-valves.com' is not a configured mailbox"),
        ('id = "li"', 'id = "amy"', "people.2.id: duplicate id 'amy'"),
        ('first_response = "24h"                  #', 'first_response = "24 hours"                  #',
         "sla.support.first_response: not a duration"),
        ('csv = "customers.csv"', 'csv = "crm.csv"', "customers.csv: file not found"),
        ('teams = ["qa"]', 'teams = ["quality"]', "people.11.teams.0: unknown team 'quality'"),
        ('address = "rma@hengda-valves.com"', 'address = "inquiry@hengda-valves.com"',
         "address 'inquiry@hengda-valves.com' is defined more than once"),
        ('timezone = "Asia/Shanghai"              #', 'timezone = "Asia/Ningbo"              #',
         "organization.timezone: unknown time zone 'Asia/Ningbo'"),
        ('role = "lead"\nslack = "U0AMY"', 'role = "boss"\nslack = "U0AMY"', "people.1.role: Input should be"),
        ('[bot]', '[bot]\ncolour = "red"', "bot.colour: unknown key"),
        ('slack = "U0LI"', 'slack = "U0AMY"', "people.2.slack: 'U0AMY' is also the slack id of people.1 (amy)"),
        ("telegram = 100003", "telegram = 100001", "people.2.telegram: 100001 is also the telegram id of people.0"),
        ('email = "li@hengda-valves.com"', 'email = "order@hengda-valves.com"',
         "people.2.email: 'order@hengda-valves.com' is a shared mailbox, alias or group address"),
        ('country = "CN"', 'country = "China"', "organization.country: 'China' is not an ISO 3166 country code"),
        ('country = "CN"', 'country = "XX"', "organization.country: no holiday data for country 'XX'"),
    ],
)
def test_each_bad_config_names_file_key_and_problem(config_file: Path, old: str, new: str, expected: str) -> None:
    break_config(config_file, old, new)
    found = problems(config_file)
    assert any(expected in line for line in found), found
    assert all(line.startswith(f"{config_file}: ") for line in found)


def test_no_admin_is_a_warning_not_an_error(config_file: Path) -> None:
    from bot.core.config import config_warnings

    assert config_warnings(load_config(config_file)) == []
    break_config(config_file, 'role = "admin"', 'role = "manager"')
    config = load_config(config_file)
    assert config_warnings(config) == [
        'people: nobody has role = "admin": the console acts as the first person (boss) and nobody may change '
        "the setup from chat"]


def test_several_problems_are_all_reported(config_file: Path) -> None:
    break_config(config_file, 'members = ["mei", "tom"]', 'members = ["ghost"]')
    break_config(config_file, 'manager = "helen"', 'manager = "nobody"')
    found = problems(config_file)
    assert len(found) == 2


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    missing = problems(tmp_path / "nope.toml")
    assert missing == [f"{tmp_path / 'nope.toml'}: config file not found"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[organization\nname = 1\n")
    assert "invalid TOML" in problems(broken)[0] and "line 1" in problems(broken)[0]


def test_cli_exits_2_without_traceback(config_file: Path) -> None:
    break_config(config_file, 'members = ["mei", "tom"]', 'members = ["mei", "tommy"]')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config_file), "stats"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert "groups.1.members.1: unknown person 'tommy'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
