"""Telegram: HTML rendering (split at 4,096), inline keyboards, polling or webhook, alerts to chats.

python-telegram-bot is asyncio; the rest of Mailroom is threads. The adapter owns one event loop in a
background thread: the webhook route and the outbox hand coroutines to it and wait for the result.
callback_data holds at most 64 bytes, so a longer button command is stored in the archive under a short
key derived from the command (`k:KEY`); short ones travel inline (`c:/ack 12`).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.chat.adapters.base import (
    ChatBot,
    InFlight,
    UndeliverableError,
    image_bytes,
    text_part_pending,
    text_part_sent,
    unsent_target,
)
from bot.chat.adapters.chunks import pack_lines, wrap_split
from bot.chat.settings import PlatformSettings, secret
from bot.core.errors import MailroomError
from bot.core.reply import Block, Image, Reply, inert

log = logging.getLogger(__name__)
PRIVATE_SENT = "I answered you in our private chat (answers about mail are not posted in groups)."
PRIVATE_FIRST = ("Answers about mail are not posted in groups: open a private chat with @{bot}, "
                 "press Start, and ask me there.")

PLATFORM = "telegram"
MESSAGE_LIMIT = 4096
CALLBACK_BYTES = 64
MEDIA_GROUP = 10  # photos per sendMediaGroup
CAPTION = 1024  # characters of a photo caption
ALLOWED_UPDATES = ["message", "callback_query"]
T = TypeVar("T")


# ── rendering ───────────────────────────────────────────────────────────────────────────────
def units(text: str) -> int:
    """Telegram measures text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Line:
    """One rendered line: an opening tag, raw text (escaped when rendered), a closing tag."""

    raw: str
    open: str = ""
    close: str = ""

    def html(self) -> str:
        return f"{self.open}{_escape(self.raw)}{self.close}"

    def split(self, limit: int) -> list[str]:
        """This line as HTML pieces of at most `limit` units, never cutting a tag or an entity."""
        return wrap_split(self.raw, self.open, self.close, limit, units, _escape)


def _escape(text: str) -> str:
    """Any text of a reply, inert for Telegram HTML: no control sequences, `&`, `<`, `>` escaped."""
    return escape(inert(text), quote=False)


def mention_line(reply: Reply) -> Line | None:
    """Our own mentions (trusted): a live `tg://user` link for people with a Telegram id."""
    parts = [f'<a href="tg://user?id={int(m.telegram)}">{_escape(m.name)}</a>'
             if m.telegram and m.telegram.lstrip("-").isdigit() else _escape(m.name) for m in reply.mentions]
    return Line("", "cc " + " ".join(parts)) if parts else None


@dataclass
class TelegramMessage:
    chunks: list[str]
    keyboard: list[list[tuple[str, str]]] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)


def _lines(block: Block) -> list[Line]:
    if block.type == "heading":
        return [Line(block.text, "<b>", "</b>")]
    if block.type == "text":
        return [Line(part) for part in block.text.split("\n")]
    if block.type == "fields":
        return [Line(value, f"<b>{_escape(label)}:</b> ") for label, value in block.fields]
    if block.type == "list":
        title = [Line(block.text, "<b>", "</b>")] if block.text else []
        return title + [Line(item, "• ") for item in block.items]
    if block.type == "context":
        return [Line(part, "<i>", "</i>") for part in block.text.split("\n")]
    return [Line("")]


def callback_data(command: str) -> tuple[str, str | None]:
    """(callback_data, key to store or None): inline when it fits 64 bytes, else a short stored key."""
    inline = f"c:{command}"
    if len(inline.encode("utf-8")) <= CALLBACK_BYTES:
        return inline, None
    key = base64.urlsafe_b64encode(hashlib.sha256(command.encode("utf-8")).digest()[:12]).decode("ascii")
    return f"k:{key}", key


def render(reply: Reply, *, limit: int = MESSAGE_LIMIT) -> TelegramMessage:
    """HTML chunks of at most `limit` units (split between lines), and the inline keyboard."""
    lines: list[Line] = []
    for block in reply.blocks:
        lines.extend(_lines(block))
    if not lines:
        lines = [Line(part) for part in (reply.text or " ").split("\n")]
    ping = mention_line(reply)
    if ping is not None:
        lines.append(ping)
    chunks = pack_lines((piece for line in lines for piece in line.split(limit)), limit, units)
    keyboard: list[list[tuple[str, str]]] = []
    stored: dict[str, str] = {}
    row: list[tuple[str, str]] = []
    for button in reply.buttons:
        data, key = callback_data(button.command)
        if key:
            stored[key] = button.command
        row.append((inert(button.label), data))
        if len(row) == 2:
            keyboard.append(row)
            row = []
    if row:
        keyboard.append(row)
    return TelegramMessage(chunks or [" "], keyboard, stored)


