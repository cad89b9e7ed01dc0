"""Hypothesis strategies: configurations and long streams of requests.

A stream is long (up to a few thousand requests), and drawing every request from
Hypothesis one by one costs a fraction of a millisecond each, too slow for
thousands of examples. So Hypothesis draws a *recipe*, a handful of numbers that
say how the stream looks (how many users, how many requests, how time moves, a
seed), and a seeded ``random.Random`` writes the requests from it. The requests
are written one after another, so a shorter stream of the same recipe is a prefix
of a longer one: shrinking the length shrinks a failure to the request that shows
it.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from model import Request

__all__ = [
    "MAX_REQUESTS",
    "Scenario",
    "between",
    "buckets",
    "capacities",
    "decimal_text",
    "refill_rates",
    "scenarios",
]

MAX_REQUESTS = 3000
"""The longest stream drawn."""

# The most requests a stream may have, drawn first: short streams are the most
# common (they are cheap and shrink well), one in forty may run to the maximum.
_LENGTH_LIMITS = (30,) * 30 + (200,) * 9 + (MAX_REQUESTS,)

# How time moves from one request to the next, as weights of: the same time, a
# step forward, a leap forward (buckets refill), a step back (a late arrival).
_TIME_PATTERNS = (
    (0, 1, 0, 0),
    (1, 1, 0, 0),
    (3, 1, 0, 0),
    (1, 3, 1, 0),
    (1, 1, 0, 1),
    (3, 3, 1, 1),
    (6, 2, 1, 1),
    (0, 3, 1, 2),
)

# User ids the specification allows but code may mishandle: case, a trailing
# space, letters outside ASCII, JSON's special characters, a line separator.
_NAMED_USERS = (
    "alice",
    "bob",
    "Alice",
    "alice ",
    "ü",
    "名前",
    'say "hi"',
    "back\\slash",
    "line\u2028separator",
    "😀",
)

_SHOWN_REQUESTS = 40  # a scenario up to this long shows every request in its repr


@functools.cache
def between(least: int, most: int) -> st.SearchStrategy[int]:
    """``st.integers(least, most)``, built once.

    Building a strategy while drawing costs more than the draw itself, and these
    bounds recur: each strategy is made the first time it is asked for and kept.
    """
    return st.integers(least, most)


def decimal_text(units: int, digits: int) -> str:
    """``units`` counted in steps of ``10**-digits``, as decimal text.

    ``decimal_text(25, 1)`` is ``"2.5"``, ``decimal_text(7, 0)`` is ``"7"``; the
    text is a JSON number too.
    """
    if digits == 0:
        return str(units)
    whole, part = divmod(units, 10**digits)
    return f"{whole}.{part:0{digits}d}"


@st.composite
def _decimal_text(
    draw: st.DrawFn, known: Sequence[str], least: int, magnitudes: Sequence[int]
) -> str:
    """Decimal text of at least ``10**least``, with 0 to 3 decimals.

    One time in five it is one of the ``known`` values. Otherwise an order of
    magnitude ``m`` is picked from ``magnitudes`` and the value drawn up to
    ``10**m``: small orders listed more often are drawn more often.
    """
    digits = draw(between(-1, 3))
    if digits < 0:
        return known[draw(between(0, len(known) - 1))]
    lowest = max(0, least + digits)  # 10**lowest units is the least value drawn
    magnitude = magnitudes[draw(between(0, len(magnitudes) - 1))]
    units = draw(between(10**lowest, 10 ** max(lowest, magnitude + digits)))
    return decimal_text(units, digits)


# Small capacities are listed more often: a stream of a few dozen requests must be
# able to empty a bucket for a denial to be seen.
_CAPACITY_MAGNITUDES = (0, 0, 1, 1, 2, 3, 4, 5, 6)
_RATE_MAGNITUDES = (-3, -2, -1, 0, 0, 1, 2, 3, 4, 5, 6)


def capacities() -> st.SearchStrategy[str]:
    """Capacities from 1 to 10**6 tokens as decimal text, whole or not (2.5, 1.001)."""
    known = ("1", "2.5", "1.001", "3", "5", "1000000")
    return _decimal_text(known, 0, _CAPACITY_MAGNITUDES)


def refill_rates() -> st.SearchStrategy[str]:
    """Refill rates from 0.001 to 10**6 tokens a second, as decimal text."""
    known = ("1", "0.5", "3", "0.1", "0.001", "1000000")
    return _decimal_text(known, -3, _RATE_MAGNITUDES)


def buckets() -> st.SearchStrategy[dict[str, str]]:
    """One bucket's settings, as in a configuration: capacity and refill_rate."""
    return st.builds(
        lambda capacity, rate: {"capacity": capacity, "refill_rate": rate},
        capacities(),
        refill_rates(),
    )


