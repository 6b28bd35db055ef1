"""WeCom (企业微信): the self-built app's callback, markdown rendering, app messages and group robots.

Inbound: WeCom calls GET /wecom/callback to verify the URL (we answer the decrypted echostr) and POSTs
encrypted XML for each member's message. We check msg_signature, decrypt, claim the MsgId (WeCom
retries when we are slow), answer 200 at once and run the command on a worker thread; the reply goes
out through the app message API. Buttons become a `button_interaction` template card whose clicks
come back as `template_card_event` callbacks.

Outbound: the access token is cached for its `expires_in` and refreshed when WeCom says it expired;
an errcode ≠ 0 is an error even with HTTP 200. Team alerts go to a group robot webhook, paced to one
message per 3 s per robot (WeCom allows 20 a minute; beyond that it answers errcode 130101).
"""

import base64
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

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
from bot.chat.adapters.wecom_crypto import WecomCrypto, WecomCryptoError
from bot.chat.settings import PlatformSettings, secret
from bot.core.errors import MailroomError
from bot.core.reply import Block, Reply, inert

log = logging.getLogger(__name__)

PLATFORM = "wecom"
APP_MARKDOWN_BYTES = 2048
ROBOT_MARKDOWN_BYTES = 4096
ROBOT_IMAGE_BYTES = 2 << 20  # a group robot's image, before base64
MAX_CARD_BUTTONS = 6
CARD_KEY_BYTES = 1024
TOKEN_ERRORS = {40001, 40014, 42001}
RETRY_LATER = {-1: 5.0, 45009: 60.0, 130101: 60.0}  # system busy, API frequency limit, robot 20/min
MAX_CALLBACK_AGE = 300.0


class WecomApiError(MailroomError):
    def __init__(self, errcode: int, errmsg: str):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeCom API error {errcode}: {errmsg}")


# ── rendering ───────────────────────────────────────────────────────────────────────────────
def _size(text: str) -> int:
    return len(text.encode("utf-8"))


_TAG = re.compile(r"<(?=\s*(?:@|/?\s*font\b))", re.IGNORECASE)
_LINK = re.compile(r"\]\s*\(")
_AT_ALL = re.compile(r"(?<![\w.+-])@(?=(?:all|所有人)(?![\w.-]))", re.IGNORECASE)


def escape(text: str) -> str:
    """Any text of a reply, inert in WeCom markdown and template cards. WeCom's markdown knows two tags
    (`<@userid>` mentions, `<font color=…>`) and `[label](url)` links, has no escape character and does not
    decode HTML entities; so the `<` that would open a tag, the `](` that would make a link and the `@` of
    `@all` become their full-width look-alikes (＜@LiWei>, [点此]（url), ＠all), and control sequences go
    (`inert`). Other text, and its byte size, stays as it is."""
    text = _TAG.sub("\uff1c", inert(text))
    text = _LINK.sub(lambda m: "\uff3d" + m.group(0)[1:-1] + "\uff08", text)
    return _AT_ALL.sub("\uff20", text)


def mention_line(reply: Reply) -> tuple[str, str, str] | None:
    """Our own mentions (trusted): live `<@userid>` for people with a WeCom id (a group robot pings them)."""
    parts = [f"<@{m.wecom}>" if m.wecom else escape(m.name) for m in reply.mentions]
    return ("", "cc " + " ".join(parts), "") if parts else None


def _lines(block: Block) -> list[tuple[str, str, str]]:
    if block.type == "heading":
        return [(block.text, "**", "**")]
    if block.type == "text":
        return [(line, "", "") for line in block.text.split("\n")]
    if block.type == "fields":
        return [(value, f"**{escape(label)}:** ", "") for label, value in block.fields]
    if block.type == "list":
        return ([(block.text, "**", "**")] if block.text else []) + [(item, "• ", "") for item in block.items]
    if block.type == "context":
        return [(line, '<font color="comment">', "</font>") for line in block.text.split("\n")]
    return [("", "", "")]


def render(reply: Reply, *, limit: int = APP_MARKDOWN_BYTES, buttons_as_text: bool = True) -> list[str]:
    """WeCom markdown, split between lines into messages of at most `limit` bytes (UTF-8).

    Buttons become lines telling what to send (`> Ack: send /ack 12`) unless they travel as a card.
    """
    lines = [line for block in reply.blocks for line in _lines(block)]
    if not lines:
        lines = [(line, "", "") for line in (reply.text or " ").split("\n")]
    ping = mention_line(reply)
    if ping is not None:
        lines.append(ping)
    if buttons_as_text:
        lines += [("", f"> {escape(b.label)}: send `{escape(b.command)}`", "") for b in reply.buttons]
    pieces = (piece for raw, before, after in lines
              for piece in wrap_split(raw, before, after, limit, _size, escape))
    return pack_lines(pieces, limit, _size) or [" "]


