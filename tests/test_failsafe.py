"""The failure policies: what a limiter answers while its store is failing.

The store here is a ``MemoryStore`` behind a switch that makes it fail, so that
the policies can be driven step by step; the same policies over a stopped Redis
server are in test_redis_store.py.
"""

from __future__ import annotations

import logging
from fractions import Fraction

import pytest

from limiter import BucketConfig, Decision, InvalidInput, Limiter, MemoryStore
from limiter.errors import StorageError
from limiter.failsafe import POLICIES, FailSafe

CONFIG = {"default": {"capacity": 2, "refill_rate": 1}}
BUCKET = BucketConfig(2, 1)


class Switch:
    """A memory store that fails while ``down``, counting the calls it gets."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.down = False
        self.calls = 0
        self.closed = False

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        self.calls += 1
        if self.down:
            raise StorageError("switch://test", "down")
        return self.inner.take(user, bucket, now)

    def close(self) -> None:
        self.closed = True


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def guarded(policy: str) -> tuple[Switch, Clock, Limiter]:
    switch, clock = Switch(), Clock()
    store = FailSafe(switch, policy, retry_interval=1.0, clock=clock)
    return switch, clock, Limiter.from_config(CONFIG, store)


def test_fail_lets_the_storage_error_through() -> None:
    switch, _, limiter = guarded("fail")
    switch.down = True
    with pytest.raises(StorageError, match="switch://test: down"):
        limiter.check("alice", 0)


def test_deny_refuses_with_one_tokens_refill_time() -> None:
    switch, _, limiter = guarded("deny")
    switch.down = True
    decision = limiter.check("alice", 0)
    assert not decision.allowed
    assert decision.remaining == 0
    assert decision.retry_after == 1  # one token at 1 a second


def test_allow_lets_through_promising_nothing() -> None:
    switch, _, limiter = guarded("allow")
    switch.down = True
    decisions = [limiter.check("alice", 0) for _ in range(5)]
    assert all(d.allowed and d.remaining == 0 for d in decisions)


def test_local_answers_from_fresh_buckets_in_memory() -> None:
    switch, _, limiter = guarded("local")
    assert limiter.check("alice", 0).allowed  # the store's bucket: 1 left
    switch.down = True
    # The local bucket starts full: two requests, then a denial.
    answers = [limiter.check("alice", 0).allowed for _ in range(3)]
    assert answers == [True, True, False]


def test_a_failing_store_is_asked_again_only_after_the_interval() -> None:
    switch, clock, limiter = guarded("deny")
    switch.down = True
    limiter.check("alice", 0)
    limiter.check("alice", 0)
    assert switch.calls == 1  # the second request did not wait on the store
    clock.seconds = 0.99
    limiter.check("alice", 0)
    assert switch.calls == 1
    clock.seconds = 1.0
    limiter.check("alice", 0)
    assert switch.calls == 2  # tried again, failed again


def test_the_store_is_used_again_once_it_answers() -> None:
    switch, clock, limiter = guarded("local")
    assert limiter.check("alice", 0).remaining == 1
    switch.down = True
    limiter.check("alice", 0)  # answered locally
    switch.down = False
    clock.seconds = 1.0
    # The store's own bucket again: it had 1 left and gained one token since.
    decision = limiter.check("alice", Fraction(1, 2))
    assert decision.allowed
    assert decision.remaining == Fraction(1, 2)


def test_an_outage_is_logged_once_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    switch, clock, limiter = guarded("allow")
    switch.down = True
    with caplog.at_level(logging.WARNING, logger="limiter"):
        for step in range(5):
            clock.seconds = float(step)  # the store is asked on every request
            limiter.check("alice", step)
        switch.down = False
        clock.seconds = 10.0
        limiter.check("alice", 10)
        limiter.check("alice", 11)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert "switch://test: down" in messages[0]
    assert "'allow' policy" in messages[0]
    assert "is back after 10.0 s" in messages[1]


def test_an_outage_can_be_reported_to_a_function_instead() -> None:
    reported: list[str] = []
    switch, clock = Switch(), Clock()
    store = FailSafe(switch, "deny", clock=clock, report=reported.append)
    switch.down = True
    store.take("alice", BUCKET, 0)
    store.take("alice", BUCKET, 0)
    switch.down = False
    clock.seconds = 2.5
    store.take("alice", BUCKET, 0)

    assert reported == [
        "switch://test: down; answering by the 'deny' policy until it is back",
        f"{switch!r} is back after 2.5 s",
    ]


@pytest.mark.parametrize("policy", ["deny", "allow", "local"])
def test_a_batch_is_answered_by_the_policy_when_the_store_fails(policy: str) -> None:
    switch, _, limiter = guarded(policy)
    switch.down = True
    decisions = limiter.check_many_ns([("alice", 0), ("bob", 0), ("alice", 0)])
    expected = {
        "deny": [False, False, False],
        "allow": [True, True, True],
        "local": [True, True, True],
    }[policy]
    assert [d.allowed for d in decisions] == expected


def test_a_batch_goes_to_the_store_while_it_works() -> None:
    switch, _, limiter = guarded("deny")
    decisions = limiter.check_many_ns([("alice", 0)] * 3)
    assert [d.allowed for d in decisions] == [True, True, False]
    assert switch.calls == 3


def test_closing_closes_the_wrapped_store() -> None:
    switch = Switch()
    FailSafe(switch, "deny").close()
    assert switch.closed


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"policy: expected one of fail, deny"):
        FailSafe(Switch(), "ignore")


def test_the_policies_are_the_command_lines() -> None:
    from limiter import shared_state

    assert shared_state.POLICIES == POLICIES
