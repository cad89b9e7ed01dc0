"""Pictures of each user's tokens over time, for ``limiter plot``.

The tokens come from the engine: every request is answered by a ``Limiter``, and
its decision says what the bucket held before the request and after it. Between
two requests a bucket refills in a straight line at its refill rate until it is
full, so the line from one request to the next is known exactly: a rise, then a
kink where it reaches capacity and a flat stretch. ``token_series`` works out
those points as exact fractions; ``draw`` rounds them to floats for matplotlib,
the one module here that needs it, imported only to draw.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple, TextIO, TypeAlias

from limiter.bucket import BucketConfig, Decision
from limiter.config import Config
from limiter.errors import InvalidInput, LimiterError
from limiter.exact import NANOS_PER_SECOND, describe, nanoseconds
from limiter.registry import Limiter

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

__all__ = [
    "DEFAULT_TOP",
    "FORMATS",
    "MOST_USERS",
    "Point",
    "Series",
    "busiest",
    "decide",
    "draw",
    "picture_format",
    "plot_scenario",
    "plot_trace",
    "require_matplotlib",
    "token_series",
]

Point: TypeAlias = tuple[Fraction, Fraction]
"""A time in seconds and the tokens a bucket holds then."""

Decided: TypeAlias = list[tuple[int, Decision]]
"""One user's requests in order: each one's time in nanoseconds, and its decision."""

FORMATS = {".png": "png", ".svg": "svg"}
"""The endings of an output file name, and the picture format each one asks for."""

DEFAULT_TOP = 3
"""How many of a trace's busiest users are drawn when none are named."""

MOST_USERS = 10
"""The most users one picture holds, one panel each, before it stops being legible."""

_SALT = "limiter"  # fixes the ids inside an SVG, so the same input draws the same file


class Series(NamedTuple):
    """One user's tokens over time, ready to draw; every number exact.

    ``points`` is the line: refills between requests and the drop of one token
    at each allowed request, in order, ending when the bucket is full again.
    ``allowed`` and ``denied`` place each request at its time and the tokens it
    found there, before any was taken.
    """

    user: str
    bucket: BucketConfig
    points: list[Point]
    allowed: list[Point]
    denied: list[Point]


def decide(
    config: Config,
    requests: Iterable[tuple[str, int]],
    users: Collection[str] | None = None,
) -> dict[str, Decided]:
    """Answer ``(user, nanoseconds)`` requests in order with one ``Limiter(config)``.

    Returns the decisions of ``users`` (of everyone, by default), by user, in
    the order each user was first met.
    """
    limiter = Limiter(config)
    decided: dict[str, Decided] = {}
    for user, now in requests:
        decision = limiter.check_ns(user, now)
        if users is None or user in users:
            decided.setdefault(user, []).append((now, decision))
    return decided


def token_series(
    user: str,
    bucket: BucketConfig,
    decided: Sequence[tuple[int, Decision]],
    until: Fraction | None = None,
) -> Series:
    """The tokens of ``user``'s ``bucket`` over the requests ``decided`` for them.

    The line begins full at the first request and ends once the bucket is full
    again after the last, or at ``until`` seconds if that is later.
    """
    capacity = Fraction(bucket.capacity)
    rate = Fraction(bucket.refill_rate)
    points: list[Point] = []
    allowed: list[Point] = []
    denied: list[Point] = []

    def reach(point: Point) -> None:
        if not points or points[-1] != point:
            points.append(point)

    last = held = Fraction(0)
    for now, decision in decided:
        # Refill: up to what the engine found. Like the engine, a request timed
        # before the previous one counts as made at the same time.
        time = max(Fraction(now, NANOS_PER_SECOND), last)
        found = decision.remaining + (1 if decision.allowed else 0)
        if points and found == capacity and held < capacity:
            reach((last + (capacity - held) / rate, capacity))  # the kink
        reach((time, found))

        # Decide: the request is marked where it stands, and takes its token.
        (allowed if decision.allowed else denied).append((time, found))
        reach((time, decision.remaining))
        last, held = time, decision.remaining

    if points:
        reach((last + (capacity - held) / rate, capacity))
        if until is not None and until > points[-1][0]:
            reach((until, capacity))
    return Series(user, bucket, points, allowed, denied)


