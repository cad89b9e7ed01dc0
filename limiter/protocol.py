"""The storage contract: what a store of bucket state must do."""

from __future__ import annotations

from typing import Protocol

from limiter.bucket import BucketConfig, Decision

__all__ = ["Store"]


class Store(Protocol):
    """Keeps every user's bucket state and answers requests against it.

    ``take`` must be atomic for one user: two requests of the same user never
    see the same state. Requests of different users must not wait on each other
    longer than it takes to answer one.
    """

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``."""
        ...
