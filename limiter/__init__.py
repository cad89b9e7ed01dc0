"""A token bucket rate limiter with per-user quotas and exact decisions.

>>> from limiter import Limiter
>>> limiter = Limiter.from_config({"default": {"capacity": 5, "refill_rate": 1}})
>>> limiter.check("alice", now=0)
Decision(ALLOW, remaining=4)
"""

__version__ = "0.1.0"

from limiter.bucket import BucketConfig, Decision
from limiter.config import Config
from limiter.errors import InvalidInput, LimiterError, MissingFile, StorageError
from limiter.registry import Limiter, Time
from limiter.store import MemoryStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from limiter.failsafe import FailSafe
    from limiter.protocol import BatchStore, Store
    from limiter.redis_store import RedisStore
    from limiter.sqlite_store import SQLiteStore

__all__ = [
    "BatchStore",
    "BucketConfig",
    "Config",
    "Decision",
    "FailSafe",
    "InvalidInput",
    "Limiter",
    "LimiterError",
    "MemoryStore",
    "MissingFile",
    "RedisStore",
    "SQLiteStore",
    "StorageError",
    "Store",
    "Time",
]

# Imported the first time someone asks for them: the protocols need the typing
# module, and the stores sqlite3 or redis, none of which `limiter check` loads
# unless told to use a store.
_LAZY = {
    "BatchStore": "limiter.protocol",
    "FailSafe": "limiter.failsafe",
    "RedisStore": "limiter.redis_store",
    "SQLiteStore": "limiter.sqlite_store",
    "Store": "limiter.protocol",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'limiter' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
