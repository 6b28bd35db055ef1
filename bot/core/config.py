"""The organisation's mailbox structure, read from one TOML file and validated with pydantic.

Every problem becomes one line `FILE: key.path: what is wrong`, so a person can fix the file
without reading a traceback. Secrets never live here: only the names of environment variables.
"""

import os
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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



def _country(value: str) -> str | None:
    """`value` as an ISO 3166 alpha-2 code ("cn " → "CN"), or None when it is not two letters."""
    code = value.strip().upper()
    return code if re.fullmatch(r"[A-Z]{2}", code) else None

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Organization(Strict):
    name: str
    domains: list[Address] = Field(min_length=1)
    timezone: str = "UTC"
    dkim_selectors: list[str] = []
    """DKIM selectors `mailroom doctor` looks up (default: the usual ones of the mailboxes' IMAP providers)."""
    country: str | None = None
    """ISO 3166 code (e.g. "CN", "DE"): every SLA policy gets its public holidays and 调休 by default."""

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = _country(value)
        if code is None:
            raise ValueError(f"{value!r} is not an ISO 3166 country code (two letters, e.g. \"CN\", \"DE\")")
        return code

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

    message_bytes: int = Field(100 << 20, ge=1 << 20)
    """Bytes of one message read (100 MiB); past them, attachment data is not read (the size is kept)."""
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


ImapProvider = Literal["exmail", "aliyun", "netease", "zoho", "zoho-eu", "zoho-cn", "gmail", "outlook", "qq", "163"]
IMAP_PRESETS: dict[str, tuple[str, int]] = {
    "exmail": ("imap.exmail.qq.com", 993),  # 腾讯企业邮
    "aliyun": ("imap.qiye.aliyun.com", 993),  # 阿里企业邮箱
    "netease": ("imap.qiye.163.com", 993),  # 网易企业邮箱
    "zoho": ("imappro.zoho.com", 993),  # Zoho Mail, organisation accounts (US data centre)
    "zoho-eu": ("imappro.zoho.eu", 993),
    "zoho-cn": ("imappro.zoho.com.cn", 993),  # Zoho 中国
    "gmail": ("imap.gmail.com", 993),  # Gmail / Google Workspace
    "outlook": ("outlook.office365.com", 993),  # Microsoft 365 / Exchange Online
    "qq": ("imap.qq.com", 993),  # QQ邮箱 (personal)
    "163": ("imap.163.com", 993),  # 网易163邮箱 (personal)
}
"""`[mailboxes.imap] provider = NAME` fills host and port (implicit TLS); keys written in the table win.
What each provider requires to log in is in bot/mail/providers.py."""


OAUTH_TOKEN_URLS: dict[str, str] = {
    "gmail": "https://oauth2.googleapis.com/token",
    "outlook": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
}
OAUTH_SCOPES: dict[str, str] = {"outlook": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"}


class ImapOAuth(Strict):
    """`[mailboxes.imap.oauth2]`: log in with XOAUTH2, a fresh access token got from a refresh token."""

    client_id: str
    refresh_token_env: str
    client_secret_env: str | None = None
    token_url: str = ""
    """Default: the provider's (gmail, outlook); another tenant: .../TENANT/oauth2/v2.0/token."""
    scope: str | None = None


class Imap(Strict):
    provider: ImapProvider | None = None
    host: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    username: str
    password_env: str
    folders: list[str] | None = None
    oauth2: ImapOAuth | None = None

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("oauth2"), dict):
            oauth = dict(data["oauth2"])
            name = data.get("provider") or ""
            oauth.setdefault("token_url", OAUTH_TOKEN_URLS.get(name, ""))
            if name in OAUTH_SCOPES:
                oauth.setdefault("scope", OAUTH_SCOPES[name])
            data = {"password_env": "", **data, "oauth2": oauth}  # no password with OAuth2
        if isinstance(data, dict) and data.get("provider") in IMAP_PRESETS:
            host, port = IMAP_PRESETS[data["provider"]]
            return {"host": host, "port": port, "ssl": True, "starttls": False, **data}
        if isinstance(data, dict) and data.get("provider") and "host" not in data:
            return {"host": "", **data}  # an unknown provider is the one error to report, not the host too
        return data

    @field_validator("oauth2")
    @classmethod
    def _token_url(cls, oauth: ImapOAuth | None) -> ImapOAuth | None:
        if oauth is not None and not oauth.token_url:
            raise ValueError("token_url missing: set it to your provider's OAuth2 token endpoint")
        return oauth


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

    @property
    def configured(self) -> bool:
        """Whether the team has a chat channel on any platform."""
        return any((self.slack, self.telegram, self.wecom, self.wecom_robot_key_env))


