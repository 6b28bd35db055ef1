"""Rights review on the demo factory's config: the table resolved through Permissions, and the guide's
warnings when the config is changed to break them."""

import shutil
from pathlib import Path

import pytest

from bot.core.config import load_config
from bot.core.directory import Directory
from bot.core.permissions import Permissions
from bot.doctor.rights import rights_checks, rights_lines, rights_report

DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo"


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    for name in ("mailroom.toml", "customers.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    return tmp_path / "mailroom.toml"


def directory(path: Path, *edits: tuple[str, str]) -> Directory:
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return Directory(load_config(path))


def test_demo_table_matches_permissions(demo_config: Path) -> None:
    found = directory(demo_config)
    report = rights_report(found)
    rows = {row["address"]: row for row in report["mailboxes"]}
    assert rows["support@hengda-valves.com"] == {
        "address": "support@hengda-valves.com", "role": "support", "team": "support",
        "read": ["boss", "helen", "kevin", "sam", "grace", "zhou"], "reply": ["kevin", "sam", "grace", "zhou"],
        "delete": ["kevin", "sam", "zhou"], "export": ["zhou"],
    }
    assert rows["audit@hengda-valves.com"]["reply"] == ["zhou"]
    # every cell agrees with the code that guards reads
    permissions = Permissions(found)
    for row in report["mailboxes"]:
        for right in ("read", "reply", "delete", "export"):
            assert row[right] == [p.id for p in found.config.people if permissions.can(p, right, row["address"])]
    # the demo follows the guide except for one person without a chat id
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("chat ids", "warn")]
    assert "qiang (Zhao Qiang)" in report["checks"][0]["detail"]


def test_rights_lines_read_as_a_table(demo_config: Path) -> None:
    lines = rights_lines(directory(demo_config))
    assert lines[:5] == [
        "inquiry@hengda-valves.com (inquiry, team sales)",
        "  read    boss, amy, li, chen, lucy, helen, kevin, zhou",
        "  reply   boss, amy, li, chen, lucy, zhou",
        "  delete  boss, amy, zhou",
        "  export  boss, helen, kevin, zhou",
    ]
    assert lines[-1].startswith("! chat ids: no chat id, so never alerted: qiang")


def test_the_guides_warnings(demo_config: Path) -> None:
    found = directory(
        demo_config,
        ('export = ["role:admin"]', 'export = ["role:admin", "team:support"]'),
        ('reply = []\n', 'reply = ["grace"]\n'),
        ("[search]", '[permissions."inquiry@hengda-valves.com"]\ndelete = ["team:sales"]\n\n'
                     '[permissions."support@hengda-valves.com"]\nexport = ["kevin"]\ndelete = []\n\n'
                     '[permissions."shipping@hengda-valves.com"]\nread = ["role:admin"]\n\n[search]'),
        ('[[mailboxes]]\naddress = "audit@', '[[mailboxes]]\naddress = "finance@hengda-valves.com"\n\n'
                                           '[[mailboxes]]\naddress = "audit@'),
    )
    advice = {c.name: c for c in rights_checks(found) if c.status != "ok"}
    assert advice["audit@hengda-valves.com export"].detail.startswith(
        "audit mail exportable by non-admins: kevin, sam, grace")
    assert advice["audit@hengda-valves.com writable"].detail.startswith("the audit mailbox is writable by grace")
    assert advice["support@hengda-valves.com export"].detail.startswith("after-sales mail exportable by non-admins: kevin")
    assert advice["support@hengda-valves.com export"].fix == \
        'set [permissions."support@hengda-valves.com"] export = ["role:admin"]'
    assert advice["inquiry@hengda-valves.com delete"].detail == "plain members may delete mail: li, chen, lucy"
    assert advice["support@hengda-valves.com delete"].detail == \
        "delete = [] means the default, not nobody: kevin, sam may delete"
    assert advice["shipping@hengda-valves.com read"].detail.startswith("only admins may read it (zhou)")
    # finance@ (no team, no rights table): managers may export by default — the guide restricts that
    assert advice["finance@hengda-valves.com export"].detail.startswith(
        "finance mail exportable by non-admins: boss, helen, kevin")
    assert all(c.status == "warn" for c in advice.values())


def test_a_mailbox_nobody_can_read_fails(demo_config: Path) -> None:
    found = directory(demo_config, ('role = "admin"\nslack = "U0ADMIN"', 'role = "member"\nslack = "U0ADMIN"'),
                      ("[search]", '[permissions."shipping@hengda-valves.com"]\nread = ["role:admin"]\n\n[search]'))
    (check,) = [c for c in rights_checks(found) if c.name == "shipping@hengda-valves.com read"]
    assert check.status == "fail" and check.detail.startswith("nobody may read this mailbox")
