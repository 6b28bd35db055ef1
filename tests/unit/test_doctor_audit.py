"""Audit and archive checks on the demo factory (real SQLite archive), and the MFA reminders."""

from pathlib import Path

import pytest

from bot.core.config import load_config
from bot.core.directory import Directory
from bot.doctor.archive import archive_checks, audit_checks, longest_gap
from bot.doctor.login import login_checks
from bot.services import Services
from bot.store.db import write_transaction


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_demo_audit_is_in_order(demo_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_AUDIT_KEY", "k" * 32)
    with write_transaction(demo_services.db):
        demo_services.audit.record("zhou", "/owner", {"customer": "Acme"}, "ok")
    checks = list(audit_checks(demo_services.config, demo_services.directory, demo_services.audit))
    assert [(c.name, c.status, c.detail) for c in checks] == [
        ("audit mailbox", "ok", "audit@hengda-valves.com"),
        ("complaint conclusions", "ok", "must CC audit@hengda-valves.com ([rules.cc.milestones])"),
        ("audit key", "ok", "MAILROOM_AUDIT_KEY is set: audit entries are chained with HMAC-SHA256"),
        ("audit log", "ok", "hash chain intact (1 entries)"),
    ]


def test_a_missing_audit_key_is_a_warning(demo_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILROOM_AUDIT_KEY", raising=False)
    checks = {c.name: c for c in audit_checks(demo_services.config, demo_services.directory, demo_services.audit)}
    assert checks["audit key"].status == "warn" and "MAILROOM_AUDIT_KEY is not set" in checks["audit key"].detail


def test_a_tampered_audit_log_fails(demo_services: Services) -> None:
    for n in range(3):
        with write_transaction(demo_services.db):
            demo_services.audit.record("zhou", "/owner", {"n": n}, "ok")
    demo_services.db.execute("UPDATE audit_log SET actor = 'amy' WHERE id = 2")
    (check,) = [c for c in audit_checks(demo_services.config, demo_services.directory, demo_services.audit)
                if c.name == "audit log"]
    assert check.status == "fail" and check.detail.startswith("audit entry 2:")


def test_complaint_conclusions_not_cc_audit_and_no_audit_mailbox(demo_dir: Path) -> None:
    config_path = demo_dir / "mailroom.toml"
    edit(config_path, 'complaint_conclusion = ["support", "audit"]', 'complaint_conclusion = ["support"]')
    config = load_config(config_path)
    checks = {c.name: c for c in audit_checks(config, Directory(config), None)}
    assert checks["complaint conclusions"].status == "warn"
    assert checks["complaint conclusions"].fix == '[rules.cc.milestones] complaint_conclusion = ["support", "audit"]'

    edit(config_path, 'role = "audit"', 'role = "other"')
    config = load_config(config_path)
    checks = {c.name: c for c in audit_checks(config, Directory(config), None)}
    assert checks["audit mailbox"].status == "warn"
    assert checks["audit mailbox"].fix == 'add [[mailboxes]] address = "audit@hengda-valves.com" role = "audit"'


def test_archive_age_per_mailbox(demo_services: Services) -> None:
    checks = {c.name: c for c in archive_checks(demo_services.config, demo_services.db)}
    assert checks["archive"].detail.endswith(": 462 messages")
    assert checks["inquiry@hengda-valves.com"].detail == "181 messages, 2026-09-26 … 2026-11-24"
    assert checks["audit@hengda-valves.com"].status == "ok"


def test_a_migration_gap_shows(demo_services: Services) -> None:
    # move most of order@'s mail a year back: a run of empty months opens between old and new mail
    demo_services.db.execute(
        "UPDATE messages SET date = '2025-' || substr(date, 6) WHERE id IN (SELECT message FROM sightings "
        "WHERE mailbox = 'order@hengda-valves.com') AND date < '2026-11-01'")
    checks = {c.name: c for c in archive_checks(demo_services.config, demo_services.db)}
    order = checks["order@hengda-valves.com"]
    assert order.status == "warn" and "no mail at all 2025-11 … 2026-10 (12 months)" in order.detail
    assert order.fix.endswith("mailroom import PATH --mailbox order@hengda-valves.com")


def test_empty_mailbox_and_gap_arithmetic(demo_services: Services) -> None:
    demo_services.db.execute("DELETE FROM sightings WHERE mailbox = 'shipping@hengda-valves.com'")
    checks = {c.name: c for c in archive_checks(demo_services.config, demo_services.db)}
    assert checks["shipping@hengda-valves.com"].status == "warn"
    assert checks["shipping@hengda-valves.com"].detail == "nothing archived yet"
    assert longest_gap({"2025-12": 9, "2026-03": 4, "2026-04": 1}) == ("2026-01", "2026-02", 2)
    assert longest_gap({"2026-01": 1, "2026-02": 1}) is None


def test_mfa_reminders_name_the_providers_setting(tmp_path: Path) -> None:
    path = tmp_path / "mailroom.toml"
    path.write_text('[organization]\nname = "T"\ndomains = ["t.example"]\n'
                    '[[mailboxes]]\naddress = "order@t.example"\n[mailboxes.imap]\nprovider = "exmail"\n'
                    'username = "order@t.example"\npassword_env = "A"\n'
                    '[[mailboxes]]\naddress = "support@t.example"\n[mailboxes.imap]\nprovider = "outlook"\n'
                    'username = "support@t.example"\npassword_env = "B"\n')
    checks = list(login_checks(load_config(path)))
    assert [(c.name, c.status) for c in checks] == [
        ("MFA 腾讯企业邮 (Tencent Exmail)", "ok"),
        ("MFA Microsoft 365 / Exchange Online", "ok"), ("login Microsoft 365 / Exchange Online", "warn"),
    ]
    assert "安全登录" in checks[0].detail and checks[0].detail.startswith("reminder:")
    assert "support@t.example: Microsoft 365 refuses password (basic) login" in checks[2].detail
    assert all(c.status != "fail" for c in checks)


def test_no_provider_gives_one_generic_reminder(demo_services: Services) -> None:
    (check,) = login_checks(demo_services.config)
    assert check.status == "ok" and "MFA" in check.detail


def test_microsoft_365_with_oauth2_is_not_warned(tmp_path: Path) -> None:
    path = tmp_path / "mailroom.toml"
    path.write_text('[organization]\nname = "T"\ndomains = ["t.example"]\n'
                    '[[mailboxes]]\naddress = "support@t.example"\n[mailboxes.imap]\nprovider = "outlook"\n'
                    'username = "support@t.example"\n'
                    '[mailboxes.imap.oauth2]\nclient_id = "app"\nrefresh_token_env = "RT"\n')
    config = load_config(path)
    imap = config.mailboxes[0].imap
    assert imap is not None and imap.oauth2 is not None
    assert imap.oauth2.token_url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
    assert [(c.name, c.status) for c in login_checks(config)] == [("MFA Microsoft 365 / Exchange Online", "ok")]
