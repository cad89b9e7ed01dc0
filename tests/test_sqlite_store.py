"""SQLiteStore: the decisions of MemoryStore, kept in a file many processes share.

Each test works on a file of its own. Processes that hammer one file run the
small scripts below with ``python -c``, wait on stdin to start together and
report what they counted as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from strategies import Scenario, scenarios

from limiter import BucketConfig, Config, Decision, InvalidInput, Limiter, MemoryStore
from limiter.errors import StorageError
from limiter.exact import nanoseconds
from limiter.scenario import read_scenario
from limiter.sqlite_store import SQLiteStore

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((REPO_ROOT / "scenarios").glob("scenario_*.json"))
NS = 1_000_000_000
FIVE_A_SECOND = BucketConfig(5, 1)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the test's store keeps its file; nothing is there yet."""
    return tmp_path / "state.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    """A new store on the test's own file, closed after the test."""
    with SQLiteStore(path) as store:
        yield store


def remaining(decisions: Sequence[Decision]) -> list[tuple[str, object]]:
    """Each decision as its word and exact tokens left, easy to compare."""
    return [(decision.decision, decision.remaining) for decision in decisions]


def file_bytes(path: Path) -> dict[str, bytes]:
    """The bytes of the database file and its write-ahead log, by file name."""
    files = [path, path.with_name(path.name + "-wal")]
    return {file.name: file.read_bytes() for file in files if file.exists()}


# The same decisions as in memory ---------------------------------------------------


@pytest.mark.parametrize("scenario_file", SCENARIO_FILES, ids=lambda file: file.stem)
def test_the_specification_scenarios_decide_as_in_memory(
    scenario_file: Path, store: SQLiteStore
) -> None:
    config, requests = read_scenario(str(scenario_file))
    in_memory, in_file = Limiter(config), Limiter(config, store)

    expected = [in_memory.check_ns(user, nanoseconds(time)) for user, time in requests]
    found = [in_file.check_ns(user, nanoseconds(time)) for user, time in requests]

    assert remaining(found) == remaining(expected)
    assert found == expected


@settings(max_examples=300, deadline=None)
@given(scenarios(most_requests=200))
def test_random_streams_decide_as_in_memory(scenario: Scenario) -> None:
    config = Config.from_mapping(scenario.config)
    in_memory = Limiter(config)
    expected = [in_memory.check(user, time) for user, time in scenario.requests]

    with (
        tempfile.TemporaryDirectory() as folder,
        SQLiteStore(Path(folder, "state.db")) as store,
    ):
        in_file = Limiter(config, store)
        found = [in_file.check(user, time) for user, time in scenario.requests]

    assert found == expected


def test_units_and_times_past_64_bits_are_kept_exactly(
    path: Path, store: SQLiteStore
) -> None:
    bucket = BucketConfig("1.3333333333333333333333333", "0.0000000000000000000007")
    assert bucket.unit > 2**63
    times = [0, 0, 1, NS, 0, 10**21, 10**21 + 1, 10**30, 10**30, 10**31, 5]
    memory = MemoryStore()

    expected = [memory.take("alice", bucket, now) for now in times]
    found = [store.take("alice", bucket, now) for now in times]

    assert found == expected
    assert remaining(found)[-3:] == remaining(expected)[-3:]
    with sqlite3.connect(path) as reader:
        kinds = reader.execute("SELECT typeof(last), typeof(units) FROM buckets")
        assert kinds.fetchall() == [("text", "text")]


# State that lasts -----------------------------------------------------------------


