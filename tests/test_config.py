"""The configuration: a default bucket, per-user overrides, refusals that say where."""

from __future__ import annotations

from typing import Any

import pytest

from limiter import BucketConfig, Config, InvalidInput
from limiter.cli import DEFAULT_CONFIG
from limiter.config import key_path

DEFAULT = {"capacity": 5, "refill_rate": 1}


def test_a_configuration_may_leave_out_users() -> None:
    config = Config.from_mapping({"default": DEFAULT})

    assert config.default == BucketConfig(5, 1)
    assert config.users == {}
    assert config.bucket_for("anyone") == BucketConfig(5, 1)


def test_a_named_user_gets_their_own_bucket_and_others_the_default() -> None:
    config = Config.from_mapping(
        {
            "default": DEFAULT,
            "users": {"premium_user": {"capacity": 10, "refill_rate": 5}},
        }
    )

    assert config.bucket_for("premium_user") == BucketConfig(10, 5)
    assert config.bucket_for("free_user") == BucketConfig(5, 1)
    # User ids are matched exactly: no case folding, no trimming.
    assert config.bucket_for("Premium_user") == BucketConfig(5, 1)
    assert config.bucket_for("premium_user ") == BucketConfig(5, 1)


def test_the_check_command_defaults_to_five_tokens_at_one_a_second() -> None:
    assert Config.from_mapping(DEFAULT_CONFIG) == Config(BucketConfig(5, 1))


def test_configurations_compare_by_value_and_show_every_bucket() -> None:
    config = Config.from_mapping(
        {"default": DEFAULT, "users": {"alice": {"capacity": 10, "refill_rate": 2}}}
    )

    assert config == Config(BucketConfig("5.0", 1), {"alice": BucketConfig(10, 2)})
    assert config != Config(BucketConfig(5, 1))
    assert config != "config"
    assert repr(config) == (
        "Config(default=BucketConfig(capacity='5', refill_rate='1'), "
        "users={'alice': BucketConfig(capacity='10', refill_rate='2')})"
    )
    with pytest.raises(TypeError):
        hash(config)


REFUSED: list[tuple[str, Any, str]] = [
    (
        "misspelt key",
        {"default": {"capacity": 5, "refil_rate": 2}},
        'config.default: unknown key "refil_rate"; missing key "refill_rate" '
        "(accepted: capacity, refill_rate)",
    ),
    (
        "extra key",
        {"default": {"capacity": 5, "refill_rate": 2, "burst": 9}},
        'config.default: unknown key "burst" (accepted: capacity, refill_rate)',
    ),
    (
        "no default",
        {},
        'config: missing key "default" (accepted: default, users)',
    ),
    (
        "misspelt default",
        {"defaults": DEFAULT},
        'config: unknown key "defaults"; missing key "default" '
        "(accepted: default, users)",
    ),
    (
        "not an object",
        [DEFAULT],
        "config: expected an object with default, found a list",
    ),
    (
        "default not an object",
        {"default": 5},
        "config.default: expected an object with capacity and refill_rate, found 5",
    ),
    (
        "users not an object",
        {"default": DEFAULT, "users": ["alice"]},
        "config.users: expected an object of users, found a list",
    ),
    (
        "override with capacity only",
        {"default": DEFAULT, "users": {"bob": {"capacity": 2}}},
        'config.users.bob: missing key "refill_rate" (accepted: capacity, refill_rate)',
    ),
    (
        "override with refill rate only",
        {"default": DEFAULT, "users": {"bob": {"refill_rate": 2}}},
        'config.users.bob: missing key "capacity" (accepted: capacity, refill_rate)',
    ),
    (
        "empty user id",
        {"default": DEFAULT, "users": {"": DEFAULT}},
        'config.users[""]: expected a non-empty user id',
    ),
    (
        "user id that is not a name",
        {"default": DEFAULT, "users": {"bob smith": {"capacity": 0, "refill_rate": 1}}},
        'config.users["bob smith"].capacity: expected a number of tokens, at least 1, '
        "found 0",
    ),
    (
        "capacity below one",
        {"default": {"capacity": 0.5, "refill_rate": 0.5}},
        "config.default.capacity: expected a number of tokens, at least 1, found 0.5",
    ),
    (
        "zero refill rate",
        {"default": {"capacity": 1, "refill_rate": 0}},
        "config.default.refill_rate: expected a number of tokens per second, "
        "greater than 0, found 0",
    ),
    (
        "negative refill rate",
        {"default": {"capacity": 1, "refill_rate": -1}},
        "config.default.refill_rate: expected a number of tokens per second, "
        "greater than 0, found -1",
    ),
    (
        "infinite capacity",
        {"default": {"capacity": float("inf"), "refill_rate": 1}},
        "config.default.capacity: expected a number of tokens, at least 1, found inf",
    ),
    (
        "not-a-number refill rate",
        {"default": {"capacity": 1, "refill_rate": float("nan")}},
        "config.default.refill_rate: expected a number of tokens per second, "
        "greater than 0, found nan",
    ),
    (
        "boolean capacity",
        {"default": {"capacity": True, "refill_rate": 1}},
        "config.default.capacity: expected a number of tokens, at least 1, found true",
    ),
    (
        "text that is not a number",
        {"default": {"capacity": 5, "refill_rate": "fast"}},
        "config.default.refill_rate: expected a number of tokens per second, "
        'greater than 0, found "fast"',
    ),
]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [(mapping, message) for _, mapping, message in REFUSED],
    ids=[name for name, _, _ in REFUSED],
)
def test_a_bad_configuration_is_refused_naming_the_place(
    mapping: object, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        Config.from_mapping(mapping)

    assert str(raised.value) == message
    assert raised.value.exit_status == 1


def test_the_place_of_the_configuration_can_be_given() -> None:
    with pytest.raises(InvalidInput) as raised:
        Config.from_mapping({"default": {"capacity": 0, "refill_rate": 1}}, "policy")

    assert raised.value.where == "policy.default.capacity"


def test_a_user_id_that_is_not_text_is_refused_as_invalid_input() -> None:
    with pytest.raises(InvalidInput) as raised:
        Config.from_mapping({"default": DEFAULT, "users": {7: DEFAULT}})

    assert str(raised.value) == "config.users: expected user ids as text, found 7"


@pytest.mark.parametrize(
    ("where", "key", "path"),
    [
        ("config", "users", "config.users"),
        ("", "config", "config"),
        ("config.users", "bob smith", 'config.users["bob smith"]'),
        ("config.users", "\u00e9", 'config.users["\\u00e9"]'),
        ("config.users", "1st", 'config.users["1st"]'),
    ],
)
def test_key_path_uses_dots_for_names_and_brackets_for_the_rest(
    where: str, key: str, path: str
) -> None:
    assert key_path(where, key) == path
