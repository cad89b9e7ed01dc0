"""What every shared store promises, tested on each: SQLite, then Redis.

A shared store must decide exactly as ``MemoryStore`` does, one request at a
time or in batches; start a bucket full when its shape changes; never let two
requests of one user, from any thread or process, decide from the same state;
and keep one connection per thread, across ``fork`` too. The tests of what only
one store does (files, locks, expiry, a server that fails) are in
``test_sqlite_store.py`` and ``test_redis_store.py``.

Redis keys are kept here (``expire=False``): the tests' times run slower than
real time, and expiry has tests of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SCENARIOS
from hypothesis import given, settings
from strategies import Scenario, scenarios

from limiter import BucketConfig, Config, Decision, Limiter
from limiter.exact import nanoseconds
from limiter.redis_store import RedisStore
from limiter.scenario import read_scenario
from limiter.sqlite_store import SQLiteStore

NS = 1_000_000_000
FIVE_A_SECOND = BucketConfig(5, 1)
SCENARIO_FILES = sorted(SCENARIOS.glob("scenario_*.json"))

SharedStore = SQLiteStore | RedisStore


class NewStores:
    """Makes stores of one kind, each with no bucket in it yet."""

    def __init__(self, kind: str, folder: Path, redis_url: str) -> None:
        self.kind = kind
        self.folder = folder
        self.redis_url = redis_url

    def where(self) -> tuple[str, str]:
        """A new place for buckets: a file and "", or a server's URL and a prefix."""
        name = uuid.uuid4().hex
        if self.kind == "sqlite":
            return str(self.folder / f"{name}.db"), ""
        return self.redis_url, f"contract-{name}"

    def new(self) -> SharedStore:
        """A store at a new place."""
        return open_store(self.kind, *self.where())

    @property
    def opened_when_made(self) -> int:
        """Connections a new store holds before its first request."""
        return 1 if self.kind == "sqlite" else 0  # SQLite checks its file at once


def open_store(kind: str, place: str, prefix: str) -> SharedStore:
    """The store of ``kind`` at ``place`` (and ``prefix``), as WORKER opens it."""
    if kind == "sqlite":
        return SQLiteStore(place)
    return RedisStore(place, prefix=prefix, expire=False)


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> NewStores:
    """New stores of each kind in turn."""
    kind: str = request.param
    redis_url = request.getfixturevalue("redis_url") if kind == "redis" else ""
    return NewStores(kind, tmp_path_factory.mktemp(kind), redis_url)


@pytest.fixture
def store(stores: NewStores) -> Iterator[SharedStore]:
    """A new store, closed after the test."""
    with stores.new() as store:
        yield store


def remaining(decisions: Sequence[Decision]) -> list[tuple[str, object]]:
    """Each decision as its word and exact tokens left, easy to compare."""
    return [(decision.decision, decision.remaining) for decision in decisions]


def connections(store: SharedStore) -> str:
    """The count of open connections, as the store's repr shows it."""
    return repr(store).rpartition("connections=")[2].rstrip(")")


# The same decisions as in memory ---------------------------------------------------


@pytest.mark.parametrize("scenario_file", SCENARIO_FILES, ids=lambda file: file.stem)
def test_the_specification_scenarios_decide_as_in_memory(
    scenario_file: Path, store: SharedStore
) -> None:
    config, requests = read_scenario(str(scenario_file))
    in_memory, shared = Limiter(config), Limiter(config, store)

    expected = [in_memory.check_ns(user, nanoseconds(time)) for user, time in requests]
    found = [shared.check_ns(user, nanoseconds(time)) for user, time in requests]

    assert remaining(found) == remaining(expected)
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(scenarios(most_requests=200))
def test_random_streams_decide_as_in_memory(
    stores: NewStores, scenario: Scenario
) -> None:
    config = Config.from_mapping(scenario.config)
    in_memory = Limiter(config)
    expected = [in_memory.check(user, time) for user, time in scenario.requests]
    requests = [(user, nanoseconds(Decimal(time))) for user, time in scenario.requests]

    with stores.new() as one_by_one, stores.new() as batched:
        shared = Limiter(config, one_by_one)
        found = [shared.check_ns(*request) for request in requests]
        in_batches = Limiter(config, batched).check_many_ns(requests)

    assert found == expected
    assert in_batches == expected


