"""The `mailroom` entry point as a user's script drives it: real processes, real files."""

import json
import sqlite3
from pathlib import Path

from tests.conftest import DATA
from tests.fakes.cli import mailroom
from tests.fakes.dns_server import FakeDns, good_zone


def test_init_import_stats_doctor(tmp_path: Path) -> None:
    assert mailroom("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "mailroom.toml").exists() and (tmp_path / "customers.csv").exists()
    assert mailroom("init", cwd=tmp_path).returncode == 1

    first = mailroom("import", str(DATA / "corpus"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "new" in first.stdout and "stored with defects" in first.stdout
    again = mailroom("import", str(DATA / "corpus"), cwd=tmp_path)
    assert again.stdout.startswith(f"{len(list((DATA / 'corpus').glob('*.eml')))} read: 0 new")

    stats = json.loads(mailroom("stats", "--json", cwd=tmp_path).stdout)
    assert stats["messages"] > 0 and stats["threads"] > 0
    assert set(stats) >= {"messages", "threads", "customers", "mailboxes"}
    assert "inquiry@hengda-valves.com" in stats["mailboxes"]

    with FakeDns(good_zone("hengda-valves.com")) as dns:  # no test asks the internet's DNS
        doctor = mailroom("doctor", cwd=tmp_path, env={"MAILROOM_DNS": dns.address})
    assert doctor.returncode == 0, doctor.stdout
    assert "✓ audit log: hash chain intact" in doctor.stdout
    assert "✓ hengda-valves.com SPF:" in doctor.stdout and "0 failed" in doctor.stdout


def test_config_found_through_environment_variable(demo_dir: Path, tmp_path: Path) -> None:
    result = mailroom("stats", "--json", cwd=tmp_path, env={"MAILROOM_CONFIG": str(demo_dir / "mailroom.toml")})
    assert json.loads(result.stdout)["messages"] > 300


def test_no_config_is_a_clear_error(tmp_path: Path) -> None:
    result = mailroom("stats", cwd=tmp_path, env={"MAILROOM_CONFIG": ""})
    assert result.returncode == 2 and "no config file" in result.stderr and "Traceback" not in result.stderr


def test_bad_now_is_a_usage_error(demo_dir: Path) -> None:
    result = mailroom("--config", str(demo_dir / "mailroom.toml"), "--now", "yesterday", "stats")
    assert result.returncode == 2 and "--now" in result.stderr and "Traceback" not in result.stderr


def test_audit_verify_catches_an_edited_and_a_deleted_row(demo_dir: Path) -> None:
    from bot.core.clock import Clock
    from bot.core.config import load_config
    from bot.services import Services
    from bot.store.db import write_transaction

    config = demo_dir / "mailroom.toml"
    services = Services(load_config(config), Clock())
    with write_transaction(services.db):
        for n in range(4):
            services.audit.record("boss", "assign", {"customer": n}, "ok")
    services.db.conn.close()
    assert mailroom("--config", str(config), "audit", "verify").returncode == 0

    db = sqlite3.connect(demo_dir / "mailroom.db")
    db.execute("UPDATE audit_log SET args = '{\"customer\": 99}' WHERE id = 2")
    db.commit()
    edited = mailroom("--config", str(config), "audit", "verify")
    assert edited.returncode == 1 and "audit entry 2" in edited.stderr and "edited" in edited.stderr

    db.execute("UPDATE audit_log SET args = '{\"customer\": 1}' WHERE id = 2")
    db.execute("DELETE FROM audit_log WHERE id = 3")
    db.commit()
    deleted = mailroom("--config", str(config), "audit", "verify")
    assert deleted.returncode == 1 and "audit entry 3" in deleted.stderr

    db.execute("DELETE FROM audit_log WHERE id >= 3")
    db.commit()
    db.close()
    newest_gone = mailroom("--config", str(config), "audit", "verify")
    assert newest_gone.returncode == 1 and "newest" in newest_gone.stderr


def test_demo_answers_one_question(tmp_path: Path) -> None:
    result = mailroom("--now", "2026-11-25T02:00:00Z", "demo", "--dir", str(tmp_path / "d"), "--ask", "/help")
    assert result.returncode == 0, result.stderr
    assert "/help" in result.stdout
