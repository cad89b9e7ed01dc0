"""The bucket arithmetic: whole units, refill, decide, and rounding for display."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from limiter import BucketConfig, Decision, InvalidInput
from limiter.bucket import State

NS = 1_000_000_000  # nanoseconds in a second
CENTI_NS = NS // 100  # nanoseconds in a hundredth of a second


def seconds(text: str) -> int:
    """A time in whole nanoseconds, from exact decimal text."""
    return int(Decimal(text) * NS)


def drained(bucket: BucketConfig, now: int = 0) -> State:
    """The state of a bucket first seen at ``now`` and emptied of whole tokens."""
    state, decision = bucket.take(None, now)
    while decision.allowed:
        state, decision = bucket.take(state, now)
    return state


# The unit representation ---------------------------------------------------------


def test_capacity_two_and_a_half_at_a_tenth_a_second_is_whole_units() -> None:
    bucket = BucketConfig("2.5", "0.1")

    # A tenth of a token per second is 1e-10 tokens per nanosecond: one unit.
    assert bucket.unit == 10**10
    assert bucket.gain == 1
    assert bucket.full == 25 * 10**9


@pytest.mark.parametrize(
    ("capacity", "refill_rate"),
    [(5, 1), (1, 3), ("2.5", "0.1"), ("1", "0.3"), ("7.25", "1e-9"), ("3", "123.456")],
)
def test_units_hold_capacity_and_refill_rate_exactly(
    capacity: object, refill_rate: object
) -> None:
    bucket = BucketConfig(capacity, refill_rate)

    assert Fraction(bucket.full, bucket.unit) == Fraction(Decimal(str(capacity)))
    assert Fraction(bucket.gain * NS, bucket.unit) == Fraction(
        Decimal(str(refill_rate))
    )


def test_bucket_config_reads_floats_as_their_shortest_decimal() -> None:
    assert BucketConfig(2.5, 0.1) == BucketConfig("2.5", "0.1")
    assert BucketConfig(2.5, 0.1).refill_rate == Decimal("0.1")


def test_bucket_config_equality_is_by_value() -> None:
    assert BucketConfig("2.5", 1) == BucketConfig("2.50", "1.0")
    assert hash(BucketConfig("2.5", 1)) == hash(BucketConfig("2.50", "1.0"))
    assert BucketConfig(5, 1) != BucketConfig(5, 2)
    assert BucketConfig(5, 1) != (5, 1)


def test_bucket_config_repr_shows_capacity_and_refill_rate() -> None:
    assert repr(BucketConfig(2.5, "0.1")) == (
        "BucketConfig(capacity='2.5', refill_rate='0.1')"
    )


ACCEPTED = {
    "capacity": "a number of tokens, at least 1",
    "refill_rate": "a number of tokens per second, greater than 0",
}


@pytest.mark.parametrize(
    ("capacity", "refill_rate", "field", "found"),
    [
        (0.5, 1, "capacity", "0.5"),
        ("many", 1, "capacity", '"many"'),
        (float("nan"), 1, "capacity", "nan"),
        (5, 0, "refill_rate", "0"),
        (5, -2, "refill_rate", "-2"),
        (5, float("inf"), "refill_rate", "inf"),
    ],
    ids=[
        "capacity 0.5",
        "capacity text",
        "capacity NaN",
        "rate 0",
        "rate -2",
        "rate inf",
    ],
)
def test_bucket_config_refuses_a_bad_shape_naming_the_field(
    capacity: object, refill_rate: object, field: str, found: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        BucketConfig(capacity, refill_rate, "config.default")

    assert str(raised.value) == (
        f"config.default.{field}: expected {ACCEPTED[field]}, found {found}"
    )


def test_bucket_config_without_a_place_names_the_bucket() -> None:
    with pytest.raises(InvalidInput, match=r"^bucket\.capacity: "):
        BucketConfig(0, 1)


# Refill, decide, take or deny ------------------------------------------------------


def test_a_bucket_never_seen_starts_full() -> None:
    state, decision = BucketConfig(5, 1).take(None, seconds("42"))

    assert decision == Decision(True, 4 * NS, BucketConfig(5, 1))
    assert BucketConfig(5, 1).unpack(state) == (seconds("42"), 4 * NS)


def test_refill_is_capped_at_capacity() -> None:
    bucket = BucketConfig(5, 1)
    state, _ = bucket.take(None, 0)

    state, decision = bucket.take(state, seconds("1000"))

    assert decision.remaining == 4
    assert bucket.unpack(state) == (seconds("1000"), 4 * NS)


def test_a_denial_takes_nothing() -> None:
    bucket = BucketConfig(1, 1)
    empty = drained(bucket)

    state, decision = bucket.take(empty, seconds("0.5"))
    again, second = bucket.take(state, seconds("0.5"))

    assert not decision.allowed
    assert decision.remaining == Fraction(1, 2)
    assert second == decision
    assert again == state


def test_an_earlier_time_adds_nothing_and_keeps_the_bucket_clock() -> None:
    bucket = BucketConfig(1, 1)
    state, _ = bucket.take(None, seconds("10"))

    state, decision = bucket.take(state, seconds("9"))

    assert not decision.allowed
    assert bucket.unpack(state) == (seconds("10"), 0)
    assert decision.retry_after == 1


def test_the_same_state_and_time_give_the_same_answer() -> None:
    bucket = BucketConfig(3, 1)
    before: State = bucket.pack(0, bucket.unit)

    first = bucket.take(before, seconds("0.5"))
    second = bucket.take(before, seconds("0.5"))

    assert first == second
    assert bucket.unpack(first[0]) == (seconds("0.5"), bucket.unit // 2)


@pytest.mark.parametrize(
    ("capacity", "rate"), [(1, 1), (5, "0.1"), ("2.5", 3), ("1e6", "1e-3")]
)
def test_a_packed_state_holds_any_time_and_content(capacity: str, rate: str) -> None:
    bucket = BucketConfig(capacity, rate)

    for last in (0, 1, seconds("1e300")):
        for units in (0, 1, bucket.unit, bucket.full):
            assert bucket.unpack(bucket.pack(last, units)) == (last, units)


# Decision --------------------------------------------------------------------------


def test_an_allowed_decision_has_no_wait() -> None:
    _, decision = BucketConfig(5, 1).take(None, 0)

    assert decision.allowed
    assert decision.decision == "ALLOW"
    assert decision.retry_after == 0
    assert decision.retry_after_hundredths == 0


def test_a_denied_decision_knows_the_exact_wait() -> None:
    bucket = BucketConfig(1, 3)

    _, decision = bucket.take(drained(bucket), 0)

    assert decision.decision == "DENY"
    assert decision.remaining == 0
    assert decision.retry_after == Fraction(1, 3)


def test_decision_repr_shows_the_decision_and_exact_values() -> None:
    bucket = BucketConfig(1, 3)
    state, allowed = bucket.take(None, 0)
    _, denied = bucket.take(state, seconds("0.1"))

    assert repr(allowed) == "Decision(ALLOW, remaining=0)"
    assert repr(denied) == "Decision(DENY, remaining=3/10, retry_after=7/30)"


def test_decisions_are_equal_when_their_exact_values_are() -> None:
    # A billionth of a token: one unit of the first bucket, ten of the second.
    coarse = Decision(False, 1, BucketConfig(1, 1))
    fine = Decision(False, 10, BucketConfig("1.0000000001", 1))

    assert fine == coarse
    assert hash(fine) == hash(coarse)
    assert fine != Decision(False, 1, BucketConfig("1.0000000001", 1))
    assert coarse != Decision(True, 1, BucketConfig(1, 1))
    assert coarse != "DENY"


# Rounding for display --------------------------------------------------------------


def test_a_third_of_a_second_is_announced_as_034_and_034_is_enough() -> None:
    bucket = BucketConfig(1, 3)
    state, first = bucket.take(None, 0)
    state, second = bucket.take(state, 0)
    _, third = bucket.take(state, seconds("0.34"))

    assert (first.decision, first.remaining_hundredths) == ("ALLOW", 0)
    assert (second.decision, second.retry_after_hundredths) == ("DENY", 34)
    assert (third.decision, third.remaining_hundredths) == ("ALLOW", 0)


def test_a_token_short_by_a_billionth_still_shows_under_one() -> None:
    bucket = BucketConfig(1, 1)

    _, decision = bucket.take(drained(bucket), seconds("0.999999999"))

    assert not decision.allowed
    assert decision.remaining == Fraction(999_999_999, NS)
    assert decision.remaining_hundredths == 99
    assert decision.retry_after_hundredths == 1


@pytest.mark.parametrize(
    ("units", "remaining_hundredths"),
    [(0, 0), (1, 0), (10**7 - 1, 0), (10**7, 1), (5 * 10**8, 50), (NS - 1, 99)],
)
def test_remaining_is_rounded_down(units: int, remaining_hundredths: int) -> None:
    decision = Decision(False, units, BucketConfig(1, 1))

    assert decision.remaining_hundredths == remaining_hundredths


@pytest.mark.parametrize(
    ("units", "retry_after_hundredths"),
    [(0, 100), (1, 100), (10**7, 99), (10**7 + 1, 99), (NS - 1, 1), (NS - 10**7, 1)],
)
def test_retry_after_is_rounded_up(units: int, retry_after_hundredths: int) -> None:
    decision = Decision(False, units, BucketConfig(1, 1))

    assert decision.retry_after_hundredths == retry_after_hundredths


SWEEP_RATES = ["3", "7", "0.3", "0.7", "1.5", "13", "0.07", "2.2", "123.456", "0.001"]
SWEEP_CAPACITIES = ["1", "1.5", "2.75", "10"]
SWEEP_WAITS = ["0", "0.001", "0.01", "0.05", "0.1", "0.123456789", "0.3333", "0.9"]


@pytest.mark.parametrize("refill_rate", SWEEP_RATES)
def test_waiting_the_announced_retry_after_is_always_enough(refill_rate: str) -> None:
    checked = 0
    for capacity in SWEEP_CAPACITIES:
        bucket = BucketConfig(capacity, refill_rate)
        for wait in SWEEP_WAITS:
            start = seconds("5") + seconds(wait)
            state, decision = bucket.take(drained(bucket, seconds("5")), start)
            if decision.allowed:
                continue
            announced = decision.retry_after_hundredths * CENTI_NS

            _, on_time = bucket.take(state, start + announced)
            _, a_hundredth_early = bucket.take(state, start + announced - CENTI_NS)

            shape = f"capacity {capacity}, rate {refill_rate}, {wait} s after draining"
            assert decision.remaining_hundredths < 100, shape
            assert on_time.allowed, shape
            # The announcement is the shortest wait in hundredths that is enough.
            assert not a_hundredth_early.allowed, shape
            checked += 1
    assert checked > 0
