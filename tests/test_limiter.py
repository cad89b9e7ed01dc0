"""The per-user registry: requirements, accepted times, exactness over long runs."""

from __future__ import annotations

import threading
from decimal import Decimal
from fractions import Fraction

import pytest

from limiter import (
    BucketConfig,
    Config,
    Decision,
    InvalidInput,
    Limiter,
    MemoryStore,
    Store,
    Time,
)

NS = 1_000_000_000


def limiter(
    capacity: object, refill_rate: object, **users: tuple[object, object]
) -> Limiter:
    """A limiter with a default bucket and, by keyword, users of their own."""
    return Limiter.from_config(
        {
            "default": {"capacity": capacity, "refill_rate": refill_rate},
            "users": {
                user: {"capacity": cap, "refill_rate": rate}
                for user, (cap, rate) in users.items()
            },
        }
    )


def answers(decisions: list[Decision]) -> list[tuple[str, Fraction]]:
    """Each decision as (decision, exact remaining), easy to compare with a list."""
    return [(d.decision, d.remaining) for d in decisions]


# The six requirements, by their examples -------------------------------------------


def test_req_rl_001_an_available_token_is_taken_and_the_rest_reported() -> None:
    decision = limiter(5, 1).check("alice", 0)

    assert decision.allowed
    assert decision.remaining == 4


def test_req_rl_002_under_one_token_is_denied_with_the_wait() -> None:
    alice = limiter(1, 1)
    alice.check("alice", 0)

    decision = alice.check("alice", "0.5")

    assert not decision.allowed
    assert decision.remaining == Fraction(1, 2)
    assert decision.retry_after == Fraction(1, 2)


def test_req_rl_003_refill_is_lazy_and_capped() -> None:
    alice = limiter(5, 1)
    alice.check("alice", 0)
    alice.check("alice", 0)  # 3 tokens left at t=0

    decision = alice.check("alice", "2.5")

    # 3 + 2.5 would be 5.5; the bucket holds 5 before taking one.
    assert decision.remaining == 4


def test_req_rl_004_one_user_never_spends_another_users_tokens() -> None:
    shared = limiter(3, 1)
    alice = [shared.check("alice", 0) for _ in range(4)]

    bob = shared.check("bob", 0)

    assert [d.decision for d in alice] == ["ALLOW", "ALLOW", "ALLOW", "DENY"]
    assert (bob.decision, bob.remaining) == ("ALLOW", Fraction(2))


def test_req_rl_005_a_user_named_in_the_configuration_gets_their_own_bucket() -> None:
    shared = limiter(5, 1, alice=(10, 2))

    assert shared.check("alice", 0).remaining == 9
    assert shared.check("bob", 0).remaining == 4
    assert shared.config.bucket_for("alice") == BucketConfig(10, 2)
    assert shared.config.bucket_for("bob") == BucketConfig(5, 1)


def test_req_rl_006_a_new_user_starts_with_a_full_bucket() -> None:
    shared = limiter(5, 1)
    shared.check("alice", 100)

    decision = shared.check("charlie", 100)

    assert (decision.decision, decision.remaining) == ("ALLOW", Fraction(4))


# Accepted times and users ----------------------------------------------------------


@pytest.mark.parametrize(
    "later",
    [3, Decimal("3.5"), "3.5", 3.5, "3.5000000001"],
    ids=["int", "Decimal", "text", "float", "finer than a nanosecond"],
)
def test_check_accepts_each_kind_of_time(later: Time) -> None:
    alice = limiter(1, 1)
    alice.check("alice", 2)

    decision = alice.check("alice", later)

    assert decision.allowed


