"""Where bucket state lives: the storage contract and the in-memory store."""

from __future__ import annotations

import threading
from typing import Final, Protocol

from limiter.bucket import BucketConfig, Decision, State

__all__ = ["MemoryStore", "Store"]


class Store(Protocol):
    """Keeps every user's bucket state and answers requests against it.

    ``take`` must be atomic for one user: two requests of the same user never
    see the same state. Requests of different users must not wait on each other
    longer than it takes to answer one.
    """

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``."""
        ...


_LOCK_STRIPES: Final = 64  # a power of two, so a mask picks the stripe


class MemoryStore:
    """Bucket state in a dictionary of this process, safe to share between threads.

    Users are spread over a fixed set of locks by the hash of their id, so
    threads serving different users rarely wait on one another and the memory
    spent on locks does not grow with the number of users.
    """

    __slots__ = ("_locks", "_states")

    def __init__(self) -> None:
        self._states: dict[str, State] = {}
        self._locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``."""
        states = self._states
        with self._locks[hash(user) & (_LOCK_STRIPES - 1)]:
            states[user], decision = bucket.take(states.get(user), now)
        return decision

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"MemoryStore(users={len(self._states)})"
