"""Steps that make requests: earlier ones whose answers do not matter, and new ones."""

from __future__ import annotations

from decimal import Decimal

from steps.support.answers import Request, requests_from_table
from steps.support.gherkin import given, register_parameter_types, when
from steps.support.world import Context

register_parameter_types()


@given("{user:User} has made {count:d} requests at {time:Seconds}")
def given_earlier_requests(
    context: Context, user: str, count: int, time: Decimal
) -> None:
    """Given alice has made 5 requests at 0 seconds"""
    context.state.earlier += [Request(user, time)] * count


@when("{user:User} makes a request at {time:Seconds}")
def when_one_request(context: Context, user: str, time: Decimal) -> None:
    """When alice makes a request at 2.5 seconds"""
    context.state.ask(context.suite, [Request(user, time)])


@when("these requests are made:")
def when_requests(context: Context) -> None:
    """When these requests are made: | user | time |"""
    context.state.ask(context.suite, requests_from_table(context.table))


@given("{user:User} has made a request at {time:Seconds}")
def given_earlier_request(context: Context, user: str, time: Decimal) -> None:
    """Given alice has made a request at 0 seconds"""
    context.state.earlier.append(Request(user, time))
