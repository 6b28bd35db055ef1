"""The docs are checked against the code they describe, so they cannot drift (as sqlite-utils does)."""

import re

from bot.cli.reference import cli_reference
from tests.conftest import ROOT

README_LIMIT = 15_000


def test_cli_reference_is_generated_from_the_help_text() -> None:
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(), \
        "docs/cli.md is stale: python -m bot.cli.reference > docs/cli.md"


def test_every_command_is_in_the_cli_reference() -> None:
    from bot.cli.main import cli

    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert [name for name in cli.commands if f"`mailroom {name}`" not in reference] == []


def test_readme_is_the_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) < README_LIMIT
    assert "scripts/demo" in readme and "scripts/test" in readme


def test_links_between_docs_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.name} → {target}")
    assert broken == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in readme and "exec scripts/test" in ci
