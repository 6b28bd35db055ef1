"""The organisation's mailbox structure, read from one TOML file and validated with pydantic.

Every problem becomes one line `FILE: key.path: what is wrong`, so a person can fix the file
without reading a traceback. Secrets never live here: only the names of environment variables.
"""

import csv
import os
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from bot.core.durations import parse_duration
from bot.core.errors import ConfigError

CONFIG_ENV = "MAILROOM_CONFIG"
DEFAULT_LOCATIONS = ("mailroom.toml", "config/mailroom.toml")

Role = Literal["member", "lead", "manager", "admin"]
MailboxRole = Literal["inquiry", "order", "support", "shipping", "audit", "other"]


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(str(value))


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Address = Annotated[str, BeforeValidator(_lower)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Organization(Strict):
    name: str
    domains: list[Address] = Field(min_length=1)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value


class ArchiveSettings(Strict):
    path: Path = Path("mailroom.db")


class Limits(Strict):
    """[limits]: what one message may cost. Anything cut is recorded as a defect of that message."""

    mime_depth: int = Field(50, ge=1, le=500)
    """MIME nesting levels read (multiparts and message/rfc822 inside each other)."""
    mime_parts: int = Field(1000, ge=1)
    """Body parts read per message."""
    header_fields: int = Field(1000, ge=10)
    """Header fields read per message or part."""
    header_chars: int = Field(100_000, ge=1000)
    """Characters of one header field read (References ids are all scanned, then trimmed)."""
    references: int = Field(100, ge=2)
    """References ids kept: the first 10 % (the thread's root) and the last 90 % (the nearest replies)."""
    recipients: int = Field(1000, ge=1)
    """Addresses kept per To / Cc / Delivered-To (the count found is recorded)."""
    body_chars: int = Field(1_000_000, ge=1000)
    """Characters of text kept per message in the archive (the search index keeps its own 100,000)."""
    html_chars: int = Field(5_000_000, ge=1000)
    """Characters of HTML converted to text per part."""
    attachments: int = Field(500, ge=1)
    """Attachment names, types and sizes kept per message (the count found is recorded)."""
    alert_after_failures: int = Field(5, ge=1)
    """Identical failures in a row of one mailbox's watcher before the admins get one alert."""


class CustomerSource(Strict):
    csv: Path | None = None
    free_mail_domains: list[Address] = []


class Imap(Strict):
    host: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    username: str
    password_env: str
    folders: list[str] | None = None


class Mailbox(Strict):
    address: Address
    role: MailboxRole = "other"
    team: str | None = None
    sla: str | None = None
    imap: Imap | None = None

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]


class Alias(Strict):
    address: Address
    target: Address


class Group(Strict):
    address: Address
    members: list[str] = []


class Person(Strict):
    id: str
    name: str
    email: Address
    teams: list[str] = []
    role: Role = "member"
    slack: str | None = None
    telegram: int | None = None
    wecom: str | None = None
    backup: str | None = None
    imap: Imap | None = None


class Channels(Strict):
    slack: str | None = None
    telegram: int | str | None = None
    wecom: str | None = None
    wecom_robot_key_env: str | None = None


class Team(Strict):
    id: str
    name: str
    manager: str | None = None
    channels: Channels = Channels()


class SlaPolicy(Strict):
    first_response: Duration | None = None
    initial_solution: Duration | None = None
    warn_at: float = Field(0.75, gt=0, lt=1)
    escalate_at: float = Field(2.0, gt=1)
    timezone: str | None = None
    business_hours: list[str] = []
    workdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    holidays: list[date] = []
    makeup_workdays: list[date] = []
    solution_keywords: list[str] | None = None

    @field_validator("business_hours")
    @classmethod
    def _spans(cls, spans: list[str]) -> list[str]:
        for span in spans:
            start, _, end = span.partition("-")
            try:
                h1, m1 = (int(x) for x in start.split(":"))
                h2, m2 = (int(x) for x in end.split(":"))
            except ValueError:
                raise ValueError(f"business hours span {span!r} must look like 09:00-12:00") from None
            if not (0 <= h1 * 60 + m1 < h2 * 60 + m2 <= 24 * 60):
                raise ValueError(f"business hours span {span!r} must start before it ends")
        return spans


class MailboxRights(Strict):
    read: list[str] = []
    reply: list[str] = []
    delete: list[str] = []
    export: list[str] = []


class SearchSettings(Strict):
    synonyms: list[list[str]] = []
    page_size: int = Field(10, ge=1, le=100)


class BotSettings(Strict):
    sla_interval: Duration = timedelta(minutes=1)
    poll_interval: Duration = timedelta(minutes=2)
    admins_contact: str | None = None


