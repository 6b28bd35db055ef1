"""Fixtures of the scenarios: one real Dovecot for the whole run."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.dovecot import DovecotServer


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One server for the session; every test adds users of its own (`add_user()`). Not under pytest's
    tmp folder: that one is private to root, and Dovecot reads mail as 'nobody'."""
    root = Path(tempfile.mkdtemp(prefix="mailroom-dovecot-"))
    root.chmod(0o755)
    server = DovecotServer(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
