"""A token bucket rate limiter with per-user quotas and exact decisions.

>>> from limiter import Limiter
>>> limiter = Limiter.from_config({"default": {"capacity": 5, "refill_rate": 1}})
>>> limiter.check("alice", now=0)
Decision(ALLOW, remaining=4)
"""

from limiter.bucket import BucketConfig, Decision
from limiter.config import Config
from limiter.errors import InvalidInput, LimiterError, MissingFile
from limiter.registry import Limiter, Time
from limiter.store import MemoryStore, Store

__all__ = [
    "BucketConfig",
    "Config",
    "Decision",
    "InvalidInput",
    "Limiter",
    "LimiterError",
    "MemoryStore",
    "MissingFile",
    "Store",
    "Time",
]
