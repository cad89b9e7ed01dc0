"""The per-user registry: which bucket a user gets, and where its state lives."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

from limiter.bucket import Decision
from limiter.config import Config
from limiter.errors import InvalidInput
from limiter.exact import TIME, describe, nanoseconds, read_number
from limiter.store import MemoryStore, Store

__all__ = ["Limiter", "Time", "to_nanoseconds"]

Time: TypeAlias = int | Decimal | str | float
"""Seconds, as an ``int``, a ``Decimal``, decimal text or a ``float``."""

_NANOS_PER_SECOND = 1_000_000_000
_LARGEST_FAST_SECONDS = 1 << 62  # far inside the range every time must keep to


class Limiter:
    """A token bucket per user, created full on a user's first request.

    ``check`` answers one request at a time the caller gives; the limiter never
    reads a clock. State lives in ``store`` (in this process by default).
    """

    __slots__ = ("config", "store")

    config: Config
    store: Store

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = MemoryStore() if store is None else store

    @classmethod
    def from_config(cls, mapping: object, store: Store | None = None) -> Limiter:
        """Build a limiter from a mapping shaped like a scenario file's ``config``."""
        return cls(Config.from_mapping(mapping), store)

    def check(self, user: str, now: Time) -> Decision:
        """Answer ``user``'s request made at ``now`` seconds: ALLOW or DENY."""
        return self.check_ns(user, to_nanoseconds(now))

    def check_ns(self, user: str, now: int) -> Decision:
        """Answer ``user``'s request made at ``now`` whole nanoseconds."""
        if type(user) is not str or not user:
            raise InvalidInput(
                "user", f"expected a non-empty string, found {describe(user)}"
            )
        return self.store.take(user, self.config.bucket_for(user), now)

    def __repr__(self) -> str:
        return f"Limiter(config={self.config!r}, store={self.store!r})"


def to_nanoseconds(now: Time, where: str = "time") -> int:
    """Whole nanoseconds in ``now`` seconds; see ``limiter.exact`` for the rules."""
    if type(now) is int and 0 <= now <= _LARGEST_FAST_SECONDS:
        return now * _NANOS_PER_SECOND
    return nanoseconds(read_number(now, TIME, where))
