"""The per-user registry: which bucket a user gets, and where its state lives."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from numbers import Rational

from limiter.bucket import Decision
from limiter.config import Config
from limiter.errors import InvalidInput
from limiter.exact import TIME, describe, nanoseconds, read_number
from limiter.store import MemoryStore

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from fractions import Fraction
    from typing import TypeAlias

    from limiter.protocol import Store

__all__ = ["Limiter", "Time", "to_nanoseconds"]

Time: TypeAlias = "int | Decimal | Fraction | str | float"
"""Seconds: an ``int``, a ``Decimal``, a ``Fraction``, decimal text or a ``float``."""

_NANOS_PER_SECOND = 1_000_000_000
_LARGEST_FAST_SECONDS = 1 << 62  # far inside the range every time must keep to
_LARGEST_FAST_FLOAT = float(1 << 20)  # where a double still resolves 1/4 ns
_LARGEST_RATIONAL = Decimal("1.7976931348623157e308")  # the largest double


class Limiter:
    """A token bucket per user, created full on a user's first request.

    ``check`` answers one request at a time the caller gives; the limiter never
    reads a clock. State lives in ``store`` (in this process by default).
    """

    __slots__ = ("_default", "_take", "_users", "config", "store")

    config: Config
    store: Store

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = MemoryStore() if store is None else store
        # Looked up once here rather than on every request.
        self._take = self.store.take
        self._default = config.default
        self._users = dict(config.users)

    @classmethod
    def from_config(cls, mapping: object, store: Store | None = None) -> Limiter:
        """Build a limiter from a mapping shaped like a scenario file's ``config``."""
        return cls(Config.from_mapping(mapping), store)

    def check(self, user: str, now: Time) -> Decision:
        """Answer ``user``'s request made at ``now`` seconds: ALLOW or DENY."""
        if type(now) is int and 0 <= now <= _LARGEST_FAST_SECONDS:
            now = now * _NANOS_PER_SECOND
        else:
            now = to_nanoseconds(now)
        if type(user) is not str or not user:
            raise _not_a_user(user)
        bucket = self._users.get(user, self._default) if self._users else self._default
        return self._take(user, bucket, now)

    def check_ns(self, user: str, now: int) -> Decision:
        """Answer ``user``'s request made at ``now`` whole nanoseconds."""
        if type(now) is not int or now < 0 or type(user) is not str or not user:
            raise _bad_request(user, now)
        bucket = self._users.get(user, self._default) if self._users else self._default
        return self._take(user, bucket, now)

    def check_many_ns(self, requests: Iterable[tuple[str, int]]) -> list[Decision]:
        """Answer ``(user, nanoseconds)`` requests in order, as ``check_ns`` would.

        A store that answers in batches (``take_many``, such as one Redis round
        trip) gets them all at once; any other answers them one by one.
        """
        users, default = self._users, self._default
        batch = []
        for user, now in requests:
            if type(now) is not int or now < 0 or type(user) is not str or not user:
                raise _bad_request(user, now)
            batch.append((user, users.get(user, default), now))
        take_many = getattr(self.store, "take_many", None)
        if take_many is None:
            return [self._take(*request) for request in batch]
        decisions: list[Decision] = take_many(batch)
        return decisions

    @property
    def batches(self) -> bool:
        """Whether the store answers many requests at once (see ``check_many_ns``)."""
        return hasattr(self.store, "take_many")

    def __repr__(self) -> str:
        return f"Limiter(config={self.config!r}, store={self.store!r})"


def _bad_request(user: object, now: object) -> InvalidInput:
    if type(now) is not int or now < 0:
        found = describe(now)
        return InvalidInput(
            "now", f"expected whole nanoseconds, at least 0, found {found}"
        )
    return _not_a_user(user)


def _not_a_user(user: object) -> InvalidInput:
    return InvalidInput("user", f"expected a non-empty string, found {describe(user)}")


def to_nanoseconds(now: Time, where: str = "time") -> int:
    """Whole nanoseconds in ``now`` seconds; see ``limiter.exact`` for the rules."""
    if type(now) is int and 0 <= now <= _LARGEST_FAST_SECONDS:
        return now * _NANOS_PER_SECOND
    if type(now) is float and 0.0 <= now < _LARGEST_FAST_FLOAT:
        # Below 2**20 s, a double is a whole number of nanoseconds exactly when
        # that number, divided back, gives the same double; it is then the one
        # its shortest decimal names. Other floats take the general road.
        whole = round(now * 1e9)
        if whole / 1e9 == now:
            return whole
    # A Fraction, such as a decision's retry_after added to a time, is exact
    # whether or not it has a finite decimal expansion.
    if (
        isinstance(now, Rational)
        and not isinstance(now, int)
        and 0 <= now <= _LARGEST_RATIONAL
    ):
        return int(now.numerator) * _NANOS_PER_SECOND // int(now.denominator)
    return nanoseconds(read_number(now, TIME, where))
