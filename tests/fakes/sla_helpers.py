"""Small hand-made archives for the SLA tests: the demo config, mail written as .eml bytes, fixed clocks."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bot.core.clock import Clock
from bot.core.config import Config, load_config
from bot.core.errors import MailroomError
from bot.core.reply import Reply
from bot.demo.files import write_starter
from bot.mail.parse import parse_mail
from bot.outbox import DeliveryError, Destination
from bot.services import Services
from bot.sla.engine import Evaluation
from bot.sla.items import Item

DOMAIN = "hengda-valves.com"
INQUIRY, ORDER, SUPPORT = (f"{n}@{DOMAIN}" for n in ("inquiry", "order", "support"))
RMA = f"rma@{DOMAIN}"
HANS = "Hans Weber <hans.weber@acme-trading.de>"  # Acme Trading GmbH, owner amy in the CRM export
ERIK = "Erik Lindqvist <erik@nordicflow.se>"  # Nordic Flow AB, owner lucy
AMY = f"Amy Zhang <amy@{DOMAIN}>"
SAM = f"Sam Huang <sam@{DOMAIN}>"
# Monday 2026-11-23 09:00 in Ningbo (UTC+8).
MONDAY = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def shanghai(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in Ningbo as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=8)


def eml(
    *, frm: str, to: str, subject: str, date: datetime, msgid: str, cc: str | None = None,
    reply_to: str | None = None, body: str = "Please quote 500 pcs DN50 ball valves.", headers: dict[str, str] | None = None,
    delivered_to: str | None = None,
) -> bytes:
    lines = [f"From: {frm}", f"To: {to}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if delivered_to:
        lines.append(f"Delivered-To: {delivered_to}")
    lines += [f"Subject: {subject}", f"Date: {format_datetime(date)}", f"Message-ID: <{msgid}>"]
    if reply_to:
        lines += [f"In-Reply-To: <{reply_to}>", f"References: <{reply_to}>"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
              body, ""]
    return "\r\n".join(lines).encode("utf-8")


class Factory:
    """An archive of hand-written mail on the demo config (its CRM export loaded), with a movable clock."""

    def __init__(self, folder: Path, now: datetime, *, edit: Callable[[Config], None] | None = None):
        self.folder = folder
        self.config_path = folder / "mailroom.toml"
        if not self.config_path.exists():
            write_starter(self.config_path)
        self.clock = Clock(now)
        self.edit = edit
        self.services = self._open()

    def _config(self) -> Config:
        config = load_config(self.config_path)
        if self.edit is not None:
            self.edit(config)
        return config

    def _open(self) -> Services:
        from bot.core.clock import iso
        from bot.customers.book import load_crm_if_changed

        services = Services(self._config(), self.clock)
        load_crm_if_changed(services.db, services.config, services.directory, iso(self.clock.now()))
        return services

    def reopen(self) -> Services:
        """A restart: close the archive, open it again with fresh services (same clock)."""
        self.services.db.conn.close()
        self.services = self._open()
        return self.services

    def add(self, raw: bytes, *, mailbox: str | None = None) -> None:
        from bot.mail.archive import Sighting

        archive = self.services.archive
        mail = parse_mail(raw)
        sightings = [Sighting(mailbox)] if mailbox is not None else archive.sightings_for(mail)
        with archive.batch():
            archive.add(mail, sightings)

    def at(self, moment: datetime) -> datetime:
        self.clock.set(moment)
        return moment

    def evaluate(self, *, full: bool = False) -> Evaluation:
        return self.services.sla.evaluate(self.clock.now(), full=full)

    def items(self) -> list[Item]:
        self.evaluate()
        return self.services.sla.open_items(self.clock.now())

    def close(self) -> None:
        self.services.db.conn.close()


@dataclass
class RecordingChannel:
    """A chat platform stand-in: records what it was asked to send; can be down, or crash mid-send."""

    platform: str = "slack"
    sent: list[tuple[Destination, Reply, str]] = field(default_factory=list)
    failures: int = 0
    retry_after: float | None = None
    crash_after_send: bool = False
    refuse: bool = False

    def send(self, destination: Destination, reply: Reply, *, idempotency_key: str) -> None:
        if self.refuse:
            raise MailroomError(f"{self.platform}: no id for {destination}")
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError(f"{self.platform} is down", retry_after=self.retry_after)
        self.sent.append((destination, reply, idempotency_key))
        if self.crash_after_send:
            raise Crash("the process died between sending and bookkeeping")

    def keys(self) -> list[str]:
        return [key for _, _, key in self.sent]


class Crash(BaseException):
    """Stands in for the process being killed (not an Exception: nothing may catch it)."""


def inquiry(n: int, date: datetime, *, frm: str = ERIK, to: str = INQUIRY, **kw: object) -> bytes:
    return eml(frm=frm, to=to, subject=f"[RFQ]-Nordic Flow-Ball Valve-{n}", date=date, msgid=f"rfq{n}@nordicflow.se",
               **kw)  # type: ignore[arg-type]
