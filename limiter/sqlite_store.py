"""Bucket state in an SQLite file, shared by the processes and threads of one host.

Layout. One table, ``buckets``, holds a row per user:

- ``user`` (BLOB, the key): the user id in UTF-8, lone surrogates kept
  ("surrogatepass"), so every Python string has a key of its own;
- ``shape`` (TEXT): the bucket the state belongs to, capacity and refill rate
  as exact decimals, such as ``5/1`` or ``2.5/0.1``;
- ``last`` and ``units`` (TEXT): the time of the user's latest request in
  nanoseconds and the units the bucket held just after it (see
  ``limiter.bucket``), as hexadecimal integers. Either can outgrow SQLite's
  64-bit integers; hexadecimal, unlike decimal, converts to and from Python
  integers of any size in linear time.

SQLite stores these numbers and never computes with them: a decision reads the
row, rebuilds the packed state, lets ``BucketConfig.take`` decide, and writes
the new state back. The decisions are therefore exactly those of a
``MemoryStore``.

Transactions. Each decision, or each batch given to ``take_many``, is one short
transaction begun with ``BEGIN IMMEDIATE``: the file's write lock is taken
before the row is read, so no two connections ever decide from the same state.
A connection that finds the lock taken waits up to ``timeout`` seconds for it.
The journal is a write-ahead log, so readers never wait, and a process killed
mid-transaction leaves the file as it was before that transaction. Commits use
``synchronous=NORMAL``: a commit survives the crash of any process; a power cut
may lose the latest few, but never damages the file.

Shape rule. A row holds state for the shape it was written with. When a request
comes with another shape (the configuration changed between runs), the stored
state means nothing for it: the bucket starts full under the new shape.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal

from limiter.bucket import BucketConfig, Decision
from limiter.connections import ThreadConnections
from limiter.errors import InvalidInput, StorageError
from limiter.exact import describe

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import TracebackType
    from typing import Final, Self

    from limiter.protocol import StoreRequest

__all__ = ["SQLiteStore"]

_CREATE: Final = """
CREATE TABLE IF NOT EXISTS buckets (
    user BLOB PRIMARY KEY,
    shape TEXT NOT NULL,
    last TEXT NOT NULL,
    units TEXT NOT NULL
) WITHOUT ROWID
"""
_HAS_TABLE: Final = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
_LAYOUT: Final = "SELECT user, shape, last, units FROM buckets LIMIT 0"
_READ: Final = "SELECT shape, last, units FROM buckets WHERE user = ?"
_WRITE: Final = (
    "INSERT INTO buckets (user, shape, last, units) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user) DO UPDATE SET "
    "shape = excluded.shape, last = excluded.last, units = excluded.units"
)

_LONGEST_TIMEOUT: Final = 1_000_000  # seconds; SQLite counts milliseconds in an int
_SHAPES_KEPT: Final = 256  # shape texts remembered; configurations have a few
_EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

# SQLite's primary result codes, and what each means for the person reading.
_BUSY: Final = 5
_LOCKED: Final = 6
_CANTOPEN: Final = 14
_PROBLEMS: Final = {
    3: "permission denied",
    8: "the file is read-only",
    10: "the disk failed to read or write",
    11: "the file is damaged (database disk image is malformed)",
    13: "the disk is full",
    23: "permission denied",
    26: "file is not a database",
}


class SQLiteStore:
    """Bucket state in the SQLite file at ``path``, made (with its table) if new.

    Any number of processes and threads may share one file: each decision is a
    transaction that holds the file's write lock from reading the bucket to
    writing it back. A request waits up to ``timeout`` seconds for a lock held
    elsewhere, and then fails. Every failure (the file cannot be made, opened,
    read or written, is locked too long, or is not a database) raises
    ``StorageError`` naming the file, and leaves the file as it was.

    Each row records its bucket's capacity and refill rate. A request whose
    bucket differs from the recorded one (the configuration changed) finds its
    bucket full under the new shape; every limiter sharing a file should
    therefore use the same configuration.

    Each thread gets a connection of its own, opened on its first request; a
    process made by ``fork`` opens its own rather than use its parent's.
    ``close`` closes this process's connections, when no thread is using them.
    """

    __slots__ = (
        "_connections",
        "_shapes",
        "path",
        "timeout",
    )

    path: str
    timeout: float

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            # SQLite would give each thread a database of its own.
            found = describe(self.path)
            problem = f"expected the path of a file, found {found}; see MemoryStore"
            raise InvalidInput("path", problem)
        self.timeout = _seconds(timeout)

        self._connections = ThreadConnections(self._close_all)
        self._shapes: dict[int, tuple[BucketConfig, str]] = {}
        self._prepare()

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``."""
        return self._answer(((user, bucket, now),))[0]

    def take_many(self, requests: Sequence[StoreRequest]) -> list[Decision]:
        """The decisions for ``requests``, in order, made in one transaction.

        They are exactly the decisions of as many ``take`` calls. A batch that
        fails is not counted at all.
        """
        if not requests:
            return []
        return self._answer(requests)

    def close(self) -> None:
        """Close this process's connections to the file; a later request reopens."""
        self._connections.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SQLiteStore({self.path!r}, timeout={self.timeout:g}, "
            f"connections={len(self._connections)})"
        )

    def _answer(self, requests: Iterable[StoreRequest]) -> list[Decision]:
        try:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                decisions = [self._decide(connection, *request) for request in requests]
                connection.execute("COMMIT")
            except BaseException:
                _roll_back(connection)
                raise
        except sqlite3.Error as error:
            raise self._failure(error) from None
        return decisions

    def _decide(
        self, connection: sqlite3.Connection, user: str, bucket: BucketConfig, now: int
    ) -> Decision:
        # Read: the state is the row's only if it was written for this shape.
        key = user.encode("utf-8", "surrogatepass")
        shape = self._shape(bucket)
        row = connection.execute(_READ, (key,)).fetchone()
        state = None
        if row is not None and row[0] == shape:
            try:
                state = bucket.pack(int(row[1], 16), int(row[2], 16))
            except (TypeError, ValueError):
                problem = f"the bucket of user {describe(user)} is unreadable"
                raise StorageError(self.path, problem) from None

        # Decide, exactly as the engine does, and write the new state back.
        state, decision = bucket.take(state, now)
        last, units = bucket.unpack(state)
        connection.execute(_WRITE, (key, shape, f"{last:x}", f"{units:x}"))
        return decision

    def _shape(self, bucket: BucketConfig) -> str:
        # Keyed by id(): the entry holds the bucket, so its id is not reused.
        known = self._shapes.get(id(bucket))
        if known is not None:
            return known[1]
        shape = f"{_plain(bucket.capacity)}/{_plain(bucket.refill_rate)}"
        if len(self._shapes) >= _SHAPES_KEPT:
            self._shapes.clear()
        self._shapes[id(bucket)] = (bucket, shape)
        return shape

    def _connection(self) -> sqlite3.Connection:
        connection = self._connections.current()
        if connection is None:
            connection = self._open()
        return connection

    def _open(self) -> sqlite3.Connection:
        # check_same_thread=False only so that close() may close it from another
        # thread; it is used by the thread that opened it alone.
        connection = sqlite3.connect(
            self.path,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            connection.close()
            raise
        self._connections.keep(connection)
        return connection

    def _prepare(self) -> None:
        """Open the file, make the table if missing and check its layout."""
        try:
            connection = self._connection()
            # Looked up first, so that opening a file in use never waits for
            # the write lock.
            if connection.execute(_HAS_TABLE, ("buckets",)).fetchone() is None:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    connection.execute(_CREATE)
                    connection.execute("COMMIT")
                except BaseException:
                    _roll_back(connection)
                    raise
        except sqlite3.Error as error:
            self.close()
            raise self._failure(error) from None

        try:
            connection.execute(_LAYOUT)
        except sqlite3.Error:
            self.close()
            problem = "has a table named buckets that is not a limiter's"
            raise StorageError(self.path, problem) from None

        # The write-ahead log is a setting of the file, made once, and only
        # once the file is known to be a limiter's: another file stays untouched.
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as error:
            self.close()
            raise self._failure(error) from None

    def _failure(self, error: sqlite3.Error) -> StorageError:
        code = getattr(error, "sqlite_errorcode", -1) & 0xFF
        if code in (_BUSY, _LOCKED):
            problem = f"still locked by another connection after {self.timeout:g} s"
        elif code == _CANTOPEN:
            problem = _why_not_open(self.path)
        else:
            problem = _PROBLEMS.get(code) or str(error) or type(error).__name__
        return StorageError(self.path, problem)

    def _close_all(self, connections: list[sqlite3.Connection]) -> None:
        failure = None
        for connection in connections:
            try:
                connection.close()
            except sqlite3.Error as error:
                failure = failure or self._failure(error)
        if failure is not None:
            raise failure


def _roll_back(connection: sqlite3.Connection) -> None:
    # SQLite may have rolled back already (after an I/O error, say); the error
    # that got us here is the one worth reporting, not one from the rollback.
    if connection.in_transaction:
        with suppress(sqlite3.Error):
            connection.execute("ROLLBACK")


def _seconds(timeout: object) -> float:
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and 0 <= timeout <= _LONGEST_TIMEOUT
    ):
        return float(timeout)
    expected = f"seconds from 0 to {_LONGEST_TIMEOUT}"
    raise InvalidInput("timeout", f"expected {expected}, found {describe(timeout)}")


def _plain(number: Decimal) -> str:
    """``number`` as decimal text without trailing zeros: 5.0 and 5 are one shape."""
    return format(number.normalize(_EXACT), "f")


def _why_not_open(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a directory, not a database file"
    if not os.path.isdir(folder):
        return f"cannot make the file: there is no directory {folder}"
    return "cannot open the file for reading and writing"
