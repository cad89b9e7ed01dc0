"""Exact numbers: reading decimal text without binary floating point, and display.

The precision model of the whole limiter lives here:

- capacities and refill rates are exact rationals, read from their decimal text;
- times are resolved to the nanosecond (finer digits are dropped, rounding
  toward zero), and held as whole nanoseconds;
- every accepted number lies within the range of a double, so that any JSON
  reader sees the value we see, and no integer we build can grow without bound;
- rounding happens only for display: ``remaining`` down, ``retry_after`` up,
  both to hundredths.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Final, NamedTuple

from limiter.errors import InvalidInput

__all__ = [
    "CAPACITY",
    "REFILL_RATE",
    "TIME",
    "NumberRule",
    "describe",
    "hundredths_text",
    "nanoseconds",
    "read_number",
    "seconds_text",
]

NANOS_PER_SECOND: Final = 1_000_000_000
_DOUBLE_MAX: Final = Decimal("1.7976931348623157e308")
_DOUBLE_MIN_NORMAL: Final = Decimal("2.2250738585072014e-308")

# Decimal text as people and CSV files write it; no NaN, no infinities, no "_".
_DECIMAL_TEXT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class NumberRule(NamedTuple):
    """What a number in one role must be: its bounds and the words for it."""

    accepted: str
    minimum: Decimal
    exclusive_minimum: bool = False

    def admits(self, value: Decimal) -> bool:
        """Whether ``value`` (already known to be finite) is within the bounds."""
        if value > _DOUBLE_MAX:
            return False
        if self.exclusive_minimum:
            return value > self.minimum
        return value >= self.minimum


TIME: Final = NumberRule("a number of seconds, at least 0", Decimal(0))
CAPACITY: Final = NumberRule("a number of tokens, at least 1", Decimal(1))
REFILL_RATE: Final = NumberRule(
    "a number of tokens per second, greater than 0", _DOUBLE_MIN_NORMAL
)


def read_number(value: object, rule: NumberRule, where: str) -> Decimal:
    """Return ``value`` as an exact ``Decimal`` that obeys ``rule``.

    Accepts an ``int``, a ``Decimal``, decimal text such as ``"0.1"`` or
    ``"1e3"``, or a ``float``, which is read as the shortest decimal that
    names it (``0.1`` is one tenth, not the binary number nearest to it).
    Raises ``InvalidInput`` naming ``where`` for anything else.
    """
    number = _as_decimal(value)
    if number is None or not number.is_finite() or not rule.admits(number):
        raise InvalidInput(where, f"expected {rule.accepted}, found {describe(value)}")
    return number


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):  # a bool is an int to Python, never a number to us
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(text := value.strip()):
        return Decimal(text)
    return None


def nanoseconds(seconds: Decimal) -> int:
    """Whole nanoseconds in ``seconds`` (a finite, non-negative ``Decimal``)."""
    numerator, denominator = seconds.as_integer_ratio()
    return numerator * NANOS_PER_SECOND // denominator


def seconds_text(seconds: Decimal) -> str:
    """The JSON number that echoes a time as it was given: ``0`` shows as ``0.0``."""
    text = str(seconds)
    if "." in text or "E" in text:
        return text
    return text + ".0"


def hundredths_text(hundredths: int) -> str:
    """Show a count of hundredths as a JSON number: 400 -> 4.0, 25 -> 0.25."""
    whole, part = divmod(hundredths, 100)
    if part == 0:
        return f"{whole}.0"
    if part % 10 == 0:
        return f"{whole}.{part // 10}"
    return f"{whole}.{part:02d}"


def describe(value: object, limit: int = 40) -> str:
    """Show a value found in input, briefly, the way it would look in JSON."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value[:limit])
        return shown if len(value) <= limit else shown[:-1] + '..."'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
