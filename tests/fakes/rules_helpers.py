"""Small hand-made archives for the mail-rules tests: the demo config (plus a `[rules]` section), its
CRM export loaded, mail written as .eml bytes and imported through the real import path, a movable clock."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from bot.core.clock import Clock, iso
from bot.core.config import load_config
from bot.core.reply import Reply
from bot.customers.book import load_crm_if_changed
from bot.demo.files import write_starter
from bot.mail.importer import import_messages
from bot.services import Services
from tests.fakes.asking import ask as ask_as

DOMAIN = "hengda-valves.com"
INQUIRY, ORDER, SUPPORT, SHIPPING, AUDIT = (f"{n}@{DOMAIN}" for n in ("inquiry", "order", "support", "shipping", "audit"))
RMA, COMPLAINT, SPARE = (f"{n}@{DOMAIN}" for n in ("rma", "complaint", "spare"))
AMY = ("Amy Zhang", f"amy@{DOMAIN}")
LI = ("Li Wei", f"li@{DOMAIN}")
LUCY = ("Lucy Wang", f"lucy@{DOMAIN}")
MEI = ("Mei Liu", f"mei.merch@{DOMAIN}")
SAM = ("Sam Huang", f"sam@{DOMAIN}")
HANS = ("Hans Weber", "hans.weber@acme-trading.de")  # Acme Trading GmbH: owner amy (CRM)
ERIK = ("Erik Lindqvist", "erik@nordicflow.se")  # Nordic Flow AB: owner lucy (CRM)
ZHANG = ("张伟", "zhangwei@huatong-trade.cn")  # 深圳华通贸易有限公司: owner chen (CRM)
# Monday 2026-11-23 10:00 in Ningbo (UTC+8).
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

_numbers = iter(range(1, 10**9))


def eml(
    subject: str,
    body: str = "Hello",
    *,
    frm: tuple[str, str] = HANS,
    to: Iterable[str] = (ORDER,),
    cc: Iterable[str] = (),
    when: datetime | None = None,
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
    delivered_to: str | None = None,
    attachments: Iterable[str] = (),
) -> bytes:
    """One message as the world would send it (Message-ID at the sender's domain unless given)."""
    msg = EmailMessage()
    msg["From"] = f"{frm[0]} <{frm[1]}>"
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when or NOW - timedelta(hours=1))
    number = next(_numbers)
    domain = frm[1].split("@")[1]
    msg["Message-ID"] = f"<{msgid or f'rules-{number}@{domain}'}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    refs = [*references, *([in_reply_to] if in_reply_to and in_reply_to not in references else [])]
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if delivered_to:
        msg["Delivered-To"] = delivered_to
    msg.set_content(body)
    for name in attachments:
        msg.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename=name)
    return bytes(msg)


def msgid_of(raw: bytes) -> str:
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip().strip("<>")
    raise AssertionError("no Message-ID")


def without_rules(config_text: str) -> str:
    """The example config minus its [rules] tables, so each test states the rules it runs under."""
    start = config_text.index("\n[rules]")
    end = config_text.index("\n[bot]")
    return config_text[:start] + config_text[end:]


class Lab:
    """The demo factory's config (+ `rules_toml`) over an archive holding only the mail a test adds."""

    def __init__(self, folder: Path, *, now: datetime = NOW, rules_toml: str = "", edit: Any = None):
        config = folder / "mailroom.toml"
        write_starter(config)
        text = without_rules(config.read_text(encoding="utf-8"))
        if edit is not None:
            text = edit(text)
        config.write_text(text + "\n" + rules_toml, encoding="utf-8")
        self.config_path = config
        self.clock = Clock(now)
        self.services = Services(load_config(config), self.clock)
        load_crm_if_changed(self.services.db, self.services.config, self.services.directory, iso(now))

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def db(self) -> Any:
        return self.services.db

    def add(self, *raws: bytes, mailbox: str | None = None, folder: str = "") -> None:
        import_messages(self.services.archive, [(str(i), raw) for i, raw in enumerate(raws)], mailbox=mailbox,
                        folder=folder)

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)

    def tick(self) -> Any:
        return self.services.rules.tick(self.now)

    def scan(self) -> Any:
        return self.services.rules.scan(self.now)

    def violations(self, rule: str | None = None) -> list[dict[str, Any]]:
        from bot.rules.violations import violations

        self.scan()
        return violations(self.db, rule=rule)

    def category(self, message_id: str) -> tuple[str | None, float | None]:
        row = self.db.execute("SELECT category, category_confidence FROM messages WHERE message_id = ?",
                              [message_id]).fetchone()
        assert row is not None, message_id
        return row[0], row[1]

    def alerts(self, prefix: str = "rules:") -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT key, dest_kind, dest_person, dest_team, reply, status FROM sla_alerts WHERE key LIKE ? ORDER BY id",
            [prefix + "%"]).fetchall()
        return [{"key": r[0], "kind": r[1], "person": r[2], "team": r[3], "reply": Reply.model_validate(json.loads(r[4])),
                 "status": r[5]} for r in rows]

    def ask(self, text: str, who: str) -> Reply:
        return ask_as(self.services, text, who)

    def customer_id(self, name: str) -> int:
        row = self.db.execute("SELECT id FROM customers WHERE name = ?", [name]).fetchone()
        assert row is not None, name
        return int(row[0])

    def close(self) -> None:
        self.services.db.conn.close()
