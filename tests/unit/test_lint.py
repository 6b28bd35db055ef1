"""The code base stays ruff clean and type-checks (ruff and mypy come with the test extras)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_bot_and_handlers() -> None:
    """[tool.mypy] in pyproject.toml: the pydantic plugin, disallow_untyped_defs, over bot/ and handlers/."""
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_noqa_hides_an_undefined_name() -> None:
    hits = subprocess.run(["git", "grep", "-n", "noqa: F821", "--", "bot", "handlers"], capture_output=True,
                          text=True, cwd=ROOT).stdout
    assert hits == ""
