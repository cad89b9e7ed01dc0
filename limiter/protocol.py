"""The storage contract: what a store of bucket state must do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from limiter.bucket import BucketConfig, Decision

__all__ = ["BatchStore", "Store", "StoreRequest"]

StoreRequest: TypeAlias = tuple[str, BucketConfig, int]
"""One request as a store sees it: the user, its bucket, the time in nanoseconds."""


class Store(Protocol):
    """Keeps every user's bucket state and answers requests against it.

    ``take`` must be atomic for one user: two requests of the same user never
    see the same state. Requests of different users must not wait on each other
    longer than it takes to answer one. A store that cannot do its work (cannot
    be reached, read or written) raises ``limiter.errors.StorageError``.
    """

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        """Answer ``user``'s request at ``now`` (nanoseconds) with ``bucket``."""
        ...


@runtime_checkable
class BatchStore(Store, Protocol):
    """A store that can answer many requests in one go, such as one round trip.

    ``take_many`` answers ``requests`` in order, exactly as many ``take`` calls
    would; it is how a replay keeps a remote store busy. When it raises
    ``StorageError``, some requests of the batch may have been counted.
    """

    def take_many(self, requests: Sequence[StoreRequest]) -> list[Decision]:
        """The decisions for ``requests``, in their order."""
        ...
