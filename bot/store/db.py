"""The archive's connection and its one way to write: `write_transaction`.

Every write in Mailroom runs inside `write_transaction(db)`: BEGIN IMMEDIATE takes SQLite's write lock
before the first read, so what a writer reads (the audit chain head, a checkpoint, a counter) is still
true when it writes, even with another thread or process writing the same file. Nested calls join the
outer transaction.
"""

import fcntl
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.core.errors import ArchiveError

log = logging.getLogger(__name__)
T = TypeVar("T")
CACHE_KIB = 65536
"""Page cache per connection (SQLite's default is 2 MiB): large imports stay fast as the archive grows."""
BUSY_TIMEOUT_S = 30

_depth: dict[int, int] = {}
"""Open write transactions per connection (keyed by id; an entry lives only while one is open)."""
_depth_lock = threading.Lock()


def connect(path: str | Path, *, create: bool = True) -> Database:
    """A connection to the archive file at `path` (WAL, tuned pragmas); no schema is applied here."""
    path = Path(path)
    if not create and not path.exists():
        raise ArchiveError(f"archive not found: {path} (run mailroom import or sync first)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        db = Database(conn)
        db.enable_wal()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=OFF")
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{path}: not a usable Mailroom archive ({exc})") from None
    return db


IN_CHUNK = 500
"""Values per `IN (…)` list: SQLite bounds the parameters of one statement."""


def rows_in(db: Database, sql: str, values: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of `sql`, whose one `{marks}` is an IN list, for all of `values`, asked IN_CHUNK at a time."""
    for start in range(0, len(values), IN_CHUNK):
        chunk = list(values[start:start + IN_CHUNK])
        yield from db.execute(sql.format(marks=", ".join("?" * len(chunk))), chunk)


@contextmanager
def write_transaction(db: Database) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any exception); a nested call joins the outer one."""
    conn = db.conn
    key = id(conn)
    with _depth_lock:
        depth = _depth.get(key, 0)
        _depth[key] = depth + 1
    try:
        if depth:
            yield
            return
        if conn.in_transaction:  # a bug: roll the stray write back, so this connection can write again
            conn.rollback()
            log.error("a write was left open outside write_transaction(db) and has been rolled back")
            raise RuntimeError("a write was open outside write_transaction(db): every write must go through it")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    finally:
        with _depth_lock:
            if depth:
                _depth[key] = depth
            else:
                _depth.pop(key, None)


@contextmanager
def savepoint(db: Database, name: str) -> Iterator[None]:
    """A savepoint inside the open write transaction: on any exception only what ran inside it is undone
    (and the exception goes on), the transaction itself stays open."""
    if not in_write_transaction(db):
        raise RuntimeError("a savepoint belongs inside write_transaction(db)")
    db.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:  # else SQLite rolled the whole transaction back: the error says why
            db.execute(f"ROLLBACK TO {name}")
            db.execute(f"RELEASE {name}")
        raise
    db.execute(f"RELEASE {name}")


def one_by_one_on_failure(db: Database, name: str, items: Sequence[T], run: Callable[[Sequence[T]], None],
                         failed: Callable[[T, Exception], None]) -> None:
    """`run(items)` under a savepoint; when it fails, `run([item])` for each item under its own, and
    `failed(item, error)` for each that fails alone — so one bad item never fails the rest. Inside
    `write_transaction`; an error after which SQLite has rolled the whole transaction back goes on."""
    try:
        with savepoint(db, name):
            run(items)
        return
    except Exception:
        if not db.conn.in_transaction:
            raise
    for item in items:
        try:
            with savepoint(db, name):
                run([item])
        except Exception as exc:
            if not db.conn.in_transaction:
                raise
            failed(item, exc)


@contextmanager
def exclusive_lock(db: Database, name: str, *, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive lock named `name` for this archive, across processes and threads (flock on a file
    beside the archive; each caller opens its own descriptor). `waiting` is called once when another
    holder makes us wait. An archive not in a file needs no lock."""
    path = archive_file(db)
    if path is None:
        yield
        return
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
    with open(f"{path}.lock-{digest}", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def archive_file(db: Database) -> str | None:
    """The file behind a connection, or None for an in-memory or temporary database."""
    for _, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(path) or None
    return None


def in_write_transaction(db: Database) -> bool:
    """True inside `write_transaction(db)` on this connection."""
    return _depth.get(id(db.conn), 0) > 0
