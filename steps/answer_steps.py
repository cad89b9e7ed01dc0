"""Steps that check answers: whole tables of them, or the answer to one request."""

from __future__ import annotations

from decimal import Decimal

from hamcrest import assert_that, equal_to

from steps.support.answers import Answer, answers_from_table, assert_answers
from steps.support.gherkin import register_parameter_types, then
from steps.support.world import Context

register_parameter_types()


@then("the answers are:")
def then_answers(context: Context) -> None:
    """Then the answers are: | user | time | decision | remaining | retry after |"""
    assert_answers(context.state.answered(), answers_from_table(context.table))


@then("{user:User} is allowed, with {tokens:Tokens} left")
def then_allowed(context: Context, user: str, tokens: Decimal) -> None:
    """Then alice is allowed, with 4 tokens left"""
    _assert_latest_answer(context, user, "ALLOW", tokens, None)


@then(
    "{user:User} is denied, with {tokens:Tokens} left and a retry after {wait:Seconds}"
)
def then_denied(context: Context, user: str, tokens: Decimal, wait: Decimal) -> None:
    """Then alice is denied, with 0.5 tokens left and a retry after 0.5 seconds"""
    _assert_latest_answer(context, user, "DENY", tokens, wait)


def _assert_latest_answer(
    context: Context,
    user: str,
    decision: str,
    remaining: Decimal,
    retry_after: Decimal | None,
) -> None:
    answers = context.state.answered()
    asked = context.state.asked
    theirs = [index for index, request in enumerate(asked) if request.user == user]
    if not theirs:
        raise AssertionError(f"expected a request by {user} in the step before")

    index = theirs[-1]
    request = asked[index]
    expected = Answer(user, request.time, decision, remaining, retry_after)
    actual = answers[index] if index < len(answers) else None
    assert_that(actual, equal_to(expected), f"the answer to {request}")
