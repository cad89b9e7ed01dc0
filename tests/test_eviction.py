"""Forgetting idle buckets keeps memory bounded and changes no decision."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from limiter import Limiter, MemoryStore
from limiter.scenario import answer_all, read_scenario

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("scenario_*.json"))
NS = 1_000_000_000


def evicting(mapping: dict[str, object]) -> Limiter:
    return Limiter.from_config(mapping, MemoryStore(evict_idle=True))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_the_five_scenarios_answer_the_same_with_eviction_on(path: Path) -> None:
    scenario = read_scenario(str(path))
    keeping = Limiter(scenario.config)
    forgetting = Limiter(scenario.config, MemoryStore(evict_idle=True))

    expected = list(answer_all(keeping, scenario.requests))

    assert list(answer_all(forgetting, scenario.requests)) == expected


def test_live_state_is_bounded_by_the_users_of_the_last_refill_times() -> None:
    # 5 tokens at 1 a second: a bucket is full again 5 s after its last request.
    limiter = evicting({"default": {"capacity": 5, "refill_rate": 1}})
    store = limiter.store
    assert isinstance(store, MemoryStore)
    largest = 0

    # 100 new users a second for 1000 seconds, each seen once.
    for second in range(1000):
        for number in range(100):
            limiter.check_ns(f"user-{second}-{number}", second * NS + number)
        largest = max(largest, len(store))

    # Two generations of a period each, a period being two refill times here
    # (no lateness beyond one refill time): at most 4 x 5 s of users.
    assert largest <= 4 * 5 * 100 + 100
    assert len(store) < 100_000


def test_users_that_return_are_remembered_until_their_bucket_is_full() -> None:
    limiter = evicting({"default": {"capacity": 2, "refill_rate": "0.5"}})

    # alice drains her bucket, then everyone else keeps the clock moving.
    assert limiter.check("alice", 0).allowed
    assert limiter.check("alice", 0).allowed
    for second in range(1, 60):
        limiter.check(f"passer-by-{second}", second)
        if second < 2:
            # Not a whole token yet: she must still be denied, not forgotten.
            assert not limiter.check("alice", second).allowed

    # By now her bucket is full again, remembered or not: 2 tokens, 1 left.
    assert limiter.check("alice", 60).remaining == 1


@pytest.mark.parametrize("seed", range(20))
def test_random_streams_answer_the_same_with_eviction_on(seed: int) -> None:
    chance = random.Random(seed)
    config = {
        "default": {"capacity": chance.choice([1, 2, "2.5", 10]), "refill_rate": "0.5"},
        "users": {"vip": {"capacity": 50, "refill_rate": 20}},
    }
    keeping = Limiter.from_config(config)
    forgetting = evicting(config)
    users = ["vip", *(f"user-{number}" for number in range(30))]

    now = 0
    for _ in range(3000):
        # Mostly forward, sometimes a long quiet spell, sometimes a step back
        # shorter than a refill time (2 to 5 s here).
        now += chance.choice([0, 0, 10**8, 10**9, 30 * NS, -(10**9)])
        now = max(now, 0)
        user = chance.choice(users)
        assert forgetting.check_ns(user, now) == keeping.check_ns(user, now), (
            f"{user} at {now} ns"
        )


def test_a_request_older_than_a_refill_time_may_find_its_bucket_forgotten() -> None:
    # The documented limit: one token at 1 a second, so a refill time of 1 s.
    limiter = evicting({"default": {"capacity": 1, "refill_rate": 1}})
    assert limiter.check("alice", 0).allowed
    limiter.check("bob", 10)  # two generations later: alice's bucket is dropped
    limiter.check("bob", 20)

    # Asked for at 0.5 s, long after the store moved on, alice is new again.
    assert limiter.check("alice", "0.5").allowed


def test_a_longer_lateness_keeps_buckets_for_requests_that_late() -> None:
    store = MemoryStore(evict_idle=True, lateness=30)
    limiter = Limiter.from_config({"default": {"capacity": 1, "refill_rate": 1}}, store)
    assert limiter.check("alice", 0).allowed
    for second in range(1, 30):
        limiter.check("bob", second)

    # 28.5 s late, within the 30 s allowed: alice's bucket is still known, and
    # half a token is not enough.
    assert not limiter.check("alice", "0.5").allowed
