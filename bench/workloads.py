"""The seeded request streams every contender is fed, and the trace files of replay.

A stream is a list of users and a list of request times in whole nanoseconds,
made once before any timing. Each contender reads the times in its own time
type (float seconds, whole milliseconds, ...), converted once and cached, so
no conversion is ever timed.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

__all__ = [
    "REQUESTS_PER_SECOND",
    "STORE_EPOCH_NS",
    "STORE_REQUESTS_A_USER",
    "STORE_REQUESTS_PER_SECOND",
    "STORE_USERS",
    "TIME_TYPES",
    "ZIPF_EXPONENT",
    "ZIPF_USERS",
    "Stream",
    "distinct_users",
    "fresh",
    "seconds_text",
    "store_users",
    "write_config",
    "write_trace",
    "zipf_users",
]

REQUESTS_PER_SECOND: Final = 10_000
ZIPF_USERS: Final = 10_000
ZIPF_EXPONENT: Final = 1.0
STORE_USERS: Final = 1_000  # at most
STORE_REQUESTS_A_USER: Final = 50  # about, in the stores' workload
# Slower than any store answers, so that the requests' time runs faster than real
# time: a Redis key expires in real time once its bucket would be full in the
# requests' time, which is right only then (docs/stores.md, "Expiry").
STORE_REQUESTS_PER_SECOND: Final = 1_000
NANOS_PER_SECOND: Final = 1_000_000_000
# Where the stores' times begin: 2023-11-14 22:13:20 UTC in nanoseconds since the
# Unix epoch, as a clock gives them. A store's cost can grow with the digits.
STORE_EPOCH_NS: Final = 1_700_000_000 * NANOS_PER_SECOND

# How a stream's nanoseconds become each time type a contender may ask for.
TIME_TYPES: Final[dict[str, Callable[[int], object]]] = {
    "int ns": lambda ns: ns,
    "float s": lambda ns: ns / NANOS_PER_SECOND,
    "int ms": lambda ns: ns // 1_000_000,
}


class Stream:
    """One workload: who asks (``users``) and when (``nanos``), request by request.

    ``times(kind)`` gives the same instants in one of ``TIME_TYPES``, built on
    first use and kept, so every round of every contender reads ready lists.
    """

    __slots__ = ("_times", "name", "nanos", "title", "users")

    def __init__(self, name: str, title: str, users: list[str], nanos: list[int]):
        self.name = name
        self.title = title
        self.users = users
        self.nanos = nanos
        self._times: dict[str, list[Any]] = {}
        for user in users:
            hash(user)  # str caches its hash: no contender pays for it first

    def times(self, kind: str) -> Sequence[Any]:
        """The request times as ``kind`` (a key of ``TIME_TYPES``)."""
        if kind not in self._times:
            self._times[kind] = list(map(TIME_TYPES[kind], self.nanos))
        return self._times[kind]

    @property
    def distinct(self) -> int:
        """How many different users the stream holds."""
        return len(set(self.users))

    def __len__(self) -> int:
        return len(self.users)

    def __repr__(self) -> str:
        return f"Stream({self.name!r}, requests={len(self)})"


def _arrivals(
    rng: random.Random, count: int, rate: int = REQUESTS_PER_SECOND
) -> list[int]:
    """Poisson arrivals at ``rate`` a second, as increasing nanoseconds."""
    gaps = (round(rng.expovariate(rate) * NANOS_PER_SECOND) for _ in range(count))
    return list(itertools.accumulate(gaps))


def _user_ids(count: int) -> list[str]:
    width = len(str(count))
    return [f"user-{number:0{width}d}" for number in range(1, count + 1)]


def zipf_users(count: int, seed: int) -> Stream:
    """``count`` requests over ``ZIPF_USERS`` users, the k-th busiest asking ~1/k."""
    rng = random.Random(seed)
    ids = _user_ids(ZIPF_USERS)
    rng.shuffle(ids)  # popularity owes nothing to the order of the names
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, ZIPF_USERS + 1)]
    users = rng.choices(ids, cum_weights=list(itertools.accumulate(weights)), k=count)
    title = f"{count:,} requests from {ZIPF_USERS:,} users, Zipf-skewed"
    return Stream("zipf", title, users, _arrivals(rng, count))


def distinct_users(count: int, seed: int) -> Stream:
    """``count`` requests, each from a user never seen before."""
    rng = random.Random(seed + 1)
    users = _user_ids(count)
    rng.shuffle(users)
    title = f"{count:,} requests from {count:,} distinct users"
    return Stream("distinct", title, users, _arrivals(rng, count))


def store_users(count: int, seed: int) -> Stream:
    """``count`` requests, about ``STORE_REQUESTS_A_USER`` a user, uniform.

    The workload of the shared stores: few enough users that every one comes
    back many times, so each request reads and writes state already there, and
    most requests are denied, at any ``count``; ``STORE_USERS`` users at most.
    """
    rng = random.Random(seed + 2)
    ids = _user_ids(max(1, min(STORE_USERS, count // STORE_REQUESTS_A_USER)))
    users = rng.choices(ids, k=count)
    who = "1 user" if len(ids) == 1 else f"{len(ids):,} users"
    title = f"{count:,} requests from {who}, uniform"
    arrivals = _arrivals(rng, count, STORE_REQUESTS_PER_SECOND)
    nanos = [STORE_EPOCH_NS + arrival for arrival in arrivals]
    return Stream("stores", title, users, nanos)


def fresh(values: Sequence[int]) -> Iterator[int]:
    """Each value as a new int object, as a clock makes one per request.

    A store that keeps a request's time then pays for it in a memory count,
    instead of sharing the object held by the precomputed list.
    """
    return (value + 0 for value in values)


def seconds_text(ns: int) -> str:
    """Whole nanoseconds as decimal seconds, every digit kept: ``1.000000250``."""
    whole, part = divmod(ns, NANOS_PER_SECOND)
    return f"{whole}.{part:09d}"


def write_trace(path: Path, stream: Stream, lines: int) -> None:
    """Write the first ``lines`` requests of ``stream`` as a JSON Lines trace."""
    with path.open("w", encoding="utf-8") as file:
        for user, ns in zip(stream.users[:lines], stream.nanos[:lines], strict=True):
            file.write(f'{{"user": {json.dumps(user)}, "time": {seconds_text(ns)}}}\n')


def write_config(path: Path, capacity: int, refill_rate: int) -> None:
    """Write a limiter configuration with one default bucket for everyone."""
    config = {"default": {"capacity": capacity, "refill_rate": refill_rate}}
    path.write_text(json.dumps(config) + "\n", encoding="utf-8")
