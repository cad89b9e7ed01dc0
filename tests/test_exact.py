"""Reading numbers exactly, resolving times to the nanosecond, and display."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limiter import InvalidInput
from limiter.exact import (
    CAPACITY,
    REFILL_RATE,
    TIME,
    NumberRule,
    describe,
    hundredths_text,
    nanoseconds,
    read_number,
    seconds_text,
    timestamp,
)

LARGEST_DOUBLE = "1.7976931348623157e308"
SMALLEST_NORMAL_DOUBLE = "2.2250738585072014e-308"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, Decimal(5)),
        (0, Decimal(0)),
        (Decimal("2.5"), Decimal("2.5")),
        ("0.1", Decimal("0.1")),
        ("1e3", Decimal(1000)),
        ("  7.25 ", Decimal("7.25")),
        ("+3", Decimal(3)),
        (".5", Decimal("0.5")),
        (0.1, Decimal("0.1")),
        (2.5, Decimal("2.5")),
        (1e-7, Decimal("1e-7")),
        (1e300, Decimal("1e300")),
    ],
    ids=repr,
)
def test_read_number_accepts_int_decimal_text_and_float(
    value: object, expected: Decimal
) -> None:
    assert read_number(value, TIME, "time") == expected


def test_a_float_is_read_as_the_shortest_decimal_that_names_it() -> None:
    tenth = read_number(0.1, TIME, "time")

    assert tenth == Decimal(1) / Decimal(10)
    assert Fraction(tenth) == Fraction(1, 10)
    # The binary number the float really holds is a little more than a tenth.
    assert Decimal.from_float(0.1) != tenth


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (Decimal("NaN"), "NaN"),
        (Decimal("sNaN"), "sNaN"),
        (Decimal("Infinity"), "Infinity"),
        ("NaN", '"NaN"'),
        ("inf", '"inf"'),
        ("Infinity", '"Infinity"'),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ("1_000", '"1_000"'),
        ("", '""'),
        ("0x10", '"0x10"'),
        ("1 0", '"1 0"'),
        ("ten", '"ten"'),
        ([1], "a list"),
        ({"seconds": 1}, "an object"),
        (-1, "-1"),
        ("-0.5", '"-0.5"'),
        ("\u0661\u0662", '"\\u0661\\u0662"'),  # Arabic-Indic digits: not decimal text
    ],
    ids=repr,
)
def test_read_number_refuses_what_is_not_a_finite_number_in_range(
    value: object, found: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_number(value, TIME, "requests[2].time")

    assert str(raised.value) == (
        f"requests[2].time: expected a number of seconds, at least 0, found {found}"
    )
    assert raised.value.where == "requests[2].time"


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("1e309", '"1e309"'),
        (Decimal("1.7976931348623159e308"), "1.7976931348623159E+308"),
    ],
    ids=repr,
)
def test_a_number_past_a_double_is_refused_naming_the_bound(
    value: object, found: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_number(value, TIME, "requests[2].time")

    assert str(raised.value) == (
        "requests[2].time: expected a number of seconds, at least 0"
        f" (at most 1.7976931348623157E+308), found {found}"
    )


def test_a_rate_too_small_for_a_double_is_refused_naming_the_bound() -> None:
    with pytest.raises(InvalidInput) as raised:
        read_number("1e-310", REFILL_RATE, "refill_rate")

    assert str(raised.value) == (
        "refill_rate: expected a number of tokens per second, greater than 0"
        ' (at least 2.2250738585072014E-308), found "1e-310"'
    )


def test_an_integer_beyond_the_range_of_a_double_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^time: expected a number of seconds"):
        read_number(10**309, TIME, "time")


def test_the_largest_double_is_still_accepted() -> None:
    assert read_number(LARGEST_DOUBLE, TIME, "time") == Decimal(LARGEST_DOUBLE)


@pytest.mark.parametrize(
    ("rule", "accepted", "refused"),
    [
        (CAPACITY, ["1", "1.5", LARGEST_DOUBLE], ["0.999", "0", "-1", "1e309"]),
        (
            REFILL_RATE,
            ["0.001", SMALLEST_NORMAL_DOUBLE, "1e9", LARGEST_DOUBLE],
            ["0", "-0", "-1", "1e-310", "1e309"],
        ),
        (TIME, ["0", "-0", "0.000000001", LARGEST_DOUBLE], ["-1e-9", "1e309"]),
    ],
    ids=["capacity", "refill_rate", "time"],
)
def test_each_role_has_its_own_bounds(
    rule: NumberRule, accepted: list[str], refused: list[str]
) -> None:
    for text in accepted:
        assert read_number(text, rule, "x") == Decimal(text)
    for text in refused:
        with pytest.raises(InvalidInput):
            read_number(text, rule, "x")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (CAPACITY, "x: expected a number of tokens, at least 1, found 0"),
        (
            REFILL_RATE,
            "x: expected a number of tokens per second, greater than 0, found 0",
        ),
    ],
    ids=["capacity", "refill_rate"],
)
def test_the_message_says_what_the_role_accepts(rule: NumberRule, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_number(0, rule, "x")

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        ("0", 0),
        ("1.5", 1_500_000_000),
        ("0.000000001", 1),
        ("0.0000000019", 1),
        ("0.0000000009", 0),
        ("2.9999999999999", 2_999_999_999),
        ("1e-100000", 0),
        ("1e300", 10**309),
    ],
)
def test_nanoseconds_drops_digits_finer_than_a_nanosecond(
    seconds: str, expected: int
) -> None:
    assert nanoseconds(Decimal(seconds)) == expected


@pytest.mark.parametrize(
    ("hundredths", "text"),
    [
        (0, "0.0"),
        (1, "0.01"),
        (5, "0.05"),
        (25, "0.25"),
        (34, "0.34"),
        (50, "0.5"),
        (99, "0.99"),
        (100, "1.0"),
        (250, "2.5"),
        (400, "4.0"),
        (12345, "123.45"),
        (10**20, "1000000000000000000.0"),
    ],
)
def test_hundredths_text_shows_the_shortest_exact_decimal(
    hundredths: int, text: str
) -> None:
    assert hundredths_text(hundredths) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        ("0", "0.0"),
        ("10", "10.0"),
        ("0.5", "0.5"),
        ("2.50", "2.50"),
        ("1E+300", "1E+300"),
        ("0.0000000009", "9E-10"),
    ],
)
def test_seconds_text_echoes_a_time_as_a_json_number(seconds: str, text: str) -> None:
    assert seconds_text(Decimal(seconds)) == text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "null"),
        (True, "true"),
        ("alice", '"alice"'),
        ("x" * 50, '"' + "x" * 40 + '..."'),
        ([], "a list"),
        ({}, "an object"),
        (Decimal("1.5"), "1.5"),
        (10**50, "1" + "0" * 39 + "..."),
    ],
    ids=["null", "true", "short text", "long text", "list", "object", "number", "big"],
)
def test_describe_shows_a_found_value_briefly_as_json(
    value: object, shown: str
) -> None:
    assert describe(value) == shown


# The quick road for plain decimal text must agree with the Decimal road -----------

_TIME_TEXT = st.one_of(
    st.text(alphabet="0123456789.eE+- ", max_size=16),
    st.from_regex(r"[0-9]{1,20}(\.[0-9]{0,12})?", fullmatch=True),
    st.integers(min_value=-5, max_value=10**20),
)


@settings(max_examples=2000)
@given(_TIME_TEXT)
def test_timestamp_agrees_with_reading_the_decimal(value: str | int) -> None:
    try:
        number = read_number(value, TIME, "time")
    except InvalidInput as refused:
        with pytest.raises(InvalidInput) as also_refused:
            timestamp(value, "time")
        assert str(also_refused.value) == str(refused)
    else:
        assert timestamp(value, "time") == (nanoseconds(number), seconds_text(number))
