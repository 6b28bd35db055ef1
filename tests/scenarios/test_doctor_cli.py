"""`mailroom doctor [--dns] [--json]` and `mailroom rights [--json]` through the real entry point, with DNS
from a local server: the --json shapes are contracts, exit 0 without ✗ and 1 with any."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.fakes.dns_server import FakeDns, good_zone

DOMAIN = "hengda-valves.com"


def mailroom(*args: str, cwd: Path, dns: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAILROOM_DNS": dns}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


def test_doctor_json_shape_and_exit_0_on_the_demo(demo_dir: Path) -> None:
    with FakeDns(good_zone(DOMAIN)) as dns:
        result = mailroom("--config", "mailroom.toml", "doctor", "--json", cwd=demo_dir, dns=dns.address)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert list(report) == ["checks"]
    assert all(list(row) == ["area", "name", "status", "detail", "fix"] for row in report["checks"])
    assert {row["status"] for row in report["checks"]} <= {"ok", "warn"}
    areas = list(dict.fromkeys(row["area"] for row in report["checks"]))
    assert areas == ["config", "dns", "rights", "audit", "archive", "migration", "login"]
    chat = next(row for row in report["checks"] if row["name"] == "chat ids")
    assert chat["status"] == "warn" and "qiang" in chat["detail"]


def test_doctor_dns_only_and_missing_records_exit_1(tmp_path: Path) -> None:
    assert mailroom("init", cwd=tmp_path, dns="127.0.0.1:9").returncode == 0
    with FakeDns({}) as dns:
        result = mailroom("doctor", "--dns", cwd=tmp_path, dns=dns.address)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "DNS sender authentication (SPF, DKIM, DMARC, MX)"
    assert f"  ✗ {DOMAIN} SPF: no SPF record: receivers cannot tell your servers from forgers → publish: " \
           '@ TXT "v=spf1 include:<your provider\'s SPF> ~all"' in lines
    assert lines[-1] == "0 ok, 1 warnings, 3 failed"
    assert not (tmp_path / "mailroom.db").exists()  # --dns reads only the config


def test_doctor_with_a_provider_checks_its_spf_include(tmp_path: Path) -> None:
    assert mailroom("init", cwd=tmp_path, dns="127.0.0.1:9").returncode == 0
    config = tmp_path / "mailroom.toml"
    text = config.read_text(encoding="utf-8").replace(
        '# [mailboxes.imap]                      # optional', '[mailboxes.imap]\nprovider = "exmail"\n'
        'username = "inquiry@hengda-valves.com"\npassword_env = "IMAP_INQUIRY_PASSWORD"\n# optional', 1)
    config.write_text(text, encoding="utf-8")
    zone = good_zone(DOMAIN)
    zone[("s1._domainkey." + DOMAIN, "TXT")] = ["v=DKIM1; k=ed25519; p=" + "A" * 43 + "="]
    with FakeDns(zone) as dns:
        result = mailroom("doctor", "--dns", "--json", cwd=tmp_path, dns=dns.address)
    rows = {row["name"]: row for row in json.loads(result.stdout)["checks"]}
    assert result.returncode == 1
    assert rows[f"{DOMAIN} SPF exmail"]["fix"] == \
        'publish: @ TXT "v=spf1 include:spf.mail.qq.com ip4:192.0.2.0/24 ~all"'
    assert rows[f"{DOMAIN} DKIM s1"]["status"] == "ok"
    assert rows[f"{DOMAIN} MX"]["status"] == "warn" and "mxbiz1.qq.com" in rows[f"{DOMAIN} MX"]["fix"]


def test_rights_table_and_json(demo_dir: Path) -> None:
    text = mailroom("--config", "mailroom.toml", "rights", cwd=demo_dir, dns="127.0.0.1:9")
    assert text.returncode == 0
    assert "support@hengda-valves.com (support, team support)\n  read    boss, helen, kevin, sam, grace, zhou\n" \
           in text.stdout
    report = json.loads(mailroom("--config", "mailroom.toml", "rights", "--json", cwd=demo_dir,
                                 dns="127.0.0.1:9").stdout)
    assert list(report) == ["mailboxes", "checks"]
    assert [row["address"].split("@")[0] for row in report["mailboxes"]] == [
        "inquiry", "order", "support", "shipping", "audit"]
    assert report["mailboxes"][2]["export"] == ["zhou"]


def test_doctor_without_an_archive_checks_the_rest(tmp_path: Path) -> None:
    assert mailroom("init", cwd=tmp_path, dns="127.0.0.1:9").returncode == 0
    with FakeDns(good_zone(DOMAIN)) as dns:
        result = mailroom("doctor", cwd=tmp_path, dns=dns.address)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert f"  ✗ archive: archive not found: {tmp_path / 'mailroom.db'} (run mailroom import or sync first)" in lines
    assert "Mailbox rights (read / reply / delete / export)" in lines and "0 failed" not in lines[-1]
    assert lines[-1].endswith(", 1 failed")
    assert not (tmp_path / "mailroom.db").exists()
