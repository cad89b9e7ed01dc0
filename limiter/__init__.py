"""A token bucket rate limiter with per-user quotas and exact decisions.

>>> from limiter import Limiter
>>> limiter = Limiter.from_config({"default": {"capacity": 5, "refill_rate": 1}})
>>> limiter.check("alice", now=0)
Decision(ALLOW, remaining=4)
"""

__version__ = "0.1.0"

from limiter.bucket import BucketConfig, Decision
from limiter.config import Config
from limiter.errors import InvalidInput, LimiterError, MissingFile
from limiter.registry import Limiter, Time
from limiter.store import MemoryStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from limiter.protocol import Store

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


def __getattr__(name: str) -> object:
    # The Store protocol needs the typing module, which `limiter check` never
    # loads; it is imported the first time someone asks for it.
    if name == "Store":
        from limiter.protocol import Store

        return Store
    raise AttributeError(f"module 'limiter' has no attribute {name!r}")
