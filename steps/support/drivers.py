"""The systems under test, behind one small protocol, and how ``-D`` picks them.

A ``SystemUnderTest`` answers a configuration and a list of requests with the
answers, in order, or raises ``Refused``. Two classes implement it:

- ``Engine``: ``limiter.Limiter`` in this process, each decision written by
  ``limiter.answer.answer_line`` and read back like any other answer line;
- ``CommandLine``: a command run as ``<command> scenario --file <file>``, for
  our own (``python -m limiter``) or another implementation's.

``choose_suite`` reads ``-D sut=engine|cli`` and ``-D command="..."``.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol

from hamcrest import contains_string, is_not
from hamcrest.core.matcher import Matcher

from limiter import InvalidInput, Limiter, MemoryStore, Store
from limiter.answer import answer_line
from limiter.exact import seconds_text
from steps.support.answers import Answer, Request, answers_from_lines

__all__ = [
    "Command",
    "CommandLine",
    "Engine",
    "Ran",
    "Refused",
    "Suite",
    "SystemUnderTest",
    "choose_suite",
    "json_text",
    "no_traceback",
]

_TIMEOUT_SECONDS: Final = 60
_OUR_COMMAND: Final = (sys.executable, "-m", "limiter")


class Refused(Exception):
    """The system under test refused its input instead of answering.

    ``status`` is the exit status (an engine error's own for the engine);
    ``stderr`` and ``stdout`` are the lines written to each stream.
    """

    def __init__(self, status: int, stderr: list[str], stdout: list[str]) -> None:
        super().__init__(f"exit status {status}: {' / '.join(stderr) or '(silence)'}")
        self.status = status
        self.stderr = stderr
        self.stdout = stdout


class SystemUnderTest(Protocol):
    """Something that answers requests as the specification says."""

    name: str

    def answer(
        self, config: Mapping[str, Any], requests: Sequence[Request]
    ) -> list[Answer]:
        """Answer ``requests`` in order with a limiter built from ``config``.

        ``config`` is shaped like a scenario file's configuration; its numbers
        are ``Decimal``. Raises ``Refused`` for invalid input.
        """
        ...


class Engine:
    """Our engine, in this process, answering through ``answer_line``."""

    name = "engine"

    def answer(
        self, config: Mapping[str, Any], requests: Sequence[Request]
    ) -> list[Answer]:
        """Answer ``requests`` with a fresh ``Limiter``; see ``SystemUnderTest``."""
        try:
            limiter = Limiter.from_config(config, self.new_store())
            lines = [_answer_line(limiter, request) for request in requests]
        except InvalidInput as error:
            raise Refused(error.exit_status, [f"limiter: {error}"], []) from None
        return answers_from_lines(lines)

    def new_store(self) -> Store:
        """The store a fresh limiter keeps its buckets in.

        This is the one place a store is chosen: a ``-D store=...`` option
        would pick another implementation of ``limiter.Store`` here.
        """
        return MemoryStore()


def _answer_line(limiter: Limiter, request: Request) -> str:
    decision = limiter.check(request.user, request.time)
    return answer_line(request.user, seconds_text(request.time), decision)


@dataclass(frozen=True)
class Ran:
    """What a finished command left: its exit status and both streams.

    ``started`` and ``ended`` are the wall clock, in seconds, around the run.
    """

    argv: tuple[str, ...]
    status: int
    stdout: str
    stderr: str
    started: Decimal
    ended: Decimal

    @property
    def stdout_lines(self) -> list[str]:
        """stdout, one entry a line."""
        return self.stdout.splitlines()

    @property
    def stderr_lines(self) -> list[str]:
        """stderr, one entry a line."""
        return self.stderr.splitlines()

    def __str__(self) -> str:
        return f"`{shlex.join(self.argv)}` (exit status {self.status})"


@dataclass(frozen=True)
class Command:
    """A command line that implements the CLI contract, such as ``limiter``."""

    argv: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> Command:
        """Split ``text`` like a shell; a program given by a path is made absolute.

        Commands run in a folder of their own, so a relative path would break.
        """
        argv = shlex.split(text)
        if not argv:
            raise ValueError("-D command: expected a command line, found nothing")
        if "/" in argv[0]:
            argv[0] = str(Path(argv[0]).resolve())
        elif shutil.which(argv[0]) is None:
            raise ValueError(f"-D command: no program {argv[0]!r} on the PATH")
        return cls(tuple(argv))

    def run(self, args: Sequence[str], folder: Path) -> Ran:
        """Run the command with ``args`` in ``folder``, with no input, and wait."""
        argv = (*self.argv, *args)
        started = time.time_ns()
        done = subprocess.run(
            argv,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
        ended = time.time_ns()
        return Ran(
            argv,
            done.returncode,
            done.stdout,
            done.stderr,
            started=Decimal(started).scaleb(-9),
            ended=Decimal(ended).scaleb(-9),
        )


class CommandLine:
    """A command answering scenario files: ``<command> scenario --file <file>``."""

    def __init__(self, command: Command, name: str) -> None:
        self.command = command
        self.name = name

    def answer(
        self, config: Mapping[str, Any], requests: Sequence[Request]
    ) -> list[Answer]:
        """Write a scenario file, run the command on it, read its answer lines."""
        scenario = {
            "config": config,
            "requests": [{"user": r.user, "time": r.time} for r in requests],
        }
        with tempfile.TemporaryDirectory(prefix="limiter-scenario-") as name:
            folder = Path(name)
            (folder / "scenario.json").write_text(json_text(scenario), encoding="utf-8")
            ran = self.command.run(["scenario", "--file", "scenario.json"], folder)

        if ran.status != 0:
            raise Refused(ran.status, ran.stderr_lines, ran.stdout_lines)
        return answers_from_lines(ran.stdout_lines)


def no_traceback() -> Matcher[str]:
    """Matches what a system wrote to stderr if no Python traceback is in it."""
    traceback: Matcher[str] = contains_string("Traceback")
    return is_not(traceback)


def json_text(value: object) -> str:
    """``value`` as JSON, with each ``Decimal`` written exactly as its digits."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(key)}: {json_text(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json_text(item) for item in value) + "]"
    return json.dumps(value)


@dataclass(frozen=True)
class Suite:
    """What one run of the suite tests.

    ``sut`` answers the requirement, scenario, precision and decision features;
    ``command`` is what the ``cli.*`` features run, always as a subprocess.
    """

    sut: SystemUnderTest
    command: Command

    def __str__(self) -> str:
        return f"{self.sut.name}; command line: {shlex.join(self.command.argv)}"


def choose_suite(userdata: Mapping[str, str]) -> Suite:
    """The suite that ``-D`` asks for.

    - nothing, or ``sut=engine``: our engine in process, our CLI for ``cli.*``;
    - ``sut=cli``: our CLI as a subprocess for every feature;
    - ``command="..."``: that command for every feature.
    """
    sut = userdata.get("sut")
    text = userdata.get("command")
    if text is not None:
        if sut not in (None, "command"):
            raise ValueError(f"-D command is the system under test; drop -D sut={sut}")
        command = Command.from_text(text)
        return Suite(CommandLine(command, "command"), command)

    ours = Command(_OUR_COMMAND)
    if sut in (None, "engine"):
        return Suite(Engine(), ours)
    if sut == "cli":
        return Suite(CommandLine(ours, "cli"), ours)
    raise ValueError(f"-D sut: expected engine or cli, found {sut!r}")
