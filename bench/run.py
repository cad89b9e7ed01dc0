"""Time the limiter against its peers and two inline floors, in one process.

Then the shared stores, Redis and SQLite, next to their floors (bench/stores.py).

    python bench/run.py [--size N] [--rounds R] [--output PATH]

Run from any interpreter, it first sets up bench/.venv (bench/setup: the peers
at the versions of bench/requirements.txt, and this working tree installed
editable) and runs itself again there. ``--current-python`` stays in the
interpreter it was started with and times the peers that one can import.

The report goes to stdout, progress to stderr. A full-size run also writes
docs/performance.md; a smaller one writes a file only when given ``--output``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import measures
import report
import stores
import workloads
from contenders import (
    CAPACITY,
    REFILL_RATE,
    DictFloor,
    LimiterCheckNs,
    TatFloor,
    available,
)
from report import FULL_SIZE, Results

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
BENCH_VENV = HERE / ".venv"
DEFAULT_OUTPUT = REPOSITORY / "docs" / "performance.md"
PROFILE_TOP = 15
# The shared stores answer far fewer requests a second than the engine in memory:
# a Redis run makes a twentieth of --size requests, each SQLite process a hundredth.
REDIS_SHARE = 20
SQLITE_SHARE = 100

_started = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with ``argv`` (or ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    # An exception, so that the redis-server, the SQLite workers and the temporary
    # folders of the run are cleaned up when someone stops it with SIGTERM too.
    signal.signal(signal.SIGTERM, _stopped)
    if not args.current_python and Path(sys.prefix).resolve() != BENCH_VENV:
        _rerun_in_bench_venv(argv)

    results = measure(args, command=shlex.join(["python", "bench/run.py", *argv]))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = report.render(results, when)
    print(text, end="")

    output = args.output
    if output is None and args.size == FULL_SIZE:
        output = DEFAULT_OUTPUT
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        _say(f"wrote {output}")

    wrong = results.disagreements()
    if wrong:
        _say("the exact contenders disagree on which requests to allow:")
        for line in wrong:
            _say(f"  {line}")
    return 1 if wrong or results.failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Time the limiter against its peers and two inline floors.",
    )
    parser.add_argument(
        "--size",
        type=_positive,
        default=FULL_SIZE,
        metavar="N",
        help=f"requests per workload (default: {FULL_SIZE:,})",
    )
    parser.add_argument(
        "--rounds", type=_positive, default=3, metavar="R", help="rounds (default: 3)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the workloads (default: 1)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="write the report here too (default: docs/performance.md at full size)",
    )
    parser.add_argument(
        "--startup-runs",
        type=_positive,
        default=20,
        metavar="N",
        help="runs of each command in the start-up comparison (default: 20)",
    )
    parser.add_argument(
        "--current-python",
        action="store_true",
        help="run in this interpreter, with the peers it can import, not bench/.venv",
    )
    return parser


def _positive(text: str) -> int:
    try:
        number = int(text.replace("_", ""))
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number above 0, found {text!r}"
        )
    return number


def _rerun_in_bench_venv(argv: list[str]) -> None:
    """Set up bench/.venv if needed, then replace this process with a run there."""
    subprocess.run(["bash", str(HERE / "setup")], check=True)
    python = BENCH_VENV / "bin" / "python"
    os.execv(python, [str(python), str(Path(__file__).resolve()), *argv])


def _stopped(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def _say(message: str) -> None:
    elapsed = time.perf_counter() - _started
    print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def measure(args: argparse.Namespace, command: str) -> Results:
    """Make the workloads, then run every measurement in turn."""
    runnable, missing = available()
    for peer in missing:
        _say(f"{peer.name}: not importable here, left out (bench/setup installs it)")

    _say(f"making the workloads: {args.size:,} requests each, seed {args.seed}")
    streams = [
        workloads.zipf_users(args.size, args.seed),
        workloads.distinct_users(args.size, args.seed),
    ]
    for stream in streams:
        for contender in runnable:
            stream.times(contender.time_type)

    results = Results(
        command=command,
        size=args.size,
        rounds=args.rounds,
        seed=args.seed,
        streams=streams,
        contenders=runnable,
        missing=missing,
        environment=report.environment(REPOSITORY),
    )
    _time_rounds(results)
    _measure_memory(results, streams[1])
    with tempfile.TemporaryDirectory(prefix="limiter-bench-") as workdir:
        _measure_replay(results, streams[0], Path(workdir))
    _say(f"start-up: {args.startup_runs} runs of each command")
    with _noting_failure(results, "start-up"):
        results.start_up = measures.start_up(args.startup_runs)
    with tempfile.TemporaryDirectory(prefix="limiter-bench-stores-") as workdir:
        _measure_stores(results, Path(workdir))
    results.environment["load at end"] = report.load_average()
    return results


@contextlib.contextmanager
def _noting_failure(results: Results, what: str) -> Iterator[None]:
    """Let a command that fails cost its own measure only, and say so."""
    try:
        yield
    except RuntimeError as error:
        _say(f"{what} failed: {error}")
        results.failures.append(f"{what}: {error}")


def _time_rounds(results: Results) -> None:
    """Every contender on every workload, round after round; seconds per run.

    The seconds are this process's CPU time: on a machine busy with other work,
    the time this process waits for a core is left out. The wall time is kept
    too, so the report can say how much waiting there was.
    """
    contenders = [contender() for contender in results.contenders]
    for round_number in range(1, results.rounds + 1):
        for stream in results.streams:
            _say(f"round {round_number}/{results.rounds}, {stream.name}")
            for contender in contenders:
                times = stream.times(contender.time_type)
                contender.setup()
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                allowed = contender.run(stream.users, times)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                contender.teardown()

                key = stream.name, contender.name
                results.seconds.setdefault(key, []).append(cpu)
                results.wall_seconds.setdefault(key, []).append(wall)
                results.allowed[key] = allowed
                per_request = cpu / len(stream) * 1e9
                _say(
                    f"  {contender.name}: {per_request:,.0f} ns/req ({cpu / wall:.0%})"
                )


def _measure_memory(results: Results, stream: workloads.Stream) -> None:
    for kind in (LimiterCheckNs, DictFloor, TatFloor):
        _say(f"memory: {kind.name}, {len(stream):,} distinct users")
        results.memory.append(measures.memory_per_user(kind(), stream))


def _measure_replay(results: Results, stream: workloads.Stream, workdir: Path) -> None:
    """Replay a tenth of the trace and all of it; parse its lines; profile."""
    config = workdir / "config.json"
    workloads.write_config(config, CAPACITY, REFILL_RATE)
    traces = []
    for lines in (max(1, len(stream) // 10), len(stream)):
        trace = workdir / f"trace-{lines}.jsonl"
        workloads.write_trace(trace, stream, lines)
        traces.append((trace, lines))

    with _noting_failure(results, "replay"):
        for trace, lines in traces:
            _say(f"replay: {lines:,} lines")
            results.replays.append(measures.replay(trace, config, lines))

    large, _ = traces[-1]
    text = large.read_text(encoding="utf-8").splitlines()
    _say(f"parsing {len(text):,} lines alone")
    decoders = {
        "`json.loads`": json.loads,
        "`json.loads`, numbers as `Decimal`": measures.exact_json_decode(),
    }
    results.parse_rates = measures.parse_rates(text, decoders, results.rounds)
    del text

    small, lines = traces[0]
    _say(f"profiling replay: {lines:,} lines")
    with _noting_failure(results, "replay profile"):
        results.profile = measures.profile_replay(small, config, PROFILE_TOP, workdir)
        results.profile_lines = lines


def _measure_stores(results: Results, workdir: Path) -> None:
    """Redis and SQLite, last, so that no redis-server runs beside the rest."""
    requests = max(100, results.size // REDIS_SHARE)
    sqlite_requests = max(20, results.size // SQLITE_SHARE)
    _say(
        f"stores: {requests:,} requests a Redis run, "
        f"{sqlite_requests:,} for each SQLite process"
    )
    found = stores.measure(
        requests,
        sqlite_requests,
        rounds=results.rounds,
        seed=results.seed,
        workdir=workdir,
        say=_say,
    )
    for note in found.notes:
        _say(f"stores: left out: {note}")
    for failure in found.failures:
        _say(f"stores: failed: {failure}")
    results.failures += found.failures
    results.stores = found


if __name__ == "__main__":
    sys.exit(main())
