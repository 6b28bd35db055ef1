"""A helper process that parses mail while the syncing process stores the previous batch.

Parsing is about a third of a sync's CPU; in a second process it runs on the second core. A plain child
process speaking length-prefixed pickles over its stdin/stdout is used rather than multiprocessing:
`spawn` re-imports the parent's `__main__` (a script without a main guard would run twice) and its
workers outlive a `kill -9` of the parent. This child ends by itself when its stdin closes — however its
parent ended.

    helper = ParseHelper(preparer)  # starts `python -m bot.mail.parse_helper`, sends it the preparer
    helper.submit(raws)             # [(uid, raw bytes or MessageFile)], returns at once
    parsed = helper.result()        # [(uid, ParsedMail)] of the oldest submitted batch
    helper.close()

A file the helper cannot read comes back as its MailroomError, raised by result() in the parent.
Import and sync use it through `parsed_batches`, which keeps it one batch ahead. When the helper dies
(a message crashed it: a fault in C code, the kernel's OOM killer), the batch it had is parsed again one
message at a time, each alone in a fresh helper; a message that kills that one too is tried alone once more
and then quarantined: stored from what a line-by-line read of its header block gives, with the crash as its
defect. The archive's own process never fully parses a message that killed a helper, so a crash there cannot
stop an import or hold a sync's checkpoint back. A helper that will not start, or dies on message after
message, is given up: parsing goes on in this process.
"""

import contextlib
import gc
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import BinaryIO, TypeVar

from bot.core.config import Limits
from bot.core.errors import MailroomError
from bot.mail.parse import LIMITS, ParsedMail, degraded_mail
from bot.mail.prepare import MailPreparer, NotMail
from bot.mail.sources import Raw, bounded

log = logging.getLogger(__name__)
_LENGTH = struct.Struct("!Q")
Raws = list[tuple[int, Raw]]
Parsed = list[tuple[int, ParsedMail | NotMail]]
RESTARTS = 3
"""Helper deaths tolerated in one import or sync before parsing goes on in this process."""
QUARANTINES_IN_A_ROW = 3
"""Messages in a row that each kill a fresh helper: then the helper, not the mail, is broken."""


_collections_lock = threading.Lock()
_bulk_depth = 0
_saved_thresholds = gc.get_threshold()


@contextlib.contextmanager
def rare_collections() -> Iterator[None]:
    """Bulk parsing and storing allocate millions of short-lived objects without reference cycles; the
    default collector thresholds run a collection every 700 allocations, about a tenth of the time.
    Meanwhile, collect far less often (and never walk the objects that existed before). Nests, and
    several syncing threads may use it at once: the outermost use restores the collector."""
    global _bulk_depth, _saved_thresholds
    with _collections_lock:
        if _bulk_depth == 0:
            _saved_thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(100_000, 50, 100)
        _bulk_depth += 1
    try:
        yield
    finally:
        with _collections_lock:
            _bulk_depth -= 1
            if _bulk_depth == 0:
                gc.set_threshold(*_saved_thresholds)
                gc.unfreeze()


class HelperError(RuntimeError):
    """The helper process could not be started or died."""


T = TypeVar("T")
Item = TypeVar("Item")


