"""Inputs that have broken rate limiters, each with its right answer (see cases/).

A case either has answer lines, which the ``scenario`` command must print byte for
byte, or is a refusal: exit status 1, nothing on stdout, and one stderr line that
names the offending place. tests/cases/README.md says what fault each case stands
for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli

CASES = Path(__file__).parent / "cases"

ANSWERED = [
    "clock_going_backwards",
    "drift_at_refill_instant",
    "huge_elapsed_times_huge_rate",
    "long_idle_refill_capped",
    "partial_token_on_denial",
    "remaining_counts_down_to_zero",
    "slow_refill_ten_seconds",
    "third_of_a_second",
    "user_ids_told_apart",
]
REFUSED = [
    "capacity_below_one",
    "half_user_override",
    "misspelt_configuration_key",
    "time_before_zero",
    "zero_refill_rate",
]


def test_every_case_is_listed_with_exactly_one_expectation() -> None:
    inputs = {
        path.name.removesuffix(".json")
        for path in CASES.glob("*.json")
        if not path.name.endswith(".refused.json")
    }
    answered = {p.name.removesuffix(".expected.jsonl") for p in CASES.glob("*.jsonl")}
    refused = {
        p.name.removesuffix(".refused.json") for p in CASES.glob("*.refused.json")
    }

    assert inputs == set(ANSWERED) | set(REFUSED)
    assert answered == set(ANSWERED)
    assert refused == set(REFUSED)


@pytest.mark.parametrize("name", ANSWERED)
def test_an_answered_case_prints_exactly_its_expected_lines(
    cli: Cli, name: str
) -> None:
    expected = (CASES / f"{name}.expected.jsonl").read_text(encoding="utf-8")

    result = cli("scenario", "--file", CASES / f"{name}.json")

    assert result.err == ""
    assert result.status == 0
    assert result.out == expected


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_case_gets_one_error_line_naming_the_place(
    cli: Cli, name: str
) -> None:
    refusal = json.loads((CASES / f"{name}.refused.json").read_text(encoding="utf-8"))
    path = CASES / f"{name}.json"

    result = cli("scenario", "--file", path)

    assert result.status == refusal["exit_status"]
    assert result.out == ""
    line = result.error_line()
    assert line.startswith(f"limiter: {path}: {refusal['where']}: "), line
    for phrase in refusal["mentions"]:
        assert phrase in line, f"{phrase!r} not in {line!r}"
