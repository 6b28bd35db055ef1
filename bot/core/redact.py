"""No secret in any log line: a logging filter that redacts tokens, secrets, passwords and keys.

It runs on the root handlers, so it sees our records and the libraries' (httpx logs every Telegram Bot
API URL, which holds the bot token; urllib3, slack_sdk and waitress log URLs and headers at DEBUG).
Two nets:
- values: every environment variable whose name says it holds a secret (…TOKEN, …SECRET, …PASSWORD,
  …_KEY, …AES_KEY, …_PW), and any value registered with `register()` (e.g. a config's password_env);
- shapes: Telegram bot tokens in URLs (`/bot123:ABC…/`), Slack tokens (`xoxb-…`, `xapp-…`), query
  parameters and header or JSON fields named like a secret (`access_token=`, `corpsecret=`, `key=`,
  `"token": "…"`, `Authorization: Bearer …`).
"""

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping

MASK = "[redacted]"
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|_PW|_KEY|AESKEY|APIKEY|CREDENTIALS?)$", re.IGNORECASE)
MIN_SECRET = 6
"""Shorter values are not treated as secrets (they would mask ordinary words)."""

_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(/bot)\d{3,}:[A-Za-z0-9_-]{10,}"), r"\1" + MASK),
    (re.compile(r"\b(xox[abposre]|xapp)-[A-Za-z0-9-]{6,}"), r"\1-" + MASK),
    (re.compile(r"(?i)([?&;](?:access_token|corpsecret|secret|token|key|password|passwd|signature|msg_signature"
                r"|encodingaeskey|echostr)=)[^&\s\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)(\b(?:authorization|x-telegram-bot-api-secret-token|x-slack-signature)\b[\"']?\s*[:=]\s*"
                r"[\"']?(?:bearer\s+|basic\s+)?)[^\s\"',}]+"), r"\1" + MASK),
    (re.compile(r"(?i)([\"'](?:token|bot_token|access_token|secret|corpsecret|password|aes_key|encodingaeskey"
                r"|signing_secret|key)[\"']\s*:\s*[\"'])[^\"']+"), r"\1" + MASK),
]

_values: set[str] = set()
_values_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None


def register(values: Iterable[str | None]) -> None:
    """Also mask these exact values wherever they appear (passwords read from the config's env names)."""
    global _pattern
    with _values_lock:
        added = {v for v in values if v and len(v) >= MIN_SECRET}
        if added - _values:
            _values.update(added)
            ordered = sorted(_values, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Every environment value whose variable name says it is a secret."""
    environ = os.environ if environ is None else environ
    register(value for name, value in environ.items() if SECRET_NAME.search(name))


def redact(text: str) -> str:
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with secrets masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep the raw template
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (the root logger by default), once each, and learn the
    environment's secrets."""
    register_environment()
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
