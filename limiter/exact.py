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
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_FLOOR,
    Context,
    Decimal,
    InvalidOperation,
)

from limiter.errors import InvalidInput

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

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
    "timestamp",
]

NANOS_PER_SECOND: Final = 1_000_000_000
_DOUBLE_MAX: Final = Decimal("1.7976931348623157e308")
_DOUBLE_MIN_NORMAL: Final = Decimal("2.2250738585072014e-308")

# Arithmetic that never rounds but where asked to, and then toward minus infinity.
_FLOOR: Final = Context(
    prec=MAX_PREC, rounding=ROUND_FLOOR, Emax=MAX_EMAX, Emin=MIN_EMIN
)

# Times that timestamp() reads without Decimal: whole seconds below 10**18 and
# at most nine decimals, written as Decimal would write them back.
_LARGEST_PLAIN_SECONDS: Final = 10**18 - 1
_PLAIN_TIME: Final = re.compile(r"(0|[1-9][0-9]{0,17})(?:\.([0-9]{1,9}))?")

# Decimal text as people and CSV files write it; no NaN, no infinities, no "_".
_DECIMAL_TEXT: Final = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)


class NumberRule:
    """What a number in one role must be: the words for it and its least value.

    No number may exceed the largest double; a rate must be no smaller than the
    smallest normal one, the nearest to "greater than 0" a double can say.
    """

    __slots__ = ("accepted", "minimum")

    def __init__(self, accepted: str, minimum: Decimal) -> None:
        self.accepted = accepted
        self.minimum = minimum

    def __repr__(self) -> str:
        return f"NumberRule({self.accepted!r}, minimum={str(self.minimum)!r})"

    def out_of_range(self, value: Decimal) -> str:
        """The bound a finite ``value`` breaks, as words, or "" if it breaks none."""
        if value > _DOUBLE_MAX:
            return f"at most {_DOUBLE_MAX}"
        if value < self.minimum:
            return f"at least {self.minimum}" if value > 0 else "in range"
        return ""


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
    expected = rule.accepted
    if number is not None and number.is_finite():
        bound = rule.out_of_range(number)
        if not bound:
            return number
        if bound != "in range" and bound not in expected:
            expected += f" ({bound})"
    raise InvalidInput(where, f"expected {expected}, found {describe(value)}")


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):  # a bool is an int to Python, never a number to us
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(text := value.strip()):
        return decimal_or_none(text)
    return None


def decimal_or_none(text: str) -> Decimal | None:
    """``Decimal(text)``, or ``None`` where the exponent is past what it can hold."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def nanoseconds(seconds: Decimal) -> int:
    """Whole nanoseconds in ``seconds`` (a finite, non-negative ``Decimal``).

    Digits finer than a nanosecond are dropped before any integer is built, so
    ``1e-10000000`` costs no more than ``0``.
    """
    return int(_FLOOR.to_integral_value(_FLOOR.scaleb(seconds, 9)))


def seconds_text(seconds: Decimal) -> str:
    """The JSON number that echoes a time as it was given: ``0`` shows as ``0.0``."""
    text = str(seconds)
    if "." in text or "E" in text:
        return text
    return text + ".0"


def timestamp(value: object, where: str) -> tuple[int, str]:
    """A request's time as whole nanoseconds and the JSON number that echoes it.

    ``value`` is anything ``read_number`` takes. Plain decimal text, as request
    logs carry it (``804571201``, ``0.25``), is read straight into integers;
    everything else goes through ``Decimal``, with the same result.
    """
    if type(value) is int and 0 <= value <= _LARGEST_PLAIN_SECONDS:
        return value * NANOS_PER_SECOND, f"{value}.0"
    if isinstance(value, str):
        plain = _PLAIN_TIME.fullmatch(value)
        # Decimal writes 0.0000001 as 1E-7; leave such times to it.
        if plain and not value.startswith("0.000000"):
            whole, fraction = plain.groups()
            nanos = int(fraction.ljust(9, "0")) if fraction else 0
            text = str(value)
            shown = text if fraction else text + ".0"
            return int(whole) * NANOS_PER_SECOND + nanos, shown
    number = read_number(value, TIME, where)
    return nanoseconds(number), seconds_text(number)


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
    if type(value) is str:  # a subclass, such as a JSON number's text, shows bare
        shown = json.dumps(value[:limit])
        return shown if len(value) <= limit else shown[:-1] + '..."'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