def test_every_kind_of_time_gives_the_same_answers() -> None:
    kinds: list[list[Time]] = [
        [0, 0, 1, 1, 1, 3],
        [
            Decimal(0),
            Decimal("0.0"),
            Decimal(1),
            Decimal("1.0"),
            Decimal(1),
            Decimal(3),
        ],
        ["0", "0.0", "1", "1e0", " 1 ", "3"],
        [0.0, 0.0, 1.0, 1.0, 1.0, 3.0],
    ]

    runs = []
    for times in kinds:
        alice = limiter(2, "0.5")
        runs.append(answers([alice.check("alice", t) for t in times]))

    assert runs[0] == [
        ("ALLOW", 1),
        ("ALLOW", 0),
        ("DENY", Fraction(1, 2)),
        ("DENY", Fraction(1, 2)),
        ("DENY", Fraction(1, 2)),
        ("ALLOW", Fraction(1, 2)),
    ]
    assert runs[1:] == [runs[0]] * 3


def test_time_finer_than_a_nanosecond_is_truncated() -> None:
    alice = limiter(1, 1)
    alice.check("alice", 0)

    early = alice.check("alice", "0.9999999999")
    on_time = alice.check("alice", "1.0000000009")

    assert not early.allowed
    assert early.remaining == Fraction(999_999_999, NS)
    assert on_time.allowed


@pytest.mark.parametrize(
    ("now", "found"),
    [
        (-1, "-1"),
        ("-0.001", '"-0.001"'),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (Decimal("Infinity"), "Infinity"),
        (True, "true"),
        (None, "null"),
        ("soon", '"soon"'),
    ],
    ids=repr,
)
def test_check_refuses_a_bad_time_and_changes_nothing(now: object, found: str) -> None:
    alice = limiter(1, 1)

    with pytest.raises(InvalidInput) as raised:
        alice.check("alice", now)  # type: ignore[arg-type]

    assert str(raised.value) == (
        f"time: expected a number of seconds, at least 0, found {found}"
    )
    assert isinstance(alice.store, MemoryStore)
    assert len(alice.store) == 0
    assert alice.check("alice", 0).allowed


