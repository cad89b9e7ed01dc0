"""Steps for the command line: files, the command run, exit status and streams.

A command in a feature starts with ``limiter``, which stands for the command
under test: ``python -m limiter`` unless ``-D command=...`` names another.
"""

from __future__ import annotations

import json
import re
import shlex

from hamcrest import (
    assert_that,
    contains_string,
    equal_to,
    greater_than_or_equal_to,
    has_length,
    less_than_or_equal_to,
    matches_regexp,
)

from steps.support.answers import (
    answer_from_row,
    answers_from_lines,
    answers_from_table,
    assert_answers,
)
from steps.support.drivers import no_traceback
from steps.support.gherkin import given, register_parameter_types, then, when
from steps.support.world import Context

register_parameter_types()

_KEYS = ["user", "time", "decision", "remaining"]
_CLOCK_SLACK = 1  # seconds a command may round or lag the wall clock by


@given('a file "{name}" containing:')
def given_file(context: Context, name: str) -> None:
    """Given a file "scenario.json" containing: (the text as a docstring)"""
    (context.state.folder / name).write_text(context.text or "", encoding="utf-8")


@given("these files:")
def given_files(context: Context) -> None:
    """Given these files: | file | contents |"""
    context.table.require_columns(["file", "contents"])
    for row in context.table:
        (context.state.folder / row["file"]).write_text(row["contents"], "utf-8")


@when("I run `{command}`")
def when_run(context: Context, command: str) -> None:
    """When I run `limiter check --user alice --time 0`"""
    program, *args = shlex.split(command)
    assert_that(program, equal_to("limiter"), f"the program in `{command}`")
    context.state.ran = context.suite.command.run(args, context.state.folder)


@then("it exits with status {status:d}")
def then_exit_status(context: Context, status: int) -> None:
    """Then it exits with status 0"""
    ran = context.state.finished()
    assert_that(ran.status, equal_to(status), f"{ran}, stderr: {ran.stderr!r}")


@then("stdout is empty")
def then_stdout_empty(context: Context) -> None:
    """Then stdout is empty"""
    ran = context.state.finished()
    assert_that(ran.stdout, equal_to(""), f"stdout of {ran}")


@then("stderr is one line, with no traceback")
def then_stderr_one_line(context: Context) -> None:
    """Then stderr is one line, with no traceback"""
    ran = context.state.finished()
    assert_that(ran.stderr_lines, has_length(1), f"stderr of {ran}: {ran.stderr!r}")
    assert_that(ran.stderr, no_traceback(), f"stderr of {ran}")


@then('that line names "{text}"')
def then_stderr_names(context: Context, text: str) -> None:
    """Then that line names "--time\""""
    ran = context.state.finished()
    assert_that(ran.stderr, contains_string(text), f"stderr of {ran}")


@then('that line names line {number:d} of "{name}"')
def then_stderr_names_line(context: Context, number: int, name: str) -> None:
    """Then that line names line 3 of "trace.jsonl"

    As "line 3", or the way compilers do, as "trace.jsonl:3".
    """
    ran = context.state.finished()
    place = rf"\bline {number}\b|{re.escape(name)}:{number}\b"
    assert_that(ran.stderr, matches_regexp(place), f"stderr of {ran}")


@then("stdout has these answers:")
def then_stdout_answers(context: Context) -> None:
    """Then stdout has these answers: | user | time | decision | remaining | ... |"""
    actual = answers_from_lines(context.state.finished().stdout_lines)
    assert_answers(actual, answers_from_table(context.table))


@then("every answer line has its keys in the order of the contract")
def then_key_order(context: Context) -> None:
    """Then every answer line has its keys in the order of the contract"""
    for line in context.state.finished().stdout_lines:
        answer = answers_from_lines([line])[0]
        keys = json.loads(line, object_pairs_hook=_keys)
        expected = _KEYS + (["retry_after"] if answer.decision == "DENY" else [])
        assert_that(
            keys, equal_to(expected), f"the keys of the answer to {answer.request}"
        )


def _keys(pairs: list[tuple[str, object]]) -> list[str]:
    return [key for key, _ in pairs]


@then("stdout has one answer, made at the wall clock time of the run:")
def then_wall_clock_answer(context: Context) -> None:
    """Then stdout has one answer, made at the wall clock time of the run: | user |"""
    context.table.require_columns(["user", "decision", "remaining", "retry after"])
    ran = context.state.finished()
    answers = answers_from_lines(ran.stdout_lines)
    assert_that(answers, has_length(1), f"the answers of {ran}")

    time = answers[0].time
    reason = f"the time of {answers[0].user}'s request, run from {ran.started} s"
    assert_that(time, greater_than_or_equal_to(ran.started - _CLOCK_SLACK), reason)
    assert_that(time, less_than_or_equal_to(ran.ended + _CLOCK_SLACK), reason)
    assert_answers(answers, [answer_from_row(context.table[0], time)])
