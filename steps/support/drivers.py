"""The systems under test, behind one small protocol, and how ``-D`` picks them.

A ``SystemUnderTest`` answers a configuration and a list of requests with the
answers, in order, or raises ``Refused``. Two classes implement it:

- ``Engine``: ``limiter.Limiter`` in this process, each decision written by
  ``limiter.answer.answer_line`` and read back like any other answer line;
- ``CommandLine``: a command run as ``<command> scenario --file <file>``, for
  our own (``python -m limiter``) or another implementation's.

Either keeps its buckets where ``Stores`` says: in memory, in SQLite files or
on a Redis server, a fresh store for every limiter. ``choose_suite`` reads
``-D sut=engine|cli``, ``-D command="..."`` and ``-D store=memory|sqlite|redis``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
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
from steps.support.servers import RedisServer

__all__ = [
    "Command",
    "CommandLine",
    "Engine",
    "Ran",
    "Refused",
    "Stores",
    "Suite",
    "SystemUnderTest",
    "choose_suite",
    "json_text",
    "no_traceback",
]

_TIMEOUT_SECONDS: Final = 60
_OUR_COMMAND: Final = (sys.executable, "-m", "limiter")
_STORES: Final = ("memory", "sqlite", "redis")
REDIS_URL_VARIABLE: Final = "LIMITER_TEST_REDIS_URL"
"""The environment variable naming a Redis server for the tests to use."""


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


class Stores:
    """Where the limiters of one run keep their buckets: ``-D store=...``.

    ``memory`` (the default) is this process's memory; ``sqlite`` a new file
    for every limiter, in a folder removed by ``close``; ``redis`` a new key
    prefix for every limiter on the server that ``-D redis_url=...`` or the
    environment variable ``LIMITER_TEST_REDIS_URL`` names (``close`` deletes
    the run's keys there), or else on a ``redis-server`` started for the run and
    stopped by ``close``.
    """

    def __init__(self, kind: str, redis_url: str | None = None) -> None:
        if kind not in _STORES:
            raise ValueError(f"-D store: expected one of {_STORES}, found {kind!r}")
        self.kind = kind
        self.folder: Path | None = None  # of the SQLite files
        self._server: RedisServer | None = None
        self._redis_url = redis_url
        self._prefixes = f"limiter-test-{uuid.uuid4().hex}"  # begins the run's own
        if kind == "sqlite":
            self.folder = Path(tempfile.mkdtemp(prefix="limiter-stores-"))
        elif kind == "redis" and redis_url is None:
            self._server = RedisServer()
            self._redis_url = self._server.url

    def new_store(self) -> Store:
        """A store with no bucket in it, for a fresh engine."""
        if self.kind == "sqlite":
            from limiter.sqlite_store import SQLiteStore

            return SQLiteStore(self._new_file())
        if self.kind == "redis":
            from limiter.redis_store import RedisStore

            assert self._redis_url is not None
            # The features' times are made up and may advance slower than real
            # time, for which Redis's expiry is not exact: keys are kept.
            return RedisStore(self._redis_url, prefix=self._new_prefix(), expire=False)
        return MemoryStore()

    def options(self) -> list[str]:
        """The command-line options naming a store with no bucket in it."""
        if self.kind == "sqlite":
            return ["--state", str(self._new_file())]
        if self.kind == "redis":
            assert self._redis_url is not None
            return ["--redis", self._redis_url, "--redis-prefix", self._new_prefix()]
        return []

    def _new_prefix(self) -> str:
        return f"{self._prefixes}-{uuid.uuid4().hex}"

    def _new_file(self) -> Path:
        assert self.folder is not None
        return self.folder / f"{uuid.uuid4().hex}.db"

    def close(self) -> None:
        """Remove the files and stop the server this object made."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._server is not None:
            self._server.close()
        elif self.kind == "redis":
            # A server of the user's own: leave it as the run found it.
            import redis

            with redis.Redis.from_url(str(self._redis_url)) as client:
                keys = list(client.scan_iter(match=f"{self._prefixes}-*", count=1000))
                if keys:
                    client.delete(*keys)

    def __str__(self) -> str:
        if self.kind == "redis":
            return f"redis at {self._redis_url}"
        return self.kind


class Engine:
    """Our engine, in this process, answering through ``answer_line``."""

    name = "engine"

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    def answer(
        self, config: Mapping[str, Any], requests: Sequence[Request]
    ) -> list[Answer]:
        """Answer ``requests`` with a fresh ``Limiter``; see ``SystemUnderTest``."""
        store = self.stores.new_store()
        try:
            limiter = Limiter.from_config(config, store)
            lines = [_answer_line(limiter, request) for request in requests]
        except InvalidInput as error:
            raise Refused(error.exit_status, [f"limiter: {error}"], []) from None
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
        return answers_from_lines(lines)


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

    def __init__(self, command: Command, name: str, stores: Stores) -> None:
        self.command = command
        self.name = name
        self.stores = stores

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
            args = ["scenario", "--file", "scenario.json", *self.stores.options()]
            ran = self.command.run(args, folder)

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
    stores: Stores

    def close(self) -> None:
        """Let go of what the suite's stores hold (files, a server)."""
        self.stores.close()

    def __str__(self) -> str:
        command = shlex.join(self.command.argv)
        return f"{self.sut.name}; store: {self.stores}; command line: {command}"


def choose_suite(
    userdata: Mapping[str, str], environ: Mapping[str, str] = os.environ
) -> Suite:
    """The suite that ``-D`` asks for.

    - nothing, or ``sut=engine``: our engine in process, our CLI for ``cli.*``;
    - ``sut=cli``: our CLI as a subprocess for every feature;
    - ``command="..."``: that command for every feature;
    - ``store=memory|sqlite|redis``: where our engine or CLI keeps buckets.
    """
    sut = userdata.get("sut")
    text = userdata.get("command")
    kind = userdata.get("store", "memory")
    if text is not None:
        if sut not in (None, "command"):
            raise ValueError(f"-D command is the system under test; drop -D sut={sut}")
        if kind != "memory":
            raise ValueError(
                "-D store chooses our limiter's store; drop it or -D command"
            )
        command = Command.from_text(text)
        stores = Stores(kind)
        return Suite(CommandLine(command, "command", stores), command, stores)
    if sut not in (None, "engine", "cli"):
        raise ValueError(f"-D sut: expected engine or cli, found {sut!r}")

    url = userdata.get("redis_url") or environ.get(REDIS_URL_VARIABLE) or None
    stores = Stores(kind, url if kind == "redis" else None)
    ours = Command(_OUR_COMMAND)
    if sut == "cli":
        return Suite(CommandLine(ours, "cli", stores), ours, stores)
    return Suite(Engine(stores), ours, stores)
