"""Bucket state on a Redis server, shared by every process and host that reaches it.

Layout. Each user's bucket is one hash, at the key ``PREFIX:{USER}`` (bytes: the
prefix and the user id in UTF-8, lone surrogates kept with "surrogatepass", so
every Python string has a key of its own). The braces make the user id the
key's hash tag: a Redis Cluster keeps each bucket whole on one node. Its fields:

- ``t``: the time of the user's latest request, in nanoseconds;
- ``u``: the units the bucket held just after it (see ``limiter.bucket``);
- ``s``: the bucket's shape, capacity and refill rate as exact decimals, such as
  ``5/1`` or ``2.5/0.1``, written as ``SQLiteStore`` writes them.

``t`` and ``u`` are decimal text, as long as they need to be.

Decisions. A decision is one call of the script ``bucket.lua`` (one round trip,
``EVALSHA``), which reads the hash, decides exactly as ``BucketConfig.take`` does
and writes the hash back; Redis runs one script at a time, so no two requests
ever decide from the same state. The script does its arithmetic on decimal limbs
and never rounds, so decisions are exactly those of a ``MemoryStore``. After the
server has lost its scripts (a restart, ``SCRIPT FLUSH``) the store loads the
script again and repeats the call that found it missing: that call had done
nothing. ``take_many`` sends its requests as one pipeline, one round trip.

Shape rule. As in ``SQLiteStore``: a request whose bucket differs from the shape
recorded finds its bucket full under the new shape.

Expiry. With ``expire`` (the default), each hash expires once its bucket would be
full again, measured on the server's clock from the moment of the request: a
bucket that is full is the same as no bucket, so the key is not needed. This is
exact when the times of requests advance at least as fast as real time, which is
the case for times read from a clock (``clock="server"``, or callers whose
clocks agree with the server's). Times that advance faster (a replay of
yesterday's log, a scenario whose seconds pass in milliseconds) only keep keys
longer than needed. Times that advance slower than real time, or a request timed
before the bucket's latest one (a caller whose clock runs behind another's), can
find the key expired while the bucket would still be short of full in their
time: the bucket then starts full, and requests are allowed that a
``MemoryStore`` would deny, up to a capacity's worth each time. Use
``expire=False`` for such times; keys are then kept until deleted. A server that
evicts keys under memory pressure (``maxmemory`` with an eviction policy) makes
the same mistake for the buckets it evicts.

Failures. A request makes one attempt: no retry after a failure, so an outage
costs each request at most one ``connect_timeout`` (no server) or one
``timeout`` (a server that does not answer). A failure raises ``StorageError``
naming the server by its URL, with any password shown as ``***``.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from importlib.resources import files
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.backoff import NoBackoff
from redis.connection import AbstractConnection, Connection, parse_url
from redis.exceptions import (
    AuthenticationError,
    NoScriptError,
    RedisError,
    ResponseError,
)
from redis.exceptions import TimeoutError as RedisTimeout
from redis.retry import Retry

from limiter.bucket import BucketConfig, Decision
from limiter.connections import ThreadConnections
from limiter.errors import InvalidInput, StorageError
from limiter.exact import describe

# Shapes are written as SQLiteStore writes them, so that one text means one shape.
from limiter.sqlite_store import _plain

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import TracebackType
    from typing import Any, Final, Self

    from limiter.protocol import StoreRequest

__all__ = ["RedisStore"]

_SCRIPT: Final = files("limiter").joinpath("bucket.lua").read_bytes()
_SHA: Final = hashlib.sha1(_SCRIPT).hexdigest()
_LOAD: Final = ("SCRIPT", "LOAD", _SCRIPT)

_CLOCKS: Final = ("caller", "server")
_LONGEST_TIMEOUT: Final = 1_000_000  # seconds
_SHAPES_KEPT: Final = 256  # buckets whose script arguments are remembered
_SCHEMES: Final = ("redis", "rediss", "unix")


class RedisStore:
    """Bucket state on the Redis server at ``url`` (``redis://``, ``rediss://``,
    ``unix://``), under keys that begin with ``prefix``.

    Any number of processes, threads and hosts may share one server: each
    decision is one script that Redis runs on its own. Nothing is sent before the
    first request; each thread then keeps a connection of its own, and a process
    made by ``fork`` opens its own rather than use its parent's. ``close``
    closes this process's connections, when no thread is using them.

    ``clock`` says whose clock times the requests: ``"caller"`` (the ``now`` given
    to ``take``) or ``"server"`` (the server's, read inside the script; ``take``
    then ignores its ``now``, which lets a ``Limiter`` run on the server's clock
    unchanged). ``take_now`` always uses the server's clock and says what time it
    read. ``expire`` lets each bucket's key expire once the bucket is full
    again; see the module's text for when that is exact.

    A request that cannot connect within ``connect_timeout`` seconds, or gets no
    answer within ``timeout`` seconds, raises ``StorageError`` after that one
    attempt. A request that timed out may still have been counted by the server.
    """

    __slots__ = (
        "_connect_with",
        "_connections",
        "_key_start",
        "_options",
        "_tails",
        "clock",
        "connect_timeout",
        "expire",
        "prefix",
        "timeout",
        "url",
    )

    url: str  # as given, with any password replaced by ***
    prefix: str
    clock: str
    connect_timeout: float
    timeout: float
    expire: bool

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "limiter",
        clock: str = "caller",
        connect_timeout: float = 0.1,
        timeout: float = 1.0,
        expire: bool = True,
    ) -> None:
        self.url = _shown(url)
        self.prefix = _prefix(prefix)
        if clock not in _CLOCKS:
            raise InvalidInput(
                "clock", f"expected caller or server, found {describe(clock)}"
            )
        self.clock = clock
        self.connect_timeout = _seconds(connect_timeout, "connect_timeout")
        self.timeout = _seconds(timeout, "timeout")
        self.expire = bool(expire)

        self._options = _connection_options(url, self.url)
        self._connect_with = self._options.pop("connection_class")
        self._options.update(
            socket_connect_timeout=self.connect_timeout,
            socket_timeout=self.timeout,
            # One attempt per request: redis-py would otherwise retry on its own.
            retry=Retry(NoBackoff(), 0),
        )
        self._key_start = prefix.encode("utf-8", "surrogatepass") + b":{"
        self._tails: dict[int, tuple[BucketConfig, tuple[str, ...]]] = {}
        self._connections = ThreadConnections(_disconnect)

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``.

        With ``clock="server"``, ``now`` is ignored: the server's clock times it.
        """
        reply = self._evaluate(self._command(user, bucket, now))
        return Decision(reply[0] == 1, _integer(reply[1]), bucket)

    def take_now(self, user: str, bucket: BucketConfig) -> tuple[Decision, int]:
        """Answer ``user``'s request at the server's time, and say that time (ns)."""
        reply = self._evaluate(self._command(user, bucket, None))
        return Decision(reply[0] == 1, _integer(reply[1]), bucket), int(reply[2])

    def take_many(self, requests: Sequence[StoreRequest]) -> list[Decision]:
        """The decisions for ``requests``, in order, sent in one round trip.

        They are exactly the decisions of as many ``take`` calls. The requests are
        not one transaction: when this raises ``StorageError``, those before the
        failure may have been counted.
        """
        if not requests:
            return []
        command = self._command
        replies = self._evaluate_all([command(*request) for request in requests])
        return [
            Decision(reply[0] == 1, _integer(reply[1]), request[1])
            for reply, request in zip(replies, requests, strict=True)
        ]

    def close(self) -> None:
        """Close this process's connections; a later request opens one again."""
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
            f"RedisStore({self.url!r}, prefix={self.prefix!r}, clock={self.clock!r}, "
            f"connect_timeout={self.connect_timeout:g}, timeout={self.timeout:g}, "
            f"expire={self.expire}, connections={len(self._connections)})"
        )

    # Commands ---------------------------------------------------------------------

    def _command(
        self, user: str, bucket: BucketConfig, now: int | None
    ) -> tuple[Any, ...]:
        """The ``EVALSHA`` answering one request; ``None`` reads the server's clock."""
        known = self._tails.get(id(bucket))
        tail = known[1] if known is not None else self._tail(bucket)
        key = self._key_start + user.encode("utf-8", "surrogatepass") + b"}"
        when = "" if now is None or self.clock == "server" else _text(now)
        return ("EVALSHA", _SHA, 1, key, when, *tail)

    def _tail(self, bucket: BucketConfig) -> tuple[str, ...]:
        # Keyed by id(): the entry holds the bucket, so its id is not reused.
        shape = f"{_plain(bucket.capacity)}/{_plain(bucket.refill_rate)}"
        numbers = (_text(bucket.unit), _text(bucket.full), _text(bucket.gain))
        tail = (shape, *numbers, "1" if self.expire else "0")
        if len(self._tails) >= _SHAPES_KEPT:
            self._tails.clear()
        self._tails[id(bucket)] = (bucket, tail)
        return tail

    def _evaluate(self, command: tuple[Any, ...]) -> Any:
        """One command's reply, the script loaded first if the server lost it."""
        connection = self._connection()
        try:
            try:
                connection.send_command(*command)
                return connection.read_response()
            except NoScriptError:
                _ask(connection, _LOAD)
                return _ask(connection, command)
        except BaseException as error:
            raise self._failure(connection, error) from None

    def _evaluate_all(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """The replies to ``commands``, sent as one pipeline.

        A command that found the script missing did nothing; those are sent again,
        in their order, once the script is loaded. The script is lost to all the
        commands after some point (a flush, a restart), so this repeats the tail
        of the batch, which keeps each user's requests in order.

        Known shortcoming: should another client load the script again while the
        batch runs, a command after a failed one may succeed, and the failed one,
        sent again, is then counted after it. Every request is still counted once;
        only two requests of one user in one batch can swap their answers.
        """
        connection = self._connection()
        try:
            replies = _pipeline(connection, commands)
            missing = [n for n, reply in enumerate(replies) if _no_script(reply)]
            if missing:
                _ask(connection, _LOAD)
                again = _pipeline(connection, [commands[n] for n in missing])
                for number, reply in zip(missing, again, strict=True):
                    replies[number] = reply
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
        except BaseException as error:
            raise self._failure(connection, error) from None
        return replies

    # Connections ------------------------------------------------------------------

    def _connection(self) -> AbstractConnection:
        """This thread's connection, opened on first use or after a failure."""
        connection = self._connections.current()
        if connection is None:
            return self._open()
        # A connection the server has closed (it restarted, or dropped idle
        # clients) is replaced before a command is sent on it, not after.
        try:
            stale = connection.can_read()
        except (RedisError, OSError):
            stale = True
        if stale:
            self._connections.drop(connection)
            return self._open()
        return connection

    def _open(self) -> AbstractConnection:
        connection: AbstractConnection = self._connect_with(**self._options)
        try:
            connection.connect()
        except BaseException as error:
            connection.disconnect()
            if isinstance(error, RedisError | OSError):
                raise StorageError(self.url, self._unreachable(error)) from None
            raise
        self._connections.keep(connection)
        return connection

    # Failures ---------------------------------------------------------------------

    def _failure(
        self, connection: AbstractConnection, error: BaseException
    ) -> BaseException:
        """The error to raise for ``error``, met on ``connection`` after connecting."""
        if isinstance(error, ResponseError):  # the connection itself is fine
            # An error inside the script ends with where it was raised in the
            # script ("script: SHA, on @user_script:N"), which says nothing to a
            # person running a command.
            problem = _line(error).partition(" script: ")[0]
            return StorageError(self.url, f"the server refused: {problem}")
        self._connections.drop(connection)
        if isinstance(error, RedisTimeout):
            return StorageError(self.url, f"no answer within {self.timeout:g} s")
        if isinstance(error, RedisError | OSError):
            return StorageError(self.url, f"lost the connection: {_line(error)}")
        return error

    def _unreachable(self, error: RedisError | OSError) -> str:
        if isinstance(error, AuthenticationError):
            return f"authentication failed: {_line(error)}"
        if isinstance(error, RedisTimeout):
            if str(error).startswith("Timeout connecting"):
                return f"cannot connect within {self.connect_timeout:g} s"
            return f"no answer within {self.timeout:g} s"
        if isinstance(error, ResponseError):
            return f"the server refused: {_line(error)}"
        cause = error if isinstance(error, OSError) else error.__context__
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot connect: {cause.strerror}"
        return f"cannot connect: {_line(error)}"


def _disconnect(connections: list[AbstractConnection]) -> None:
    for connection in connections:
        connection.disconnect()


def _ask(connection: AbstractConnection, command: Iterable[Any]) -> Any:
    connection.send_command(*command)
    return connection.read_response()


def _pipeline(
    connection: AbstractConnection, commands: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """The replies to ``commands``, sent at once; an error reply is kept in place."""
    connection.send_packed_command(connection.pack_commands(commands))
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(connection.read_response())
        except ResponseError as error:
            replies.append(error)
    return replies


def _no_script(reply: object) -> bool:
    return isinstance(reply, NoScriptError)


def _text(number: int) -> str:
    """``number`` in decimal, however long (``str`` refuses past 4,300 digits)."""
    try:
        return str(number)
    except ValueError:
        return str(Decimal(number))


def _integer(text: bytes) -> int:
    """The integer written in decimal ``text``, however long."""
    try:
        return int(text)
    except ValueError:
        return int(Decimal(text.decode("ascii")))


def _line(error: BaseException) -> str:
    """The first line of an error's message, without a final full stop."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return lines[0].rstrip(".")


def _shown(url: object) -> str:
    """``url`` with any password replaced by ``***``, fit for messages and reprs."""
    if not isinstance(url, str):
        raise InvalidInput("url", f"expected a Redis URL, found {describe(url)}")
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Unreadable, so there is no telling where a password might be.
        problem = "expected a Redis URL, found one that cannot be read"
        raise InvalidInput("url", problem) from None
    netloc = parts.netloc
    if password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(name == "password" for name, _ in pairs):
        hidden = [(name, "***" if name == "password" else v) for name, v in pairs]
        query = urlencode(hidden, safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _connection_options(url: str, shown: str) -> dict[str, Any]:
    """What a ``Connection`` needs to reach ``url``; ``InvalidInput`` if it cannot."""
    expected = "a redis://, rediss:// or unix:// URL"
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise InvalidInput("url", f"expected {expected}, found {describe(shown)}")
    try:
        port = parts.port
    except ValueError:  # not a number, or past 65535
        port = 0
    if port == 0:
        problem = f"expected a port from 1 to 65535, found {describe(shown)}"
        raise InvalidInput("url", problem)
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        problem = f"expected a database number after the port, found {describe(shown)}"
        raise InvalidInput("url", problem)
    try:
        options: dict[str, Any] = parse_url(url)
    except ValueError as error:
        raise InvalidInput("url", f"{_line(error)}, found {describe(shown)}") from None
    options.setdefault("connection_class", Connection)
    return options


def _prefix(prefix: object) -> str:
    if isinstance(prefix, str) and "{" not in prefix and "}" not in prefix:
        return prefix
    # A brace in the prefix would make the hash tag the prefix's, not the user's.
    found = describe(prefix)
    raise InvalidInput("prefix", f"expected text without {{ or }}, found {found}")


def _seconds(timeout: object, where: str) -> float:
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and 0 < timeout <= _LONGEST_TIMEOUT
    ):
        return float(timeout)
    expected = f"seconds above 0, at most {_LONGEST_TIMEOUT}"
    raise InvalidInput(where, f"expected {expected}, found {describe(timeout)}")
