"""Slack: Block Kit rendering, the Bolt app (slash commands, mentions, buttons), and alert sending.

Every listener acks at once and does the work in a Bolt lazy listener, so Slack's 3-second limit holds
however slow a command is. Deliveries are claimed by `event_id` (Events API retries carry
`X-Slack-Retry-Num` and the same id) or `trigger_id` (commands, buttons), so a retry is acted on once.
"""

import hashlib
import hmac
import io
import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any
from urllib.error import URLError

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler, default_retry_handlers
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.chat.adapters.base import (
    ChatBot,
    InFlight,
    Target,
    UndeliverableError,
    image_bytes,
    text_part_pending,
    text_part_sent,
    unsent_target,
)
from bot.chat.adapters.chunks import pack_lines, wrap_split
from bot.chat.settings import PlatformSettings, secret
from bot.core.errors import MailroomError
from bot.core.reply import Block, Reply, inert

log = logging.getLogger(__name__)

PLATFORM = "slack"
BUTTON_ACTION = "mailroom_button"
MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
HEADER_CHARS = 150
BUTTON_LABEL_CHARS = 75
BUTTON_VALUE_CHARS = 2000
TEXT_CHARS = 40000
MAX_REQUEST_AGE = 300
ACK_EMPTY = ("block_actions", "event_callback")
"""Request types our ack listeners answer with an empty 200: acked before Bolt sees them."""
YIELD_TO_ACKS = 0.5
"""Seconds a command may wait for queued HTTP requests to be acked before it starts."""


# ── rendering ───────────────────────────────────────────────────────────────────────────────
def escape(text: str) -> str:
    """Any text of a reply, made inert for mrkdwn: no control sequences (`inert`), and the three characters
    Slack requires escaped — so no `<!channel>`, `<!here>`, `<@U…>`, `<#C…>` or `<url|label>` from mail is
    ever live. Used for blocks and the top-level `text` alike."""
    return inert(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """plain_text objects (headers, button labels) parse no markup; only control sequences go."""
    return inert(text)


def mentions(reply: Reply) -> str:
    """Our own mentions (trusted, structured): live `<@U…>` for people with a Slack id, names otherwise."""
    return " ".join(f"<@{m.slack}>" if m.slack else escape(m.name) for m in reply.mentions)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> list[dict[str, Any]]:
    """One or more section blocks: a long text is split at line ends into 3,000-character pieces."""
    lines = [piece for line in text.split("\n") for piece in wrap_split(line, "", "", SECTION_CHARS, len)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in pack_lines(lines, SECTION_CHARS, len) if piece.strip()]


def _block(block: Block) -> list[dict[str, Any]]:
    if block.type == "heading":
        return [{"type": "header", "text": {"type": "plain_text", "text": _cut(plain(block.text), HEADER_CHARS),
                                            "emoji": True}}]
    if block.type == "text":
        return _section(escape(block.text))
    if block.type == "fields":
        out = []
        for start in range(0, len(block.fields), 10):
            chunk = block.fields[start : start + 10]
            out.append({
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _cut(f"*{escape(label)}*\n{escape(value)}", FIELD_CHARS)}
                    for label, value in chunk
                ],
            })
        return out
    if block.type == "list":
        lines = ([f"*{escape(block.text)}*"] if block.text else []) + [f"• {escape(i)}" for i in block.items]
        return _section("\n".join(lines))
    if block.type == "context":
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(escape(block.text), FIELD_CHARS)}]}]
    return [{"type": "divider"}]


