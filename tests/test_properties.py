"""Properties of the limiter, checked over thousands of generated streams.

Each test states one rule that must hold for every configuration and every stream
of requests: the engine answers as an independent model does (tests/model.py),
no interval lets through more than the bucket allows, the announced wait is
enough, a denial and another user change nothing, answer lines keep their
schema, and the command line answers as the model does.

Examples come from the ``ci`` Hypothesis profile (2000 each) unless the
environment says ``HYPOTHESIS_PROFILE=dev``. The profile is applied to these tests
by decorator, so it does not change the settings of any other test module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import model
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from model import Answer, Request
from strategies import Scenario, between, decimal_text, scenarios

from limiter import BucketConfig, Decision, Limiter, MemoryStore, Store
from limiter.answer import answer_line

settings.register_profile("ci", max_examples=2000, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=20_000, deadline=None, print_blob=True)
PROPERTIES = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parents[1]
ANSWER_LINES = Draft202012Validator(
    json.loads((REPO_ROOT / "schemas" / "answer.schema.json").read_text("utf-8"))
)
NANOSECOND = Fraction(1, 10**9)

LimiterFactory = Callable[[Mapping[str, Any]], Limiter]


def in_memory(config: Mapping[str, Any]) -> Limiter:
    """The default limiter: bucket state in a dictionary of this process."""
    return Limiter.from_config(config)


class Namespaced:
    """A shared store seen by one limiter alone: its users get a name of their own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.namespace = f"{uuid.uuid4().hex}/"

    def take(self, user: str, bucket: BucketConfig, now: int) -> Decision:
        return self.store.take(self.namespace + user, bucket, now)


# Every property below takes its limiter from `make_limiter`, and nowhere else. A new
# place to keep bucket state joins by adding its name here and its factory below;
# every property then runs against it as well.
STORES = ["memory", "sqlite", "redis"]


@pytest.fixture(scope="module", params=STORES)
def make_limiter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> LimiterFactory:
    """Build a new limiter, with no bucket yet, from a configuration mapping."""
    if request.param == "sqlite":
        from limiter.sqlite_store import SQLiteStore

        # One file for the module (making a file costs more than a whole example);
        # each limiter's users are kept apart by a name of its own.
        shared = SQLiteStore(tmp_path_factory.mktemp("sqlite") / "state.db")

        def in_a_file(config: Mapping[str, Any]) -> Limiter:
            return Limiter.from_config(config, Namespaced(shared))

        return in_a_file

    if request.param == "redis":
        from limiter.redis_store import RedisStore

        url: str = request.getfixturevalue("redis_url")

        def on_redis(config: Mapping[str, Any]) -> Limiter:
            # The examples' times advance slower than real time at places, so the
            # keys must not expire (see limiter.redis_store, "Expiry").
            prefix = f"properties-{uuid.uuid4().hex}"
            store = RedisStore(url, prefix=prefix, expire=False)
            return Limiter.from_config(config, store)

        return on_redis

    return in_memory


def decide(
    make_limiter: LimiterFactory, config: Mapping[str, Any], requests: Sequence[Request]
) -> list[Decision]:
    """Answer ``requests`` in order with a new limiter built from ``config``."""
    limiter = make_limiter(config)
    return [limiter.check(user, time) for user, time in requests]


def seconds(time: Fraction) -> str:
    """A time that is a whole number of nanoseconds, as decimal text."""
    nanoseconds = time / NANOSECOND
    assert nanoseconds.denominator == 1, time
    return decimal_text(int(nanoseconds), 9)


# 1. The engine and the model ------------------------------------------------------


def engine_view(decision: Decision) -> tuple[bool, Fraction, Fraction, int, int]:
    """What the engine says: decision, exact values, values in hundredths."""
    return (
        decision.allowed,
        decision.remaining,
        decision.retry_after,
        decision.remaining_hundredths,
        decision.retry_after_hundredths,
    )


