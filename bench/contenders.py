"""Everything the benchmark times: our engine, two inline floors and three peers.

Each contender is a small class with one interface. ``setup`` builds fresh,
empty state (not timed); ``run`` answers every request of a stream and returns
how many were allowed (timed); ``teardown`` stops what the contender started
and drops its state (not timed). Every ``run`` is the same loop, one request
after another, reading each decision as a caller would: only what happens
inside the loop differs.

Every contender limits each user to a bucket of 5 tokens refilled at 1 token a
second, or the nearest its API can express; ``shape`` says which.
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, ClassVar, Final

__all__ = [
    "ALL",
    "CAPACITY",
    "REFILL_RATE",
    "Contender",
    "DictFloor",
    "LimiterCheck",
    "LimiterCheckNs",
    "LimitsPeer",
    "PyratePeer",
    "TatFloor",
    "TokenBucketPeer",
    "WorkloadClock",
    "available",
]

CAPACITY: Final = 5
REFILL_RATE: Final = 1  # tokens per second

_NANOS_PER_SECOND: Final = 1_000_000_000


class WorkloadClock:
    """A clock that shows the workload's current time; the driver moves it.

    Peers that read a clock of their own get ``read`` in its place, so they see
    the same timestamps as everyone else and never the machine's time.
    """

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now: Any = 0

    def read(self) -> Any:
        """The time of the request being answered."""
        return self.now


class Contender(ABC):
    """One way of answering a stream of requests, timed against the others."""

    name: ClassVar[str]  # the row in the tables
    role: ClassVar[str]  # "ours", "floor" or "peer"
    module: ClassVar[str | None] = None  # what must be importable, for a peer
    package: ClassVar[str | None] = None  # its distribution, for the version
    time_type: ClassVar[str]  # a key of workloads.TIME_TYPES
    clock: ClassVar[str]  # how the contender learns the time of a request
    shape: ClassVar[str]  # what it limits, as configured here

    @classmethod
    def importable(cls) -> bool:
        """Whether this interpreter can run the contender at all."""
        return cls.module is None or importlib.util.find_spec(cls.module) is not None

    def setup(self) -> None:  # noqa: B027 (most contenders keep their state in run)
        """Build fresh, empty state for one run."""

    @abstractmethod
    def run(self, users: Iterable[str], times: Iterable[Any]) -> int:
        """Answer every request in order; return how many were allowed."""

    def teardown(self) -> None:  # noqa: B027 (most contenders start nothing)
        """Stop what ``setup`` or ``run`` started and drop the state."""

    def state_table(self) -> dict[str, Any] | None:
        """The dictionary that holds every user's state, where there is one."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


# --- ours -----------------------------------------------------------------------


def _our_limiter() -> Any:
    from limiter import Limiter

    default = {"capacity": CAPACITY, "refill_rate": REFILL_RATE}
    return Limiter.from_config({"default": default})


class LimiterCheck(Contender):
    """``Limiter.check(user, now)``, the engine's public call, with float seconds.

    The times are the very floats that the peers reading a clock are shown.
    """

    name = "limiter: Limiter.check"
    role = "ours"
    package = "limiter"
    time_type = "float s"
    clock = "argument, float seconds"
    shape = "token bucket 5 tokens, 1 token/s; exact integers"

    def setup(self) -> None:
        self.limiter = _our_limiter()

    def run(self, users: Iterable[str], times: Iterable[Any]) -> int:
        check = self.limiter.check
        allowed = 0
        for user, now in zip(users, times, strict=True):
            if check(user, now).allowed:
                allowed += 1
        return allowed

    def state_table(self) -> dict[str, Any] | None:
        # A look inside MemoryStore, for the memory breakdown only.
        table = getattr(self.limiter.store, "_states", None)
        return table if isinstance(table, dict) else None

    def teardown(self) -> None:
        del self.limiter


class LimiterCheckNs(LimiterCheck):
    """``Limiter.check_ns(user, now_ns)``: the same engine, given whole nanoseconds.

    The difference from ``Limiter.check`` is the cost of reading seconds exactly.
    """

    name = "limiter: Limiter.check_ns"
    time_type = "int ns"
    clock = "argument, int nanoseconds"

    def run(self, users: Iterable[str], times: Iterable[Any]) -> int:
        check_ns = self.limiter.check_ns
        allowed = 0
        for user, now in zip(users, times, strict=True):
            if check_ns(user, now).allowed:
                allowed += 1
        return allowed


# --- floors: the same arithmetic with nothing around it ------------------------------
#
# Both floors answer exactly as our engine does (the allowed counts in the tables
# show it), but are written for this one configuration, inline in the loop: no
# call, no object per decision, no lock, no validation. What is left is the cost
# of exact integer arithmetic and one dictionary lookup and store per request.