# ── inbound ─────────────────────────────────────────────────────────────────────────────────
def to_request(update: Update, bot_username: str, lookup: Callable[[str], str | None] | None = None
               ) -> tuple[int, str] | None:
    """(Telegram user id, chat text) from a message or a button press; None when not for us.

    In groups a message is for us when it is a command (`/owner@OurBot acme` or `/owner acme`) or
    mentions us; in a private chat everything is.
    """
    query = update.callback_query
    if query is not None and query.data:
        if query.data.startswith("c:"):
            return query.from_user.id, query.data[2:]
        if query.data.startswith("k:") and lookup is not None:
            command = lookup(query.data[2:])
            return (query.from_user.id, command) if command else None
        return None
    message = update.message
    if message is None or message.from_user is None or not message.text:
        return None
    text = message.text.strip()
    mention = f"@{bot_username}".lower() if bot_username else None
    if text.startswith("/"):
        first, _, rest = text.partition(" ")
        name, _, addressee = first.partition("@")
        if addressee and bot_username and addressee.lower() != bot_username.lower():
            return None  # a command for another bot in the same group
        return message.from_user.id, f"{name} {rest}".strip()
    if message.chat.type != "private":
        if not mention or mention not in text.lower():
            return None
        start = text.lower().index(mention)
        text = (text[:start] + text[start + len(mention):]).strip(" ,:")
    return message.from_user.id, text


