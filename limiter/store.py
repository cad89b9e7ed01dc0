"""Where bucket state lives by default: a store in this process's memory."""

from __future__ import annotations

from _thread import allocate_lock

from limiter.bucket import BucketConfig, Decision
from limiter.exact import timestamp

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from limiter.bucket import State
    from limiter.registry import Time

__all__ = ["MemoryStore"]


_LOCK_STRIPES: Final = 64  # a power of two, so a mask picks the stripe
_STRIPE_MASK: Final = _LOCK_STRIPES - 1


class MemoryStore:
    """Bucket state in dictionaries of this process, safe to share between threads.

    Users are spread over a fixed set of locks by the hash of their id: a lock
    is held only while one decision is made, threads serving users on different
    stripes never wait for each other, and the memory spent on locks does not
    grow with the number of users.

    With ``evict_idle``, a bucket that has stood idle long enough to be full
    again is forgotten, since a new bucket starts full anyway. Eviction never
    changes a decision as long as no request is timed more than ``lateness``
    seconds before the newest request the store has seen; by default, and
    at the least, that is one refill time (``capacity / refill_rate``, the
    longest of any bucket used). A request timed earlier than that, for a user
    whose bucket was dropped, is answered as that user's first request.

    State is kept in two generations: requests write to the young one; once the
    newest request is a refill time plus ``lateness`` past the young one's start,
    the old one is dropped and the young one becomes old. Live state is then
    bounded by the users active within the last two such periods.
    """

    __slots__ = (
        "_evict_idle",
        "_horizon",
        "_lateness",
        "_lateness_shown",
        "_locks",
        "_next_turn",
        "_old",
        "_states",
        "_young_since",
    )

    _young_since: int | None

    def __init__(self, *, evict_idle: bool = False, lateness: Time = 0) -> None:
        self._states: dict[str, State] = {}  # the young generation
        self._old: dict[str, State] = {}
        self._locks = tuple(allocate_lock() for _ in range(_LOCK_STRIPES))
        self._evict_idle = evict_idle
        self._lateness, self._lateness_shown = timestamp(lateness, "lateness")
        self._horizon = 0  # the longest refill time of any bucket seen, in ns
        self._young_since = None  # when the young generation started
        self._next_turn = 0  # the time from which the next request turns it

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``."""
        if self._evict_idle:
            return self._take_evicting(user, bucket, now)
        states = self._states
        # acquire() and release() rather than `with`: the same guarantee, and a
        # tenth of the time of a whole decision cheaper.
        lock = self._locks[hash(user) & _STRIPE_MASK]
        lock.acquire()
        try:
            states[user], decision = bucket.take(states.get(user), now)
        finally:
            lock.release()
        return decision

    def _take_evicting(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        if now >= self._next_turn or bucket.refill_time > self._horizon:
            self._turn_generation(bucket, now)
        lock = self._locks[hash(user) & _STRIPE_MASK]
        lock.acquire()
        try:
            states = self._states
            state = states.get(user)
            if state is None:
                state = self._old.pop(user, None)
            states[user], decision = bucket.take(state, now)
        finally:
            lock.release()
        return decision

    def _turn_generation(self, bucket: BucketConfig, now: int) -> None:
        # Every lock is held, so no decision is half made while the dictionaries
        # change hands. This happens once a period, and whenever a bucket with a
        # longer refill time than any before is first used.
        for lock in self._locks:
            lock.acquire()
        try:
            self._horizon = max(self._horizon, bucket.refill_time)
            period = self._horizon + max(self._horizon, self._lateness)
            if self._young_since is None:
                self._young_since = now
            elif now >= self._young_since + period:
                # Everything in the old generation was last asked for before the
                # young one started, so it is full from a refill time after that
                # start: by then no request can be late enough to tell.
                self._old = self._states
                self._states = {}
                self._young_since = now
            self._next_turn = self._young_since + period
        finally:
            for lock in self._locks:
                lock.release()

    def __len__(self) -> int:
        """How many users' buckets are held."""
        return len(self._states) + len(self._old)

    def __repr__(self) -> str:
        evicting = ""
        if self._evict_idle:
            evicting = f", evict_idle=True, lateness={self._lateness_shown}"
        return f"MemoryStore(users={len(self)}{evicting})"
