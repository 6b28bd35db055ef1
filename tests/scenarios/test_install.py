"""The README's two commands, run as a newcomer would: a fresh clone, Debian's own /usr/bin/python3
(externally managed, PEP 668) first on PATH, nothing installed outside the clone's .venv."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("clone") / "mailroom"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    return clone


def stock_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYENV", "MAILROOM"))}
    env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
    return env


def test_system_python_is_what_the_scripts_find() -> None:
    assert SYSTEM_PYTHON.exists()
    found = shutil.which("python3", path=stock_env()["PATH"])
    assert found is not None and Path(found).resolve() == SYSTEM_PYTHON.resolve()


def test_first_command_runs_the_demo(fresh_clone: Path) -> None:
    done = subprocess.run(["scripts/demo", "--ask", "/owner acme trdng"], cwd=fresh_clone, env=stock_env(),
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Acme Trading GmbH" in done.stdout
    where = subprocess.run([str(fresh_clone / ".venv/bin/python"), "-c",
                            "import sys, bot; print(sys.prefix); print(bot.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/", env=stock_env()).stdout.split()
    assert where == [str(fresh_clone / ".venv"), str(fresh_clone / "bot" / "__init__.py")]


def test_second_command_runs_the_tests(fresh_clone: Path) -> None:
    done = subprocess.run(["scripts/test", "tests/unit/test_layout.py", "-p", "no:cacheprovider"],
                          cwd=fresh_clone, env=stock_env(), capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