class Scenario:
    """A configuration, the requests to answer against it, and how they were made.

    ``config`` is shaped like a scenario file's configuration, with every number
    as decimal text; each request is a user and a time as decimal text. A failing
    example prints its ``repr``, which lists the requests of a short stream and
    only the recipe of a long one (Hypothesis prints a dataclass field by field,
    thousands of requests included, hence a plain class).
    """

    __slots__ = ("config", "recipe", "requests")

    def __init__(
        self, config: dict[str, Any], requests: list[Request], recipe: str
    ) -> None:
        self.config = config
        self.requests = requests
        self.recipe = recipe

    def users(self) -> list[str]:
        """Every user that makes a request, in the order of their first."""
        return list(dict.fromkeys(user for user, _ in self.requests))

    def __repr__(self) -> str:
        if len(self.requests) <= _SHOWN_REQUESTS:
            shown = repr(self.requests)
        else:
            shown = f"<{len(self.requests)} requests>"
        return f"Scenario(config={self.config!r}, requests={shown}, {self.recipe!r})"


@dataclass(frozen=True)
class _Recipe:
    """How a stream of requests is written; see ``_write_requests``."""

    length: int
    users: Sequence[str]
    skew: int  # 1 spreads requests evenly over users; more favours the first ones
    digits: int  # decimals in each time; time moves in steps of 10**-digits
    finer: bool  # add up to three digits finer than a nanosecond to each time
    start: int  # the first time, in steps
    stride: int  # the longest ordinary step forward
    weights: tuple[int, int, int, int]  # same time, step, leap forward, step back
    seed: int


@st.composite
def _recipes(draw: st.DrawFn, most_requests: int) -> _Recipe:
    few = draw(st.booleans())  # a stream of few users has more requests for each
    user_count = draw(between(1, 3 if few else 50))
    users = [
        _NAMED_USERS[index] if index < len(_NAMED_USERS) else f"user{index}"
        for index in range(user_count)
    ]
    limit = _LENGTH_LIMITS[draw(between(0, len(_LENGTH_LIMITS) - 1))]
    length = draw(between(1, min(limit, most_requests)))
    digits = draw(between(0, 9))
    finer = digits == 9 and draw(st.booleans())
    start = draw(between(0, 10**10)) if draw(st.booleans()) else 0
    stride = draw(between(1, 10 ** draw(between(0, 9))))
    return _Recipe(
        length=length,
        users=users,
        skew=(1, 2, 4)[draw(between(0, 2))],
        digits=digits,
        finer=finer,
        start=start * 10**digits,
        stride=stride,
        weights=_TIME_PATTERNS[draw(between(0, len(_TIME_PATTERNS) - 1))],
        seed=draw(between(0, 2**32 - 1)),
    )


def _write_requests(recipe: _Recipe) -> list[Request]:
    """The stream a recipe describes.

    A clock starts at ``start`` and each request, by the recipe's weights, comes at
    the same time as the one before, a step of up to ``stride`` later, a leap of up
    to a thousand strides later, or up to ten strides earlier than the clock
    (which stays where it was: a request that arrived late).
    """
    rng = random.Random(recipe.seed)
    same, step, leap, back = recipe.weights
    users, skew = recipe.users, recipe.skew
    clock = recipe.start
    requests = []
    for _ in range(recipe.length):
        kind = rng.randrange(same + step + leap + back)
        if kind < same:
            time = clock
        elif kind < same + step:
            clock += rng.randint(1, recipe.stride)
            time = clock
        elif kind < same + step + leap:
            clock += rng.randint(1, 1000 * recipe.stride)
            time = clock
        else:
            time = max(0, clock - rng.randint(1, 10 * recipe.stride))

        text = decimal_text(time, recipe.digits)
        if recipe.finer:
            text += str(rng.randint(0, 999))
        user = users[int(len(users) * rng.random() ** skew)]
        requests.append((user, text))
    return requests


def scenarios(most_requests: int = MAX_REQUESTS) -> st.SearchStrategy[Scenario]:
    """A configuration and a stream of 1 to ``most_requests`` requests against it.

    Up to 50 users; up to three of them have settings of their own. Times have up
    to 9 decimals (in some streams a few more, which the limiter drops), repeat
    often, and now and then go backwards.
    """
    return _scenarios(_recipes(most_requests))


_BUCKETS = buckets()


@st.composite
def _scenarios(draw: st.DrawFn, recipes: st.SearchStrategy[_Recipe]) -> Scenario:
    recipe = draw(recipes)
    config: dict[str, Any] = {"default": draw(_BUCKETS)}
    users: dict[str, dict[str, str]] = {}
    for _ in range(draw(between(0, 3))):
        user = recipe.users[draw(between(0, len(recipe.users) - 1))]
        users[user] = draw(_BUCKETS)
    if users:
        config["users"] = users

    shown = (
        f"{recipe.length} requests, {len(recipe.users)} users "
        f"(skew {recipe.skew}), {recipe.digits} decimals"
        f"{' and finer' if recipe.finer else ''}, start {recipe.start}, "
        f"stride {recipe.stride}, weights {recipe.weights}, seed {recipe.seed}"
    )
    return Scenario(config, _write_requests(recipe), shown)