class Config(Strict):
    organization: Organization
    archive: ArchiveSettings = ArchiveSettings()
    customers: CustomerSource = CustomerSource()
    mailboxes: list[Mailbox] = Field(min_length=1)
    aliases: list[Alias] = []
    groups: list[Group] = []
    people: list[Person] = []
    teams: list[Team] = []
    sla: dict[str, SlaPolicy] = {}
    permissions: dict[Address, MailboxRights] = {}
    search: SearchSettings = SearchSettings()
    bot: BotSettings = BotSettings()
    limits: Limits = Limits()
    rules: dict[str, Any] = {}

    source: Path | None = Field(default=None, exclude=True)

    @property
    def folder(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def resolve(self, path: Path) -> Path:
        """Relative paths in the config are relative to the config file's folder."""
        return path if path.is_absolute() else (self.folder / path)

    @property
    def archive_path(self) -> Path:
        return self.resolve(self.archive.path)


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config, then $MAILROOM_CONFIG, then ./mailroom.toml, then ./config/mailroom.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    for candidate in DEFAULT_LOCATIONS:
        if Path(candidate).exists():
            return Path(candidate)
    raise ConfigError(
        [f"no config file: pass --config PATH, set {CONFIG_ENV}, or create ./mailroom.toml (mailroom init)"]
    )


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the file; raise ConfigError with one line per problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: config file not found"])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([f"{path}: {_where(err['loc'])}: {_what(err)}" for err in exc.errors()]) from None
    config.source = path.resolve()
    problems = [f"{path}: {line}" for line in cross_check(config)]
    if problems:
        raise ConfigError(problems)
    return config


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _what(err: Any) -> str:
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "missing (required)"
    return message


def cross_check(config: Config) -> list[str]:
    """References between sections: every id and address named must exist exactly once."""
    problems: list[str] = []
    person_ids = _unique(problems, "people", [p.id for p in config.people], "id")
    team_ids = _unique(problems, "teams", [t.id for t in config.teams], "id")
    _unique(problems, "people", [p.email for p in config.people], "email")
    addresses = [m.address for m in config.mailboxes] + [a.address for a in config.aliases]
    addresses += [g.address for g in config.groups]
    seen: set[str] = set()
    for address in addresses:
        if address in seen:
            problems.append(f"address {address!r} is defined more than once (mailboxes, aliases, groups)")
        seen.add(address)
    mailbox_addresses = {m.address for m in config.mailboxes}
    for i, mailbox in enumerate(config.mailboxes):
        if "@" not in mailbox.address:
            problems.append(f"mailboxes.{i}.address: {mailbox.address!r} is not an e-mail address")
        if mailbox.team and mailbox.team not in team_ids:
            problems.append(f"mailboxes.{i}.team: unknown team {mailbox.team!r}")
        if mailbox.sla and mailbox.sla not in config.sla:
            problems.append(f"mailboxes.{i}.sla: unknown SLA policy {mailbox.sla!r}")
    for i, alias in enumerate(config.aliases):
        if alias.target not in mailbox_addresses:
            problems.append(f"aliases.{i}.target: {alias.target!r} is not a configured mailbox")
    for i, group in enumerate(config.groups):
        for j, member in enumerate(group.members):
            if member not in person_ids:
                problems.append(f"groups.{i}.members.{j}: unknown person {member!r}")
    for i, person in enumerate(config.people):
        for j, team in enumerate(person.teams):
            if team not in team_ids:
                problems.append(f"people.{i}.teams.{j}: unknown team {team!r}")
        if person.backup and person.backup not in person_ids:
            problems.append(f"people.{i}.backup: unknown person {person.backup!r}")
    for i, team in enumerate(config.teams):
        if team.manager and team.manager not in person_ids:
            problems.append(f"teams.{i}.manager: unknown person {team.manager!r}")
    for address, rights in config.permissions.items():
        if address not in mailbox_addresses:
            problems.append(f"permissions.{address}: {address!r} is not a configured mailbox")
        for right, principals in rights.model_dump().items():
            for j, principal in enumerate(principals):
                kind, _, value = principal.partition(":")
                ok = (
                    (kind == "team" and value in team_ids)
                    or (kind == "role" and value in ("member", "lead", "manager", "admin"))
                    or (not value and principal in person_ids)
                )
                if not ok:
                    problems.append(
                        f"permissions.{address}.{right}.{j}: {principal!r} is not team:ID, role:ROLE or a person id"
                    )
    for name, policy in config.sla.items():
        if policy.timezone:
            try:
                ZoneInfo(policy.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"sla.{name}.timezone: unknown time zone {policy.timezone!r}")
    if config.customers.csv is not None:
        csv_path = config.resolve(config.customers.csv)
        if not csv_path.is_file():
            problems.append(f"customers.csv: file not found: {csv_path}")
        else:
            problems.extend(check_customer_csv(csv_path))
    return problems


def _unique(problems: list[str], section: str, values: list[str], key: str) -> set[str]:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            problems.append(f"{section}.{i}.{key}: duplicate {key} {value!r}")
        seen.add(value)
    return seen


CUSTOMER_COLUMNS = ("name", "domains", "aliases", "country", "owner", "contacts")


def check_customer_csv(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except UnicodeDecodeError:
        return [f"customers.csv: {path} is not UTF-8 text"]
    missing = [c for c in CUSTOMER_COLUMNS if c not in [h.strip().lower() for h in header]]
    if missing:
        return [f"customers.csv: {path} lacks column(s) {', '.join(missing)}"]
    return []


class CrmCustomer(BaseModel):
    """One row of the CRM export."""

    name: str
    domains: list[str] = []
    aliases: list[str] = []
    country: str = ""
    owner: str = ""
    contacts: list[str] = []


def read_customer_csv(path: Path) -> list[CrmCustomer]:
    """Rows of the CRM export; lists inside a cell are separated by ';'."""

    def split(cell: str | None) -> list[str]:
        return [part.strip() for part in (cell or "").split(";") if part.strip()]

    rows: list[CrmCustomer] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            if not row.get("name"):
                continue
            rows.append(
                CrmCustomer(
                    name=row["name"],
                    domains=[d.lower() for d in split(row.get("domains"))],
                    aliases=split(row.get("aliases")),
                    country=row.get("country", ""),
                    owner=row.get("owner", "").lower(),
                    contacts=[c.lower() for c in split(row.get("contacts"))],
                )
            )
    return rows
