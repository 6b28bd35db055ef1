"""CRM problems are shown by `import` and `run` at start, and never stop them (issue 17 item 4)."""

import os
import subprocess
import sys
from pathlib import Path

from bot.demo.files import write_starter
from tests.conftest import DATA, ROOT

CRM = ("客户名称;域名;负责人;联系人邮箱\r\n"
       "Acme Trading GmbH;acme-trading.de;amy;hans.weber@acme-trading.de\r\n"
       "Brandneu Armaturen GmbH;brandneu-armaturen.de;Peter Schmidt;peter(at)brandneu.de\r\n"
       "Acme Kopie;acme-trading.de;li;\r\n")


def mailroom(folder: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "WECOM_"))}
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(folder / "mailroom.toml"), *args],
                          capture_output=True, text=True, timeout=120, input=stdin,
                          env={**env, "PYTHONPATH": str(ROOT), "MAILROOM_NOW": "2026-11-25T02:00:00Z"})


def test_import_and_run_show_crm_problems_and_go_on(tmp_path: Path) -> None:
    write_starter(tmp_path / "mailroom.toml")
    (tmp_path / "customers.csv").write_bytes(CRM.encode("gb18030"))  # Excel on Chinese Windows, ';' columns
    csv_path = tmp_path / "customers.csv"
    expected = [
        f"warning: {csv_path}:3: column 联系人邮箱: 'peter(at)brandneu.de' is not an e-mail address: ignored",
        f"warning: {csv_path}:3: column 负责人: owner 'Peter Schmidt' is not in Mailroom's people list ([[people]] "
        "id, e-mail or name): the customer has no CRM owner",
        f"warning: {csv_path}:4: column 域名: domain acme-trading.de is already Acme Trading GmbH's (line 2): kept "
        "there, ignored here",
    ]
    imported = mailroom(tmp_path, "import", str(DATA / "corpus"))
    assert imported.returncode == 0, imported.stderr
    assert [line for line in imported.stderr.splitlines() if line.startswith("warning:")] == expected
    assert "Traceback" not in imported.stderr

    chat = mailroom(tmp_path, "run", "--no-http", "--no-sync", stdin="/owner Brandneu Armaturen\n")
    assert [line for line in chat.stderr.splitlines() if line.startswith("warning:")] == expected
    assert "the CRM names Peter Schmidt, who is not in Mailroom's people list" in chat.stdout
    assert "Traceback" not in chat.stderr + chat.stdout
