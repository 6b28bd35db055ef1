"""The first minutes with a real setup: the demo never touches it, and a wrong archive path is said."""

from pathlib import Path

from tests.fakes.cli import mailroom

NOW = "2026-03-02T09:00:00+08:00"


def test_demo_refuses_a_folder_holding_a_real_setup(tmp_path: Path) -> None:
    assert mailroom("init", cwd=tmp_path).returncode == 0
    config = (tmp_path / "mailroom.toml").read_text()
    (tmp_path / "mailroom.db").write_bytes(b"real archive")

    refused = mailroom("--now", NOW, "demo", "--dir", str(tmp_path), "--ask", "/help")
    assert refused.returncode == 1
    assert "not an earlier demo" in refused.stderr and "--force" in refused.stderr
    assert (tmp_path / "mailroom.toml").read_text() == config
    assert (tmp_path / "mailroom.db").read_bytes() == b"real archive"


def test_demo_rebuilds_its_own_folder_without_importing_twice(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    first = mailroom("--now", NOW, "demo", "--dir", str(where), "--ask", "/help")
    assert first.returncode == 0, first.stderr
    count = mailroom("--config", str(where / "mailroom.toml"), "stats", "--json").stdout
    again = mailroom("--now", NOW, "demo", "--dir", str(where), "--ask", "/help")
    assert again.returncode == 0, again.stderr
    assert mailroom("--config", str(where / "mailroom.toml"), "stats", "--json").stdout == count


def test_demo_force_overwrites_and_starts_a_new_archive(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    forced = mailroom("--now", NOW, "demo", "--dir", str(tmp_path), "--force", "--ask", "/help")
    assert forced.returncode == 0, forced.stderr


def test_read_only_commands_refuse_a_missing_archive(tmp_path: Path) -> None:
    assert mailroom("init", cwd=tmp_path).returncode == 0
    for args in (["stats"], ["ask", "/owner acme"], ["search", "quotation"], ["audit", "verify"], ["sla"]):
        done = mailroom(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.strip() == f"archive not found: {tmp_path / 'mailroom.db'} (run mailroom import or sync first)"
    assert not (tmp_path / "mailroom.db").exists()
