"""The Gherkin side of the glue: typed step decorators and parameter types.

behave ships no type information, so its ``given``, ``when`` and ``then`` are
wrapped here with signatures that keep mypy checking the steps they decorate.

The parameter types read a number with its unit, the way features write it:
``{time:Seconds}`` matches "2.5 seconds", ``{tokens:Tokens}`` "1 token" and
``{rate:Rate}`` "0.1 tokens per second"; each gives an exact ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

import behave

__all__ = [
    "Quantity",
    "Setting",
    "exact",
    "given",
    "register_parameter_types",
    "then",
    "when",
]

StepFunction = TypeVar("StepFunction", bound=Callable[..., None])

_NUMBER: Final = r"-?\d+(?:\.\d+)?"


def given(pattern: str) -> Callable[[StepFunction], StepFunction]:
    """behave's ``@given``, typed: registers the step and returns it unchanged."""
    decorator: Callable[[StepFunction], StepFunction] = behave.given(pattern)
    return decorator


def when(pattern: str) -> Callable[[StepFunction], StepFunction]:
    """behave's ``@when``, typed: registers the step and returns it unchanged."""
    decorator: Callable[[StepFunction], StepFunction] = behave.when(pattern)
    return decorator


def then(pattern: str) -> Callable[[StepFunction], StepFunction]:
    """behave's ``@then``, typed: registers the step and returns it unchanged."""
    decorator: Callable[[StepFunction], StepFunction] = behave.then(pattern)
    return decorator


def exact(text: str, what: str = "a number") -> Decimal:
    """``text`` (decimal digits, as a feature writes them) as an exact ``Decimal``."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"expected {what}, found {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected {what}, found {text!r}")
    return number


class Quantity:
    """A parameter type: a number followed by its unit, read as an exact Decimal.

    parse, behind behave, takes the regular expression from ``pattern``.
    """

    regex_group_count = 0

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.pattern = rf"{_NUMBER} {unit}"

    def __call__(self, text: str) -> Decimal:
        return exact(text.split(" ", 1)[0])

    def __repr__(self) -> str:
        return f"Quantity({self.unit!r})"


class Setting:
    """A parameter type: a bucket setting in words, given as its name in a file."""

    regex_group_count = 0
    pattern = r"capacity|refill rate"

    def __call__(self, text: str) -> str:
        return text.replace(" ", "_")


class _User:
    """A parameter type: a user id of one word, such as alice or premium_user."""

    regex_group_count = 0
    pattern = r"[A-Za-z][\w.-]*"

    def __call__(self, text: str) -> str:
        return text


def register_parameter_types() -> None:
    """Make Seconds, Tokens, Rate, User and Setting known to step patterns.

    Call it in every step module before its steps: a pattern can use only the
    types registered when it is defined. Registering again changes nothing.
    """
    behave.register_type(
        Seconds=Quantity("seconds?"),
        Tokens=Quantity("tokens?"),
        Rate=Quantity("tokens? per second"),
        User=_User(),
        Setting=Setting(),
    )