def verify_secret(headers: dict[str, str], expected: str) -> bool:
    given = {k.lower(): v for k, v in headers.items()}.get("x-telegram-bot-api-secret-token", "")
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# ── the application ─────────────────────────────────────────────────────────────────────────
class TelegramAdapter:
    """python-telegram-bot's Application on a private event loop thread, wired to the router."""

    def __init__(self, bot: ChatBot, settings: PlatformSettings, *, polling: bool | None = None):
        self.bot = bot
        self.settings = settings
        self.polling = (not settings.telegram_webhook_mode) if polling is None else polling
        builder: Any = ApplicationBuilder().token(secret(settings.telegram_bot_token))
        if settings.telegram_api_url:
            base = settings.telegram_api_url.rstrip("/")
            builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
        if not self.polling:
            builder = builder.updater(None)
        self.app: Application = builder.build()
        self.app.add_handler(CallbackQueryHandler(self._on_callback))
        self.app.add_handler(MessageHandler(filters.TEXT & filters.UpdateType.MESSAGE, self._on_text))
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self.inflight = InFlight()

    # lifecycle
    def start(self) -> None:
        """Start the loop thread, initialise the bot (getMe), and start polling when in polling mode."""
        self._thread = threading.Thread(target=self.loop.run_forever, name="telegram", daemon=True)
        self._thread.start()
        try:
            self.call(self.app.initialize())  # getMe: checks the token
        except TelegramError as exc:
            self.stop()
            raise MailroomError(f"telegram: the bot token could not be checked (getMe): {exc}") from None
        self.call(self.app.start())
        if self.polling and self.app.updater is not None:
            self.call(self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES))
        elif self.settings.telegram_webhook_url:
            self.call(self.app.bot.set_webhook(
                self.settings.telegram_webhook_url, secret_token=secret(self.settings.telegram_webhook_secret),
                allowed_updates=ALLOWED_UPDATES,
            ))

    def stop(self) -> None:
        if self._thread is None:
            return
        self.drain(timeout=10)
        if self.app.updater is not None and self.app.updater.running:
            self.call(self.app.updater.stop())
        if self.app.running:
            self.call(self.app.stop())
        self.call(self.app.shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self.loop.close()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the adapter's loop from any thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    # webhook
    def handle_webhook(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """Wrong or missing secret token → 403 with nothing read; an unreadable update → 400; otherwise
        200 at once, and the update is processed afterwards on the adapter's loop (like Slack's lazy
        listeners and WeCom's workers, the HTTP request never waits for the command)."""
        if not verify_secret(headers, secret(self.settings.telegram_webhook_secret)):
            return 403, b"forbidden"
        try:
            data = json.loads(body)
        except ValueError:  # not JSON, or not UTF-8
            return 400, b"not JSON"
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return 400, b"not an update"
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception:  # noqa: BLE001 - PTB raises KeyError/TypeError/ValueError for malformed updates
            log.info("telegram: unreadable update %s refused", data.get("update_id"))
            return 400, b"not an update"
        future = asyncio.run_coroutine_threadsafe(self.app.process_update(update), self.loop)
        self.inflight.add(future)
        future.add_done_callback(self._done)
        return 200, b"ok"

    @staticmethod
    def _done(future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("telegram: processing an update failed: %s", future.exception())

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait (bounded) until every webhook update taken so far has been processed; True when all were."""
        return self.inflight.drain(timeout)

    def _claim(self, update_id: int) -> bool:
        """Take an update once (Telegram redelivers until it gets a 200). Work about to start first lets
        a burst of webhook requests being answered go first, as Slack's and WeCom's do."""
        from bot.chat.web import yield_to_acks

        yield_to_acks()
        return self.bot.store.claim(PLATFORM, str(update_id))

    # handlers
    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        parsed = to_request(update, context.bot.username)
        if parsed is None or update.effective_chat is None:
            return
        if not await asyncio.to_thread(self._claim, update.update_id):
            return
        user, text = parsed
        reply = await asyncio.to_thread(self.bot.answer, PLATFORM, user, text)
        message = update.message
        chat = update.effective_chat
        if chat.type == "private":
            await self.deliver(chat.id, reply, reply_to=message.message_id if message else None)
            return
        # Asked in a group: the answer carries what the asker may read, not what everyone there may, so it
        # goes to the asker's private chat; the group only learns where the answer went.
        try:
            await self.deliver(user, reply)
        except TelegramError:
            await self.app.bot.send_message(chat.id, PRIVATE_FIRST.format(bot=context.bot.username or "me"),
                                            reply_to_message_id=message.message_id if message else None)
            return
        await self.app.bot.send_message(chat.id, PRIVATE_SENT, reply_to_message_id=message.message_id if message else None)

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        if not await asyncio.to_thread(self._claim, update.update_id):
            return
        await query.answer()
        parsed = await asyncio.to_thread(to_request, update, context.bot.username, self.bot.store.callback_command)
        chat_id = query.message.chat.id if query.message else query.from_user.id
        if parsed is None:
            await context.bot.send_message(chat_id, "That button has expired; type the command instead.")
            return
        user, command = parsed
        reply = await asyncio.to_thread(self.bot.answer, PLATFORM, user, command)
        await self.deliver(chat_id, reply)

    async def deliver(self, chat_id: int | str, reply: Reply, *, reply_to: int | None = None) -> None:
        """Send a rendered reply: chunk by chunk, the keyboard under the last one."""
        message = render(reply)
        await asyncio.to_thread(self.bot.store.remember_callbacks, message.stored)
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in message.keyboard]
        ) if message.keyboard else None
        for i, chunk in enumerate(message.chunks):
            last = i == len(message.chunks) - 1
            await self.app.bot.send_message(
                chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup if last else None,
                reply_to_message_id=reply_to if i == 0 else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

    async def send_photos(self, chat_id: int | str, images: list[Image]) -> None:
        """One image: sendPhoto; several: sendMediaGroup (an album of up to ten, each with its caption)."""
        for start in range(0, len(images), MEDIA_GROUP):
            group = images[start:start + MEDIA_GROUP]
            if len(group) == 1:
                await self.app.bot.send_photo(chat_id, image_bytes(group[0]), caption=group[0].title[:CAPTION],
                                              filename=group[0].filename)
            else:
                await self.app.bot.send_media_group(chat_id, [
                    InputMediaPhoto(image_bytes(i), caption=i.title[:CAPTION], filename=i.filename) for i in group])


# ── alerts ──────────────────────────────────────────────────────────────────────────────────
def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """The outbox's Telegram channel: a private chat with a person, or a team's group chat."""

    platform = PLATFORM

    def __init__(self, adapter: TelegramAdapter, bot: ChatBot | None = None):
        self.adapter = adapter
        self.bot = bot or adapter.bot

    def send(self, destination: Any, reply: Reply, *, idempotency_key: str) -> None:
        from bot.outbox import DeliveryError

        target = unsent_target(self.bot, PLATFORM, destination, idempotency_key)
        if target is None:
            return
        chat = int(target.id) if target.id.lstrip("-").isdigit() else target.id
        try:
            if text_part_pending(self.bot, PLATFORM, reply, idempotency_key):
                self.adapter.call(self.adapter.deliver(chat, reply))
                text_part_sent(self.bot, PLATFORM, reply, idempotency_key)
            if reply.images:
                self.adapter.call(self.adapter.send_photos(chat, reply.images))
        except RetryAfter as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wait = _seconds(exc.retry_after)
            raise DeliveryError(f"telegram: rate limited sending to {target.id}", retry_after=wait) from None
        except (BadRequest, Forbidden) as exc:
            raise UndeliverableError(f"telegram refused the message to {target.id}: {exc.message}") from None
        except (NetworkError, TelegramError, TimeoutError) as exc:
            raise DeliveryError(f"telegram: {exc}", retry_after=None) from None
        self.bot.store.mark_sent(PLATFORM, idempotency_key)
