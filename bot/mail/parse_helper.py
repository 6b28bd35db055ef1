"""A helper process that parses mail while the syncing process stores the previous batch.

Parsing is about a third of a sync's CPU; in a second process it runs on the second core. A plain child
process speaking length-prefixed pickles over its stdin/stdout is used rather than multiprocessing:
`spawn` re-imports the parent's `__main__` (a script without a main guard would run twice) and its
workers outlive a `kill -9` of the parent. This child ends by itself when its stdin closes — however its
parent ended.

    helper = ParseHelper()          # starts `python -m bot.mail.parse_helper`
    helper.submit(raws)             # [(uid, raw bytes)], returns at once
    parsed = helper.result()        # [(uid, ParsedMail)] of the oldest submitted batch
    helper.close()
"""

import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from typing import BinaryIO

from bot.mail.parse import ParsedMail
from bot.mail.prepare import parse_for_archive

_LENGTH = struct.Struct("!Q")
Raws = list[tuple[int, bytes]]
Parsed = list[tuple[int, ParsedMail]]


class HelperError(RuntimeError):
    """The helper process could not be started or died."""


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

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.mail.parse_helper"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise HelperError(f"cannot start the parse helper: {exc}") from exc
        self._outbox: queue.Queue[Raws | None] = queue.Queue()
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
    """The child: read batches until stdin closes, answer each with its parsed messages."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            raws = _read_frame(source)  # type: ignore[arg-type]
        except EOFError:
            return
        try:
            _write_frame(sink, [(uid, parse_for_archive(raw)) for uid, raw in raws])  # type: ignore[union-attr]
        except BrokenPipeError:
            return


if __name__ == "__main__":
    main()