def model_view(answer: Answer) -> tuple[bool, Fraction, Fraction, int, int]:
    """What the model says, in the same shape as ``engine_view``."""
    return (
        answer.allowed,
        answer.remaining,
        answer.retry_after,
        int(answer.shown_remaining * 100),
        int(answer.shown_retry_after * 100),
    )


@PROPERTIES
@given(scenario=scenarios())
def test_the_engine_answers_every_request_as_the_model_does(
    make_limiter: LimiterFactory, scenario: Scenario
) -> None:
    decisions = decide(make_limiter, scenario.config, scenario.requests)
    answers = model.run(scenario.config, scenario.requests)

    # Compared as whole lists, pytest names the index of the first difference.
    assert [engine_view(d) for d in decisions] == [model_view(a) for a in answers]


def lateness(requests: Sequence[Request]) -> str:
    """How much earlier than the newest before it any request is timed, in seconds.

    Rounded up to whole nanoseconds, the resolution of the engine's clock.
    """
    newest = latest = Fraction(0)
    for _, time in requests:
        newest = max(newest, Fraction(time))
        latest = max(latest, newest - Fraction(time))
    return f"{-(-latest // NANOSECOND)}e-9"


@PROPERTIES
@given(scenario=scenarios())
def test_forgetting_idle_buckets_changes_no_answer(scenario: Scenario) -> None:
    # The model forgets nothing, so matching it on every answer is the proof. The
    # store is told how late this stream's requests come, as a deployment would
    # be told how far its clocks may disagree.
    store = MemoryStore(evict_idle=True, lateness=lateness(scenario.requests))
    limiter = Limiter.from_config(scenario.config, store)

    decisions = [limiter.check(user, time) for user, time in scenario.requests]
    answers = model.run(scenario.config, scenario.requests)

    assert [engine_view(d) for d in decisions] == [model_view(a) for a in answers]


# 2. No interval lets through more than the bucket holds and gains -----------------


@PROPERTIES
@given(scenario=scenarios())
def test_no_interval_allows_more_than_capacity_plus_refill(
    make_limiter: LimiterFactory, scenario: Scenario
) -> None:
    decisions = decide(make_limiter, scenario.config, scenario.requests)
    # A request counts as made at its bucket's clock: a time given earlier than the
    # user's latest counts as that latest (docs/decisions.md). Over the times as
    # given, a late arrival could seem to squeeze more requests into an interval.
    counted = model.counted_times(scenario.requests)
    allowed_at: dict[str, list[Fraction]] = {}
    for (user, _), now, decision in zip(
        scenario.requests, counted, decisions, strict=True
    ):
        if decision.allowed:
            allowed_at.setdefault(user, []).append(now)

    for user, times in allowed_at.items():
        capacity, refill_rate = model.bucket_settings(scenario.config, user)
        # The allowed requests i..j (times in order) must number at most capacity +
        # refill_rate * (t_j - t_i). That reads (j + 1 - rate * t_j) - (i - rate *
        # t_i) <= capacity, so for each j the i with the least i - rate * t_i is the
        # only one to check: one pass covers every interval.
        least, first = -refill_rate * times[0], 0
        for j, end in enumerate(times):
            if j - refill_rate * end < least:
                least, first = j - refill_rate * end, j
            start = times[first]
            assert j + 1 - refill_rate * end - least <= capacity, (
                f"{user} was allowed {j + 1 - first} requests from {start} s to "
                f"{end} s, but capacity {capacity} at {refill_rate} tokens a second "
                f"allows {capacity + refill_rate * (end - start)}"
            )


# 3. Waiting the announced retry after is enough -----------------------------------


