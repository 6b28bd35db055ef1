"""Chat work yields to a burst of HTTP requests being answered (`bot.chat.web.yield_to_acks`), bounded."""

import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.chat.web import QUIET, Limits, Routes, WebResponse, WebServer, http_busy, yield_to_acks


@dataclass
class Rig:
    server: WebServer
    release: threading.Event

    def get(self, path: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.server.port}{path}", timeout=10) as response:
            response.read()

    def queued(self) -> int:
        return len(self.server.dispatcher.queue)


@pytest.fixture
def rig() -> Iterator[Rig]:
    """One worker thread; GET /slow holds it until `release` is set, so further requests queue."""
    release = threading.Event()
    routes = Routes()
    routes.add("GET", "/slow", lambda request: WebResponse(200, b"slow" if release.wait(10) else b"late"))
    routes.add("GET", "/fast", lambda request: WebResponse(200, b"fast"))
    server = WebServer(routes, limits=Limits(threads=1))
    server.start()
    yield Rig(server, release)
    release.set()
    server.stop()


def wait_until(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_work_waits_while_requests_queue_and_starts_once_they_are_answered(rig: Rig) -> None:
    clients = [threading.Thread(target=rig.get, args=(path,)) for path in ("/slow", "/fast", "/fast")]
    for client in clients:
        client.start()
    assert wait_until(lambda: rig.queued() >= 1), "requests never queued behind the slow one"

    returned = threading.Event()
    worker = threading.Thread(target=lambda: (yield_to_acks(max_wait=10), returned.set()))
    worker.start()
    assert not returned.wait(0.3), "chat work started while requests were still waiting for an answer"

    rig.release.set()
    assert returned.wait(2), "chat work still waiting after every request was answered"
    for client in clients + [worker]:
        client.join(5)


def test_the_wait_is_bounded_when_the_burst_does_not_end(rig: Rig) -> None:
    clients = [threading.Thread(target=rig.get, args=(path,)) for path in ("/slow", "/fast")]
    for client in clients:
        client.start()
    assert wait_until(lambda: rig.queued() >= 1)

    started = time.monotonic()
    yield_to_acks(max_wait=0.2)
    waited = time.monotonic() - started

    assert 0.2 <= waited < 1.0
    assert http_busy()
    rig.release.set()
    for client in clients:
        client.join(5)


def test_a_quiet_server_is_not_busy(rig: Rig) -> None:
    rig.get("/fast")
    assert wait_until(lambda: not http_busy(), timeout=QUIET * 50)
    started = time.monotonic()
    yield_to_acks(max_wait=5)
    assert time.monotonic() - started < 0.5
