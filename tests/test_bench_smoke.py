"""The benchmark runs to the end at a tiny size and reports every contender.

A smoke test, not a timed one: it asserts that ``bench/run.py`` completes and
that its tables hold a row for each contender, never how fast anything is.
Peers not installed in this environment are expected to be listed as left
out; our engine and the two floors are always there.
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
        "## Where replay spends its time",
    ):
        assert heading in report
