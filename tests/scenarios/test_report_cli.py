"""`mailroom report` run as the real command: the --json contract, charts on disk, one-line errors."""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEMO_NOW, ROOT


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_cli_report_json_shape(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "charts"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAILROOM_NOW": DEMO_NOW.isoformat()}
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(demo_dir / "mailroom.toml"), "report",
                             "--team", "sales", "--days", "30", "--out", str(out), "--json"],
                            capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["data"] and list(doc["data"]) == ["period", "figures", "charts"]
    assert doc["data"]["period"]["team"] == "sales" and doc["data"]["period"]["days"] == 30
    assert doc["data"]["period"]["mailboxes"] == ["inquiry@hengda-valves.com"]
    for chart in doc["data"]["charts"]:
        assert list(chart) == ["name", "path", "title"] and png_size(Path(chart["path"]))[0] == 960
    names = [w["customer"] for w in doc["data"]["figures"]["waiting_longest"]]
    assert "深圳华通贸易有限公司" in names
    bad = subprocess.run([sys.executable, "-m", "bot", "--config", str(demo_dir / "mailroom.toml"), "report",
                          "--team", "nope"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: --team nope: no such team")
    assert "Traceback" not in bad.stderr

