"""Helpers for the /owner and /assign tests: ask the router as a demo person, build extra demo mail."""

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from bot.demo.generator import CUSTOMERS
from bot.mail.importer import import_messages
from bot.services import Services


def generator_owner(services: Services, company: str) -> str:
    """The person id the demo generator has answering `company` (its DemoCustomer.owner)."""
    customer = next(c for c in CUSTOMERS if c.company == company)
    person = services.directory.person_by_email(customer.owner.address)
    assert person is not None
    return person.id


def mail(sender: str, to: str, subject: str, when: datetime, *, name: str = "") -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg.set_content("Hello,\n\nplease see below.\n")
    return msg["Message-ID"].strip("<>"), bytes(msg)


def import_mail(services: Services, *messages: tuple[str, bytes]) -> None:
    import_messages(services.archive, list(messages))


def days_ago(services: Services, days: float) -> datetime:
    return services.clock.now() - timedelta(days=days)
