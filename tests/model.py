"""A second model of the specification, written as plainly as possible.

The property tests hold the engine in ``limiter/`` against this model. It shares no
code with the engine and takes no shortcuts: tokens, times and rates are exact
``Fraction`` values, and a run is one loop over the requests with a dictionary of
buckets. Where the engine counts whole units per nanosecond, this model just
adds fractions; if the two ever disagree, one of them is wrong.

The rules it follows, from docs/specification.md and docs/decisions.md:

- A user's bucket is created full, with the user's own settings or the default,
  at the user's first request.
- Each request first refills the bucket: ``min(capacity, tokens + elapsed *
  refill_rate)``. A time earlier than the bucket's latest request counts as that
  latest time: the bucket gains nothing and its clock is not wound back.
- At least one token: one is taken and the request is allowed. Otherwise it is
  denied, nothing is taken, and the retry after is ``(1 - tokens) / refill_rate``
  seconds (0 for an allowed request).
- Times are resolved to the nanosecond by truncation: digits finer than a
  nanosecond are dropped, so ``1.0000000009`` counts as 1 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["Answer", "Request", "bucket_settings", "counted_times", "resolve", "run"]

Request = tuple[str, str]
"""One request: the user and the time in seconds, as decimal text."""

_NANOSECONDS_PER_SECOND = 10**9


@dataclass(frozen=True)
class Answer:
    """The model's answer to one request, with exact values.

    ``remaining`` is the tokens left after the request and ``retry_after`` the
    seconds until one whole token is back (0 when the request was allowed).
    """

    allowed: bool
    remaining: Fraction
    retry_after: Fraction

    @property
    def shown_remaining(self) -> Fraction:
        """``remaining`` as an answer line shows it: rounded down to 0.01."""
        return Fraction(math.floor(self.remaining * 100), 100)

    @property
    def shown_retry_after(self) -> Fraction:
        """``retry_after`` as an answer line shows it: rounded up to 0.01."""
        return Fraction(math.ceil(self.retry_after * 100), 100)


def resolve(time: str) -> Fraction:
    """The time ``time`` (decimal seconds, at least 0) truncated to the nanosecond."""
    exact = Fraction(time)
    whole_nanoseconds = exact.numerator * _NANOSECONDS_PER_SECOND // exact.denominator
    return Fraction(whole_nanoseconds, _NANOSECONDS_PER_SECOND)


def bucket_settings(config: Mapping[str, Any], user: str) -> tuple[Fraction, Fraction]:
    """The capacity and refill rate that apply to ``user``, as exact fractions.

    ``config`` is shaped like a scenario file's configuration; its numbers may be
    decimal text, ints or ``Fraction`` values.
    """
    shape = config.get("users", {}).get(user, config["default"])
    return Fraction(shape["capacity"]), Fraction(shape["refill_rate"])


def counted_times(requests: Iterable[Request]) -> list[Fraction]:
    """The time each request counts as made at: its own, or its bucket's latest."""
    latest: dict[str, Fraction] = {}
    counted = []
    for user, time in requests:
        now = resolve(time)
        if user in latest and latest[user] > now:
            now = latest[user]
        latest[user] = now
        counted.append(now)
    return counted


@dataclass
class _Bucket:
    """One user's bucket: its settings, the tokens it holds and its clock."""

    capacity: Fraction
    refill_rate: Fraction
    tokens: Fraction
    latest: Fraction  # the time of the bucket's latest request


def run(config: Mapping[str, Any], requests: Iterable[Request]) -> list[Answer]:
    """Answer every request in order, state carried from one to the next."""
    buckets: dict[str, _Bucket] = {}
    answers = []
    for user, time in requests:
        now = resolve(time)
        if user not in buckets:
            capacity, refill_rate = bucket_settings(config, user)
            buckets[user] = _Bucket(capacity, refill_rate, capacity, now)
        bucket = buckets[user]

        if now > bucket.latest:
            gained = (now - bucket.latest) * bucket.refill_rate
            bucket.tokens = min(bucket.capacity, bucket.tokens + gained)
            bucket.latest = now

        if bucket.tokens >= 1:
            bucket.tokens -= 1
            answers.append(Answer(True, bucket.tokens, Fraction(0)))
        else:
            wait = (1 - bucket.tokens) / bucket.refill_rate
            answers.append(Answer(False, bucket.tokens, wait))
    return answers