def test_take_many_decides_as_successive_takes(stores: NewStores) -> None:
    one_a_second = BucketConfig(2, 1)
    requests = [
        (user, bucket, now)
        for now in (0, 0, NS // 3, NS // 4, 2 * NS)
        for user, bucket in [
            ("alice", FIVE_A_SECOND),
            ("bob", one_a_second),
            ("alice", FIVE_A_SECOND),
            ("carol", one_a_second),
        ]
    ]

    with stores.new() as batch, stores.new() as single:
        batched = batch.take_many(requests)
        one_by_one = [single.take(*request) for request in requests]
        after_batch = [batch.take(user, FIVE_A_SECOND, 3 * NS) for user in "abc"]
        after_single = [single.take(user, FIVE_A_SECOND, 3 * NS) for user in "abc"]
        nothing = batch.take_many([])

    assert remaining(batched) == remaining(one_by_one)
    assert "DENY" in [answer for answer, _ in remaining(batched)]
    assert after_batch == after_single
    assert nothing == []


def test_a_changed_bucket_starts_full_and_an_unchanged_one_continues(
    store: SharedStore,
) -> None:
    def limiter(capacity: object, refill_rate: object) -> Limiter:
        bucket = {"capacity": capacity, "refill_rate": refill_rate}
        return Limiter.from_config({"default": bucket}, store)

    answers = [limiter(5, 1).check("alice", 0) for _ in range(3)]
    answers.append(limiter("5.0", "1.00").check("alice", 0))  # the same bucket
    answers.append(limiter(10, 1).check("alice", 0))  # the policy changed
    answers.append(limiter(10, 1).check("alice", 0))
    answers.append(limiter(5, 1).check("alice", 0))  # and changed back

    assert remaining(answers) == [
        ("ALLOW", 4),
        ("ALLOW", 3),
        ("ALLOW", 2),
        ("ALLOW", 1),
        ("ALLOW", 9),
        ("ALLOW", 8),
        ("ALLOW", 4),
    ]


# Many processes and threads --------------------------------------------------------

# Takes from one store on THREADS threads: each thread answers REQUESTS requests
# at time 0, going round USERS users from its own starting point, and counts the
# ALLOWs per user. Prints "ready", waits for a line on stdin, prints the counts.
WORKER = """
import json, sys, threading
from collections import Counter
from limiter import BucketConfig, RedisStore, SQLiteStore

kind, place, prefix, capacity, users, threads, requests = sys.argv[1:]
if kind == "sqlite":
    store = SQLiteStore(place)
else:
    store = RedisStore(place, prefix=prefix, expire=False)
bucket = BucketConfig(int(capacity), 1)
names = [f"user{number}" for number in range(int(users))]
allowed, answered = Counter(), []

def work(start):
    mine = Counter()
    for number in range(int(requests)):
        user = names[(start + number) % len(names)]
        mine[user] += store.take(user, bucket, 0).allowed
    allowed.update(mine)
    answered.append(int(requests))

workers = [threading.Thread(target=work, args=(7 * n,)) for n in range(int(threads))]
print("ready", flush=True)
sys.stdin.readline()
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps({"allowed": allowed, "answered": sum(answered)}))
"""


def hammer_together(
    stores: NewStores, capacity: int, users: int, requests: int
) -> tuple[Counter[str], int]:
    """Four processes of two threads each, ``requests`` per thread, started at once.

    They share one new store. Returns the ALLOWs per user and the requests
    answered, over all of them.
    """
    place, prefix = stores.where()
    open_store(stores.kind, place, prefix).close()  # a file is made before the race
    arguments = [stores.kind, place, prefix, capacity, users, 2, requests]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *map(str, arguments)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()

    allowed: Counter[str] = Counter()
    answered = 0
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        report = json.loads(out)
        allowed.update(report["allowed"])
        answered += report["answered"]
    return allowed, answered


def test_one_user_hammered_by_four_processes_gets_exactly_its_capacity(
    stores: NewStores,
) -> None:
    allowed, answered = hammer_together(stores, capacity=1000, users=1, requests=600)

    assert answered == 4 * 2 * 600
    assert allowed == Counter({"user0": 1000})


def test_a_hundred_users_hammered_by_four_processes_get_exactly_theirs(
    stores: NewStores,
) -> None:
    # Each of the 8 threads asks 140 times for each user: 1,120 for 1,000 tokens.
    allowed, answered = hammer_together(
        stores, capacity=1000, users=100, requests=14_000
    )

    assert answered == 4 * 2 * 14_000
    assert allowed == Counter({f"user{number}": 1000 for number in range(100)})


def test_threads_that_end_leave_no_connection_open(
    stores: NewStores, store: SharedStore
) -> None:
    decisions: list[Decision] = []

    def ask() -> None:
        decisions.append(store.take("a", FIVE_A_SECOND, 0))

    for _ in range(10):
        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
    after_threads = connections(store)
    answer = store.take("a", FIVE_A_SECOND, 0)

    # The last thread's connection is left until another thread opens one.
    assert after_threads == str(stores.opened_when_made + 1)
    assert [decision.allowed for decision in decisions] == [True] * 5 + [False] * 5
    assert not answer.allowed


def test_a_forked_child_uses_a_connection_of_its_own(store: SharedStore) -> None:
    store.take("alice", FIVE_A_SECOND, 0)
    reading, writing = os.pipe()

    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            left = [store.take("alice", FIVE_A_SECOND, 0).remaining for _ in "ab"]
            os.write(writing, json.dumps([int(tokens) for tokens in left]).encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as report:
        child_saw = json.loads(report.read())
    os.waitpid(child, 0)

    # The parent's connection outlived the child, which must not have closed it.
    assert child_saw == [3, 2]
    assert store.take("alice", FIVE_A_SECOND, 0).remaining == 1
    assert connections(store) == "1"
