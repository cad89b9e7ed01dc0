"""The context the steps work in: what the hooks prepare, and one scenario's story.

behave's context is an untyped bag of attributes; ``Context`` names the ones
``environment.py`` puts there, with their types, so steps are checked too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from hamcrest import assert_that, none

from steps.support.answers import Answer, Request
from steps.support.drivers import Ran, Refused, Suite

__all__ = ["Context", "ScenarioState"]


class Context(Protocol):
    """behave's context as our steps see it."""

    config: Any  # behave's configuration; its userdata holds the -D values
    suite: Suite  # chosen once, from -D, before the first feature
    state: ScenarioState  # new for every scenario
    table: Any  # the step's table (behave's Table), if it has one
    text: str | None  # the step's docstring, if it has one


@dataclass
class ScenarioState:
    """One scenario's story so far, from its first step to its last.

    Domain steps set the configuration, tell which requests were made before
    (``earlier``) and which are made now (``asked``). Each time requests are
    made the whole story is answered again from a fresh limiter, so the same
    steps work for an engine in process and for a command that reads a file.
    """

    folder: Path  # a folder of this scenario's own, for files and commands
    config: dict[str, Any] = field(default_factory=dict)
    earlier: list[Request] = field(default_factory=list)
    asked: list[Request] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    refusal: Refused | None = None
    ran: Ran | None = None
    summary: dict[str, Any] | None = None

    def set_bucket(self, user: str | None, capacity: Decimal, rate: Decimal) -> None:
        """Give ``user`` a bucket of their own; ``None`` sets the default."""
        bucket = {"capacity": capacity, "refill_rate": rate}
        if user is None:
            self.config["default"] = bucket
        else:
            self.config.setdefault("users", {})[user] = bucket

    def ask(self, suite: Suite, requests: list[Request]) -> None:
        """Make ``requests`` after the earlier ones and keep the answers to them."""
        self.asked = requests
        try:
            answers = suite.sut.answer(self.config, [*self.earlier, *requests])
        except Refused as refusal:
            self.refusal, self.answers = refusal, []
            return

        everything = [*self.earlier, *requests]
        if len(answers) != len(everything):
            shown = f"{len(answers)} answers to {len(everything)} requests"
            raise AssertionError(f"expected one answer a request, got {shown}")
        self.refusal, self.answers = None, answers[len(self.earlier) :]
        self.earlier = everything

    def answered(self) -> list[Answer]:
        """The answers to the latest requests; fails if they were refused."""
        reason = f"answers to {self.asked_text()}, not a refusal"
        assert_that(self.refusal, none(), reason)
        return self.answers

    def refused(self) -> Refused:
        """How the latest requests were refused; fails if they were answered."""
        if self.refusal is None:
            answers = f"{self.answers!r}"
            raise AssertionError(f"expected {self.asked_text()} refused, got {answers}")
        return self.refusal

    def finished(self) -> Ran:
        """The command run last; fails if no step has run one."""
        if self.ran is None:
            raise AssertionError("expected a command to have run in an earlier step")
        return self.ran

    def asked_text(self) -> str:
        """The latest requests, in words, for failure messages."""
        return ", ".join(str(request) for request in self.asked) or "(no requests)"
