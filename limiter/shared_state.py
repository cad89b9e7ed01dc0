"""The command line's shared state: the ``--state`` and ``--redis`` options.

Buckets live in the process by default. ``--state FILE`` keeps them in an SQLite
file and ``--redis URL`` on a Redis server, so that successive runs, and many
processes, share them. Each store is imported only when asked for, so that a
``check`` without either loads neither sqlite3 nor redis-py.

Redis keys expire once their bucket would be full again, counted in real time:
exact only for request times that advance at least as fast. So by default they
expire only when a clock times the requests (``check`` without ``--time``, or
``--clock server``), and are kept for given times (``--time``, ``scenario``,
``replay``), which may advance slower.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from limiter.errors import InvalidInput, StorageError
from limiter.exact import TIME, read_number

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from limiter.bucket import BucketConfig, Decision
    from limiter.protocol import Store
    from limiter.redis_store import RedisStore

__all__ = ["POLICIES", "ServerClock", "add_options", "close_store", "open_store"]

POLICIES = ("fail", "deny", "allow", "local")  # as limiter.failsafe.POLICIES
_DEFAULT_CONNECT_TIMEOUT = "0.1"
_DEFAULT_PREFIX = "limiter"


def add_options(command: argparse.ArgumentParser, *, clock: bool = False) -> None:
    """Add the shared-state options to ``command``; ``--clock`` too if ``clock``."""
    group = command.add_argument_group("shared state (default: this process only)")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--state", metavar="FILE", help="keep buckets in an SQLite file, made if new"
    )
    where.add_argument(
        "--redis", metavar="URL", help="keep buckets on a Redis server (redis://...)"
    )
    group.add_argument(
        "--redis-prefix",
        metavar="TEXT",
        help=f"begin every Redis key with TEXT (default: {_DEFAULT_PREFIX})",
    )
    group.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        help="give up on a Redis server that does not answer within SECONDS "
        f"(default: {_DEFAULT_CONNECT_TIMEOUT})",
    )
    group.add_argument(
        "--expire",
        action=argparse.BooleanOptionalAction,
        help="let Redis drop a bucket once it would be full again in real time "
        "(default: only when a clock times the requests, as given times may run "
        "slower)",
    )
    if clock:
        group.add_argument(
            "--clock",
            choices=("caller", "server"),
            help="whose clock times the request: --time or this host's (caller, "
            "the default), or the Redis server's (server)",
        )
    group.add_argument(
        "--on-store-error",
        choices=POLICIES,
        help="when the store fails: stop with exit status 3 (fail, the default), "
        "or answer DENY, ALLOW, or from this process's memory (local)",
    )


def open_store(
    args: argparse.Namespace,
    *,
    report: Callable[[str], None],
    clocked: bool = False,
    server_clock: ServerClock | None = None,
) -> Store | None:
    """The store the options in ``args`` name; ``None`` for this process's memory.

    ``report`` is told of each outage when a failure policy answers instead.
    ``clocked`` says the requests are timed by a clock, so Redis keys may expire
    by default. With ``server_clock``, a Redis store is asked through it, so that
    the time the server read can be shown.
    """
    _check_company(args)
    if args.redis is None and args.state is None:
        return None
    policy = args.on_store_error or "fail"

    store: Store
    try:
        if args.state is not None:
            from limiter.sqlite_store import SQLiteStore

            store = SQLiteStore(args.state)
        else:
            redis = _redis_store(args, clocked=clocked)
            store = redis
            if server_clock is not None:
                server_clock.redis = redis
                store = server_clock
    except StorageError as error:
        if policy == "fail":
            raise
        store = _Unopened(error)
    if policy == "fail":
        return store

    from limiter.failsafe import FailSafe

    return FailSafe(store, policy, report=report)


def _check_company(args: argparse.Namespace) -> None:
    """Refuse options given without the option they go with."""
    if args.redis is None:
        for option in ("redis_prefix", "connect_timeout", "clock", "expire"):
            value = getattr(args, option, None)
            if value is not None:
                name = "--" + option.replace("_", "-")
                if value is False:  # --no-expire
                    name = name.replace("--", "--no-", 1)
                raise InvalidInput(name, "goes with --redis, which is not given")
        if args.state is None and args.on_store_error is not None:
            problem = "goes with --state or --redis, neither of which is given"
            raise InvalidInput("--on-store-error", problem)
    if getattr(args, "clock", None) == "server" and args.time is not None:
        raise InvalidInput("--time", "cannot be given with --clock server")


def _redis_store(args: argparse.Namespace, *, clocked: bool) -> RedisStore:
    from limiter.redis_store import RedisStore

    timeout = _seconds(
        args.connect_timeout or _DEFAULT_CONNECT_TIMEOUT, "--connect-timeout"
    )
    prefix = _DEFAULT_PREFIX if args.redis_prefix is None else args.redis_prefix
    try:
        return RedisStore(
            args.redis,
            prefix=prefix,
            clock=getattr(args, "clock", None) or "caller",
            connect_timeout=float(timeout),
            expire=clocked if args.expire is None else args.expire,
        )
    except InvalidInput as error:
        # The store names its parameters; the person typed options.
        option = _OPTION_OF.get(error.where, error.where)
        raise InvalidInput(option, error.problem, error.value) from None


class ServerClock:
    """Asks a Redis store to decide on its server's clock, and keeps the time read.

    ``time`` stays ``None`` until the server has answered, so an answer given by a
    failure policy shows this host's clock instead.
    """

    def __init__(self) -> None:
        self.redis: RedisStore | None = None
        self.time: int | None = None  # nanoseconds, on the server's clock

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer on the server's clock; ``now`` is not used."""
        assert self.redis is not None, "the Redis store is given before any request"
        decision, self.time = self.redis.take_now(user, bucket)
        return decision

    def close(self) -> None:
        """Close the Redis store's connections."""
        if self.redis is not None:
            self.redis.close()


class _Unopened:
    """A store that could not be opened: every request meets the same error."""

    def __init__(self, error: StorageError) -> None:
        self.error = error

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        raise self.error


def close_store(store: Store | None) -> None:
    """Close ``store`` if it holds anything open."""
    close = getattr(store, "close", None)
    if close is not None:
        close()


_OPTION_OF = {"url": "--redis", "prefix": "--redis-prefix"}
_LONGEST_TIMEOUT = 1_000_000  # seconds, as RedisStore allows


def _seconds(text: str, option: str) -> Decimal:
    try:
        seconds = read_number(text, TIME, option)
    except InvalidInput:
        seconds = Decimal(-1)
    if not 0 < seconds <= _LONGEST_TIMEOUT:
        expected = f"a number of seconds above 0, at most {_LONGEST_TIMEOUT}"
        raise InvalidInput(option, f"expected {expected}, found {text}")
    return seconds