def render(reply: Reply) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}` for chat.postMessage, respond() and ack()."""
    blocks: list[dict[str, Any]] = []
    for block in reply.blocks:
        blocks.extend(_block(block))
    if not blocks and reply.text:
        blocks = _section(escape(reply.text))
    button_blocks = []
    for start in range(0, len(reply.buttons), 25):
        elements = []
        for i, button in enumerate(reply.buttons[start : start + 25], start):
            element: dict[str, Any] = {
                "type": "button",
                "action_id": f"{BUTTON_ACTION}:{i}",
                "text": {"type": "plain_text", "text": _cut(plain(button.label), BUTTON_LABEL_CHARS), "emoji": True},
                "value": button.command[:BUTTON_VALUE_CHARS],
            }
            if button.style != "default":
                element["style"] = button.style
            elements.append(element)
        button_blocks.append({"type": "actions", "elements": elements})
    ping = mentions(reply)
    if ping:
        button_blocks.insert(0, {"type": "context", "elements": [{"type": "mrkdwn", "text": f"cc {ping}"}]})
    room = MAX_BLOCKS - len(button_blocks)
    if len(blocks) > room:
        blocks = blocks[: room - 1] + [{"type": "context", "elements": [
            {"type": "mrkdwn", "text": "… (cut to fit one Slack message; use --json in the CLI for all)"}]}]
    text = _cut(escape(reply.text or " "), TEXT_CHARS - len(ping) - 1)
    return {"text": f"{text} {ping}" if ping else text, "blocks": blocks + button_blocks}


# ── inbound ─────────────────────────────────────────────────────────────────────────────────
def to_request(body: dict[str, Any], commands: dict[str, str] | None = None) -> tuple[str, str] | None:
    """(Slack user id, chat text) from a slash command, a button press, or a mention/DM event."""
    if "command" in body:
        name = (commands or {}).get(body["command"].lower()) or body["command"].lstrip("/").lower()
        return body.get("user_id", ""), f"/{name} {body.get('text', '')}".strip()
    if body.get("type") == "block_actions":
        action = next((a for a in body.get("actions", []) if a.get("action_id", "").startswith(BUTTON_ACTION)), None)
        if action is None:
            return None
        return body.get("user", {}).get("id", ""), action.get("value", "")
    event = body.get("event") or {}
    if event.get("type") in ("app_mention", "message") and event.get("user") and not event.get("bot_id"):
        return event["user"], event.get("text", "")
    return None


def delivery_id(body: dict[str, Any]) -> str | None:
    """What makes a delivery unique: the event id of an event, the trigger id of a command or click."""
    return body.get("event_id") or body.get("trigger_id")


def _plain(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def verify(signing_secret: str, headers: dict[str, str], body: str | bytes, *, now: float | None = None) -> bool:
    """Slack's v0 signature over `v0:{timestamp}:{body}`, at most five minutes old.

    Computed over the raw bytes (slack_sdk's verifier decodes the body first, which a hostile non-UTF-8
    body would make fail before its signature was even looked at)."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp, given = lower.get("x-slack-request-timestamp", ""), lower.get("x-slack-signature", "")
    if not timestamp.isdigit() or not given or not signing_secret:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_REQUEST_AGE:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    mac = hmac.new(signing_secret.encode("utf-8"), b"v0:" + timestamp.encode("ascii") + b":" + raw, hashlib.sha256)
    return hmac.compare_digest(f"v0={mac.hexdigest()}".encode(), given.encode("utf-8", "replace"))


# ── the Bolt app ────────────────────────────────────────────────────────────────────────────
class RateLimitRetry(RetryHandler):
    """Honours 429 Retry-After in place when the wait is short; longer waits go back to the outbox.

    Like slack_sdk's RateLimitErrorRetryHandler, but with an injectable `sleep` and a ceiling, so a
    minute-long Retry-After does not block the delivery loop (the outbox retries it later instead).
    """

    def __init__(self, *, max_retry_count: int = 2, max_wait: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429 and retry_after(response.headers) <= self.max_wait

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(retry_after(response.headers if response else {}))
        state.increment_current_attempt()


def retry_after(headers: Any) -> float:
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except ValueError:
                return 1.0
    return 1.0


def make_client(settings: PlatformSettings, *, rate_limit: RetryHandler | None = None) -> WebClient:
    base = settings.slack_api_url or "https://slack.com/api/"
    return WebClient(
        token=secret(settings.slack_bot_token),
        base_url=base if base.endswith("/") else base + "/",
        retry_handlers=default_retry_handlers() + [rate_limit or RateLimitRetry()],
    )


class SlackAdapter:
    """The Bolt app wired to the router; `wsgi_app()` is the whole HTTP-mode adapter."""

    def __init__(self, bot: ChatBot, settings: PlatformSettings, *, client: WebClient | None = None,
                 executor: Executor | None = None):
        self.bot = bot
        self.settings = settings
        self.commands = settings.slack_commands
        self.client = client or make_client(settings)
        self.dispatcher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-dispatch")
        self.inflight = InFlight()
        try:  # Bolt checks the token with auth.test right here
            self.app = App(
                client=self.client,
                signing_secret=secret(settings.slack_signing_secret),
                name="mailroom",
                listener_executor=executor or ThreadPoolExecutor(max_workers=4,
                                                                 thread_name_prefix="slack-lazy"),
                # acks run on the request thread itself; only the lazy listeners (the commands) go to the
                # executor, so an ack never queues behind running commands
                process_before_response=True,
            )
        except (SlackApiError, URLError, OSError) as exc:
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            raise MailroomError(f"slack: the bot token could not be checked (auth.test at {self.client.base_url}): "
                                f"{reason}") from None
        self.app.command(re.compile(r"^/.+"))(ack=self._ack, lazy=[self._run_command])
        self.app.action(re.compile(f"^{BUTTON_ACTION}"))(ack=self._ack, lazy=[self._run_button])
        self.app.event("app_mention")(ack=self._ack, lazy=[self._run_event])
        self.app.event("message")(ack=self._ack, lazy=[self._run_event])

    # listeners
    def _claim(self, body: dict[str, Any]) -> bool:
        """First delivery of this event / trigger? Claimed in the lazy listener, after the ack, so the
        HTTP answer never waits for SQLite's write lock; a retry is acked and then ignored here."""
        key = delivery_id(body)
        if key is not None and not self.bot.store.claim(PLATFORM, key):
            log.info("slack: duplicate delivery %s ignored", key)
            return False
        return True

    @staticmethod
    def _ack(ack: Callable[..., None]) -> None:
        ack()

    def _answer(self, body: dict[str, Any]) -> Reply | None:
        parsed = to_request(body, self.commands)
        if parsed is None or not self._claim(body):
            return None
        user, text = parsed
        return self.bot.answer(PLATFORM, user, text)

    def _run_command(self, body: dict[str, Any], respond: Callable[..., Any]) -> None:
        reply = self._answer(body)
        if reply is not None:
            respond(response_type="ephemeral", **render(reply))

    def _run_button(self, body: dict[str, Any], respond: Callable[..., Any]) -> None:
        reply = self._answer(body)
        if reply is not None:
            respond(response_type="ephemeral", replace_original=False, **render(reply))

    def _run_event(self, body: dict[str, Any], client: WebClient) -> None:
        event = body.get("event") or {}
        if event.get("subtype") or (event.get("type") == "message" and event.get("channel_type") != "im"):
            return  # edits, joins, bot posts; channel chatter reaches us only as app_mention
        reply = self._answer(body)
        if reply is None:
            return
        if event.get("channel_type") == "im":
            client.chat_postMessage(channel=event["channel"], **render(reply))
            return
        # Asked in a channel: the answer carries what the asker may read, not what everyone there may, so
        # it is shown to the asker alone (an ephemeral message), in the thread it was asked in.
        thread = event.get("thread_ts") or event.get("ts")
        client.chat_postEphemeral(channel=event["channel"], user=event.get("user", ""), thread_ts=thread,
                                  **render(reply))

    # HTTP mode
    def wsgi_app(self) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        """POST /slack/events: Bolt's own WSGI adapter, behind a check of the raw bytes.

        The signature is verified on the bytes as received (an unsigned body is never decoded or parsed:
        401); a signed body that is not UTF-8 or not a JSON object / form Bolt can read gets 400 (Bolt
        itself would answer 500). The body was read and bounded by the server's limits (bot.chat.web).

        Slash commands, button presses and events are acked with an empty 200 at once (what our ack
        listeners answer anyway) and handed to Bolt's adapter on a small dispatch pool, so the HTTP answer
        costs a signature check and a parse, never Bolt's middleware chain: 200 commands arriving together
        are all acked within a few tens of milliseconds. Anything else (url_verification, ssl_check) goes
        through Bolt synchronously, since its answer is in the HTTP response.
        """
        from slack_bolt.adapter.wsgi import SlackRequestHandler
        from slack_bolt.request.internals import parse_body

        handler = SlackRequestHandler(self.app)
        signing_secret = secret(self.settings.slack_signing_secret)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            body = environ.get("mailroom.body", b"")
            headers = {"x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
                       "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE", "")}
            if not verify(signing_secret, headers, body):
                return _plain(start_response, "401 Unauthorized", b"invalid signature")
            try:
                parsed = parse_body(body.decode("utf-8"), environ.get("CONTENT_TYPE"))
            except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                return _plain(start_response, "400 Bad Request", b"unreadable body")
            if not isinstance(parsed, dict):
                return _plain(start_response, "400 Bad Request", b"not an object")
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            if "command" in parsed or parsed.get("type") in ACK_EMPTY:
                later: dict[str, Any] = {k: v for k, v in environ.items() if isinstance(v, str)}
                later["wsgi.input"] = io.BytesIO(body)
                self.inflight.add(self.dispatcher.submit(self._dispatch_later, handler, later))
                return _plain(start_response, "200 OK", b"")
            return handler(environ, start_response)

        return app

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait (bounded) until every request acked so far has been handed to Bolt; True when all were."""
        return self.inflight.drain(timeout)

    def stop(self) -> None:
        """Hand what was acked to Bolt (bounded), then let the dispatch threads end."""
        self.drain(timeout=10)
        self.dispatcher.shutdown(wait=False)

    @staticmethod
    def _dispatch_later(handler: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> None:
        from bot.chat.web import yield_to_acks

        yield_to_acks(YIELD_TO_ACKS)  # a burst being acked goes first (bench/serve_bench.py: ack p99 halved)

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            if not status.startswith("200"):
                log.warning("slack: Bolt answered %s to a request acked already", status)

        try:
            handler(environ, start_response)
        except Exception:
            log.exception("slack: dispatching a request failed")

    # Socket Mode
    def socket_mode(self) -> Any:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        return SocketModeHandler(self.app, secret(self.settings.slack_app_token))


# ── alerts ──────────────────────────────────────────────────────────────────────────────────
class SlackChannel:
    """The outbox's Slack channel: a DM to a person's user id, or a post in a team's channel."""

    platform = PLATFORM

    def __init__(self, client: WebClient, bot: ChatBot):
        self.client = client
        self.bot = bot

    def send(self, destination: Any, reply: Reply, *, idempotency_key: str) -> None:
        from bot.outbox import DeliveryError

        target = unsent_target(self.bot, PLATFORM, destination, idempotency_key)
        if target is None:
            return
        try:
            if text_part_pending(self.bot, PLATFORM, reply, idempotency_key):
                self.client.chat_postMessage(channel=target.id, **render(reply))
                text_part_sent(self.bot, PLATFORM, reply, idempotency_key)
            self.send_images(target, reply)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                wait = retry_after(exc.response.headers) if status == 429 else None
                raise DeliveryError(f"slack: HTTP {status} sending to {target.id}", retry_after=wait) from None
            raise UndeliverableError(f"slack refused the message to {target.id}: {exc.response.get('error')}") from None
        except (URLError, OSError) as exc:
            raise DeliveryError(f"slack: network error: {exc}", retry_after=None) from None
        self.bot.store.mark_sent(PLATFORM, idempotency_key)

    def send_images(self, target: Target, reply: Reply) -> None:
        """The reply's images in one files_upload_v2 (a person's: in their direct-message conversation)."""
        if not reply.images:
            return
        channel = target.id
        if target.kind == "person":
            channel = self.client.conversations_open(users=target.id)["channel"]["id"]
        self.client.files_upload_v2(
            file_uploads=[{"content": image_bytes(i), "filename": i.filename, "title": i.title or i.filename}
                          for i in reply.images],
            channel=channel,
        )
