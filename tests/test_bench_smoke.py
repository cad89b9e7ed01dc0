"""The benchmark runs to the end at a tiny size and reports every contender.

A smoke test, not a timed one: it asserts that ``bench/run.py`` completes and
that its tables hold a row for each contender, never how fast anything is.
Peers not installed in this environment are expected to be listed as left
out; our engine and the two floors are always there. So are the shared stores:
the run starts a real redis-server (it must be on PATH) and SQLite processes,
and fails if a store allows other requests than the engine in memory.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ALWAYS = (
    "limiter: Limiter.check",
    "limiter: Limiter.check_ns",
    "floor: dict of (last, units)",
    "floor: dict of full-again times",
)
PEERS = {
    "token-bucket": "token_bucket",
    "limits": "limits",
    "pyrate-limiter": "pyrate_limiter",
}
WORKLOADS = ("zipf", "distinct")
REDIS_ALWAYS = (
    "redis-py: PING",
    "bare connection: PING",
    "bare connection: EVALSHA bucket.lua",
    "RedisStore: Limiter.check_ns",
    "RedisStore: Limiter.check_many_ns, 100 a batch",
)
LIMITS_WINDOWS = ("limits: moving window", "limits: fixed window")
SQLITE = ("SQLiteStore: 1 process", "SQLiteStore: 4 processes")
STORE_TARGETS = (
    "`RedisStore`: one request at a time ≥ 0.75x PING",
    "`RedisStore` one request at a time: one round trip a decision, never more",
    "`RedisStore`: 100 a batch, as replay gives them, ≥ 4x one at a time",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of one run at 2,000 requests, one round, in this interpreter."""
    output = tmp_path_factory.mktemp("bench") / "performance.md"
    command = [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        *("--size", "2000", "--rounds", "1", "--startup-runs", "2"),
        *("--current-python", "--output", str(output)),
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    written = output.read_text(encoding="utf-8")
    assert done.stdout == written, "stdout and the written report differ"
    return written


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def expected_contenders() -> list[str]:
    return [*ALWAYS, *(name for name, module in PEERS.items() if installed(module))]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_every_contender_has_a_row_for_each_workload(
    report: str, workload: str
) -> None:
    for name in expected_contenders():
        assert f"| {workload} | {name} |" in report, f"no {workload} row for {name}"


def test_peers_not_installed_are_named_as_left_out(report: str) -> None:
    for name, module in PEERS.items():
        if not installed(module):
            assert name in report.split("Not installed in this environment")[1]


def test_memory_is_reported_for_the_store_and_both_floors(report: str) -> None:
    memory = report.split("## Memory per user")[1].split("\n## ", maxsplit=1)[0]
    for name in ("limiter: Limiter.check_ns", *ALWAYS[2:]):
        assert f"| {name} |" in memory


def test_every_section_is_there(report: str) -> None:
    for heading in (
        "## Targets",
        "## Throughput",
        "## Memory per user",
        "## Replay",
        "## Start-up",
        "## Shared stores",
        "### Redis",
        "### SQLite",
        "## Where replay spends its time",
    ):
        assert heading in report


def section(report: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level."""
    return report.split(f"\n{heading}\n")[1].split("\n#", maxsplit=1)[0]


def test_every_redis_measure_has_a_row(report: str) -> None:
    redis = section(report, "### Redis")
    windows = LIMITS_WINDOWS if installed("limits") else ()
    for name in (*REDIS_ALWAYS, *windows):
        assert f"| {name} |" in redis, f"no Redis row for {name}"


def test_one_process_and_several_have_an_sqlite_row(report: str) -> None:
    sqlite = section(report, "### SQLite")
    for name in SQLITE:
        assert f"| {name} |" in sqlite, f"no SQLite row for {name}"


def test_every_store_target_is_judged(report: str) -> None:
    targets = section(report, "## Targets")
    for goal in STORE_TARGETS:
        rows = [line for line in targets.splitlines() if f"| {goal} |" in line]
        assert len(rows) == 1, f"expected one target row for {goal}, found {rows}"
        assert "reached" in rows[0], rows[0]
