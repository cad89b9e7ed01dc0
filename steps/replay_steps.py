"""Steps for replayed request logs: the summary a replay prints with --summary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from hamcrest import assert_that, equal_to

from steps.support.gherkin import exact, register_parameter_types, then
from steps.support.schemas import read_json
from steps.support.world import Context

register_parameter_types()

_TOTALS = ["requests", "allowed", "denied", "users", "throttled users"]


class Throttled(NamedTuple):
    """One of the most throttled users in a summary, with exact numbers."""

    user: str
    denied: Decimal
    requests: Decimal
    first_denied_at: Decimal


@then("stdout is one summary, with these totals:")
def then_summary_totals(context: Context) -> None:
    """Then stdout is one summary, with these totals: | requests | allowed | ... |"""
    context.table.require_columns(_TOTALS)
    ran = context.state.finished()
    summary = context.state.summary = read_json(ran.stdout, "summary")

    expected = {name: exact(context.table[0][name]) for name in _TOTALS}
    actual = {name: Decimal(summary[name.replace(" ", "_")]) for name in _TOTALS}
    assert_that(actual, equal_to(expected), f"the totals of {ran}")


@then("the most throttled users are:")
def then_most_throttled(context: Context) -> None:
    """Then the most throttled users are: | user | denied | ... | first denied at |"""
    context.table.require_columns(["user", "denied", "requests", "first denied at"])
    summary = context.state.summary
    if summary is None:
        raise AssertionError("expected a summary read by an earlier step")

    expected = [_from_row(row) for row in context.table]
    actual = [_from_summary(entry) for entry in summary["most_throttled"]]
    assert_that(
        actual, equal_to(expected), "the most throttled users, most denied first"
    )


def _from_row(row: Any) -> Throttled:
    return Throttled(
        row["user"],
        exact(row["denied"]),
        exact(row["requests"]),
        exact(row["first denied at"], "seconds"),
    )


def _from_summary(entry: dict[str, Any]) -> Throttled:
    return Throttled(
        entry["user"],
        Decimal(entry["denied"]),
        Decimal(entry["requests"]),
        Decimal(entry["first_denied_at"]),
    )
