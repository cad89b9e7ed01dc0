"""Shared fixtures: running the command line in-process and writing input files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from limiter.cli import main
from steps.support.servers import RedisServer

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = REPO_ROOT / "scenarios"


@dataclass(frozen=True)
class CliResult:
    """What one run of the command line left behind: exit status and both streams."""

    status: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        """The answer lines written to stdout, without their newlines."""
        return self.out.splitlines()

    def error_line(self) -> str:
        """The one line on stderr; fails the test unless there is exactly one."""
        assert "Traceback" not in self.err, self.err
        assert self.err.endswith("\n"), repr(self.err)
        lines = self.err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, found {lines!r}"
        return lines[0]


class Cli:
    """Runs ``limiter.cli.main`` in this process and captures what it writes."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str | Path) -> CliResult:
        self._capsys.readouterr()  # forget anything written before this run
        status = main([str(arg) for arg in args])
        captured = self._capsys.readouterr()
        return CliResult(status, captured.out, captured.err)


class Files:
    """Writes input files into a test's own temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def raw(self, name: str, content: bytes | str) -> Path:
        """Write ``content`` exactly as given (text is encoded as UTF-8)."""
        path = self.folder / name
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    def json(self, name: str, document: object) -> Path:
        """Write ``document`` as JSON."""
        return self.raw(name, json.dumps(document))

    def scenario(
        self,
        capacity: object,
        refill_rate: object,
        requests: list[tuple[str, object]],
        name: str = "scenario.json",
    ) -> Path:
        """Write a scenario file with one default bucket and ``(user, time)`` pairs."""
        document = {
            "config": {"default": {"capacity": capacity, "refill_rate": refill_rate}},
            "requests": [{"user": user, "time": time} for user, time in requests],
        }
        return self.json(name, document)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run the command line in-process: ``cli("check", "--user", "alice")``."""
    return Cli(capsys)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    """Write input files for the test into its temporary folder."""
    return Files(tmp_path)


# Redis ------------------------------------------------------------------------------

REDIS_URL_VARIABLE = "LIMITER_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server for the whole run: ``LIMITER_TEST_REDIS_URL``, or one started.

    Tests share it, so each works under a key prefix of its own.
    """
    url = os.environ.get(REDIS_URL_VARIABLE)
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` of the test's own, which the test may stop and start."""
    with RedisServer() as server:
        yield server