def test_a_reopened_file_continues_every_bucket(path: Path) -> None:
    with SQLiteStore(path) as first:
        first.take("alice", FIVE_A_SECOND, 0)
        first.take("alice", FIVE_A_SECOND, 0)
        first.take("bob", FIVE_A_SECOND, 0)

    with SQLiteStore(path) as second:
        alice = second.take("alice", FIVE_A_SECOND, NS // 2)
        bob = second.take("bob", FIVE_A_SECOND, 0)
        second.close()
        again = second.take("bob", FIVE_A_SECOND, 0)  # a closed store reopens

    assert remaining([alice, bob, again]) == [
        ("ALLOW", 2 + 0.5),
        ("ALLOW", 3),
        ("ALLOW", 2),
    ]


def test_a_changed_bucket_starts_full_and_an_unchanged_one_continues(
    store: SQLiteStore,
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


def test_take_many_decides_as_successive_takes(tmp_path: Path) -> None:
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

    with (
        SQLiteStore(tmp_path / "batch.db") as batch,
        SQLiteStore(tmp_path / "single.db") as single,
    ):
        batched = batch.take_many(requests)
        one_by_one = [single.take(*request) for request in requests]
        after_batch = [batch.take(user, FIVE_A_SECOND, 3 * NS) for user in "abc"]
        after_single = [single.take(user, FIVE_A_SECOND, 3 * NS) for user in "abc"]

    assert remaining(batched) == remaining(one_by_one)
    assert "DENY" in [answer for answer, _ in remaining(batched)]
    assert after_batch == after_single
    assert batch.take_many([]) == []


class Boom(Exception):
    """Raised by a bucket that breaks in the middle of a batch."""


class BrokenBucket(BucketConfig):
    """A bucket whose every decision fails."""

    __slots__ = ()

    def take(self, state: int | None, now: int) -> tuple[int, Decision]:
        raise Boom


def test_a_batch_that_fails_half_way_counts_nothing(store: SQLiteStore) -> None:
    broken = BrokenBucket(5, 1)

    with pytest.raises(Boom):
        store.take_many([("alice", FIVE_A_SECOND, 0), ("bob", broken, 0)])

    assert store.take("alice", FIVE_A_SECOND, 0).remaining == 4


def test_users_keep_nul_and_lone_surrogates(path: Path, store: SQLiteStore) -> None:
    users = ["\ud800", "a\x00b", "a", "😀", "\ud83d\ude00", "\udfff\x00"]
    one = BucketConfig(1, 1)

    first = [store.take(user, one, 0) for user in users]
    second = [store.take(user, one, 0) for user in users]

    assert [d.decision for d in first] == ["ALLOW"] * len(users)
    assert [d.decision for d in second] == ["DENY"] * len(users)
    with sqlite3.connect(path) as reader:
        keys = [key for (key,) in reader.execute("SELECT user FROM buckets")]
    assert sorted(key.decode("utf-8", "surrogatepass") for key in keys) == sorted(users)


# Threads, processes and crashes ----------------------------------------------------

# Takes from one file on THREADS threads: each thread answers REQUESTS requests at
# time 0, going round USERS users from its own starting point, and counts the
# ALLOWs per user. Prints "ready", waits for a line on stdin, prints the counts.
WORKER = """
import json, sys, threading
from collections import Counter
from limiter import BucketConfig
from limiter.sqlite_store import SQLiteStore

path, capacity, users, threads, requests = sys.argv[1:]
store = SQLiteStore(path, timeout=60)
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

# Answers batches of one request for each of ten users at time 0, with room for
# far more requests than it lives to make, and prints the tokens left after each
# batch; it runs until killed.
HAMMER = """
import sys
from limiter import BucketConfig
from limiter.sqlite_store import SQLiteStore

store = SQLiteStore(sys.argv[1])
bucket = BucketConfig(10**9, 1)
batch = [(f"user{number}", bucket, 0) for number in range(10)]
while True:
    decisions = store.take_many(batch)
    print(decisions[0].remaining, flush=True)
"""


def start_python(script: str, *args: object) -> subprocess.Popen[str]:
    """Run ``script`` in a new interpreter, talking to it through pipes."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )


def hammer_together(
    path: Path, capacity: int, users: int, requests: int
) -> tuple[Counter[str], int]:
    """Four processes of two threads each, ``requests`` per thread, started at once.

    Returns the ALLOWs per user and the requests answered, over all of them.
    """
    SQLiteStore(path).close()  # the file and its table exist before the race
    processes = [start_python(WORKER, path, capacity, users, 2, requests)]
    processes += [start_python(WORKER, path, capacity, users, 2, requests)]
    processes += [start_python(WORKER, path, capacity, users, 2, requests)]
    processes += [start_python(WORKER, path, capacity, users, 2, requests)]
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
    path: Path,
) -> None:
    allowed, answered = hammer_together(path, capacity=1000, users=1, requests=600)

    assert answered == 4 * 2 * 600
    assert allowed == Counter({"user0": 1000})


def test_a_hundred_users_hammered_by_four_processes_get_exactly_theirs(
    path: Path,
) -> None:
    # Each of the 8 threads asks 140 times for each user: 1,120 for 1,000 tokens.
    allowed, answered = hammer_together(path, capacity=1000, users=100, requests=14_000)

    assert answered == 4 * 2 * 14_000
    assert allowed == Counter({f"user{number}": 1000 for number in range(100)})


def test_threads_that_end_leave_no_connection_open(store: SQLiteStore) -> None:
    decisions: list[Decision] = []

    def ask() -> None:
        decisions.append(store.take("a", FIVE_A_SECOND, 0))

    for _ in range(10):
        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()

    assert repr(store).endswith("connections=2)")  # this thread's and the last's
    assert [decision.allowed for decision in decisions] == [True] * 5 + [False] * 5
    assert not store.take("a", FIVE_A_SECOND, 0).allowed


def test_a_forked_child_uses_a_connection_of_its_own(store: SQLiteStore) -> None:
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

    assert child_saw == [3, 2]
    assert store.take("alice", FIVE_A_SECOND, 0).remaining == 1


def test_a_process_killed_mid_run_leaves_the_file_whole(path: Path) -> None:
    for _ in range(3):
        hammer = start_python(HAMMER, path)
        assert hammer.stdout is not None
        reported = [hammer.stdout.readline() for _ in range(100)]
        hammer.send_signal(signal.SIGKILL)
        reported += hammer.stdout.readlines()  # what it printed before it died
        hammer.wait()
        last_reported = int(reported[-1])

        with sqlite3.connect(path) as reader:
            assert reader.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        with SQLiteStore(path) as store:
            bucket = BucketConfig(10**9, 1)
            left = {store.take(f"user{n}", bucket, 0).remaining for n in range(10)}

        # A whole batch or none of it: the users were asked equally often. The
        # killed process may have committed one batch it did not live to print.
        assert len(left) == 1
        assert left.pop() in (last_reported - 1, last_reported - 2)


# Failures ---------------------------------------------------------------------------


def test_a_missing_directory_is_reported_and_not_made(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "state.db"

    started = time.perf_counter()
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)

    assert time.perf_counter() - started < 1
    assert str(caught.value) == (
        f"{path}: cannot make the file: there is no directory {tmp_path / 'missing'}"
    )
    assert caught.value.store == str(path)
    assert caught.value.exit_status == 3
    assert list(tmp_path.iterdir()) == []


def test_a_directory_is_reported_and_left_empty(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as caught:
        SQLiteStore(tmp_path)

    assert str(caught.value) == f"{tmp_path}: is a directory, not a database file"
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"alice: 5 tokens\n" * 1000)

    started = time.perf_counter()
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)

    assert time.perf_counter() - started < 1
    assert str(caught.value) == f"{path}: file is not a database"
    assert path.read_bytes() == b"alice: 5 tokens\n" * 1000
    assert list(tmp_path.iterdir()) == [path]


