"""Chat platform credentials, read from the environment (never from the TOML config, never logged).

A platform is enabled when its credentials are present: `mailroom run` starts exactly those.
Secrets are `SecretStr`, so a repr or a log line shows `**********`, not the token.
"""

import os
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from bot.core.config import Config
from bot.core.errors import ConfigError

_SLASH_NAME = re.compile(r"/[a-z0-9_-]{1,31}")
WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")
DEFAULT_SLACK_COMMANDS = {"/owner": "owner", "/handover": "handover", "/sla": "sla", "/mailsearch": "search"}


class PlatformSettings(BaseSettings):
    """Environment variables, one per field (upper-case names; empty values count as unset)."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, case_sensitive=False)

    # Slack: SLACK_APP_TOKEN → Socket Mode (default, no public URL); SLACK_SIGNING_SECRET → HTTP mode.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    slack_commands: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SLACK_COMMANDS))
    slack_mode: Literal["socket", "http"] | None = None

    # Telegram: polling by default; TELEGRAM_WEBHOOK_SECRET switches to webhook mode.
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_url: str | None = None
    telegram_api_url: str | None = None

    # WeCom (企业微信) self-built app; WECOM_API_URL for private deployments (私有化部署).
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_url: str = "https://qyapi.weixin.qq.com"

    @field_validator("slack_commands")
    @classmethod
    def _slash(cls, value: dict[str, str]) -> dict[str, str]:
        commands = {("/" + k.strip().lstrip("/")).lower(): v.strip().lstrip("/").lower() for k, v in value.items()}
        for slash, target in commands.items():
            if not _SLASH_NAME.fullmatch(slash):
                raise ValueError(f"{slash!r} is not a slash command name (/ then 1-31 letters, digits, - or _)")
            if not re.fullmatch(r"[a-z][a-z_-]{0,30}", target):
                raise ValueError(f"{slash!r} maps to {target!r}, which is not a Mailroom command name")
        return commands

    @field_validator("slack_api_url", "telegram_api_url", "telegram_webhook_url", "wecom_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value[:80]!r} is not an http(s):// URL")
        return value.strip()

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raw = value.get_secret_value()
            if not (1 <= len(raw) <= 256) or any(not (c.isascii() and (c.isalnum() or c in "_-")) for c in raw):
                raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("WECOM_AES_KEY (EncodingAESKey) must be exactly 43 characters")
        return value

    # ── partial credentials ──────────────────────────────────────────────────────────────────
    def problems(self) -> list[str]:
        """One line per platform whose credentials are set only in part, naming what is missing — a
        half-configured platform is a mistake to report, not a reason to fall back to the console."""
        lines: list[str] = []
        slack_set = [n for n in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
                     if getattr(self, n.lower()) is not None]
        if slack_set and self.slack_bot_token is None:
            lines.append(f"environment: slack: {' and '.join(slack_set)} set but SLACK_BOT_TOKEN (xoxb-…) is missing")
        elif slack_set and not self.slack_enabled:
            lines.append("environment: slack: SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN (Socket Mode) or "
                         "SLACK_SIGNING_SECRET (HTTP mode) is missing")
        elif self.slack_enabled and self.slack_mode == "http" and self.slack_signing_secret is None:
            lines.append("environment: SLACK_MODE=http needs SLACK_SIGNING_SECRET (it is missing)")
        elif self.slack_enabled and self.slack_mode == "socket" and self.slack_app_token is None:
            lines.append("environment: SLACK_MODE=socket needs SLACK_APP_TOKEN (xapp-…; it is missing)")
        for name, expected, other in (("SLACK_BOT_TOKEN", "xoxb-", "xapp-"), ("SLACK_APP_TOKEN", "xapp-", "xoxb-")):
            value = getattr(self, name.lower())
            if value is not None and value.get_secret_value().startswith(other):
                lines.append(f"environment: {name}: holds a {other}… token; it takes the {expected}… one")
        if self.telegram_bot_token is None:
            extra = [n for n in ("TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_URL") if getattr(self, n.lower())]
            if extra:
                lines.append(f"environment: telegram: {' and '.join(extra)} set but TELEGRAM_BOT_TOKEN is missing")
        elif self.telegram_webhook_url is not None and self.telegram_webhook_secret is None:
            lines.append("environment: telegram: TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is missing "
                         "(the webhook must be verified)")
        wecom = {n: getattr(self, n.lower()) for n in WECOM_REQUIRED}
        present = [n for n, v in wecom.items() if v is not None]
        if present and len(present) < len(wecom):
            missing = [n for n, v in wecom.items() if v is None]
            lines.append(f"environment: wecom: {', '.join(present)} set but {', '.join(missing)} missing")
        return lines

    # ── which platforms are configured ──────────────────────────────────────────────────────
    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_app_token is not None or self.slack_signing_secret is not None
        )

    @property
    def slack_socket_mode(self) -> bool:
        """Socket Mode unless SLACK_MODE=http or there is no app token."""
        if self.slack_mode is not None:
            return self.slack_mode == "socket"
        return self.slack_app_token is not None

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def telegram_webhook_mode(self) -> bool:
        return self.telegram_webhook_secret is not None

    @property
    def wecom_enabled(self) -> bool:
        return all(
            v is not None
            for v in (self.wecom_corp_id, self.wecom_agent_id, self.wecom_secret, self.wecom_token, self.wecom_aes_key)
        )

    @property
    def enabled(self) -> list[str]:
        flags = {"slack": self.slack_enabled, "telegram": self.telegram_enabled, "wecom": self.wecom_enabled}
        return [name for name, on in flags.items() if on]

    def describe(self) -> list[str]:
        """One safe line per platform for logs: modes and hosts, never a secret."""
        lines = []
        if self.slack_enabled:
            mode = "socket mode" if self.slack_socket_mode else "HTTP mode (POST /slack/events)"
            lines.append(f"slack: {mode}, API {self.slack_api_url or 'https://slack.com/api/'}")
        if self.telegram_enabled:
            mode = "webhook (POST /telegram/webhook)" if self.telegram_webhook_mode else "polling"
            lines.append(f"telegram: {mode}, API {self.telegram_api_url or 'https://api.telegram.org'}")
        if self.wecom_enabled:
            lines.append(f"wecom: callback GET/POST /wecom/callback, agent {self.wecom_agent_id}, API {self.wecom_api_url}")
        return lines


def load_platform_settings(**overrides: Any) -> PlatformSettings:
    """The settings from the environment, or a ConfigError with one line per unusable variable (the CLI
    exits 2): a malformed value, or a platform with only part of its credentials."""
    try:
        settings = PlatformSettings(**overrides)
    except SettingsError as exc:  # a complex field (SLACK_COMMANDS) that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = found.group(1).upper() if found else "environment"
        example = ' (expected e.g. {"/owner":"owner","/sla":"sla"})' if name == "SLACK_COMMANDS" else ""
        raise ConfigError([f"environment: {name}: not valid JSON{example}"]) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]).upper() if err["loc"] else "environment"
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "dict_type":
                message = 'must be a JSON object of slash command → command, e.g. {"/owner":"owner"}'
            problems.append(f"environment: {name}: {message}")
        raise ConfigError(problems) from None
    problems = settings.problems()
    if problems:
        raise ConfigError(problems)
    return settings


def environment_warnings(config: Config, settings: PlatformSettings, *, sync: bool = True,
                         environ: Mapping[str, str] | None = None) -> list[str]:
    """Variables the config names that are not set: each an IMAP password (that mailbox will not sync)
    or a WeCom group-robot key (that team's alerts cannot be delivered). The bot still starts."""
    environ = os.environ if environ is None else environ
    lines: list[str] = []
    if sync:
        accounts = [(f"mailboxes.{i}.imap.password_env", m.address, m.imap) for i, m in enumerate(config.mailboxes)]
        accounts += [(f"people.{i}.imap.password_env", p.email, p.imap) for i, p in enumerate(config.people)]
        for key, address, imap in accounts:
            if imap is not None and not environ.get(imap.password_env):
                lines.append(f"environment: {imap.password_env} ({key}) is not set: {address} will not sync")
    if settings.wecom_enabled:
        for i, team in enumerate(config.teams):
            env = team.channels.wecom_robot_key_env
            if env and not environ.get(env):
                lines.append(f"environment: {env} (teams.{i}.channels.wecom_robot_key_env) is not set: "
                             f"alerts to team {team.id}'s WeCom group robot cannot be delivered")
    return lines


def secret(value: SecretStr | None) -> str:
    """The raw secret for the one place that needs it (an SDK client), '' when unset."""
    return value.get_secret_value() if value is not None else ""
