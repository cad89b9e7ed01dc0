"""RedisStore: MemoryStore's decisions, kept on a Redis server many processes share.

What every shared store promises is tested in ``test_store_contract.py``; here is
what only Redis does: the script's arithmetic, keys, expiry, scripts lost and
reloaded, the server's clock, batches, and a server that fails. Every test runs
against a real ``redis-server``: the session's (``redis_url``), under a key prefix
of its own, or a private one (``redis_server``) when it stops, starts or
reconfigures the server. ``inspect`` is a plain redis-py client that looks at what
the store wrote.
"""

from __future__ import annotations

import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from fractions import Fraction

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from limiter import BucketConfig, Decision, InvalidInput, Limiter, MemoryStore
from limiter.errors import StorageError
from limiter.failsafe import FailSafe
from limiter.redis_store import _SCRIPT, RedisStore
from steps.support.servers import RedisServer

NS = 1_000_000_000
MS = 1_000_000  # nanoseconds in a millisecond
FIVE_A_SECOND = BucketConfig(5, 1)


def new_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """The test's own key prefix; its keys are deleted after the test."""
    prefix = new_prefix()
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def store(redis_url: str, prefix: str) -> Iterator[RedisStore]:
    """A store on the session's server under the test's prefix, closed after."""
    with RedisStore(redis_url, prefix=prefix) as store:
        yield store


