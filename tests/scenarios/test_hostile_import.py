"""`mailroom import` of a folder where hostile and junk files sit among normal mail: the real entry point,
in a child process whose time and peak memory are measured."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.fakes import hostile_mail as hostile

MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stdout + "\\n--stderr--\\n" + done.stderr)
"""
SECONDS, MEGABYTES = 10.0, 300
"""The bounds asserted for the whole hostile folder (measured: see the report; the machine is shared)."""


def normal_mail(n: int) -> bytes:
    return (f"From: Hans Weber <hans@acme-trading.de>\nTo: inquiry@hengda-valves.com\nSubject: RFQ {n}\n"
            f"Date: Mon, 23 Nov 2026 08:{n:02d}:00 +0100\nMessage-ID: <normal-{n}@acme-trading.de>\n\n"
            f"Please quote {n} valves.\n").encode()


def import_measured(tmp_path: Path, folder: Path, *extra: str) -> tuple[int, float, float, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "bot", "import", str(folder), *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    code, seconds, rss_kb = done.stdout.split()
    stdout, _, stderr = done.stderr.partition("\n--stderr--\n")
    return int(code), float(seconds), int(rss_kb) / 1024, stdout, stderr


def test_hostile_folder_imports_every_normal_message_within_time_and_memory(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "bot", "init"], cwd=tmp_path, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    folder = tmp_path / "exported"
    normal = {f"{n:03d}" + (".eml" if n % 2 else ""): normal_mail(n) for n in range(20)}
    hostile.write_folder(folder, normal)
    for workers in ("1", "2"):
        code, seconds, rss_mb, stdout, stderr = import_measured(tmp_path, folder, "--workers", workers)
        print(f"workers={workers}: {seconds:.2f} s, peak RSS {rss_mb:.0f} MB")
        assert code == 0, stderr
        assert "Traceback" not in stderr
        assert seconds < SECONDS and rss_mb < MEGABYTES, (seconds, rss_mb)
    first, second = stdout.splitlines()[0], stdout
    assert first.startswith(f"{len(normal) + len(hostile.hostile_set()) + len(hostile.JUNK)} read: 0 new"), second
    assert "skipped 6 files that are not mail: " in first
    for name in hostile.JUNK:
        assert f"{folder / name} (" in first
    assert "Outlook's own format" in first and "export the folder as mbox" in first

    db = sqlite3.connect(tmp_path / "mailroom.db")
    ids = {row[0] for row in db.execute("SELECT message_id FROM messages")}
    assert {f"normal-{n}@acme-trading.de" for n in range(20)} <= ids
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == len(normal) + len(hostile.hostile_set())
    defects = dict(db.execute("SELECT message_id, defects FROM messages WHERE message_id LIKE '%@evil.example'"))
    assert len(defects) == len(hostile.hostile_set()) - 1  # (notes.txt has no header block, so no id of ours)
    cut = {message_id for message_id, d in defects.items() if json.loads(d)}
    assert cut == set(defects) - {"html@evil.example", "folded@evil.example"}  # those two are merely odd
    body = db.execute("SELECT length(body) FROM messages WHERE message_id = 'huge-39@evil.example'").fetchone()[0]
    assert body == 1_000_000


def test_first_import_reports_what_was_stored_with_defects(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "bot", "init"], cwd=tmp_path, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "deep").write_bytes(hostile.deep_nesting(3000))
    (folder / "ok").write_bytes(normal_mail(1))
    (folder / "empty").write_bytes(b"")
    code, _seconds, _rss, stdout, stderr = import_measured(tmp_path, folder)
    assert code == 0, stderr
    assert stdout.startswith("3 read: 2 new, 0 duplicates, 1 stored with defects; skipped 1 file that is not "
                             f"mail: {folder / 'empty'} (an empty file)"), stdout


def test_a_2_gib_message_is_read_only_to_the_byte_limit_and_stored_with_its_size(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "bot", "init"], cwd=tmp_path, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    with open(tmp_path / "mailroom.toml", "a", encoding="utf-8") as config:
        config.write("\n[limits]\nmessage_bytes = 4194304\n")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "ok.eml").write_bytes(normal_mail(1))
    huge = folder / "huge.eml"
    with open(huge, "wb") as file:  # sparse: 2 GiB on paper, a few blocks on disk
        file.write(normal_mail(2).replace(b"Please quote", b"Attachment follows. Please quote"))
        file.truncate(2 << 30)
    for workers in ("1", "2"):
        code, seconds, rss_mb, stdout, stderr = import_measured(tmp_path, folder, "--workers", workers)
        print(f"workers={workers}: {seconds:.2f} s, peak RSS {rss_mb:.0f} MB")
        assert code == 0, stderr
        assert seconds < SECONDS and rss_mb < MEGABYTES, (seconds, rss_mb)
    db = sqlite3.connect(tmp_path / "mailroom.db")
    size, defects, body = db.execute(
        "SELECT size, defects, body FROM messages WHERE message_id = 'normal-2@acme-trading.de'").fetchone()
    assert size == 2 << 30
    assert "message cut: only its first 4,194,304 of 2,147,483,648 bytes were read ([limits] message_bytes)" \
        in json.loads(defects)
    assert body.startswith("Attachment follows. Please quote 2 valves.")
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
