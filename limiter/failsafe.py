"""What a limiter answers while its store is failing: a policy the caller names.

A shared store (SQLite, Redis) can fail: the server is down, the file locked
for too long. The store itself then raises ``StorageError``, and what that
means for the request is the application's choice, not the limiter's:

- ``"fail"``: the error reaches the caller (a store alone behaves so);
- ``"deny"``: every request is refused, DENY with no tokens left and a
  ``retry_after`` of one token's refill time;
- ``"allow"``: every request goes through, ALLOW with no tokens left (nothing is
  known about the bucket, so nothing is promised);
- ``"local"``: requests are answered from buckets in this process's memory,
  created full, as if this process were alone; they are forgotten once the
  store is back.

After a failure the store is tried again no sooner than ``retry_interval``
seconds later, so that an outage costs one timeout a second rather than one a
request. The start and the end of an outage are each reported once: as a
warning on the ``limiter`` logger, or to a function the caller gives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from limiter.bucket import BucketConfig, Decision
from limiter.errors import InvalidInput, StorageError
from limiter.store import MemoryStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from limiter.protocol import Store, StoreRequest

__all__ = ["POLICIES", "FailSafe"]

POLICIES = ("fail", "deny", "allow", "local")
"""The names a ``FailSafe`` policy can take."""

_log = logging.getLogger("limiter")


class FailSafe:
    """A store that answers by ``policy`` while the ``store`` it wraps is failing."""

    __slots__ = (
        "_clock",
        "_down_since",
        "_local",
        "_report",
        "_retry_at",
        "policy",
        "retry_interval",
        "store",
    )

    def __init__(
        self,
        store: Store,
        policy: str = "fail",
        *,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        report: Callable[[str], None] | None = None,
    ) -> None:
        if policy not in POLICIES:
            choices = ", ".join(POLICIES)
            raise InvalidInput("policy", f"expected one of {choices}, found {policy!r}")
        self.store = store
        self.policy = policy
        self.retry_interval = retry_interval
        self._clock = clock  # seconds, monotonic; a parameter so tests can drive it
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._local = MemoryStore()
        self._report = _log.warning if report is None else report

    @property
    def failing(self) -> bool:
        """Whether the wrapped store failed and has not answered since."""
        return self._down_since is not None

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer from the wrapped store, or by the policy while it is failing."""
        if self._down_since is not None and self._now() < self._retry_at:
            return self._fallback(user, bucket, now)
        try:
            decision = self.store.take(user, bucket, now)
        except StorageError as error:
            self._failed(error)
            return self._fallback(user, bucket, now)
        self._answered()
        return decision

    def take_many(self, requests: Sequence[StoreRequest]) -> list[Decision]:
        """Answer ``requests`` in order; the whole batch by the policy on failure."""
        if self._down_since is None or self._now() >= self._retry_at:
            take_many = getattr(self.store, "take_many", None)
            try:
                if take_many is not None:
                    decisions: list[Decision] = take_many(requests)
                else:
                    decisions = [self.store.take(*request) for request in requests]
            except StorageError as error:
                self._failed(error)
            else:
                self._answered()
                return decisions
        return [self._fallback(*request) for request in requests]

    def _now(self) -> float:
        return self._clock()

    def _failed(self, error: StorageError) -> None:
        if self.policy == "fail":
            raise error
        if self._down_since is None:
            self._down_since = self._now()
            self._report(
                f"{error}; answering by the {self.policy!r} policy until it is back"
            )
        self._retry_at = self._now() + self.retry_interval

    def _answered(self) -> None:
        if self._down_since is not None:
            lasted = self._now() - self._down_since
            self._down_since = None
            self._local = MemoryStore()
            self._report(f"{self.store!r} is back after {lasted:.1f} s")

    def _fallback(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        if self.policy == "local":
            return self._local.take(user, bucket, now)
        return Decision(self.policy == "allow", 0, bucket)

    def close(self) -> None:
        """Close the wrapped store, if it can be closed."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"FailSafe({self.store!r}, policy={self.policy!r})"
