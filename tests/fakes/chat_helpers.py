"""Local stand-ins for the chat platforms' Web APIs, and requests signed the way each platform signs.

`FakeApi` is a real HTTP server on 127.0.0.1 (port 0) that records every call and answers from a
responder function, in the manner of bolt-python's tests/mock_web_api_server.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import struct
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.chat.adapters.wecom_crypto import WecomCrypto


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def files(self) -> dict[str, bytes]:
        """The uploaded files of a multipart/form-data body, by field name."""
        from email.parser import BytesParser
        from email.policy import HTTP

        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in message.iter_parts() if part.get_filename()}

    def fields(self) -> dict[str, str]:
        """The plain fields of a multipart/form-data body."""
        from email.parser import BytesParser
        from email.policy import HTTP

        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True).decode()
                for part in message.iter_parts() if not part.get_filename()}

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8")))

    def payload(self) -> dict[str, Any]:
        """JSON body, or form fields (Slack's WebClient posts forms, PTB posts JSON or forms)."""
        if self.headers.get("content-type", "").startswith("application/json"):
            return dict(self.json)
        return self.form


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Call], Answer]


class FakeApi:
    def __init__(self, responder: Responder):
        self.responder = responder
        self.calls: list[Call] = []
        self.overrides: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = Call(self.command, parts.path, dict(parse_qsl(parts.query)),
                            {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.calls.append(call)
                    queued = fake.overrides.get(parts.path)
                    answer = queued.pop(0) if queued else None
                answer = answer or fake.responder(call)
                raw = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode("utf-8")
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (long poll)
                    self.wfile.write(raw)

            do_GET = do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def queue(self, path: str, *answers: Answer) -> None:
        """Answer the next calls to `path` with these, then go back to the responder."""
        with self._lock:
            self.overrides.setdefault(path, []).extend(answers)

    def to(self, suffix: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith(suffix)]

    def wait_for(self, suffix: str, count: int = 1, timeout: float = 30.0) -> list[Call]:
        """Poll (bounded) until `count` calls to a path ending in `suffix` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.to(suffix)
            if len(calls) >= count:
                return calls
            time.sleep(0.02)
        raise AssertionError(f"expected {count} call(s) to *{suffix}, got {len(self.to(suffix))}: "
                             f"{[c.path for c in self.calls]}")

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ── platform fakes ─────────────────────────────────────────────────────────────────────────
def slack_responder(call: Call) -> Answer:
    if call.path.endswith("/auth.test"):
        return Answer(body={"ok": True, "url": "https://factory.slack.com/", "team": "Factory", "user": "mailroom",
                            "team_id": "T0FACTORY", "user_id": "U0BOT", "bot_id": "B0BOT"})
    if call.path.endswith("/chat.postMessage"):
        return Answer(body={"ok": True, "channel": call.payload().get("channel"), "ts": "1700000000.000100"})
    if call.path.startswith("/respond/"):
        return Answer(body=b"ok")
    if call.path.endswith("/conversations.open"):
        return Answer(body={"ok": True, "channel": {"id": "D" + call.payload().get("users", "")[1:]}})
    if call.path.endswith("/files.getUploadURLExternal"):  # files_upload_v2, step 1: where to put the bytes
        name = call.payload().get("filename", "file")
        file_id = f"F{zlib.crc32(name.encode()):08X}"
        return Answer(body={"ok": True, "upload_url": f"http://{call.headers['host']}/upload/{file_id}",
                            "file_id": file_id})
    if call.path.startswith("/upload/"):  # step 2: the bytes
        return Answer(body=b"OK - " + str(len(call.body)).encode())
    if call.path.endswith("/files.completeUploadExternal"):  # step 3: share them in the channel
        files = json.loads(call.payload().get("files", "[]"))
        return Answer(body={"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]})
    return Answer(body={"ok": True})


TELEGRAM_BOT = {"id": 4242, "is_bot": True, "first_name": "Mailroom", "username": "MailroomBot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


def telegram_responder(call: Call) -> Answer:
    method = call.path.rsplit("/", 1)[-1]
    if method == "getMe":
        return Answer(body={"ok": True, "result": TELEGRAM_BOT})
    if method == "sendMessage":
        payload = call.payload()
        chat_id = int(payload["chat_id"])
        return Answer(body={"ok": True, "result": {
            "message_id": len(call.body) + 1, "date": 1764036000, "text": payload.get("text", ""),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}, "from": TELEGRAM_BOT}})
    if method in ("sendPhoto", "sendMediaGroup"):
        fields = call.fields() if "multipart" in call.headers.get("content-type", "") else call.payload()
        chat_id = int(fields["chat_id"])
        count = len(json.loads(fields["media"])) if method == "sendMediaGroup" else 1
        photos = [{"message_id": 500 + n, "date": 1764036000, "chat": {"id": chat_id, "type": "group"},
                   "photo": [{"file_id": f"P{n}", "file_unique_id": f"U{n}", "width": 960, "height": 720}]}
                  for n in range(count)]
        return Answer(body={"ok": True, "result": photos if method == "sendMediaGroup" else photos[0]})
    if method == "getUpdates":
        time.sleep(0.05)
        return Answer(body={"ok": True, "result": []})
    return Answer(body={"ok": True, "result": True})


def wecom_responder(call: Call) -> Answer:
    if call.path.endswith("/gettoken"):
        return Answer(body={"errcode": 0, "errmsg": "ok", "access_token": "ACCESS1", "expires_in": 7200})
    if call.path.endswith("/media/upload"):
        return Answer(body={"errcode": 0, "errmsg": "ok", "type": "image", "media_id": f"MEDIA{len(call.body)}",
                            "created_at": "1764036000"})
    return Answer(body={"errcode": 0, "errmsg": "ok"})


# ── signed inbound requests ─────────────────────────────────────────────────────────────────
def slack_headers(secret: str, body: str, *, timestamp: int | None = None, content_type: str | None = None
                  ) -> dict[str, str]:
    """Headers exactly as Slack sends them: v0 HMAC-SHA256 over `v0:{ts}:{body}`."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": content_type or "application/x-www-form-urlencoded"}


def slash_command(command: str, text: str, *, user: str, response_url: str, trigger_id: str = "13345224609.738")\
        -> str:
    return urlencode({
        "token": "legacy", "team_id": "T0FACTORY", "team_domain": "factory", "channel_id": "C0SALES",
        "channel_name": "sales", "user_id": user, "user_name": user.lower(), "command": command, "text": text,
        "api_app_id": "A0MAILROOM", "response_url": response_url, "trigger_id": trigger_id,
    })


def block_action(value: str, *, user: str, response_url: str, trigger_id: str = "trigger-action-1") -> str:
    payload = {
        "type": "block_actions", "team": {"id": "T0FACTORY", "domain": "factory"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0FACTORY"},
        "api_app_id": "A0MAILROOM", "token": "legacy", "trigger_id": trigger_id,
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0SALES"},
        "channel": {"id": "C0SALES", "name": "sales"}, "response_url": response_url,
        "actions": [{"type": "button", "action_id": "mailroom_button:0", "block_id": "b1", "value": value,
                     "text": {"type": "plain_text", "text": "Go"}, "action_ts": "1700000001.000200"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def app_mention(text: str, *, user: str, event_id: str = "Ev0MENTION1") -> str:
    return json.dumps({
        "token": "legacy", "team_id": "T0FACTORY", "api_app_id": "A0MAILROOM", "type": "event_callback",
        "event_id": event_id, "event_time": 1700000000, "authorizations": [
            {"team_id": "T0FACTORY", "user_id": "U0BOT", "is_bot": True}],
        "event": {"type": "app_mention", "user": user, "text": text, "ts": "1700000000.000300",
                  "channel": "C0SALES", "event_ts": "1700000000.000300"},
    })


def telegram_message(text: str, *, user: int, chat: int | None = None, update_id: int = 1) -> dict[str, Any]:
    chat_id = chat if chat is not None else user
    return {"update_id": update_id, "message": {
        "message_id": 10 + update_id, "date": 1764036000, "text": text,
        "from": {"id": user, "is_bot": False, "first_name": "Tester"},
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "Sales"},
        **({"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}]}
           if text.startswith("/") else {}),
    }}


def telegram_callback(data: str, *, user: int, update_id: int = 2) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": f"cbq{update_id}", "chat_instance": "ci1", "data": data,
        "from": {"id": user, "is_bot": False, "first_name": "Tester"},
        "message": {"message_id": 5, "date": 1764036000, "text": "alert", "chat": {"id": user, "type": "private"},
                    "from": TELEGRAM_BOT},
    }}


WECOM_CORP = "ww0hengda"
WECOM_TOKEN = "QDG6eK"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def wecom_text_xml(content: str, *, user: str, msg_id: str = "1000001", agent_id: int = 1000002) -> str:
    return (f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>1764036000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def wecom_card_click_xml(key: str, *, user: str, task_id: str = "mr1-1") -> str:
    return (f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>1764036001</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<AgentID>1000002</AgentID></xml>")


def wecom_post(inner_xml: str, *, crypto: WecomCrypto | None = None, timestamp: int | None = None,
               nonce: str = "1372623149") -> tuple[str, bytes]:
    """(query string, body) for a POST to the callback, encrypted and signed the way WeCom does it."""
    crypto = crypto or WecomCrypto(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP)
    ts = str(timestamp if timestamp is not None else int(time.time()))
    encrypted, signature = crypto.seal(inner_xml, ts, nonce)
    body = (f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[1000002]]></AgentID></xml>").encode()
    return urlencode({"msg_signature": signature, "timestamp": ts, "nonce": nonce}), body


# ── plain HTTP client ───────────────────────────────────────────────────────────────────────
def http(method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
         ) -> tuple[int, bytes]:
    data = body.encode("utf-8") if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except HTTPError as exc:
        return exc.code, exc.read()


# ── a Socket Mode endpoint ──────────────────────────────────────────────────────────────────
class FakeSocketMode:
    """A minimal WebSocket server (RFC 6455, text frames) playing Slack's Socket Mode endpoint.

    `apps.connections.open` on the fake Web API hands out `url`; once the client connects we send
    `hello`, then whatever `push()` is given; the client's acks (`{"envelope_id": …}`) land in `acks`.
    """

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.getsockname()[1]}/link/?ticket=test"

    def _accept(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(1024)
            if not chunk:
                return
            request += chunk
        key = next(line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self._conn = conn
        self.push({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0MAILROOM"},
                   "debug_info": {"host": "fake", "approximate_connection_time": 3600}})
        self.connected.set()
        self._read(conn)

    def _frame(self, opcode: int, payload: bytes) -> bytes:
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        return header + payload

    def push(self, message: dict[str, Any]) -> None:
        assert self._conn is not None
        with self._send_lock:
            self._conn.sendall(self._frame(0x1, json.dumps(message).encode()))

    def _read(self, conn: socket.socket) -> None:
        def exactly(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise ConnectionError
                data += chunk
            return data

        try:
            while True:
                first, second = exactly(2)
                opcode, size = first & 0x0F, second & 0x7F
                if size == 126:
                    (size,) = struct.unpack("!H", exactly(2))
                elif size == 127:
                    (size,) = struct.unpack("!Q", exactly(8))
                mask = exactly(4) if second & 0x80 else b"\0\0\0\0"
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exactly(size)))
                if opcode == 0x1:
                    self.acks.append(json.loads(payload))
                elif opcode == 0x9:
                    with self._send_lock:
                        conn.sendall(self._frame(0xA, payload))
                elif opcode == 0x8:
                    with self._send_lock:
                        conn.sendall(self._frame(0x8, payload[:2]))
                    return
        except (ConnectionError, OSError):
            return

    def stop(self) -> None:
        self.server.close()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