@PROPERTIES
@given(scenario=scenarios(), data=st.data())
def test_waiting_the_announced_retry_after_is_enough(
    make_limiter: LimiterFactory, scenario: Scenario, data: st.DataObject
) -> None:
    decisions = decide(make_limiter, scenario.config, scenario.requests)
    denied = [index for index, d in enumerate(decisions) if not d.allowed]
    if not denied:
        event("no request denied")
        return
    index = denied[data.draw(between(0, len(denied) - 1), label="denial")]
    before = scenario.requests[: index + 1]
    user = before[-1][0]
    # The wait runs from the bucket's clock. A late arrival (timed before the
    # user's latest request) counts as made at that latest time, and so does the
    # wait it is told: from its own earlier time it would not be enough.
    then = model.counted_times(before)[-1]
    shown = Fraction(decisions[index].retry_after_hundredths, 100)
    exact = decisions[index].retry_after
    earliest = -(-exact // NANOSECOND) * NANOSECOND  # rounded up to the nanosecond

    def next_after(wait: Fraction) -> Decision:
        """The answer to the user's next request, ``wait`` seconds after ``then``."""
        return decide(
            make_limiter, scenario.config, [*before, (user, seconds(then + wait))]
        )[-1]

    reason = f"{user} denied at {then} s, told to wait {shown} s ({exact} exactly)"
    assert next_after(shown).allowed, f"{reason}, was denied after {shown} s"
    # The exact wait is also the least: the first nanosecond it reaches is allowed,
    # the one before is not.
    assert next_after(earliest).allowed, f"{reason}, was denied after {earliest} s"
    too_soon = earliest - NANOSECOND
    assert not next_after(too_soon).allowed, f"{reason}, was allowed after {too_soon} s"


# 4. A denial changes nothing ------------------------------------------------------


def clock_keepers(requests: Sequence[Request]) -> set[int]:
    """The requests that can be left out without moving a later request's clock.

    Leaving out a request given later than its user's clock could make the user's
    next request, given earlier still, count as made at its own earlier time
    (docs/decisions.md: a late arrival counts as made at the bucket's clock). Any
    other request, left out, leaves every later one counted at the same time.
    """
    resolved = [model.resolve(time) for _, time in requests]
    clock_before: list[Fraction | None] = []
    latest: dict[str, Fraction] = {}
    for (user, _), now in zip(requests, resolved, strict=True):
        clock_before.append(latest.get(user))
        latest[user] = max(now, latest.get(user, now))

    keepers = set()
    next_time: dict[str, Fraction] = {}
    for index in reversed(range(len(requests))):
        user, now, clock = requests[index][0], resolved[index], clock_before[index]
        following = next_time.get(user)
        if clock is not None and (
            now <= clock or following is None or following >= now
        ):
            keepers.add(index)
        next_time[user] = now
    return keepers


@PROPERTIES
@given(scenario=scenarios(), data=st.data())
def test_a_denied_request_changes_no_later_answer(
    make_limiter: LimiterFactory, scenario: Scenario, data: st.DataObject
) -> None:
    decisions = decide(make_limiter, scenario.config, scenario.requests)
    keepers = clock_keepers(scenario.requests)
    denied = [
        index
        for index, decision in enumerate(decisions)
        if not decision.allowed and index in keepers
    ]
    if not denied:
        event("no request denied")
        return
    index = denied[data.draw(between(0, len(denied) - 1), label="denial")]

    without = scenario.requests[:index] + scenario.requests[index + 1 :]
    expected = decisions[:index] + decisions[index + 1 :]
    left_out = f"request {index}, {scenario.requests[index]}, denied, left out"
    assert decide(make_limiter, scenario.config, without) == expected, left_out


# 5. Users are independent ---------------------------------------------------------


@PROPERTIES
@given(scenario=scenarios(), data=st.data())
def test_leaving_out_a_user_changes_no_other_users_answers(
    make_limiter: LimiterFactory, scenario: Scenario, data: st.DataObject
) -> None:
    decisions = decide(make_limiter, scenario.config, scenario.requests)
    users = scenario.users()
    gone = users[data.draw(between(0, len(users) - 1), label="user")]

    kept = [i for i, (user, _) in enumerate(scenario.requests) if user != gone]
    others = [scenario.requests[i] for i in kept]
    expected = [decisions[i] for i in kept]
    assert decide(make_limiter, scenario.config, others) == expected, (
        f"{gone!r} left out"
    )


# 6. Answer lines ------------------------------------------------------------------


# Checking a line against the schema costs about ten times as much as answering
# the request, so the streams of this test are kept to 100 requests.
@PROPERTIES
@given(scenario=scenarios(most_requests=100))
def test_every_answer_line_keeps_the_schema_and_its_bounds(
    make_limiter: LimiterFactory, scenario: Scenario
) -> None:
    decisions = decide(make_limiter, scenario.config, scenario.requests)

    for (user, time), decision in zip(scenario.requests, decisions, strict=True):
        line = answer_line(user, time, decision)
        shown = json.loads(line, parse_float=Fraction, parse_int=Fraction)
        ANSWER_LINES.validate(shown)
        capacity, _ = model.bucket_settings(scenario.config, user)
        assert (shown["user"], shown["time"]) == (user, Fraction(time)), line
        assert shown["remaining"] <= capacity, f"{line}: capacity is {capacity}"
        if shown["decision"] == "DENY":
            assert shown["remaining"] < 1, line
        # The line shows the decision's hundredths, which test 1 holds to the model.
        hundredths = decision.remaining_hundredths, decision.retry_after_hundredths
        assert (shown["remaining"], shown.get("retry_after", 0)) == (
            Fraction(hundredths[0], 100),
            Fraction(hundredths[1], 100),
        ), line


# 7. The command line and the model ------------------------------------------------


def scenario_file(scenario: Scenario) -> str:
    """The scenario as a file for ``limiter scenario``, numbers as they were drawn."""

    def bucket(shape: Mapping[str, str]) -> str:
        return (
            f'{{"capacity": {shape["capacity"]}, '
            f'"refill_rate": {shape["refill_rate"]}}}'
        )

    config = f'"default": {bucket(scenario.config["default"])}'
    users = scenario.config.get("users", {})
    if users:
        shapes = ", ".join(
            f"{json.dumps(user)}: {bucket(shape)}" for user, shape in users.items()
        )
        config += f', "users": {{{shapes}}}'
    requests = ",\n  ".join(
        f'{{"user": {json.dumps(user)}, "time": {time}}}'
        for user, time in scenario.requests
    )
    return f'{{"config": {{{config}}},\n "requests": [\n  {requests}\n]}}\n'


def expected_line(request: Request, answer: Answer) -> dict[str, object]:
    """The answer line the model expects, its numbers as exact fractions."""
    user, time = request
    line: dict[str, object] = {
        "user": user,
        "time": Fraction(time),
        "decision": "ALLOW" if answer.allowed else "DENY",
        "remaining": answer.shown_remaining,
    }
    if not answer.allowed:
        line["retry_after"] = answer.shown_retry_after
    return line


# Each example starts a Python process (about a tenth of a second), so this test
# takes 25 examples rather than thousands; the engine itself is covered above.
# The command line builds its own in-memory limiter, so `make_limiter` is not used.
@settings(PROPERTIES, max_examples=25)
@given(scenario=scenarios())
def test_the_command_line_answers_as_the_model_does(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenario.json"
        path.write_text(scenario_file(scenario), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "limiter", "scenario", "--file", str(path)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
            cwd=REPO_ROOT,
        )

    assert (done.returncode, done.stderr) == (0, "")
    shown = [
        json.loads(line, parse_float=Fraction, parse_int=Fraction)
        for line in done.stdout.splitlines()
    ]
    answers = model.run(scenario.config, scenario.requests)
    expected = [
        expected_line(request, answer)
        for request, answer in zip(scenario.requests, answers, strict=True)
    ]
    assert shown == expected