@pytest.fixture
def inspect(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the session's server, to look at what a store wrote."""
    with redis.Redis.from_url(redis_url) as client:
        yield client


def remaining(decisions: Sequence[Decision]) -> list[tuple[str, object]]:
    """Each decision as its word and exact tokens left, easy to compare."""
    return [(decision.decision, decision.remaining) for decision in decisions]


def key_of(prefix: str, user: str) -> bytes:
    """The key a user's bucket is kept at, written out independently of the store."""
    return f"{prefix}:{{".encode() + user.encode("utf-8", "surrogatepass") + b"}"


def server_time_ns(client: redis.Redis) -> int:
    """The server's clock, in nanoseconds."""
    seconds, microseconds = client.time()
    return (seconds * 1_000_000 + microseconds) * 1000


# The same decisions as in memory ---------------------------------------------------


# Capacities of up to 40 digits with up to 30 decimals, rates from 10**-30 to 10**20
# tokens a second, times anywhere up to 2**63 ns: numbers far past a double's 2**53.
_huge_capacities = st.builds(
    lambda digits, scale: Decimal(digits).scaleb(-scale),
    st.integers(10**30, 10**40),
    st.integers(0, 30),
)
_tiny_to_huge_rates = st.builds(
    lambda digits, scale: Decimal(digits).scaleb(scale),
    st.integers(1, 10**12),
    st.integers(-42, 8),
)
_times = st.lists(
    st.one_of(st.integers(0, 2**63), st.integers(0, 10**6), st.just(2**63)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_huge_capacities, _tiny_to_huge_rates, _times)
def test_huge_numbers_decide_as_in_memory(
    redis_url: str, capacity: Decimal, rate: Decimal, times: list[int]
) -> None:
    bucket = BucketConfig(capacity, rate)
    memory = MemoryStore()
    # Many requests at each time, so that buckets run dry as well as fill.
    requests = [("alice", now) for now in sorted(times)] + [("alice", t) for t in times]
    expected = [memory.take(user, bucket, now) for user, now in requests]

    with RedisStore(redis_url, prefix=new_prefix(), expire=False) as store:
        found = [store.take(user, bucket, now) for user, now in requests]

    assert found == expected
    assert [d._units for d in found] == [d._units for d in expected]


# The script decides in plain Lua numbers when the bucket's unit, full and gain have
# at most 15 digits and times at most 24 (limiter/bucket.lua, "Small buckets"), and
# on limbs otherwise. These examples sit on both sides of each of those edges: full
# and gain of 15 and 16 digits, times of 24 and 25 digits, and gaps between
# requests that just do or do not fill the bucket.
_edge_capacities = st.one_of(
    st.integers(999_990, 1_000_010),  # full of 10^15 units, at the edge
    st.integers(1, 20),
    st.builds(lambda n: Decimal(n).scaleb(-3), st.integers(1000, 10**6)),
)
_edge_rates = st.one_of(
    st.integers(10**15 - 3, 10**15 + 3),  # a gain of 16 digits, or of 15
    st.integers(1, 1000),
    # Refill times of days in 15 digits: full = capacity * 10^14, gain 1
    st.builds(lambda n: Decimal(n).scaleb(-5), st.integers(1, 99)),
    st.builds(
        lambda n, e: Decimal(n).scaleb(e), st.integers(1, 999), st.integers(-9, 0)
    ),
)
_edge_starts = st.sampled_from([0, 10**24 - 10**16, 10**24 - 1, 10**24, 7 * 10**17])
_edge_steps = st.lists(
    st.one_of(
        st.integers(0, 3),
        st.integers(10**8, 10**10),
        st.integers(10**12, 10**15),  # minutes to days
        st.integers(10**15 - 10**6, 10**15 + 10**6),  # about the longest refill
        st.integers(9 * 10**15 - 10**9, 9 * 10**15 + 10**9),  # the long gap's edge
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=300, deadline=None)
@given(_edge_capacities, _edge_rates, _edge_starts, _edge_steps)
def test_both_roads_of_the_script_decide_as_in_memory(
    redis_url: str, capacity: object, rate: object, start: int, steps: list[int]
) -> None:
    bucket = BucketConfig(capacity, rate)
    times, now = [], start
    for step in steps:
        now += step
        times.append(now)
    # Each time twice, then a late request: buckets run dry, refill and cap.
    requests = [now for now in times for _ in "ab"] + [start]
    memory = MemoryStore()
    expected = [memory.take("alice", bucket, now) for now in requests]

    with RedisStore(redis_url, prefix=new_prefix(), expire=False) as store:
        found = [store.take("alice", bucket, now) for now in requests]

    assert [d._units for d in found] == [d._units for d in expected]
    assert found == expected


def test_units_past_four_thousand_digits_are_kept_exactly(store: RedisStore) -> None:
    # Python's str() and int() refuse integers this long; the store does not.
    bucket = BucketConfig("1." + "3" * 5000, "0.7")
    assert len(str(Decimal(bucket.full))) > 5000
    times = [0, 0, 1, NS, 3 * NS, 10**12]
    memory = MemoryStore()

    expected = [memory.take("alice", bucket, now) for now in times]
    found = [store.take("alice", bucket, now) for now in times]

    assert [d._units for d in found] == [d._units for d in expected]


# Keys ------------------------------------------------------------------------------


def test_a_bucket_is_one_hash_under_the_prefix_and_the_user(
    store: RedisStore, prefix: str, inspect: redis.Redis
) -> None:
    bucket = BucketConfig("2.5", "0.1")
    store.take("alice", bucket, 7 * NS)
    store.take("alice", bucket, 7 * NS)

    key = f"{prefix}:{{alice}}".encode()
    assert list(inspect.scan_iter(match=f"{prefix}:*")) == [key]
    assert inspect.hgetall(key) == {
        b"t": str(7 * NS).encode(),
        b"u": str(bucket.full - 2 * bucket.unit).encode(),
        b"s": b"2.5/0.1",
    }


def test_users_keep_their_own_keys_whatever_their_characters(
    store: RedisStore, prefix: str, inspect: redis.Redis
) -> None:
    users = ["名前", "\ud800", "a\x00b", "😀", "\ud83d\ude00", "a", "a}", "{a}"]
    users += ["a:b", "a}:{b", "a:{b}", "b", "a b", "A"]
    one = BucketConfig(1, "0.001")  # full again, and so gone, only 1,000 s later

    first = [store.take(user, one, 0) for user in users]
    second = [store.take(user, one, 0) for user in users]

    assert [d.decision for d in first] == ["ALLOW"] * len(users)
    assert [d.decision for d in second] == ["DENY"] * len(users)
    keys = set(inspect.scan_iter(match=f"{prefix}:*"))
    assert keys == {key_of(prefix, user) for user in users}
    # The hash tag, from the first "{" to the next "}", is the user id (for ids
    # without braces): Redis Cluster keeps each bucket whole on one node.
    tag = key_of(prefix, "名前")[len(prefix) + 2 : -1]
    assert tag == "名前".encode()


def test_prefixes_keep_limiters_apart(redis_url: str, prefix: str) -> None:
    with (
        RedisStore(redis_url, prefix=prefix) as first,
        RedisStore(redis_url, prefix=prefix + "-other") as second,
    ):
        first.take("alice", FIVE_A_SECOND, 0)
        answer = second.take("alice", FIVE_A_SECOND, 0)
        again = RedisStore(redis_url, prefix=prefix).take("alice", FIVE_A_SECOND, 0)

    assert (answer.remaining, again.remaining) == (Fraction(4), Fraction(3))


# Expiry ----------------------------------------------------------------------------


def last_take_and_expiry(
    client: redis.Redis, store: RedisStore, user: str, bucket: BucketConfig
) -> tuple[Decision, int, int | None]:
    """One request on the server's clock, then its key's expiry, read atomically.

    Both go in one MULTI, so a key due to expire within milliseconds cannot be
    gone before its expiry is read. Returns the decision, the time it used and
    when the key expires (``None``: never), in nanoseconds on the server's clock.
    """
    client.script_load(_SCRIPT)
    key = key_of(store.prefix, user)
    with client.pipeline(transaction=True) as pipe:
        pipe.execute_command(*store._command(user, bucket, None))
        pipe.execute_command("PEXPIRETIME", key)
        (allowed, units, now), at_ms = pipe.execute()
    assert at_ms != -2, f"{key!r} is missing"
    expires = None if at_ms == -1 else at_ms * MS
    return Decision(allowed == 1, int(units), bucket), int(now), expires


@pytest.mark.parametrize(
    ("capacity", "rate", "requests"),
    [
        (5, 1, 1),  # one token short: one second
        (5, 1, 7),  # empty: five seconds
        ("2.5", "0.3", 3),  # 2.5 tokens short: 8.333... seconds
        (1, 1000, 1),  # one millisecond
        (1, 10**9, 1),  # one nanosecond: the least expiry, 2 ms
        ("1.000000001", "0.000000007", 1),  # 142,857,143 seconds
    ],
)
def test_a_key_expires_once_its_bucket_is_full_again(
    *,
    redis_url: str,
    prefix: str,
    inspect: redis.Redis,
    capacity: object,
    rate: object,
    requests: int,
) -> None:
    bucket = BucketConfig(capacity, rate)
    with RedisStore(redis_url, prefix=prefix, clock="server") as store:
        for _ in range(requests - 1):
            store.take_now("alice", bucket)
        decision, now, expires = last_take_and_expiry(inspect, store, "alice", bucket)

    full_again = now + -(-(bucket.full - decision._units) // bucket.gain)
    assert expires is not None
    # Never before the bucket is full; at most the margin after: 1 ms, rounding up to
    # whole milliseconds, and for buckets too large for plain Lua numbers a billionth
    # of the time (allowed ten times over here), on a clock read in whole ms.
    assert expires >= full_again - MS
    slack = 3 * MS + (full_again - now) // 10**8
    assert expires <= max(full_again, now + 2 * MS) + slack


@settings(max_examples=100, deadline=None)
@given(_huge_capacities, _tiny_to_huge_rates, st.integers(1, 3))
def test_expiry_is_never_before_the_bucket_is_full(
    redis_url: str, capacity: Decimal, rate: Decimal, requests: int
) -> None:
    bucket = BucketConfig(capacity, rate)
    prefix = new_prefix()
    with (
        RedisStore(redis_url, prefix=prefix, clock="server") as store,
        redis.Redis.from_url(redis_url) as client,
    ):
        for _ in range(requests - 1):
            store.take_now("alice", bucket)
        decision, now, expires = last_take_and_expiry(client, store, "alice", bucket)
        client.delete(key_of(prefix, "alice"))

    full_again = now + -(-(bucket.full - decision._units) // bucket.gain)
    if full_again - now >= 2**53 * MS:  # past 285,000 years: kept for ever
        assert expires is None
        return
    assert expires is not None

    assert expires >= full_again - MS
    assert (
        expires - max(full_again, now + 2 * MS) <= 3 * MS + (full_again - now) // 10**8
    )


def test_without_expiry_keys_are_kept(
    redis_url: str, prefix: str, inspect: redis.Redis
) -> None:
    key = key_of(prefix, "alice")
    with RedisStore(redis_url, prefix=prefix) as expiring:
        expiring.take("alice", FIVE_A_SECOND, 0)
    assert 0 < inspect.pttl(key) <= 1002

    with RedisStore(redis_url, prefix=prefix, expire=False) as keeping:
        keeping.take("alice", FIVE_A_SECOND, 0)
        keeping.take("bob", FIVE_A_SECOND, 0)

    assert inspect.pttl(key) == -1  # the expiry set before is taken away
    assert inspect.pttl(key_of(prefix, "bob")) == -1


# Scripts and restarts --------------------------------------------------------------


def test_a_flushed_script_is_loaded_again_and_no_state_is_lost(
    redis_server: RedisServer,
) -> None:
    memory = MemoryStore()
    times = [0, 0, NS // 2, NS // 2, NS, NS]
    with (
        RedisStore(redis_server.url) as store,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        found = []
        for now in times:
            client.script_flush()
            found.append(store.take("alice", FIVE_A_SECOND, now))
            client.script_flush()
            found += store.take_many([("alice", FIVE_A_SECOND, now)])
        expected = [
            memory.take("alice", FIVE_A_SECOND, now) for now in times for _ in "ab"
        ]
        script_errors = client.info("errorstats").get("errorstat_NOSCRIPT", {})

    assert found == expected
    assert script_errors == {"count": 2 * len(times)}  # each call found it missing once


def test_a_restarted_server_starts_every_bucket_full(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url) as store:
        before = [store.take("alice", FIVE_A_SECOND, 0) for _ in range(3)]
        redis_server.stop()
        redis_server.start()
        after = [store.take("alice", FIVE_A_SECOND, 0) for _ in range(2)]
        batch = store.take_many([("alice", FIVE_A_SECOND, 0)] * 2)

    assert remaining(before) == [("ALLOW", 4), ("ALLOW", 3), ("ALLOW", 2)]
    assert remaining(after + batch) == [
        ("ALLOW", 4),
        ("ALLOW", 3),
        ("ALLOW", 2),
        ("ALLOW", 1),
    ]


def test_a_connection_the_server_closed_is_replaced_without_failing(
    redis_server: RedisServer,
) -> None:
    with (
        RedisStore(redis_server.url) as store,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        store.take("alice", FIVE_A_SECOND, 0)
        killed = client.client_kill_filter(_type="normal", skipme=True)
        answer = store.take("alice", FIVE_A_SECOND, 0)

    assert killed == 1
    assert answer.remaining == 3


# The server's clock ----------------------------------------------------------------


def test_stores_on_the_server_clock_share_one_clock(
    redis_url: str, prefix: str, inspect: redis.Redis
) -> None:
    bucket = BucketConfig(3, "0.001")  # a token every 1000 s: none comes back
    with (
        RedisStore(redis_url, prefix=prefix, clock="server") as first,
        RedisStore(redis_url, prefix=prefix, clock="server") as second,
    ):
        before = server_time_ns(inspect)
        answers = [first.take_now("alice", bucket), second.take_now("alice", bucket)]
        answers.append(first.take_now("alice", bucket))
        answers.append(second.take_now("alice", bucket))
        after = server_time_ns(inspect)

    times = [now for _, now in answers]
    assert before <= times[0] <= times[1] <= times[2] <= times[3] <= after + 1000
    assert [decision.decision for decision, _ in answers] == ["ALLOW"] * 3 + ["DENY"]
    assert int(inspect.hget(key_of(prefix, "alice"), "t") or 0) == times[3]


def test_on_the_server_clock_take_ignores_the_time_it_is_given(
    redis_url: str, prefix: str, inspect: redis.Redis
) -> None:
    bucket = BucketConfig(2, 1)
    with RedisStore(redis_url, prefix=prefix, clock="server") as store:
        before = server_time_ns(inspect)
        first = store.take("alice", bucket, 10**30)  # far in the future: ignored
        second = store.take("alice", bucket, 0)  # long past: ignored as well
        third, now = store.take_now("alice", bucket)
        limiter = Limiter.from_config(
            {"default": {"capacity": 2, "refill_rate": 1}}, store
        )
        fourth = limiter.check("bob", 0)

    # Requests microseconds apart on the server's clock: no whole token comes back.
    assert remaining([first]) == [("ALLOW", 1)]
    assert second.decision == "ALLOW"
    assert second.remaining < Decimal("0.01")
    assert third.decision == "DENY"
    assert third.remaining < Decimal("0.01")
    assert before <= now <= before + NS
    assert fourth.remaining == 1


def test_take_now_on_the_callers_clock_store_reads_the_server_clock(
    store: RedisStore, inspect: redis.Redis
) -> None:
    before = server_time_ns(inspect)
    decision, now = store.take_now("alice", FIVE_A_SECOND)

    assert decision.remaining == 4
    assert before <= now <= before + NS


# Batches ---------------------------------------------------------------------------


def test_a_script_flushed_during_a_batch_counts_each_request_once(
    redis_server: RedisServer,
) -> None:
    # A batch long enough for the server to take a good part of a second over it;
    # another client flushes the scripts while it runs. The requests before the
    # flush counted, the ones after found no script and are sent again: the
    # answers are still those of one take after another.
    bucket = BucketConfig(3000, 1)
    users = [f"user{number % 7}" for number in range(30_000)]
    requests = [(user, bucket, number * 1000) for number, user in enumerate(users)]
    memory = MemoryStore()
    expected = [memory.take(*request) for request in requests]

    def flush_once_some_are_counted(client: redis.Redis) -> None:
        # Redis serves its clients in turn, so these polls are answered between
        # parts of the batch; bounded, in case the batch never comes.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            calls = client.info("commandstats").get("cmdstat_evalsha", {})
            if calls.get("calls", 0) >= 1000:
                break
            time.sleep(0.001)
        client.script_flush()

    with (
        RedisStore(redis_server.url) as store,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        store.take("warm-up", bucket, 0)  # connected, script loaded
        client.config_resetstat()
        flusher = threading.Thread(target=flush_once_some_are_counted, args=(client,))
        flusher.start()
        found = store.take_many(requests)
        flusher.join()
        missing = client.info("errorstats").get("errorstat_NOSCRIPT", {})

    assert found == expected
    assert 0 < missing.get("count", 0) < len(requests), "flushed outside the batch"


# Failures --------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port no one listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_server_that_is_not_there_is_reported_at_once() -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    store = RedisStore(url)  # nothing is sent before the first request

    started = time.perf_counter()
    with pytest.raises(StorageError) as caught:
        store.take("alice", FIVE_A_SECOND, 0)
    with pytest.raises(StorageError):
        store.take_many([("alice", FIVE_A_SECOND, 0)])
    with pytest.raises(StorageError):
        store.take_now("alice", FIVE_A_SECOND)

    assert time.perf_counter() - started < 0.5
    assert str(caught.value) == f"{url}: cannot connect: Connection refused"
    assert caught.value.store == url
    assert caught.value.exit_status == 3
    assert repr(store).endswith("connections=0)")


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listener takes no more connections: connecting hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        waiting = []
        for _ in range(4):  # more than the backlog holds
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            waiting.append(filler)
        time.sleep(0.05)
        yield port
        for filler in waiting:
            filler.close()


def test_connecting_gives_up_after_one_connect_timeout(full_backlog: int) -> None:
    # redis-py retries on its own unless told not to: ten retries would take
    # more than a second here.
    url = f"redis://127.0.0.1:{full_backlog}/0"
    store = RedisStore(url, connect_timeout=0.1)

    waits = []
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(StorageError) as caught:
            store.take("alice", FIVE_A_SECOND, 0)
        waits.append(time.perf_counter() - started)

    assert str(caught.value) == f"{url}: cannot connect within 0.1 s"
    assert all(0.09 < wait < 0.3 for wait in waits), waits


def test_a_server_that_does_not_answer_costs_one_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        store = RedisStore(url, timeout=0.2)

        started = time.perf_counter()
        with pytest.raises(StorageError) as caught:
            store.take("alice", FIVE_A_SECOND, 0)
        waited = time.perf_counter() - started

    assert str(caught.value) == f"{url}: no answer within 0.2 s"
    assert 0.19 < waited < 0.5


def test_a_paused_server_costs_one_timeout_and_then_answers(
    redis_server: RedisServer,
) -> None:
    with (
        RedisStore(redis_server.url, timeout=0.2) as store,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        store.take("alice", FIVE_A_SECOND, 0)
        client.client_pause(2000, all=False)  # writes wait for two seconds
        started = time.perf_counter()
        with pytest.raises(StorageError) as caught:
            store.take("alice", FIVE_A_SECOND, 0)
        waited = time.perf_counter() - started
        client.client_unpause()
        later = store.take("bob", FIVE_A_SECOND, 0)

    assert str(caught.value) == f"{redis_server.url}: no answer within 0.2 s"
    assert 0.19 < waited < 0.5
    assert later.remaining == 4


def test_a_connection_lost_during_a_request_is_reported(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url + "?client_name=the-store"
    with (
        RedisStore(url, timeout=5) as store,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        store.take("alice", FIVE_A_SECOND, 0)
        client.client_pause(5000, all=False)
        failures: list[StorageError] = []

        def ask() -> None:
            try:
                store.take("alice", FIVE_A_SECOND, 0)
            except StorageError as error:
                failures.append(error)

        asking = threading.Thread(target=ask)
        asking.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
            # The asking thread's connection, its EVALSHA held by the pause ("b")
            entry.get("name") == "the-store" and "b" in entry.get("flags", "")
            for entry in client.client_list()
        ):
            time.sleep(0.01)
        client.execute_command("CLIENT", "KILL", "USER", "default", "SKIPME", "yes")
        asking.join()
        client.client_unpause()
        after = store.take("alice", FIVE_A_SECOND, 0)

    assert [error.problem for error in failures] == [
        "lost the connection: Connection closed by server"
    ]
    assert failures[0].store == url
    assert after.remaining == 3  # the lost request was not counted


def test_a_stopped_server_fails_each_request_until_it_is_back(
    redis_server: RedisServer,
) -> None:
    with RedisStore(redis_server.url) as store:
        store.take("alice", FIVE_A_SECOND, 0)
        redis_server.stop()
        with pytest.raises(StorageError) as caught:
            store.take("alice", FIVE_A_SECOND, 0)
        with pytest.raises(StorageError):
            store.take_many([("alice", FIVE_A_SECOND, 0)])
        redis_server.start()
        back = store.take("alice", FIVE_A_SECOND, 0)

    assert caught.value.problem == "cannot connect: Connection refused"
    assert back.remaining == 4  # the server came back empty


def test_a_key_of_another_kind_is_refused_and_the_connection_kept(
    store: RedisStore, prefix: str, inspect: redis.Redis
) -> None:
    inspect.set(key_of(prefix, "alice"), "not a bucket")

    with pytest.raises(StorageError) as caught:
        store.take("alice", FIVE_A_SECOND, 0)
    with pytest.raises(StorageError) as in_batch:
        store.take_many([("bob", FIVE_A_SECOND, 0), ("alice", FIVE_A_SECOND, 0)])

    assert caught.value.problem == (
        "the server refused: WRONGTYPE Operation against a key holding the wrong "
        "kind of value"
    )
    assert in_batch.value.problem == caught.value.problem
    assert store.take("bob", FIVE_A_SECOND, 0).remaining == 3  # the batch counted
    assert repr(store).endswith("connections=1)")


@pytest.fixture
def redis_user(inspect: redis.Redis) -> Iterator[str]:
    """A user of the session's server, with the password "s3cret"."""
    name = f"user-{uuid.uuid4().hex}"
    inspect.acl_setuser(
        name, enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all"]
    )
    yield name
    inspect.acl_deluser(name)


def test_passwords_are_never_shown(redis_url: str, redis_user: str) -> None:
    where = redis_url.split("://", 1)[1].rpartition("@")[2]
    good = f"redis://{redis_user}:s3cret@{where}"
    bad = f"redis://{redis_user}:wr0ng@{where}"
    in_query = f"redis://{where}?username={redis_user}&password=wr0ng"

    with RedisStore(good, prefix=new_prefix()) as store:
        answer = store.take("alice", FIVE_A_SECOND, 0)
        shown = repr(store)
    with pytest.raises(StorageError) as refused:
        RedisStore(bad).take("alice", FIVE_A_SECOND, 0)
    with pytest.raises(StorageError) as refused_in_query:
        RedisStore(in_query).take("alice", FIVE_A_SECOND, 0)

    assert answer.remaining == 4
    assert f"'redis://{redis_user}:***@{where}'" in shown
    assert str(refused.value) == (
        f"redis://{redis_user}:***@{where}: authentication failed: invalid "
        "username-password pair or user is disabled"
    )
    assert refused_in_query.value.store == (
        f"redis://{where}?username={redis_user}&password=***"
    )
    for text in (shown, str(refused.value), repr(refused_in_query.value)):
        assert "s3cret" not in text
        assert "wr0ng" not in text


def test_failure_policies_answer_while_the_server_is_down(
    redis_server: RedisServer,
) -> None:
    with RedisStore(redis_server.url) as store:
        deny = Limiter.from_config(
            {"default": {"capacity": 2, "refill_rate": 1}},
            FailSafe(store, "deny", retry_interval=0),
        )
        local = Limiter.from_config(
            {"default": {"capacity": 2, "refill_rate": 1}},
            FailSafe(store, "local", retry_interval=0),
        )
        deny.check("alice", 0)
        redis_server.stop()
        while_down = [deny.check("alice", 0), local.check("alice", 0)]
        redis_server.start()
        back = [deny.check("alice", 0), local.check("alice", 0)]

    assert remaining(while_down) == [("DENY", 0), ("ALLOW", 1)]
    assert remaining(back) == [("ALLOW", 1), ("ALLOW", 0)]


# Arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://localhost:6379",
            "url: expected a redis://, rediss:// or unix:// URL, found "
            '"http://localhost:6379"',
        ),
        (
            "localhost:6379",
            "url: expected a redis://, rediss:// or unix:// URL, found "
            '"localhost:6379"',
        ),
        (
            "redis://localhost:port/0",
            'url: expected a port from 1 to 65535, found "redis://localhost:port/0"',
        ),
        (
            "redis://:pw@localhost:99999/0",
            'url: expected a port from 1 to 65535, found "redis://:***@localhost:99999/0"',
        ),
        (
            "redis://localhost/zero",
            "url: expected a database number after the port, found "
            '"redis://localhost/zero"',
        ),
        (
            "redis://localhost/0?socket_timeout=soon",
            "url: Invalid value for 'socket_timeout' in connection URL, found "
            '"redis://localhost/0?socket_timeout=soon"',
        ),
        ("redis://[::1/0", "url: expected a Redis URL, found one that cannot be read"),
        (6379, "url: expected a Redis URL, found 6379"),
    ],
)
def test_a_bad_url_is_refused_at_once(url: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RedisStore(url)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"clock": "wall"}, 'clock: expected caller or server, found "wall"'),
        ({"prefix": "a{b}"}, 'prefix: expected text without { or }, found "a{b}"'),
        ({"prefix": None}, "prefix: expected text without { or }, found null"),
        (
            {"connect_timeout": 0},
            "connect_timeout: expected seconds above 0, at most 1000000, found 0",
        ),
        (
            {"timeout": True},
            "timeout: expected seconds above 0, at most 1000000, found true",
        ),
    ],
)
def test_arguments_are_checked(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RedisStore("redis://localhost:6379/0", **options)  # type: ignore[arg-type]

    assert str(caught.value) == message


def test_a_store_shows_its_settings(redis_url: str) -> None:
    with RedisStore(redis_url, prefix="p", clock="server", expire=False) as store:
        shown = repr(store)

    assert shown == (
        f"RedisStore({redis_url!r}, prefix='p', clock='server', connect_timeout=0.1, "
        "timeout=1, expire=False, connections=0)"
    )
    assert math.isfinite(store.timeout)