def batched(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """`items` in lists of `size` (the last one shorter)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def parsed_batches(batches: Iterable[tuple[T, Raws]], preparer: MailPreparer, *, helper: bool,
                   name: str = "mail") -> Iterator[tuple[T, Parsed]]:
    """Each batch `(tag, [(key, raw)])` parsed, in order, as `(tag, [(key, ParsedMail)])`.

    With `helper`, a helper process parses one batch ahead: the next batch is read (or fetched) and
    parsed while the caller stores this one. When the helper dies, the batch it lost is parsed one message
    at a time (see the module docstring) and a new helper takes the rest; when it cannot start or keeps
    dying, parsing goes on in this process: nothing is skipped. A file that cannot be read raises its
    MailroomError either way."""
    process = _start(preparer, name) if helper else None
    waiting: deque[tuple[T, Raws]] = deque()
    deaths = 0

    def oldest() -> tuple[T, Parsed]:
        nonlocal process, deaths
        tag, raws = waiting.popleft()
        if process is not None:
            try:
                return tag, process.result()
            except HelperError as exc:
                process.close()
                process = None
                deaths += 1
                log.warning("%s: %s; parsing its batch again one message at a time", name, exc)
                parsed, broken = _one_by_one(raws, preparer, name)
                if broken or deaths >= RESTARTS:
                    log.warning("%s: the parse helper keeps dying; parsing in this process from here on", name)
                else:
                    process = _start(preparer, name)
                    for _tag, pending in waiting:  # the dead helper had these too
                        if process is not None:
                            process.submit(pending)
                return tag, parsed
        return tag, [(key, preparer(raw)) for key, raw in raws]

    try:
        for tag, raws in batches:
            if process is not None:
                process.submit(raws)
            waiting.append((tag, raws))
            if process is None or len(waiting) > 1:
                yield oldest()
        while waiting:
            yield oldest()
    finally:
        if process is not None:
            process.close()


def _one_by_one(raws: Raws, preparer: MailPreparer, name: str) -> tuple[Parsed, bool]:
    """Each message parsed alone in a helper; one that kills two helpers in a row is quarantined. Returns
    the parsed batch and whether the helper looks broken (QUARANTINES_IN_A_ROW messages in a row killed it,
    or it would not start): then the rest is parsed in this process."""
    parsed: Parsed = []
    solo: ParseHelper | None = None
    in_a_row = 0
    broken = False
    try:
        for key, raw in raws:
            if broken:
                parsed.append((key, preparer(raw)))
                continue
            for attempt in (1, 2):
                solo = solo or _start(preparer, name)
                if solo is None:
                    broken = True
                    parsed.append((key, preparer(raw)))
                    break
                solo.submit([(key, raw)])
                try:
                    parsed.extend(solo.result())
                    in_a_row = 0
                    break
                except HelperError as exc:
                    solo.close()
                    solo = None
                    if attempt == 2:
                        in_a_row += 1
                        broken = in_a_row >= QUARANTINES_IN_A_ROW
                        parsed.append((key, quarantined(raw, str(exc), preparer.limits)))
    finally:
        if solo is not None:
            solo.close()
    return parsed, broken


def quarantined(raw: Raw, reason: str, limits: Limits = LIMITS) -> ParsedMail:
    """A message that crashed the parse helper twice: its header block, read line by line, and the crash."""
    data, size = bounded(raw, limits.message_bytes)
    log.warning("quarantined a message of %d bytes that crashed the parse helper twice (%s)", size, reason)
    mail = degraded_mail(data, f"it crashed the parse helper twice ({reason}); quarantined", limits)
    mail.size = size
    return mail


def _start(preparer: MailPreparer, name: str) -> "ParseHelper | None":
    try:
        return ParseHelper(preparer)
    except HelperError as exc:
        log.warning("%s: parsing in this process (%s)", name, exc)
        return None


def _write_frame(stream: BinaryIO, payload: object) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream: BinaryIO) -> object:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    size = _LENGTH.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class ParseHelper:
    """The parent's side. Batches go out through a writer thread, so a large batch never blocks the
    caller while the child is busy writing back the previous result."""

    def __init__(self, preparer: MailPreparer) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.mail.parse_helper"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise HelperError(f"cannot start the parse helper: {exc}") from exc
        self._outbox: queue.Queue[Raws | MailPreparer | None] = queue.Queue()
        self._outbox.put(preparer)
        self._writer = threading.Thread(target=self._write, name="parse-helper-writer", daemon=True)
        self._writer.start()

    def submit(self, raws: Raws) -> None:
        self._outbox.put(raws)

    def result(self) -> Parsed:
        assert self.process.stdout is not None
        try:
            parsed = _read_frame(self.process.stdout)  # type: ignore[arg-type]
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise HelperError(f"the parse helper stopped (exit status {self.process.poll()})") from exc
        for _uid, mail in parsed:  # type: ignore[attr-defined]
            if isinstance(mail, MailroomError):
                raise mail
        return parsed  # type: ignore[return-value]

    def close(self) -> None:
        self._outbox.put(None)
        self._writer.join(timeout=5)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _write(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while (raws := self._outbox.get()) is not None:
                _write_frame(stdin, raws)  # type: ignore[arg-type]
        except OSError:
            pass  # the child died: result() reports it
        finally:
            with contextlib.suppress(OSError):
                stdin.close()


def main() -> None:
    """The child: read the preparer, then batches until stdin closes, answer each with its parsed messages."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    try:
        preparer: MailPreparer = _read_frame(source)  # type: ignore[assignment]
    except EOFError:
        return
    with rare_collections():
        _serve(preparer, source, sink)


def _serve(preparer: MailPreparer, source: BinaryIO, sink: BinaryIO) -> None:
    while True:
        try:
            raws = _read_frame(source)
        except EOFError:
            return
        try:
            _write_frame(sink, [(uid, _parsed(preparer, raw)) for uid, raw in raws])  # type: ignore[attr-defined]
        except BrokenPipeError:
            return


def _parsed(preparer: MailPreparer, raw: Raw) -> ParsedMail | NotMail | MailroomError:
    try:
        return preparer(raw)
    except MailroomError as exc:
        return exc


if __name__ == "__main__":
    main()
