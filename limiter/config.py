"""The limiter's configuration: a default bucket and per-user overrides."""

from __future__ import annotations

import json
from collections.abc import Mapping

from limiter.bucket import BucketConfig
from limiter.errors import InvalidInput
from limiter.exact import describe

__all__ = ["Config", "key_path"]

_BUCKET_KEYS = ("capacity", "refill_rate")
_CONFIG_KEYS = ("default", "users")


class Config:
    """Which bucket each user gets: their own from ``users``, else ``default``."""

    __slots__ = ("default", "users")

    default: BucketConfig
    users: Mapping[str, BucketConfig]

    def __init__(
        self,
        default: BucketConfig,
        users: Mapping[str, BucketConfig] | None = None,
    ) -> None:
        self.default = default
        self.users = dict(users or {})

    @classmethod
    def from_mapping(cls, mapping: object, where: str = "config") -> Config:
        """Read a configuration shaped like a scenario file's ``config``.

        ``{"default": {"capacity": 5, "refill_rate": 1}, "users": {"alice":
        {"capacity": 10, "refill_rate": 2}}}``. ``users`` may be left out; every
        bucket needs both keys and no others, so a misspelt key is refused
        rather than quietly replaced by a default.
        """
        _check_keys(mapping, where, required=("default",), allowed=_CONFIG_KEYS)
        assert isinstance(mapping, Mapping)
        default = _bucket(mapping["default"], key_path(where, "default"))

        users_where = key_path(where, "users")
        users = mapping.get("users", {})
        if not isinstance(users, Mapping):
            raise InvalidInput(
                users_where, f"expected an object of users, found {describe(users)}"
            )
        overrides = {}
        for user, shape in users.items():
            if not isinstance(user, str):
                problem = f"expected user ids as text, found {describe(user)}"
                raise InvalidInput(users_where, problem)
            user_where = key_path(users_where, user)
            if not user:
                raise InvalidInput(user_where, "expected a non-empty user id")
            overrides[user] = _bucket(shape, user_where)
        return cls(default, overrides)

    def bucket_for(self, user: str) -> BucketConfig:
        """The bucket configuration that applies to ``user``."""
        return self.users.get(user, self.default)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return (self.default, self.users) == (other.default, other.users)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Config(default={self.default!r}, users={self.users!r})"


def _bucket(shape: object, where: str) -> BucketConfig:
    _check_keys(shape, where, required=_BUCKET_KEYS, allowed=_BUCKET_KEYS)
    assert isinstance(shape, Mapping)
    return BucketConfig(shape["capacity"], shape["refill_rate"], where)


def _check_keys(
    shape: object, where: str, required: tuple[str, ...], allowed: tuple[str, ...]
) -> None:
    if not isinstance(shape, Mapping):
        keys = " and ".join(required)
        raise InvalidInput(
            where, f"expected an object with {keys}, found {describe(shape)}"
        )
    problems = [f"unknown key {json.dumps(key)}" for key in shape if key not in allowed]
    problems += [
        f"missing key {json.dumps(key)}" for key in required if key not in shape
    ]
    if problems:
        accepted = ", ".join(allowed)
        raise InvalidInput(where, f"{'; '.join(problems)} (accepted: {accepted})")


def key_path(where: str, key: str) -> str:
    """Extend a JSON path by an object key: ``config.users`` + ``alice``."""
    if key.isidentifier() and key.isascii():
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"
