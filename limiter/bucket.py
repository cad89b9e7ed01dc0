"""The token bucket arithmetic: refill, decide, take or deny, answer.

A bucket's content is kept as a whole number of *units*, where one token is
``unit`` units. The unit is chosen from the capacity and the refill rate so
that the capacity and the tokens gained in one nanosecond are whole units too.
Every decision is then integer arithmetic, exactly what rational arithmetic
gives, however many requests a bucket sees.

The live state of one user's bucket is one integer that packs two: the time
of its latest request in nanoseconds and the units it held just after it,
``last << shift | units``. One integer per user costs about half the memory of
a pair, and packing and unpacking are a shift and a mask.
"""

from __future__ import annotations

import math
from decimal import Decimal
from operator import itemgetter

from limiter.exact import CAPACITY, NANOS_PER_SECOND, REFILL_RATE, read_number

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from fractions import Fraction
    from typing import Final, TypeAlias

__all__ = ["BucketConfig", "Decision", "State"]

State: TypeAlias = int
"""One bucket's live state, ``last << shift | units``: see the module's text."""

_HUNDREDTHS: Final = 100
_new_decision = tuple.__new__  # builds a Decision without a Python-level __init__


class BucketConfig:
    """A bucket's shape: ``capacity`` tokens at most, ``refill_rate`` tokens a second.

    Both are exact ``Decimal`` values; the capacity is at least 1 and the rate
    is greater than 0. ``take`` is the whole of the token bucket algorithm.
    """

    __slots__ = (
        "capacity",
        "full",
        "gain",
        "mask",
        "refill_rate",
        "refill_time",
        "shift",
        "unit",
    )

    capacity: Decimal
    refill_rate: Decimal
    unit: int  # units in one token
    full: int  # units in a full bucket
    gain: int  # units gained per nanosecond
    shift: int  # bits that hold the units in a packed state
    mask: int  # those bits set
    refill_time: int  # nanoseconds from empty to full

    def __init__(
        self, capacity: object, refill_rate: object, where: str = "bucket"
    ) -> None:
        self.capacity = read_number(capacity, CAPACITY, f"{where}.capacity")
        self.refill_rate = read_number(refill_rate, REFILL_RATE, f"{where}.refill_rate")

        cap_num, cap_den = self.capacity.as_integer_ratio()
        rate_num, rate_den = self.refill_rate.as_integer_ratio()
        per_nanosecond_den = rate_den * NANOS_PER_SECOND
        self.unit = math.lcm(cap_den, per_nanosecond_den)
        self.full = cap_num * (self.unit // cap_den)
        self.gain = rate_num * (self.unit // per_nanosecond_den)
        self.shift = self.full.bit_length()
        self.mask = (1 << self.shift) - 1
        self.refill_time = -(-self.full // self.gain)

    def take(self, state: State | None, now: int) -> tuple[State, Decision]:
        """Answer one request at ``now`` (nanoseconds) for a bucket in ``state``.

        ``None`` is a bucket never seen: it starts full. Returns the new state and
        the decision. A ``now`` earlier than the bucket's last request counts as
        no time at all: it neither adds tokens nor moves the bucket's clock back.
        """
        # Refill: lazily, for the time since the last request, up to capacity.
        # (``unpack`` and ``pack`` written out, as this is the hot path.)
        if state is None:
            units = self.full
        else:
            last = state >> self.shift
            units = state & self.mask
            if now > last:
                units += (now - last) * self.gain
                if units > self.full:  # noqa: PLR1730 (cheaper than min() here)
                    units = self.full
            else:
                now = last

        # Decide: one whole token allows the request and is taken from the bucket.
        allowed = units >= self.unit
        if allowed:
            units -= self.unit
        return now << self.shift | units, _new_decision(
            Decision, (allowed, units, self)
        )

    def pack(self, last: int, units: int) -> State:
        """The state of a bucket last asked at ``last`` (ns), holding ``units``."""
        return last << self.shift | units

    def unpack(self, state: State) -> tuple[int, int]:
        """``(last, units)`` of a packed ``state``: the inverse of ``pack``."""
        return state >> self.shift, state & self.mask

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BucketConfig):
            return NotImplemented
        return (self.capacity, self.refill_rate) == (other.capacity, other.refill_rate)

    def __hash__(self) -> int:
        return hash((self.capacity, self.refill_rate))

    def __repr__(self) -> str:
        return (
            f"BucketConfig(capacity={str(self.capacity)!r}, "
            f"refill_rate={str(self.refill_rate)!r})"
        )


class Decision(tuple[bool, int, BucketConfig]):
    """The answer to one request: ALLOW or DENY, with what the bucket holds.

    ``remaining`` is the exact number of tokens left after the request and
    ``retry_after`` the exact seconds until the bucket holds one whole token
    (0 when the request was allowed). ``remaining_hundredths`` and
    ``retry_after_hundredths`` are the same values rounded for display: down
    and up respectively, so neither overstates what the bucket can give.
    """

    # A tuple (allowed, units, bucket): the cheapest object Python can build.
    __slots__ = ()

    def __new__(cls, allowed: bool, units: int, bucket: BucketConfig) -> Decision:
        """A decision with ``units`` left in ``bucket``; see ``BucketConfig``."""
        return _new_decision(cls, (allowed, units, bucket))

    allowed: bool = property(  # type: ignore[assignment]
        itemgetter(0), doc="Whether the request was allowed (and one token taken)."
    )
    _units: int = property(itemgetter(1))  # type: ignore[assignment]
    _bucket: BucketConfig = property(itemgetter(2))  # type: ignore[assignment]

    @property
    def decision(self) -> str:
        """``"ALLOW"`` or ``"DENY"``."""
        return "ALLOW" if self.allowed else "DENY"

    @property
    def remaining(self) -> Fraction:
        """Tokens left in the bucket after this request, exactly."""
        from fractions import Fraction  # here, as `limiter check` never needs it

        return Fraction(self._units, self._bucket.unit)

    @property
    def retry_after(self) -> Fraction:
        """Seconds until one whole token is back, exactly; 0 for an allowed request."""
        from fractions import Fraction

        if self.allowed:
            return Fraction(0)
        missing = self._bucket.unit - self._units
        return Fraction(missing, self._bucket.gain * NANOS_PER_SECOND)

    @property
    def remaining_hundredths(self) -> int:
        """``remaining`` in hundredths of a token, rounded down."""
        return self._units * _HUNDREDTHS // self._bucket.unit

    @property
    def retry_after_hundredths(self) -> int:
        """``retry_after`` in hundredths of a second, rounded up."""
        if self.allowed:
            return 0
        missing = self._bucket.unit - self._units
        return -(-missing * _HUNDREDTHS // (self._bucket.gain * NANOS_PER_SECOND))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[bool, Fraction, Fraction]:
        return self.allowed, self.remaining, self.retry_after

    def __repr__(self) -> str:
        shown = f"Decision({self.decision}, remaining={self.remaining}"
        if not self.allowed:
            shown += f", retry_after={self.retry_after}"
        return shown + ")"