class DictFloor(Contender):
    """A dict of ``(last, units)`` pairs, integer nanoseconds and units, inline.

    Units as in the engine: one token is ``unit`` units and a bucket gains
    ``gain`` units a nanosecond. A denied request leaves the pair as it was:
    refilling later from the older pair gives the same units, since a bucket
    that denies is below one token and so was not capped.
    """

    name = "floor: dict of (last, units)"
    role = "floor"
    time_type = "int ns"
    clock = "argument, int nanoseconds"
    shape = "token bucket 5 tokens, 1 token/s; exact integers"

    def setup(self) -> None:
        self.states: dict[str, tuple[int, int]] = {}

    def run(self, users: Iterable[str], times: Iterable[int]) -> int:
        states = self.states
        get = states.get
        unit = _NANOS_PER_SECOND  # units in a token: a token a second is 1 unit/ns
        gain = REFILL_RATE * unit // _NANOS_PER_SECOND
        full = CAPACITY * unit
        allowed = 0
        for user, now in zip(users, times, strict=True):
            state = get(user)
            if state is None:
                last, units = now, full
            else:
                last, units = state
                if now > last:
                    units += (now - last) * gain
                    if units > full:  # noqa: PLR1730 (min() is a call, and slower)
                        units = full
                    last = now
            if units >= unit:
                states[user] = (last, units - unit)
                allowed += 1
        return allowed

    def state_table(self) -> dict[str, Any] | None:
        return self.states

    def teardown(self) -> None:
        del self.states


class TatFloor(Contender):
    """One integer per user: the time its bucket is full again (the GCRA form).

    A bucket full again at ``tat`` holds ``capacity - (tat - now) / period``
    tokens at ``now``, where ``period`` is the nanoseconds one token takes to
    come back; so it has a whole token while ``tat - now`` is at most
    ``(capacity - 1) * period``, and taking one moves ``tat`` a period later.
    Exact in integers where the period is a whole number of nanoseconds.
    """

    name = "floor: dict of full-again times"
    role = "floor"
    time_type = "int ns"
    clock = "argument, int nanoseconds"
    shape = "token bucket 5 tokens, 1 token/s; exact integers"

    def setup(self) -> None:
        self.full_at: dict[str, int] = {}

    def run(self, users: Iterable[str], times: Iterable[int]) -> int:
        full_at = self.full_at
        get = full_at.get
        period = _NANOS_PER_SECOND // REFILL_RATE
        slack = (CAPACITY - 1) * period
        allowed = 0
        for user, now in zip(users, times, strict=True):
            tat = get(user, now)
            if tat < now:  # noqa: PLR1730 (max() is a call, and slower)
                tat = now
            if tat - now <= slack:
                full_at[user] = tat + period
                allowed += 1
        return allowed

    def state_table(self) -> dict[str, Any] | None:
        return self.full_at

    def teardown(self) -> None:
        del self.full_at


# --- peers ----------------------------------------------------------------------


class _PatchedClockPeer(Contender):
    """A peer that reads a clock from its module's ``time``: we swap that module.

    The module's global ``time`` is replaced, for the length of one run, by a
    stand-in whose clock function shows the workload's time; the real ``time``
    module and every other user of it are left alone.
    """

    role = "peer"
    # The module whose `time` is swapped, and the function of `time` it calls.
    patched: ClassVar[tuple[str, str]]

    def setup(self) -> None:
        self.workload_clock = WorkloadClock()
        module_name, function = self.patched
        module: Any = importlib.import_module(module_name)
        self.patched_module, self.real_time = module, module.time
        module.time = SimpleNamespace(**{function: self.workload_clock.read})

    def teardown(self) -> None:
        self.patched_module.time = self.real_time
        del self.workload_clock, self.patched_module, self.real_time


class TokenBucketPeer(_PatchedClockPeer):
    """``token-bucket``: ``Limiter(1.0, 5, MemoryStorage()).consume(user)``.

    A token bucket in floats: each user's bucket is a list of its tokens and the
    time it was last refilled, read from ``time.monotonic()``. The shape asked
    for, exactly; float rounding could still part it from exact integers, which
    the allowed counts would show.
    """

    name = "token-bucket"
    module = "token_bucket"
    package = "token-bucket"
    time_type = "float s"
    patched = ("token_bucket.storage", "monotonic")
    clock = "patched time.monotonic, float seconds"
    shape = "token bucket 5 tokens, 1 token/s; floats"

    def setup(self) -> None:
        import token_bucket

        super().setup()
        storage = token_bucket.MemoryStorage()
        self.limiter = token_bucket.Limiter(float(REFILL_RATE), CAPACITY, storage)

    def run(self, users: Iterable[str], times: Iterable[Any]) -> int:
        clock, consume = self.workload_clock, self.limiter.consume
        allowed = 0
        for user, now in zip(users, times, strict=True):
            clock.now = now
            if consume(user):
                allowed += 1
        return allowed

    def teardown(self) -> None:
        del self.limiter
        super().teardown()