def cards_fit(reply: Reply) -> bool:
    return 0 < len(reply.buttons) <= MAX_CARD_BUTTONS and all(
        _size(b.command) <= CARD_KEY_BYTES for b in reply.buttons
    )


def render_card(reply: Reply, *, task_id: str) -> dict[str, Any]:
    """A `button_interaction` template card; each button's key is the command it runs."""
    title = next((b.text for b in reply.blocks if b.type == "heading"), "") or reply.text.split("\n", 1)[0]
    styles = {"primary": 1, "default": 2, "danger": 3}
    return {
        "card_type": "button_interaction",
        "main_title": {"title": escape(title)[:26] or "Mailroom", "desc": "Mailroom"},
        "task_id": task_id,
        "button_list": [
            {"text": escape(b.label)[:10], "style": styles[b.style], "key": b.command} for b in reply.buttons
        ],
    }


# ── inbound ─────────────────────────────────────────────────────────────────────────────────
def parse_xml(body: bytes | str) -> dict[str, str]:
    """The flat `<xml><Field>value</Field>…</xml>` WeCom sends; DTDs and entities are refused."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise WecomCryptoError("XML with a DTD is not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise WecomCryptoError(f"not XML: {exc}") from None
    return {child.tag: (child.text or "") for child in root}


_ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[)?([A-Za-z0-9+/=]{1,1400000})(?:\]\]>)?\s*</Encrypt>")


def encrypted_field(body: bytes) -> str:
    """The base64 `<Encrypt>` of a callback body, found without decoding or parsing the (unverified) XML:
    the signature covers only this field, so nothing else of the body is looked at before it is checked."""
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise WecomCryptoError("XML with a DTD is not accepted")
    match = _ENCRYPT.search(body)
    if match is None:
        raise WecomCryptoError("no <Encrypt> field")
    return match.group(1).decode("ascii")


def to_request(fields: dict[str, str]) -> tuple[str, str] | None:
    """(WeCom user id, chat text) from a text message or a card button click."""
    user = fields.get("FromUserName", "")
    if fields.get("MsgType") == "text":
        return user, fields.get("Content", "")
    if fields.get("MsgType") == "event" and fields.get("Event") == "template_card_event":
        return user, fields.get("EventKey", "")
    return None


def delivery_id(fields: dict[str, str]) -> str:
    if fields.get("MsgId"):
        return f"msg:{fields['MsgId']}"
    return ":".join(["event", fields.get("FromUserName", ""), fields.get("CreateTime", ""),
                     fields.get("TaskId", ""), fields.get("EventKey", "")])


# ── the Web API ─────────────────────────────────────────────────────────────────────────────
JSON_TYPE = "application/json; charset=utf-8"


def _http_json(url: str, payload: dict[str, Any] | bytes | None, timeout: float, *,
               content_type: str = JSON_TYPE) -> dict[str, Any]:
    """POST `payload` (a JSON object, or a body already encoded as `content_type`; None: GET) and return
    WeCom's JSON answer; an errcode other than 0 is a WecomApiError."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8") if isinstance(payload, dict) else payload
    request = Request(url, data=data, headers={"Content-Type": content_type},
                      method="POST" if data is not None else "GET")
    with urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read().decode("utf-8"))
    if not isinstance(answer, dict):
        raise WecomApiError(-1, "answer is not a JSON object")
    if answer.get("errcode", 0) != 0:
        raise WecomApiError(int(answer["errcode"]), str(answer.get("errmsg", "")))
    return answer