def test_a_lock_held_past_the_timeout_fails_without_counting(path: Path) -> None:
    SQLiteStore(path).take("alice", FIVE_A_SECOND, 0)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    before = file_bytes(path)

    store = SQLiteStore(path, timeout=0.05)  # opening needs no write lock
    started = time.perf_counter()
    with pytest.raises(StorageError) as caught:
        store.take("alice", FIVE_A_SECOND, 0)
    waited = time.perf_counter() - started
    with pytest.raises(StorageError):
        store.take_many([("alice", FIVE_A_SECOND, 0)])
    after = file_bytes(path)
    holder.execute("ROLLBACK")
    holder.close()

    assert 0.04 < waited < 1
    assert str(caught.value) == (
        f"{path}: still locked by another connection after 0.05 s"
    )
    assert after == before
    assert store.take("alice", FIVE_A_SECOND, 0).remaining == 3
    store.close()


def test_a_file_with_another_buckets_table_is_refused(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE buckets (name TEXT, size INTEGER)")
    other.close()
    before = path.read_bytes()

    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)

    assert caught.value.problem == "has a table named buckets that is not a limiter's"
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("path", "timeout", "message"),
    [
        (":memory:", 1, 'path: expected the path of a file, found ":memory:"'),
        ("state.db", -1, "timeout: expected seconds from 0 to 1000000, found -1"),
        ("state.db", True, "timeout: expected seconds from 0 to 1000000, found true"),
    ],
)
def test_arguments_are_checked(path: str, timeout: float, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SQLiteStore(path, timeout=timeout)

    assert str(caught.value).startswith(message)