class LimitsPeer(_PatchedClockPeer):
    """``limits``: a moving window in its memory storage, 5 hits per 5 seconds.

    It has no token bucket. A moving window of 5 per 5 s allows the same burst
    of 5 and the same long-run 1 a second, and is the nearest of its three
    strategies: a fixed window lets 10 through across a window's edge, and the
    sliding-window counter only estimates the window. It is stricter after a
    burst: a token bucket gives a token back each second, the window only once
    the burst is 5 s old.
    """

    name = "limits"
    module = "limits"
    package = "limits"
    time_type = "float s"
    patched = ("limits.storage.memory", "time")
    clock = "patched time.time, float seconds"
    shape = "moving window 5 per 5 s (no token bucket)"

    def setup(self) -> None:
        super().setup()  # before the storage starts its expiry timer with the clock
        from limits import RateLimitItemPerSecond
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.item = RateLimitItemPerSecond(CAPACITY, CAPACITY // REFILL_RATE)

    def run(self, users: Iterable[str], times: Iterable[Any]) -> int:
        clock, hit, item = self.workload_clock, self.strategy.hit, self.item
        allowed = 0
        for user, now in zip(users, times, strict=True):
            clock.now = now
            if hit(item, user):
                allowed += 1
        return allowed

    def teardown(self) -> None:
        # The storage expires old entries on a timer thread, every 10 ms while it
        # is hit; stop it so that it takes no time from the next contender.
        self.storage.timer.cancel()
        self.storage.timer.join()
        del self.storage, self.strategy, self.item
        super().teardown()


class PyratePeer(Contender):
    """``pyrate-limiter``: its TokenBucket algorithm, a bucket per user.

    ``Rate(1, Duration.SECOND, burst=5)`` is exactly 5 tokens refilled at 1 a
    second. Its ``Limiter`` routes requests through a ``BucketFactory``, its
    extension point for per-key buckets: ours keeps a ``StateBucket`` for each
    user and stamps each request with the workload's time in whole
    milliseconds, the resolution pyrate-limiter works in. The buckets are not
    registered with its leak scheduler, which has nothing to trim in a
    ``StateBucket``. ``blocking=False``: a denied request is answered at once.
    """

    name = "pyrate-limiter"
    role = "peer"
    module = "pyrate_limiter"
    package = "pyrate-limiter"
    time_type = "int ms"
    clock = "its BucketFactory's clock, int milliseconds"
    shape = "token bucket 5 tokens, 1 token/s; ms times"

    def setup(self) -> None:
        import pyrate_limiter

        self.workload_clock = WorkloadClock()
        self.factory = _pyrate_factory(self.workload_clock)
        self.limiter = pyrate_limiter.Limiter(self.factory)

    def run(self, users: Iterable[str], times: Iterable[Any]) -> int:
        clock, acquire = self.workload_clock, self.limiter.try_acquire
        allowed = 0
        for user, now in zip(users, times, strict=True):
            clock.now = now
            if acquire(user, blocking=False):
                allowed += 1
        return allowed

    def teardown(self) -> None:
        del self.limiter, self.factory, self.workload_clock


def _pyrate_factory(clock: WorkloadClock) -> Any:
    """A pyrate-limiter ``BucketFactory`` with one token bucket per user."""
    from pyrate_limiter import (
        BucketFactory,
        Duration,
        Rate,
        RateItem,
        StateBucket,
        TokenBucket,
    )

    rate = Rate(REFILL_RATE, Duration.SECOND, burst=CAPACITY)
    algorithm = TokenBucket()

    class PerUserBuckets(BucketFactory):
        def __init__(self) -> None:
            self.buckets: dict[str, StateBucket] = {}

        def wrap_item(self, name: str, weight: int = 1) -> RateItem:
            return RateItem(name, clock.now, weight)

        def get(self, item: RateItem) -> StateBucket:
            bucket = self.buckets.get(item.name)
            if bucket is None:
                bucket = StateBucket([rate], algorithm=algorithm)
                self.buckets[item.name] = bucket
            return bucket

    return PerUserBuckets()


ALL: Final[tuple[type[Contender], ...]] = (
    LimiterCheck,
    LimiterCheckNs,
    DictFloor,
    TatFloor,
    TokenBucketPeer,
    LimitsPeer,
    PyratePeer,
)
"""Every contender, in the order of the tables."""


def available() -> tuple[list[type[Contender]], list[type[Contender]]]:
    """The contenders this interpreter can run, and the peers it cannot import."""
    runnable = [contender for contender in ALL if contender.importable()]
    missing = [contender for contender in ALL if not contender.importable()]
    return runnable, missing
