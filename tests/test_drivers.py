"""How the behave suite's ``-D`` options pick what it tests and where buckets live.

The features are the same for every store; these tests make sure that asking
for a store really puts the buckets there, rather than quietly in memory.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from limiter import BucketConfig, MemoryStore
from limiter.redis_store import RedisStore
from limiter.sqlite_store import SQLiteStore
from steps.support.answers import Request
from steps.support.drivers import CommandLine, Engine, Stores, choose_suite

CONFIG = {"default": {"capacity": Decimal(2), "refill_rate": Decimal(1)}}
REQUESTS = [Request("alice", Decimal(0)) for _ in range(3)]


def test_the_default_store_is_memory() -> None:
    suite = choose_suite({}, environ={})

    assert isinstance(suite.sut, Engine)
    assert isinstance(suite.stores.new_store(), MemoryStore)
    assert suite.stores.options() == []
    suite.close()


def test_the_sqlite_store_keeps_each_limiters_buckets_in_a_file_of_its_own() -> None:
    suite = choose_suite({"store": "sqlite"}, environ={})
    try:
        answers = suite.sut.answer(CONFIG, REQUESTS)
        assert suite.stores.folder is not None
        (answered,) = suite.stores.folder.glob("*.db")
        with sqlite3.connect(answered) as reader:
            rows = reader.execute("SELECT user FROM buckets").fetchall()
        reader.close()
        first, second = suite.stores.new_store(), suite.stores.new_store()
    finally:
        suite.close()

    assert [answer.decision for answer in answers] == ["ALLOW", "ALLOW", "DENY"]
    assert rows == [(b"alice",)]  # the answers came from this file
    assert isinstance(first, SQLiteStore)
    assert isinstance(second, SQLiteStore)
    assert first.path != second.path
    assert not Path(first.path).parent.exists()


def test_the_command_line_is_given_the_store_as_options() -> None:
    suite = choose_suite({"store": "sqlite", "sut": "cli"}, environ={})
    try:
        assert isinstance(suite.sut, CommandLine)
        options = suite.stores.options()
        answers = suite.sut.answer(CONFIG, REQUESTS)
    finally:
        suite.close()

    assert options[0] == "--state"
    assert options[1].endswith(".db")
    assert [answer.decision for answer in answers] == ["ALLOW", "ALLOW", "DENY"]


def test_the_redis_store_uses_the_server_named_and_leaves_it_clean(
    redis_url: str,
) -> None:
    stores = Stores("redis", redis_url)
    options = stores.options()
    store = stores.new_store()
    assert isinstance(store, RedisStore)
    store.take("alice", BucketConfig(2, 1), 0)
    prefix = store.prefix

    with redis.Redis.from_url(redis_url) as client:
        before = client.exists(f"{prefix}:{{alice}}")
        stores.close()
        after = client.exists(f"{prefix}:{{alice}}")

    assert options[:2] == ["--redis", redis_url]
    assert options[2] == "--redis-prefix"
    assert options[3] != stores.options()[3]  # a new prefix for every limiter
    assert (before, after) == (1, 0)  # the run's keys are gone from the server


@pytest.mark.parametrize(
    ("userdata", "message"),
    [
        ({"store": "disk"}, "-D store: expected one of"),
        ({"store": "sqlite", "command": "true"}, "drop it or -D command"),
        ({"sut": "both"}, "-D sut: expected engine or cli"),
    ],
)
def test_a_wrong_choice_is_refused_with_what_to_do(
    userdata: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        choose_suite(userdata, environ={})
