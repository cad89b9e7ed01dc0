"""SQLiteStore: the decisions of MemoryStore, kept in a file many processes share.

What every shared store promises is tested in ``test_store_contract.py``; here is
what only SQLite does: numbers past 64 bits, a file reopened, batches as one
transaction, a process killed mid-run, and files that cannot be used. Each test
works on a file of its own.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from limiter import BucketConfig, Decision, InvalidInput, MemoryStore
from limiter.errors import StorageError
from limiter.sqlite_store import SQLiteStore

REPO_ROOT = Path(__file__).resolve().parents[1]
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