class Team(Strict):
    id: str
    name: str
    manager: str | None = None
    channels: Channels = Channels()
    report: str | None = None  # the weekly report's local day and time, e.g. "mon 09:00" (bot/report/weekly.py)

    @field_validator("report")
    @classmethod
    def _report_time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        day, _, at = value.strip().lower().partition(" ")
        hour, _, minute = at.strip().partition(":")
        if (day not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") or not (hour.isdigit() and minute.isdigit())
                or not (0 <= int(hour) < 24 and 0 <= int(minute) < 60 and len(minute) == 2)):
            raise ValueError(f"report {value!r} must look like \"mon 09:00\" (day, then local time)")
        return f"{day} {int(hour):02d}:{minute}"


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
    holidays_from: str | None = None
    """Whose public holidays: default the organisation's country; "none" for only the dates above; or an
    ISO code ("DE") for another country's."""
    solution_keywords: list[str] | None = None

    @field_validator("holidays_from")
    @classmethod
    def _holidays_from(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() == "none":
            return None if value is None else "none"
        code = _country(value)
        if code is None:
            raise ValueError(f"{value!r} must be \"none\" or an ISO 3166 country code such as \"CN\"")
        return code

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
    problems.extend(_people_clashes(config, seen))
    problems.extend(_country_check(config))
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
    for i, configured in enumerate(config.teams):
        if configured.manager and configured.manager not in person_ids:
            problems.append(f"teams.{i}.manager: unknown person {configured.manager!r}")
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


def _people_clashes(config: Config, shared: set[str]) -> list[str]:
    """A chat id on two people would answer one as the other; a person whose e-mail is a shared mailbox
    would make every mail of that mailbox theirs."""
    problems: list[str] = []
    for platform in ("slack", "telegram", "wecom"):
        first: dict[str, int] = {}
        for i, person in enumerate(config.people):
            value = getattr(person, platform)
            if value is None:
                continue
            key = str(value).lower()
            if key in first:
                j = first[key]
                problems.append(f"people.{i}.{platform}: {value!r} is also the {platform} id of people.{j} "
                                f"({config.people[j].id}): one chat account maps to one person")
            else:
                first[key] = i
    for i, person in enumerate(config.people):
        if person.email in shared:
            problems.append(f"people.{i}.email: {person.email!r} is a shared mailbox, alias or group address; "
                            "a person needs their own address")
    return problems


def _country_check(config: Config) -> list[str]:
    """Countries must have holiday data: CN from chinese-calendar, the others from `holidays`."""
    wanted = {"organization.country": config.organization.country}
    wanted |= {f"sla.{name}.holidays_from": p.holidays_from for name, p in config.sla.items()}
    codes = {key: code for key, code in wanted.items() if code and code not in ("CN", "none")}
    if not codes:
        return []
    try:
        import holidays
    except ImportError:
        return [f"{key}: the `holidays` package is not installed (pip install holidays)" for key in codes]
    supported = holidays.list_supported_countries()
    return [f"{key}: no holiday data for country {code!r} (ISO 3166 codes such as CN, DE, US)"
            for key, code in codes.items() if code not in supported]


def config_warnings(config: Config) -> list[str]:
    """What is allowed but probably wrong: one line each, for `doctor` and `import` / `run` at start."""
    warnings: list[str] = []
    if not config.people:
        warnings.append("people: no [[people]]: nobody can use the chat; add at least one person with role = \"admin\"")
    elif not any(p.role == "admin" for p in config.people):
        warnings.append("people: nobody has role = \"admin\": the console acts as the first person "
                        f"({config.people[0].id}) and nobody may change the setup from chat")
    return warnings


def _unique(problems: list[str], section: str, values: list[str], key: str) -> set[str]:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            problems.append(f"{section}.{i}.{key}: duplicate {key} {value!r}")
        seen.add(value)
    return seen


def check_customer_csv(path: Path) -> list[str]:
    """Only what makes the export unusable (not found, not text, no name column) stops the config;
    row-level problems are `bot.customers.book.crm_problems` (warnings, shown by doctor, import, run)."""
    from bot.core.crm import CrmUnreadable, read_crm

    try:
        read_crm(path, header_only=True)
    except CrmUnreadable as exc:
        return [f"customers.csv: {exc}"]
    return []
