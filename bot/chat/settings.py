"""Chat platform credentials, read from the environment (never from the TOML config, never logged).

A platform is enabled when its credentials are present: `mailroom run` starts exactly those.
Secrets are `SecretStr`, so a repr or a log line shows `**********`, not the token.
"""

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
        return {("/" + k.lstrip("/")).lower(): v.lstrip("/").lower() for k, v in value.items()}

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


def secret(value: SecretStr | None) -> str:
    """The raw secret for the one place that needs it (an SDK client), '' when unset."""
    return value.get_secret_value() if value is not None else ""
