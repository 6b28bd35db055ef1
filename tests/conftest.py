"""Shared fixtures: the demo factory (built once per session, copied per test) and a fixed clock."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.core.config import load_config
from bot.demo.files import build_demo
from bot.services import Services

# A Wednesday, 10:00 in Ningbo (Asia/Shanghai): inside business hours.
DEMO_NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TESTS = Path(__file__).parent
ROOT = TESTS.parent
DATA = TESTS / "data"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo factory (config, CRM CSV, imported archive), built once for the whole run."""
    folder = tmp_path_factory.mktemp("demo-template")
    return build_demo(folder, now=DEMO_NOW).parent


@pytest.fixture
def demo_dir(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo factory that a test may change."""
    target = tmp_path / "demo"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture
def clock() -> Clock:
    return Clock(DEMO_NOW)


@pytest.fixture
def demo_services(demo_dir: Path, clock: Clock) -> Iterator[Services]:
    services = Services(load_config(demo_dir / "mailroom.toml"), clock)
    yield services
    services.db.conn.close()