def busiest(decided: dict[str, Decided], top: int) -> list[str]:
    """The ``top`` users with the most requests; ties go to the user id's order."""
    ranked = sorted(decided, key=lambda user: (-len(decided[user]), user))
    return ranked[:top]


def picture_format(output: str) -> str:
    """``"png"`` or ``"svg"``, from the ending of the ``--output`` file name."""
    kind = FORMATS.get(os.path.splitext(output)[1].lower())
    if kind is None:
        found = json.dumps(output)  # whole, as its ending is the point
        problem = f"expected a file name ending in .png or .svg, found {found}"
        raise InvalidInput("--output", problem)
    return kind


def require_matplotlib() -> None:
    """Make sure matplotlib can be imported, else say how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        problem = "needs matplotlib, which is not installed"
        raise LimiterError(f"plot: {problem}; pip install 'limiter[plot]'") from None


# Reading what to draw ---------------------------------------------------------------


def plot_scenario(
    path: str, *, users: Sequence[str], top: int | None, output: str
) -> None:
    """Draw to ``output`` the users of the scenario file at ``path``.

    ``users`` names them; otherwise the ``top`` busiest, or every user.
    """
    from limiter.scenario import read_scenario

    scenario = read_scenario(path)
    requests = [(user, nanoseconds(time)) for user, time in scenario.requests]
    decided = decide(scenario.config, requests, set(users) or None)
    chosen = _choose(decided, path, users, top, default_top=None)
    _draw_chosen(scenario.config, decided, chosen, output, title=path, shared=True)


def plot_trace(
    trace: str,
    config: Config,
    *,
    trace_format: str | None,
    user_field: str,
    time_field: str,
    users: Sequence[str],
    top: int | None,
    output: str,
    progress: TextIO | None = None,
) -> None:
    """Draw to ``output`` users of the request log at ``trace``, as ``replay`` reads it.

    ``users`` names them; otherwise the ``top`` busiest (``DEFAULT_TOP``).
    """
    from limiter.replay import read_requests

    with read_requests(
        trace,
        trace_format=trace_format,
        user_field=user_field,
        time_field=time_field,
        progress=progress,
    ) as requests:
        # Choosing the busiest needs every user's decisions until the end, so
        # the trace is held in memory here, unlike in replay.
        pairs = ((user, now) for user, now, _ in requests)
        decided = decide(config, pairs, set(users) or None)
    chosen = _choose(decided, trace, users, top, default_top=DEFAULT_TOP)
    _draw_chosen(config, decided, chosen, output, title=trace, shared=False)


def _choose(
    decided: dict[str, Decided],
    source: str,
    users: Sequence[str],
    top: int | None,
    default_top: int | None,
) -> list[str]:
    if not decided and not users:
        raise InvalidInput(source, "holds no requests, so there is nothing to draw")
    if users:
        chosen = list(dict.fromkeys(users))
        for user in chosen:
            if user not in decided:
                problem = f"no request by {describe(user)} in {source}"
                raise InvalidInput("--user", problem)
        where = "--user"
    else:
        top = default_top if top is None else top
        chosen = list(decided) if top is None else busiest(decided, top)
        where = source if top is None else "--top"
    if len(chosen) > MOST_USERS:
        problem = (
            f"{len(chosen)} users to draw, more than the {MOST_USERS} one picture "
            "holds; choose some with --user or --top"
        )
        raise InvalidInput(where, problem)
    return chosen


def _draw_chosen(
    config: Config,
    decided: dict[str, Decided],
    chosen: list[str],
    output: str,
    *,
    title: str,
    shared: bool,
) -> None:
    def bucket(user: str) -> BucketConfig:
        return config.users.get(user, config.default)

    series = [token_series(user, bucket(user), decided[user]) for user in chosen]
    if shared:
        # On one time axis, every line runs on, full, to where the latest one ends.
        latest = max(each.points[-1][0] for each in series)
        series = [
            token_series(each.user, each.bucket, decided[each.user], until=latest)
            for each in series
        ]
    origin = min(each.points[0][0] for each in series)
    draw(series, output, title=title, origin=origin, shared=shared)


# Drawing ----------------------------------------------------------------------------

_LINE = "#1f4e79"
_ALLOWED = "#2e8b57"
_DENIED = "#c0392b"
_CAPACITY = "#7f7f7f"


def draw(
    series: Sequence[Series],
    output: str,
    *,
    title: str,
    origin: Fraction = Fraction(0),
    shared: bool = True,
) -> None:
    """Draw one panel per series, stacked, into ``output`` (PNG or SVG by its ending).

    Times are shown as seconds after ``origin``; ``shared`` puts every panel on
    one time axis. An SVG written twice from the same series is the same file.
    """
    kind = picture_format(output)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Text stays text in an SVG (small, searchable, diffable), and its ids are
    # fixed by the salt rather than drawn at random.
    with (
        matplotlib.rc_context(
            {"svg.hashsalt": _SALT, "svg.fonttype": "none", "font.size": 9}
        ),
        warnings.catch_warnings(),
    ):
        # Times or tokens near a double's limits make numpy warn of an overflow
        # and matplotlib fail to place its ticks: both end in one line, below.
        warnings.simplefilter("error", RuntimeWarning)
        try:
            figure = Figure(figsize=(9, 1.1 + 2.2 * len(series)), layout="constrained")
            FigureCanvasAgg(figure)
            axes = figure.subplots(len(series), 1, sharex=shared, squeeze=False)[:, 0]
            for ax, each in zip(axes, series, strict=True):
                _panel(ax, each, origin)
            axes[-1].set_xlabel(_time_label(origin))
            figure.suptitle(title)
            figure.legend(handles=_legend(), loc="outside lower center", ncols=4)
            metadata = {"Date": None} if kind == "svg" else {}
            figure.savefig(output, format=kind, dpi=150, metadata=metadata)
        except OSError as error:
            problem = f"cannot write {output}: {error.strerror or error}"
            raise InvalidInput("--output", problem) from None
        except (ArithmeticError, ValueError, RuntimeWarning) as error:
            raise InvalidInput(title, _beyond_drawing(series, origin, error)) from None


def _legend() -> list[Line2D]:
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], color=_LINE, label="tokens"),
        Line2D([], [], color=_CAPACITY, linestyle="--", label="capacity"),
        Line2D([], [], color=_ALLOWED, marker="o", ls="", label="allowed request"),
        Line2D([], [], color=_DENIED, marker="X", ls="", label="denied request"),
    ]


def _beyond_drawing(
    series: Sequence[Series], origin: Fraction, error: Exception
) -> str:
    """Why matplotlib could not draw ``series``: what they span, and what it said."""
    span = max(each.points[-1][0] for each in series) - origin
    tokens = max(each.bucket.capacity for each in series)
    reason = str(error).strip().splitlines()[0] if str(error).strip() else "failed"
    return (
        f"cannot be drawn: its requests and refills span {float(span):.3g} s, "
        f"with capacities up to {float(tokens):.3g} tokens, past what matplotlib "
        f"can place on an axis ({reason})"
    )


def _panel(ax: Axes, each: Series, origin: Fraction) -> None:
    capacity = float(each.bucket.capacity)

    def seconds(points: list[Point]) -> list[float]:
        return [float(time - origin) for time, _ in points]

    def tokens(points: list[Point]) -> list[float]:
        return [float(held) for _, held in points]

    ax.axhline(capacity, color=_CAPACITY, linestyle="--", linewidth=1)
    ax.plot(seconds(each.points), tokens(each.points), color=_LINE, linewidth=1.4)
    for marked, marker, color, size in (
        (each.allowed, "o", _ALLOWED, 4),
        (each.denied, "X", _DENIED, 6),
    ):
        ax.plot(
            seconds(marked),
            tokens(marked),
            linestyle="",
            marker=marker,
            color=color,
            markersize=size,
            zorder=3,
        )
    ax.set_ylim(-0.06 * capacity, capacity * 1.12)  # room for the marks at 0
    ax.set_ylabel("tokens")
    rate = each.bucket.refill_rate
    requests = len(each.allowed) + len(each.denied)
    ax.set_title(
        f"{each.user}: capacity {each.bucket.capacity}, refill rate {rate} "
        f"{'token' if rate == 1 else 'tokens'}/s; {requests} requests, "
        f"{len(each.denied)} denied",
        loc="left",
    )


def _time_label(origin: Fraction) -> str:
    if origin == 0:
        return "time (s)"
    # A time is whole nanoseconds, so its decimal expansion ends.
    shown = format(Decimal(origin.numerator) / origin.denominator, "f")
    return f"time (s) after {shown}, the first request drawn"
