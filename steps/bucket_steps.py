"""Steps about configuration: the buckets users get, and configurations refused."""

from __future__ import annotations

from decimal import Decimal

from hamcrest import assert_that, contains_string, equal_to, has_length

from steps.support.drivers import no_traceback
from steps.support.gherkin import given, register_parameter_types, then
from steps.support.world import Context

register_parameter_types()


@given("by default buckets hold up to {capacity:Tokens} and refill at {rate:Rate}")
def given_default_bucket(context: Context, capacity: Decimal, rate: Decimal) -> None:
    """Given by default buckets hold up to 5 tokens and refill at 1 token per second"""
    context.state.set_bucket(None, capacity, rate)


@given("{user:User}'s bucket holds up to {capacity:Tokens} and refills at {rate:Rate}")
def given_own_bucket(
    context: Context, user: str, capacity: Decimal, rate: Decimal
) -> None:
    """Given alice's bucket holds up to 10 tokens and refills at 2 tokens per second"""
    context.state.set_bucket(user, capacity, rate)


@given('the default bucket\'s {setting:Setting} is misspelt "{key}"')
def given_misspelt_setting(context: Context, setting: str, key: str) -> None:
    """Given the default bucket's refill rate is misspelt "refil_rate\""""
    bucket = context.state.config["default"]
    bucket[key] = bucket.pop(setting)


@then("the configuration is refused, naming the {setting:Setting}")
def then_refused_naming_setting(context: Context, setting: str) -> None:
    """Then the configuration is refused, naming the refill rate"""
    _assert_refused(context, setting)


@then('the configuration is refused, naming "{name}"')
def then_refused_naming(context: Context, name: str) -> None:
    """Then the configuration is refused, naming "refil_rate\""""
    _assert_refused(context, name)


def _assert_refused(context: Context, name: str) -> None:
    refusal = context.state.refused()
    reason = f"the refusal of {context.state.asked_text()}"
    assert_that(refusal.status, equal_to(1), f"{reason}: exit status")
    assert_that(refusal.stdout, equal_to([]), f"{reason}: answers printed")
    assert_that(refusal.stderr, has_length(1), f"{reason}: lines on stderr")
    assert_that(refusal.stderr[0], no_traceback(), reason)
    assert_that(refusal.stderr[0], contains_string(name), reason)
