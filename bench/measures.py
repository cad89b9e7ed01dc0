"""Measures beyond the timing rounds: memory, replay, start-up and a profile.

Each function measures one thing and returns plain numbers; the report decides
how to show them. Commands run as subprocesses of the interpreter running the
benchmark, so they see the same environment and the same installed engine.
"""

from __future__ import annotations

import compileall
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from contenders import Contender
from workloads import Stream, fresh

__all__ = [
    "Measured",
    "MemoryUse",
    "ProfileEntry",
    "ReplayRun",
    "StartUp",
    "exact_json_decode",
    "limiter_command",
    "memory_per_user",
    "parse_rates",
    "profile_replay",
    "replay",
    "start_up",
]


@dataclass(frozen=True)
class MemoryUse:
    """What one contender's state holds after a stream of distinct users."""

    name: str
    users: int
    total_bytes: int  # live allocations made by the run and still held
    table_bytes: int | None  # of which the dictionary's own table, where known

    @property
    def per_user(self) -> float:
        """Bytes held for each user, beyond the user id string."""
        return self.total_bytes / self.users


def memory_per_user(contender: Contender, stream: Stream) -> MemoryUse:
    """Trace the allocations ``contender`` keeps after answering ``stream``.

    The user id strings exist before tracing starts, so they are not counted.
    The times are made fresh, request by request, as a clock would make them:
    a store that keeps a request's time pays for that object.
    """
    contender.setup()
    times = stream.times(contender.time_type)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    contender.run(stream.users, fresh(times))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    table = contender.state_table()
    table_bytes = None if table is None else sys.getsizeof(table)
    contender.teardown()
    return MemoryUse(contender.name, stream.distinct, after - before, table_bytes)


def limiter_command() -> list[str]:
    """The ``limiter`` command of this interpreter's environment."""
    script = Path(os.path.abspath(sys.executable)).parent / "limiter"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "limiter"]


@dataclass(frozen=True)
class Measured:
    """One run of a command: wall and CPU seconds, and its peak resident bytes."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class ReplayRun:
    """One ``limiter replay`` of a trace, answers written to /dev/null."""

    lines: int
    run: Measured

    @property
    def per_second(self) -> float:
        """Requests answered per second of wall time, start-up included."""
        return self.lines / self.run.seconds

    @property
    def per_cpu_second(self) -> float:
        """Requests answered per second of the process's CPU time."""
        return self.lines / self.run.cpu_seconds


def replay(trace: Path, config: Path, lines: int) -> ReplayRun:
    """Run ``limiter replay`` on ``trace`` once; time it and read its peak RSS."""
    command = [*limiter_command(), "replay", str(trace), "--config", str(config)]
    return ReplayRun(lines, _run_measured(command))


def _run_measured(command: Sequence[str]) -> Measured:
    """Wall and CPU seconds and peak resident bytes of one run of ``command``.

    measure_command.py starts the command from a small process of its own, so
    that the peak is the command's and not this process's (see its docstring).
    """
    wrapper = [sys.executable, str(_MEASURE_COMMAND), *command]
    with tempfile.TemporaryFile() as errors:
        done = subprocess.run(
            wrapper, stdout=subprocess.PIPE, stderr=errors, check=False
        )
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()
    measured: dict[str, Any] = {"status": None}
    if done.returncode == 0:
        measured = json.loads(done.stdout)
    if measured["status"] != 0:
        # The last line says what went wrong: a traceback's exception line, or
        # the one line the limiter writes for an error.
        last = said[-1] if said else "no message"
        raise RuntimeError(f"{' '.join(command)} failed: {last}")
    return Measured(
        measured["seconds"], measured["cpu_seconds"], measured["peak_rss_bytes"]
    )


_MEASURE_COMMAND = Path(__file__).resolve().parent / "measure_command.py"


def parse_rates(
    lines: Sequence[str], decoders: dict[str, Callable[[str], Any]], rounds: int
) -> dict[str, float]:
    """Lines per second each decoder turns into objects, and nothing else.

    The decoders take turns, round after round; each one's median is kept.
    """
    seconds: dict[str, list[float]] = {label: [] for label in decoders}
    for _ in range(rounds):
        for label, decode in decoders.items():
            gc.collect()
            start = time.process_time()
            for line in lines:
                decode(line)
            seconds[label].append(time.process_time() - start)
    return {
        label: len(lines) / statistics.median(runs) for label, runs in seconds.items()
    }


def exact_json_decode() -> Callable[[str], Any]:
    """``json.loads`` with every number read as an exact ``Decimal``."""
    return json.JSONDecoder(parse_float=Decimal, parse_int=Decimal).decode


@dataclass(frozen=True)
class StartUp:
    """Medians of the seconds from starting a command to its exit."""

    check_seconds: float
    baseline_seconds: float
    runs: int

    @property
    def ratio(self) -> float:
        """How many times the baseline's start-up ``limiter check`` takes."""
        return self.check_seconds / self.baseline_seconds


BASELINE = ("-c", "import json, argparse")


def start_up(runs: int) -> StartUp:
    """Time ``limiter check --user a --time 0`` against importing json and argparse.

    The two commands alternate, so that a slow moment of the machine falls on
    both alike. The package's bytecode is compiled first, as an installed
    package's is: the standard library's ships compiled, and where
    PYTHONDONTWRITEBYTECODE is set (it is on some machines) every start would
    otherwise compile our modules from source.
    """
    import limiter

    compileall.compile_dir(os.path.dirname(limiter.__file__), quiet=1)
    check = [*limiter_command(), "check", "--user", "a", "--time", "0"]
    baseline = [sys.executable, *BASELINE]
    check_times: list[float] = []
    baseline_times: list[float] = []
    for _ in range(runs):
        check_times.append(_run_measured(check).seconds)
        baseline_times.append(_run_measured(baseline).seconds)
    return StartUp(
        statistics.median(check_times), statistics.median(baseline_times), runs
    )


@dataclass(frozen=True)
class ProfileEntry:
    """One function's share of a profiled run."""

    function: str
    calls: int
    own_seconds: float
    cumulative_seconds: float
    share: float  # of the run's total own time


def profile_replay(
    trace: Path, config: Path, top: int, workdir: Path
) -> list[ProfileEntry]:
    """Where ``limiter replay`` spends its time: the ``top`` functions by own time."""
    output = workdir / "replay.prof"
    profiler = [sys.executable, "-m", "cProfile", "-o", str(output)]
    _run_measured(
        [*profiler, "-m", "limiter", "replay", str(trace), "--config", str(config)]
    )
    # function -> (primitive calls, calls, own seconds, cumulative seconds, callers)
    table = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())
    rows = sorted(table.items(), key=lambda item: item[1][2], reverse=True)
    return [
        ProfileEntry(_function_label(key), calls, own, cumulative, own / total)
        for key, (_, calls, own, cumulative, _) in rows[:top]
    ]


def _function_label(key: tuple[str, int, str]) -> str:
    """``limiter/replay.py:180(_jsonl_requests)``, or a built-in's own name."""
    file, line, name = key
    if file == "~" and line == 0:
        return name  # a built-in: "<method 'decode' of 'bytes' objects>"
    for root in _SOURCE_ROOTS:
        if file.startswith(root + os.sep):
            file = file[len(root) + 1 :]
            break
    return f"{file}:{line}({name})"


# Where the profiled code lives, longest first, so that paths show short.
_SOURCE_ROOTS = sorted(
    {
        str(Path(__file__).resolve().parent.parent),  # this repository
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["stdlib"],
    },
    key=len,
    reverse=True,
)