@pytest.mark.parametrize(
    ("user", "found"),
    [("", '""'), (None, "null"), (7, "7"), (["alice"], "a list")],
    ids=["empty", "null", "number", "list"],
)
def test_check_refuses_a_bad_user(user: object, found: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        limiter(5, 1).check(user, 0)  # type: ignore[arg-type]

    assert str(raised.value) == f"user: expected a non-empty string, found {found}"
    assert raised.value.exit_status == 1


def test_users_are_told_apart_exactly_as_given() -> None:
    shared = limiter(1, 1)
    names = ["alice", "Alice", "alice ", "\x01alice", "\u00e9", "e\u0301", "x" * 300]

    first = [shared.check(name, 0).decision for name in names]
    second = [shared.check(name, 0).decision for name in names]

    assert first == ["ALLOW"] * len(names)
    assert second == ["DENY"] * len(names)


def test_check_ns_takes_whole_nanoseconds() -> None:
    alice = limiter(1, 1)
    alice.check_ns("alice", 0)

    assert not alice.check_ns("alice", NS - 1).allowed
    assert alice.check_ns("alice", NS).allowed


# Exactness -------------------------------------------------------------------------


def test_a_tenth_of_a_token_a_second_refills_exactly_after_ten_seconds() -> None:
    alice = limiter(1, "0.1")

    decisions = [alice.check("alice", t).decision for t in range(11)]

    assert decisions == ["ALLOW"] + ["DENY"] * 9 + ["ALLOW"]
    # Why this needs care: ten float additions of 0.1 fall short of one token.
    assert sum([0.1] * 10) == 0.9999999999999999


LONG_RUN = 300_000  # requests; a million take about 5 s, too slow for every run


def test_a_long_run_at_exactly_the_refill_rate_is_always_allowed() -> None:
    alice = limiter(1, 10)

    allowed = sum(
        alice.check("alice", f"{k // 10}.{k % 10}").allowed for k in range(LONG_RUN)
    )

    assert allowed == LONG_RUN


# Multiples of a third of a second, written to the nanosecond: k/3 s is written as
# m.000000000, m.333333333 or m.666666666. The gaps are 333333333, 333333333 and
# 333333334 ns, while one token at 3 a second takes 333333333.3 ns. So the request
# just after each whole second comes a third of a nanosecond too early: it finds
# 0.999999999 of a token and is denied. The next two are allowed, because the
# bucket (capacity 1) holds a whole token again. One denial in every three.
THIRDS = ("000000000", "333333333", "666666666")


def thirds_at_nanoseconds(k: int, extra_digits: str = "") -> str:
    return f"{k // 3}.{THIRDS[k % 3]}{extra_digits}"


def test_a_long_run_at_thirds_of_a_second_denies_the_early_requests() -> None:
    alice = limiter(1, 3)

    decisions = [
        alice.check("alice", thirds_at_nanoseconds(k)) for k in range(LONG_RUN)
    ]

    denied = [k for k, d in enumerate(decisions) if not d.allowed]
    assert denied == list(range(1, LONG_RUN, 3))
    first_denial = decisions[1]
    assert first_denial.remaining == Fraction(999_999_999, NS)
    assert first_denial.retry_after == Fraction(1, 3 * NS)
    assert first_denial.remaining_hundredths == 99
    assert first_denial.retry_after_hundredths == 1


def test_digits_past_the_nanosecond_do_not_change_the_thirds_run() -> None:
    truncated = limiter(1, 3)
    precise = limiter(1, 3)

    for k in range(3_000):
        expected = truncated.check("alice", thirds_at_nanoseconds(k))
        decision = precise.check("alice", thirds_at_nanoseconds(k, extra_digits="333"))
        assert decision == expected, f"request {k}"


# Where state lives -----------------------------------------------------------------


class RecordingStore:
    """A store that remembers what it was asked and keeps state like MemoryStore."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, BucketConfig, int]] = []
        self._inner = MemoryStore()

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        self.asked.append((user, bucket, now))
        return self._inner.take(user, bucket, now)


def test_the_limiter_asks_its_store_with_the_users_bucket_and_nanoseconds() -> None:
    store = RecordingStore()
    typed: Store = store
    shared = Limiter(
        Config(BucketConfig(5, 1), {"alice": BucketConfig(10, 2)}), store=typed
    )

    shared.check("alice", "1.5")
    shared.check("bob", 2)

    assert store.asked == [
        ("alice", BucketConfig(10, 2), 1_500_000_000),
        ("bob", BucketConfig(5, 1), 2 * NS),
    ]


def test_memory_store_counts_users_and_shows_them_in_its_repr() -> None:
    shared = limiter(5, 1)
    for user in ("alice", "bob", "alice"):
        shared.check(user, 0)

    assert isinstance(shared.store, MemoryStore)
    assert len(shared.store) == 2
    assert repr(shared.store) == "MemoryStore(users=2)"
    assert repr(shared) == (
        "Limiter(config=Config(default=BucketConfig(capacity='5', refill_rate='1'), "
        "users={}), store=MemoryStore(users=2))"
    )


def test_threads_never_take_the_same_token_twice() -> None:
    shared = limiter(1000, "0.001")
    allowed = [0] * 8

    def hammer(thread: int) -> None:
        for _ in range(500):
            allowed[thread] += shared.check("alice", 0).allowed

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(allowed) == 1000


def test_a_retry_after_added_to_a_time_is_a_time() -> None:
    alice = limiter(1, 4)
    assert alice.check("alice", 0).allowed
    denied = alice.check("alice", 0)

    # retry_after is an exact Fraction, and waiting exactly that long is enough.
    assert denied.retry_after == Fraction(1, 4)
    assert alice.check("alice", 0 + denied.retry_after).allowed
    assert not alice.check("alice", Fraction(1, 3)).allowed  # a third is not enough
