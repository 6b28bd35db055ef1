"""Running the real `mailroom` entry point in a subprocess, as a user's script would."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def mailroom(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`mailroom ARGS…` with this checkout's code; its output as text."""
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          stdin=subprocess.DEVNULL)
