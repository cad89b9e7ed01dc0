"""Requests and answers, as features write them and as systems under test print them.

An ``Answer`` mirrors one answer line: user, time, decision, remaining and, on
a DENY, retry after. Numbers are exact ``Decimal`` values, so 4 equals 4.0 and
0.34 is exactly 0.34. Tables of answers are compared whole, and a failure
names the first answer that differs by its user and time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from hamcrest import assert_that, equal_to

from steps.support.gherkin import exact
from steps.support.schemas import read_json

__all__ = [
    "ANSWER_COLUMNS",
    "REQUEST_COLUMNS",
    "Answer",
    "AnswerTable",
    "Request",
    "answer_from_row",
    "answers_from_lines",
    "answers_from_table",
    "assert_answers",
    "requests_from_table",
]

REQUEST_COLUMNS: Final = ("user", "time")
ANSWER_COLUMNS: Final = ("user", "time", "decision", "remaining", "retry after")


@dataclass(frozen=True)
class Request:
    """One request: who makes it and when, in exact seconds."""

    user: str
    time: Decimal

    def __str__(self) -> str:
        return f"{self.user} at {self.time} s"


@dataclass(frozen=True, repr=False)
class Answer:
    """One answer: the decision on a request and what the bucket holds after it.

    ``retry_after`` is ``None`` on an ALLOW, as the answer line leaves it out.
    """

    user: str
    time: Decimal
    decision: str
    remaining: Decimal
    retry_after: Decimal | None = None

    @property
    def request(self) -> Request:
        """The request this answers, as the answer echoes it."""
        return Request(self.user, self.time)

    def __repr__(self) -> str:
        shown = f"{self.request}: {self.decision}, {self.remaining} left"
        if self.retry_after is not None:
            shown += f", retry after {self.retry_after} s"
        return shown


class AnswerTable(list[Answer]):
    """A list of answers that shows itself one answer a line, for failure messages."""

    def __repr__(self) -> str:
        if not self:
            return "(no answers)"
        return "".join(f"\n    {answer!r}" for answer in self)


def requests_from_table(table: Any) -> list[Request]:
    """The requests of a table with the columns user and time (seconds)."""
    table.require_columns(REQUEST_COLUMNS)
    return [Request(row["user"], exact(row["time"], "seconds")) for row in table]


def answers_from_table(table: Any) -> list[Answer]:
    """The answers of a table with the columns of ``ANSWER_COLUMNS``."""
    table.require_columns(ANSWER_COLUMNS)
    return [answer_from_row(row, exact(row["time"], "seconds")) for row in table]


def answer_from_row(row: Any, time: Decimal) -> Answer:
    """The answer at ``time`` in a table row; a blank retry after stands for none."""
    retry_after = row["retry after"]
    return Answer(
        user=row["user"],
        time=time,
        decision=row["decision"],
        remaining=exact(row["remaining"], "tokens"),
        retry_after=exact(retry_after, "seconds") if retry_after else None,
    )


def answers_from_lines(lines: Iterable[str]) -> list[Answer]:
    """The answers in JSON answer lines, each first checked against its schema."""
    return [_answer(read_json(line, "answer")) for line in lines]


def _answer(fields: dict[str, Any]) -> Answer:
    retry_after = fields.get("retry_after")
    return Answer(
        user=fields["user"],
        time=Decimal(fields["time"]),
        decision=fields["decision"],
        remaining=Decimal(fields["remaining"]),
        retry_after=None if retry_after is None else Decimal(retry_after),
    )


def assert_answers(actual: Sequence[Answer], expected: Sequence[Answer]) -> None:
    """Compare two tables of answers whole; the reason names the first difference."""
    assert_that(
        AnswerTable(actual),
        equal_to(AnswerTable(expected)),
        _difference(actual, expected),
    )


def _difference(actual: Sequence[Answer], expected: Sequence[Answer]) -> str:
    for number, (found, wanted) in enumerate(zip(actual, expected, strict=False), 1):
        if found != wanted:
            return f"answer {number}, to {wanted.request}, is not as expected"
    if len(actual) != len(expected):
        return f"{len(expected)} answers expected, {len(actual)} given"
    return "answers as expected"
