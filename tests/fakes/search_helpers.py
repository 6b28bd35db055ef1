"""Small hand-made archives for the search tests: the demo config, an empty archive, a few mails."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from bot.core.clock import Clock
from bot.core.config import load_config
from bot.demo.files import write_starter
from bot.mail.importer import import_messages
from bot.services import Services

ORG = "hengda-valves.com"
_counter = iter(range(1, 10**9))


def make_mail(
    subject: str,
    body: str,
    *,
    sender: tuple[str, str] = ("Hans Weber", "hans.weber@acme-trading.de"),
    to: Iterable[str] = (f"inquiry@{ORG}",),
    cc: Iterable[str] = (),
    when: datetime | None = None,
    attachments: Iterable[str] = (),
    message_id: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender[0]} <{sender[1]}>"
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    number = next(_counter)
    msg["Date"] = format_datetime(when or datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=number))
    msg["Message-ID"] = f"<{message_id or f'search-test-{number}'}@test.invalid>"
    msg.set_content(body)
    for name in attachments:
        msg.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename=name)
    return bytes(msg)


def small_archive(folder: Path, clock: Clock, mails: list[bytes]) -> Services:
    """The demo factory's config with an archive holding only `mails` (indexed through the import path)."""
    write_starter(folder / "mailroom.toml")
    services = Services(load_config(folder / "mailroom.toml"), clock)
    add(services, mails)
    return services


def add(services: Services, mails: list[bytes]) -> None:
    import_messages(services.archive, [(str(i), raw) for i, raw in enumerate(mails)])


def ids(services: Services, query: str, who: str = "zhou") -> list[int]:
    """Every visible match of a query, as message ids."""
    person = services.directory.find_person(who)
    assert person is not None
    return services.search.engine.match_ids(query, person, now=services.clock.now(), limit=100_000)


def subjects(services: Services, query: str, who: str = "zhou") -> set[str]:
    found = ids(services, query, who)
    if not found:
        return set()
    marks = ", ".join("?" for _ in found)
    return {r[0] for r in services.db.execute(f"SELECT subject FROM messages WHERE id IN ({marks})", found)}