class WecomApi:
    """gettoken (cached, refreshed on expiry) and the app message API."""

    def __init__(self, base_url: str, corp_id: str, corp_secret: str, agent_id: int, *,
                 monotonic: Callable[[], float] = time.monotonic, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.agent_id = agent_id
        self.monotonic = monotonic
        self.timeout = timeout
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.monotonic() >= self._token[1]:
                query = urlencode({"corpid": self.corp_id, "corpsecret": self.corp_secret})
                answer = _http_json(f"{self.base_url}/cgi-bin/gettoken?{query}", None, self.timeout)
                lifetime = float(answer.get("expires_in", 7200))
                # refresh a little early, so a token never expires between our check and WeCom's
                self._token = (str(answer["access_token"]), self.monotonic() + max(lifetime - 300, lifetime / 2))
            return self._token[0]

    def call(self, path: str, payload: dict[str, Any] | bytes, *, query: dict[str, str] | None = None,
             content_type: str = JSON_TYPE) -> dict[str, Any]:
        """One Web API call with the access token, fetched again once when WeCom says it expired."""
        for attempt in (1, 2):
            token = self.token()
            try:
                return _http_json(f"{self.base_url}/cgi-bin/{path}?{urlencode({'access_token': token, **(query or {})})}",
                                  payload, self.timeout, content_type=content_type)
            except WecomApiError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    with self._lock:
                        self._token = None
                    continue
                raise
        raise AssertionError("unreachable")

    def send_markdown(self, touser: str, content: str) -> None:
        self.call("message/send", {"touser": touser, "msgtype": "markdown", "agentid": self.agent_id,
                                   "markdown": {"content": content}})

    def send_card(self, touser: str, card: dict[str, Any]) -> None:
        self.call("message/send", {"touser": touser, "msgtype": "template_card", "agentid": self.agent_id,
                                   "template_card": card})

    def upload_image(self, data: bytes, filename: str) -> str:
        """media/upload?type=image (multipart, field `media`): the temporary media id of an image."""
        boundary = f"mailroom{uuid.uuid4().hex}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"{filename}\"; "
                f"filelength={len(data)}\r\nContent-Type: image/png\r\n\r\n").encode() + data + \
            f"\r\n--{boundary}--\r\n".encode()
        answer = self.call("media/upload", body, query={"type": "image"},
                           content_type=f"multipart/form-data; boundary={boundary}")
        if not answer.get("media_id"):
            raise WecomApiError(-1, "no media_id")
        return str(answer["media_id"])

    def send_image(self, touser: str, media_id: str) -> None:
        self.call("message/send", {"touser": touser, "msgtype": "image", "agentid": self.agent_id,
                                   "image": {"media_id": media_id}})

    def send_group_markdown(self, chat_id: str, content: str) -> None:
        self.call("appchat/send", {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": content}})

    def send_group_image(self, chat_id: str, media_id: str) -> None:
        self.call("appchat/send", {"chatid": chat_id, "msgtype": "image", "image": {"media_id": media_id}})


class RobotSender:
    """Group-robot webhooks (`webhook/send?key=KEY`), paced per robot with an injectable clock."""

    def __init__(self, base_url: str, *, interval: float = 3.0, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.interval = interval
        self.monotonic = monotonic
        self.sleep = sleep
        self.timeout = timeout
        self._next: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def send_markdown(self, key: str, content: str) -> None:
        self._send(key, {"msgtype": "markdown", "markdown": {"content": content}})

    def send_image(self, key: str, data: bytes) -> None:
        """A group robot's image message: the PNG as base64 with its MD5 (at most 2 MiB), paced like text."""
        if not key:
            raise UndeliverableError("no group robot key")
        self._send(key, {"msgtype": "image", "image": {"base64": base64.b64encode(data).decode("ascii"),
                                                       "md5": hashlib.md5(data).hexdigest()}})

    def _send(self, key: str, payload: dict[str, Any]) -> None:
        """One message to the robot `key`, at least `interval` seconds after its previous one."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            wait = self._next.get(key, 0.0) - self.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._next[key] = self.monotonic() + self.interval
            _http_json(f"{self.base_url}/cgi-bin/webhook/send?{urlencode({'key': key})}", payload, self.timeout)


# ── the callback ────────────────────────────────────────────────────────────────────────────
class WecomAdapter:
    def __init__(self, bot: ChatBot, settings: PlatformSettings, *, api: WecomApi | None = None,
                 executor: Executor | None = None, wall_clock: Callable[[], float] = time.time):
        self.bot = bot
        self.settings = settings
        self.crypto = WecomCrypto(secret(settings.wecom_token), secret(settings.wecom_aes_key),
                                  settings.wecom_corp_id or "")
        self.api = api or WecomApi(settings.wecom_api_url, settings.wecom_corp_id or "",
                                   secret(settings.wecom_secret), settings.wecom_agent_id or 0)
        self.executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="wecom")
        self.inflight = InFlight()
        self.wall_clock = wall_clock
        self._tasks = 0

    def handle_callback(self, method: str, query: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """GET: URL verification. POST: one encrypted message. Anything unverified → 403, nothing run."""
        signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        try:
            if not timestamp.isdigit() or abs(self.wall_clock() - int(timestamp)) > MAX_CALLBACK_AGE:
                raise WecomCryptoError("stale or missing timestamp")
            if method == "GET":
                return 200, self.crypto.open(signature, timestamp, nonce, query.get("echostr", "")).encode("utf-8")
            fields = parse_xml(self.crypto.open(signature, timestamp, nonce, encrypted_field(body)))
        except WecomCryptoError as exc:
            log.warning("wecom: callback rejected: %s", exc)
            return 403, b"forbidden"
        except ValueError:  # signed and decrypted, but not UTF-8 text
            return 400, b"unreadable message"
        parsed = to_request(fields)
        if parsed is not None:  # claimed on the worker, so the 200 never waits for SQLite's write lock
            self.inflight.add(self.executor.submit(self._run, *parsed, delivery_id(fields)))
        return 200, b""

    def stop(self) -> None:
        """Answer what was taken (bounded)."""
        self.inflight.drain(timeout=10)

    def _run(self, user: str, text: str, delivery: str | None = None) -> None:
        from bot.chat.web import yield_to_acks

        yield_to_acks()  # a burst of callbacks being answered goes first
        try:
            if delivery is not None and not self.bot.store.claim(PLATFORM, delivery):
                return  # WeCom retried a delivery already taken
            self.deliver(user, self.bot.answer(PLATFORM, user, text))
        except Exception:
            log.exception("wecom: answering %s failed", user)

    def deliver(self, touser: str, reply: Reply) -> None:
        """Markdown within 2,048 bytes per message; buttons as a card when they fit one."""
        card = cards_fit(reply)
        for chunk in render(reply, buttons_as_text=not card):
            self.api.send_markdown(touser, chunk)
        if card:
            self._tasks += 1
            task_id = f"mr{int(self.wall_clock() * 1000)}-{self._tasks}"
            self.api.send_card(touser, render_card(reply, task_id=task_id))


# ── alerts ──────────────────────────────────────────────────────────────────────────────────
class WecomChannel:
    """The outbox's WeCom channel: app messages to people; a team's group robot (or app chat)."""

    platform = PLATFORM

    def __init__(self, adapter: WecomAdapter, robots: RobotSender, bot: ChatBot | None = None,
                 environ: dict[str, str] | None = None):
        self.adapter = adapter
        self.robots = robots
        self.bot = bot or adapter.bot
        self.environ = environ if environ is not None else os.environ

    def send(self, destination: Any, reply: Reply, *, idempotency_key: str) -> None:
        from bot.outbox import DeliveryError

        target = unsent_target(self.bot, PLATFORM, destination, idempotency_key)
        if target is None:
            return
        try:
            text = text_part_pending(self.bot, PLATFORM, reply, idempotency_key)
            if target.kind == "person":
                if text:
                    self.adapter.deliver(target.id, reply)
            elif target.robot_key_env:
                key = self.environ.get(target.robot_key_env)
                if not key:
                    raise UndeliverableError(f"environment variable {target.robot_key_env} (group robot key) is not set")
                for chunk in render(reply, limit=ROBOT_MARKDOWN_BYTES) if text else []:
                    self.robots.send_markdown(key, chunk)
            else:
                for chunk in render(reply) if text else []:
                    self.adapter.api.send_group_markdown(target.id, chunk)
            text_part_sent(self.bot, PLATFORM, reply, idempotency_key)
            self.send_images(target, reply, idempotency_key)
        except WecomApiError as exc:
            if exc.errcode in RETRY_LATER:
                raise DeliveryError(f"wecom: {exc}", retry_after=RETRY_LATER[exc.errcode]) from None
            raise UndeliverableError(f"wecom refused the message to {target.id}: {exc}") from None
        except HTTPError as exc:
            raise DeliveryError(f"wecom: HTTP {exc.code}", retry_after=None) from None
        except (URLError, OSError) as exc:
            raise DeliveryError(f"wecom: network error: {exc}", retry_after=None) from None
        self.bot.store.mark_sent(PLATFORM, idempotency_key)

    def send_images(self, target: Target, reply: Reply, idempotency_key: str) -> None:
        """Each image once (remembered one by one: the robot is paced, an album may be cut short): an app
        image message after a media upload, or a group robot's image message (base64 and MD5)."""
        for n, image in enumerate(reply.images):
            part = f"{idempotency_key}:image:{n}"
            if self.bot.store.was_sent(PLATFORM, part):
                continue
            if target.kind == "person":
                self.adapter.api.send_image(target.id, self.adapter.api.upload_image(image_bytes(image), image.filename))
            elif target.robot_key_env:
                self.robots.send_image(self.environ.get(target.robot_key_env) or "",
                                       image_bytes(image, limit=ROBOT_IMAGE_BYTES))
            else:
                media = self.adapter.api.upload_image(image_bytes(image), image.filename)
                self.adapter.api.send_group_image(target.id, media)
            self.bot.store.mark_sent(PLATFORM, part)
