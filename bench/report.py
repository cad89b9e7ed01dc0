"""The report: every measurement as Markdown tables, each target marked honestly.

``render`` turns a finished ``Results`` into the text printed on stdout and
written to docs/performance.md. Nothing here measures anything.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import stores_report
from contenders import (
    CAPACITY,
    REFILL_RATE,
    Contender,
    DictFloor,
    LimiterCheck,
    LimiterCheckNs,
    TatFloor,
)
from measures import MemoryUse, ProfileEntry, ReplayRun, StartUp
from stores import StoreResults
from tables import reached, table, times
from workloads import REQUESTS_PER_SECOND, Stream

__all__ = ["FULL_SIZE", "Results", "Targets", "environment", "load_average", "render"]

FULL_SIZE = 1_000_000  # the request count the targets are set for
PACKAGES = ("limiter", "token-bucket", "limits", "pyrate-limiter", "redis", "hiredis")


class Targets:
    """The goals the engine is measured against, as the report states them."""

    PEER_SPEEDUP = 2.5  # Limiter.check at least this many times the fastest peer
    FLOOR_SHARE = 0.5  # ... and at least this share of the inline floor's speed
    BYTES_PER_USER = 100
    REPLAY_PER_SECOND = 300_000
    REPLAY_RSS_GROWTH = 0.10  # "flat": the larger trace's peak at most 10% higher
    START_UP_RATIO = 1.5


@dataclass
class Results:
    """Everything one run of the benchmark measured."""

    command: str
    size: int
    rounds: int
    seed: int
    streams: list[Stream]
    contenders: list[type[Contender]]
    missing: list[type[Contender]]
    # (stream name, contender name) -> CPU and wall seconds of each round, and the
    # requests allowed
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    wall_seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    allowed: dict[tuple[str, str], int] = field(default_factory=dict)
    memory: list[MemoryUse] = field(default_factory=list)
    replays: list[ReplayRun] = field(default_factory=list)
    parse_rates: dict[str, float] = field(default_factory=dict)
    start_up: StartUp | None = None
    failures: list[str] = field(default_factory=list)  # measures that could not run
    profile: list[ProfileEntry] = field(default_factory=list)
    profile_lines: int = 0
    stores: StoreResults | None = None
    environment: dict[str, str] = field(default_factory=dict)

    def median_ns(self, stream: Stream, contender: type[Contender]) -> float:
        """Median nanoseconds per request over the rounds."""
        runs = self.seconds[stream.name, contender.name]
        return statistics.median(runs) / len(stream) * 1e9

    def speedup(
        self, stream: Stream, ours: type[Contender], other: type[Contender]
    ) -> float:
        """How many times faster ``ours`` is than ``other``: median of each round's."""
        ours_runs = self.seconds[stream.name, ours.name]
        other_runs = self.seconds[stream.name, other.name]
        return statistics.median(
            theirs / mine for mine, theirs in zip(ours_runs, other_runs, strict=True)
        )

    def extra_ns(
        self, stream: Stream, slower: type[Contender], faster: type[Contender]
    ) -> float:
        """Nanoseconds per request ``slower`` adds to ``faster``: median of rounds'."""
        pairs = zip(
            self.seconds[stream.name, slower.name],
            self.seconds[stream.name, faster.name],
            strict=True,
        )
        return statistics.median(a - b for a, b in pairs) / len(stream) * 1e9

    def cpu_share(self) -> float:
        """The timed runs' CPU seconds over their wall seconds: 1 on an idle core."""
        cpu = sum(map(sum, self.seconds.values()))
        return cpu / sum(map(sum, self.wall_seconds.values()))

    def disagreements(self) -> list[str]:
        """Streams on which the exact contenders did not allow the same requests."""
        found = []
        for stream in self.streams:
            counts = {
                contender.name: self.allowed[stream.name, contender.name]
                for contender in self.contenders
                if contender.role in ("ours", "floor")
            }
            if len(set(counts.values())) > 1:
                found.append(f"{stream.name}: {counts}")
        if self.stores is not None:
            found += self.stores.disagreements()
        return found


def environment(repository: Path) -> dict[str, str]:
    """The machine, the interpreter, the packages and the engine's commit."""
    found = {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} cores, {len(os.sched_getaffinity(0))} usable here",
        "load at start": load_average(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "engine": _engine_revision(repository),
    }
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def load_average() -> str:
    """The machine's one-minute load average: how busy it was with others' work."""
    return f"{os.getloadavg()[0]:.2f}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _engine_revision(repository: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repository), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    changed = git("status", "--porcelain", "--", "limiter")
    return commit + (" with uncommitted changes in limiter/" if changed else "")


# --- rendering ------------------------------------------------------------------


def render(results: Results, when: str) -> str:
    """The whole report as Markdown."""
    parts = [
        _heading(results, when),
        _failures(results),
        _targets(results),
        _throughput(results),
        _where_time_goes(results),
        _contenders(results),
        _memory(results),
        _replay(results),
        _start_up(results),
        stores_report.section(results.stores, results.environment["cores"]),
        _profile(results),
        _method(results),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def _heading(results: Results, when: str) -> str:
    env = results.environment
    scaled = ""
    if results.size != FULL_SIZE:
        scaled = (
            f"\n\n**Scaled-down run:** {results.size:,} requests per workload, "
            f"not {FULL_SIZE:,};\nthe targets are set for the full size."
        )
    packages = ", ".join(f"{name} {env[name]}" for name in PACKAGES)
    load = (
        f"{env['load at start']} at the start, {env.get('load at end', '?')} at the end"
    )
    return f"""# Performance

How fast the engine answers requests, next to three rate limiters from PyPI and
two floors written into the benchmark, on the same seeded workloads, in one
process; then how fast the shared stores answer, Redis next to a bare round
trip and to `limits` on the same server, and SQLite from one process and from
several. Generated by `bench/run.py`; run `make bench` to measure again.{scaled}

| | |
|:---|:---|
| date | {when} |
| command | `{results.command}` |
| machine | {env["CPU"]}, {env["cores"]} |
| load average (1 min) | {load} |
| Python | {env["Python"]} |
| packages | {packages} |
| engine | commit {env["engine"]} |
| rounds | {results.rounds}, interleaved; seed {results.seed} |"""


def _failures(results: Results) -> str:
    if not results.failures:
        return ""
    listed = "\n".join(f"- {failure}" for failure in results.failures)
    return f"## Measures that failed\n\n{listed}"


def _targets(results: Results) -> str:
    rows = _speed_targets(results)
    rows += _memory_targets(results)
    rows += _replay_targets(results)
    rows += _start_up_targets(results)
    rows += [
        [goal, measured, reached(ok)]
        for goal, measured, ok in stores_report.targets(results.stores)
    ]
    listed = table(["target", "measured", ""], rows, text_columns=3)
    return f"## Targets\n\n{listed}"


def _speed_targets(results: Results) -> list[list[str]]:
    rows = []
    peers = [c for c in results.contenders if c.role == "peer"]
    for stream in results.streams:
        goal = f"`Limiter.check` ≥ {Targets.PEER_SPEEDUP}x the fastest peer"
        if peers:
            fastest = min(peers, key=lambda peer: results.median_ns(stream, peer))
            ratio = results.speedup(stream, LimiterCheck, fastest)
            also = results.speedup(stream, LimiterCheckNs, fastest)
            measured = f"{times(ratio)} {fastest.name} (check_ns: {times(also)})"
            ok: bool | None = ratio >= Targets.PEER_SPEEDUP
        else:
            measured, ok = "no peer installed", None
        rows.append([f"{goal}, {stream.name}", measured, reached(ok)])

        ratio = results.speedup(stream, LimiterCheck, DictFloor)
        also = results.speedup(stream, LimiterCheckNs, DictFloor)
        goal = f"`Limiter.check` ≥ {Targets.FLOOR_SHARE}x the inline floor"
        measured = f"{times(ratio)} (check_ns: {times(also)})"
        ok = ratio >= Targets.FLOOR_SHARE
        rows.append([f"{goal}, {stream.name}", measured, reached(ok)])
    return rows


def _memory_targets(results: Results) -> list[list[str]]:
    goal = f"memory ≤ {Targets.BYTES_PER_USER} bytes per user (MemoryStore)"
    for use in results.memory:
        if use.name == LimiterCheckNs.name:
            ok = use.per_user <= Targets.BYTES_PER_USER
            return [[goal, f"{use.per_user:.0f} bytes", reached(ok)]]
    return [[goal, "not measured", reached(None)]]


def _replay_targets(results: Results) -> list[list[str]]:
    speed = f"replay ≥ {Targets.REPLAY_PER_SECOND:,} requests/s"
    flat = f"replay peak memory flat (at most {Targets.REPLAY_RSS_GROWTH:.0%} more)"
    if len(results.replays) != 2:
        return [[goal, "not measured", reached(None)] for goal in (speed, flat)]

    small, large = results.replays
    ok = large.per_second >= Targets.REPLAY_PER_SECOND
    measured = (
        f"{large.per_second:,.0f} requests/s, {large.per_cpu_second:,.0f} per CPU "
        f"second ({large.lines:,} lines)"
    )
    rows = [[speed, measured, reached(ok)]]

    small_peak, large_peak = small.run.peak_rss_bytes, large.run.peak_rss_bytes
    growth = large_peak / small_peak - 1
    ok = growth <= Targets.REPLAY_RSS_GROWTH
    measured = (
        f"{_mib(small_peak)} → {_mib(large_peak)} MiB ({growth:+.1%}) "
        f"from {small.lines:,} to {large.lines:,} lines"
    )
    rows.append([flat, measured, reached(ok)])
    return rows


def _start_up_targets(results: Results) -> list[list[str]]:
    goal = (
        f"`limiter check` start-up ≤ {Targets.START_UP_RATIO}x "
        "importing json and argparse"
    )
    if results.start_up is None:
        return [[goal, "not measured", reached(None)]]
    ratio = results.start_up.ratio
    return [[goal, times(ratio), reached(ratio <= Targets.START_UP_RATIO)]]


def _throughput(results: Results) -> str:
    ours = [c for c in results.contenders if c.role == "ours"]
    header = ["workload", "contender", "ns/request", "requests/s", "allowed"]
    header += [f"`{c.name.split('.')[-1]}` speed x" for c in ours]
    rows = []
    for stream in results.streams:
        for contender in results.contenders:
            ns = results.median_ns(stream, contender)
            allowed = results.allowed[stream.name, contender.name]
            row = [
                stream.name,
                contender.name,
                f"{ns:,.0f}",
                f"{1e9 / ns:,.0f}",
                f"{allowed / len(stream):.2%}",
            ]
            row += [
                "—"
                if mine is contender
                else times(results.speedup(stream, mine, contender))
                for mine in ours
            ]
            rows.append(row)
    workloads = "\n".join(f"- **{s.name}**: {s.title}" for s in results.streams)
    missing = ""
    if results.missing:
        names = ", ".join(c.name for c in results.missing)
        missing = f"\n\nNot installed in this environment, so not timed: {names}."
    return f"""## Throughput

{workloads}

Requests arrive at about {REQUESTS_PER_SECOND:,} a second (Poisson), and every
bucket holds {CAPACITY} tokens refilled at {REFILL_RATE} token a second. Times are
CPU time per request, the median over the rounds; a speed ratio is how many
times faster our call is than the row's contender (above 1: ours is faster), the
median of each round's ratio. "allowed" is the share of requests let through:
the same for every exact contender; a peer's differs where its rules or its
clock differ (see "The contenders").

{table(header, rows, text_columns=2)}{missing}"""


def _where_time_goes(results: Results) -> str:
    rows = []
    for stream in results.streams:
        rows.append(
            [
                stream.name,
                f"{results.median_ns(stream, TatFloor):,.0f}",
                f"{results.median_ns(stream, DictFloor):,.0f}",
                f"{results.extra_ns(stream, LimiterCheckNs, DictFloor):+,.0f}",
                f"{results.extra_ns(stream, LimiterCheck, LimiterCheckNs):+,.0f}",
                f"{results.median_ns(stream, LimiterCheck):,.0f}",
            ]
        )
    header = [
        "workload",
        "TAT floor",
        "dict floor",
        "engine around it (check_ns)",
        "seconds to ns (check)",
        "Limiter.check",
    ]
    return f"""## Where the engine's time goes

Nanoseconds per request: the floors; what `check_ns` adds to the dict floor's
arithmetic (the call, the checks of its arguments, the configuration lookup,
the store's lock, the `Decision`); what `check` adds to `check_ns` by turning
float seconds into whole nanoseconds exactly; and `check` in all. The added
costs are medians of each round's difference, so a small one can come out
below zero when the machine is noisy.

{table(header, rows)}"""


def _contenders(results: Results) -> str:
    env = results.environment
    rows = [
        [
            c.name,
            env.get(c.package, "—") if c.package else "inline",
            c.clock,
            c.shape,
        ]
        for c in results.contenders
    ]
    notes = "\n".join(
        f"- **{c.name}**: {_docstring_line(c)}" for c in results.contenders
    )
    header = ["contender", "version", "time fed as", "what it limits"]
    listed = table(header, rows, text_columns=4)
    return f"## The contenders\n\n{listed}\n\n{notes}"


def _docstring_line(contender: type[Contender]) -> str:
    """The class's docstring on one line, its reST literals as Markdown code."""
    text = (contender.__doc__ or "").strip().replace("``", "`")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _memory(results: Results) -> str:
    rows = [
        [
            use.name,
            f"{use.users:,}",
            f"{use.per_user:.1f}",
            "—" if use.table_bytes is None else f"{use.table_bytes / use.users:.1f}",
        ]
        for use in results.memory
    ]
    header = ["state kept by", "users", "bytes per user", "of which the dict's table"]
    return f"""## Memory per user

Live allocations traced with `tracemalloc` after the distinct-users workload,
divided by its users. The user id strings are made before tracing and not
counted; each request's time is a new `int`, as a clock would make it.

{table(header, rows)}"""


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"


def _replay(results: Results) -> str:
    if not results.replays and not results.parse_rates:
        return ""
    rows = [
        [
            f"{replay.lines:,}",
            f"{replay.run.seconds:.2f}",
            f"{replay.run.cpu_seconds:.2f}",
            f"{replay.per_second:,.0f}",
            f"{replay.per_cpu_second:,.0f}",
            _mib(replay.run.peak_rss_bytes),
        ]
        for replay in results.replays
    ]
    header = [
        "trace lines",
        "seconds",
        "CPU seconds",
        "requests/s",
        "per CPU second",
        "peak RSS (MiB)",
    ]
    parse_rows = [
        [label, f"{rate:,.0f}"] for label, rate in results.parse_rates.items()
    ]
    parse = table(["parsing the same lines alone", "lines/s"], parse_rows)
    return f"""## Replay

`limiter replay TRACE --config CONFIG`, answers written to /dev/null, on a
JSON Lines trace of the Zipf workload (`{{"user": "user-04217", "time":
12.345678901}}`), timed from start to exit, once each; CPU time (user and system)
and peak RSS from `wait4`. The target is judged on the wall-clock rate.

{table(header, rows)}

No replay can be faster than reading its lines as JSON. The same lines, held in
memory, parsed alone (CPU time, median of the rounds):

{parse}"""


def _start_up(results: Results) -> str:
    found = results.start_up
    if found is None:
        return ""
    rows = [
        ["`limiter check --user a --time 0`", f"{found.check_seconds * 1000:.1f}"],
        ['`python -c "import json, argparse"`', f"{found.baseline_seconds * 1000:.1f}"],
    ]
    listed = table(["command", "median ms"], rows)
    return f"""## Start-up

Median of {found.runs} runs of each, alternating, in the benchmark's own environment.
`limiter check` takes {times(found.ratio)} the baseline.

{listed}"""


def _profile(results: Results) -> str:
    if not results.profile:
        return ""
    rows = [
        [
            f"`{entry.function}`",
            f"{entry.calls:,}",
            f"{entry.own_seconds:.3f}",
            f"{entry.cumulative_seconds:.3f}",
            f"{entry.share:.1%}",
        ]
        for entry in results.profile
    ]
    header = ["function", "calls", "own s", "cumulative s", "share of own time"]
    return f"""## Where replay spends its time

`python -m cProfile -m limiter replay` on the {results.profile_lines:,}-line
trace, the functions with the most time of their own. cProfile slows every
call, so the shares matter, not the seconds.

{table(header, rows)}"""


def _method(results: Results) -> str:
    return f"""## Method

- One process times every contender, on streams made before any timing: the
  users, and the times in each contender's own type (float seconds, whole
  nanoseconds or whole milliseconds). Each user id's hash is computed up front,
  so the first contender does not pay for it.
- Rounds are interleaved: round 1 runs every contender on every workload, then
  round 2, and so on ({results.rounds} rounds). Each run starts from empty state
  after a full garbage collection; the collector stays on while it runs.
- Runs are timed in this process's CPU time, so that time spent waiting for a
  core while the machine is busy with other work is not counted. During the
  timed runs the process had {results.cpu_share():.0%} of a core (100% on an
  otherwise idle machine); a background thread of a peer counts as its own.
- Peers that read a clock are given the workload's time instead (see "time fed
  as"), so every contender sees the same instants.
- Every loop reads each decision and counts the allowed requests. The exact
  contenders must agree on that count; the run fails if they do not.
{stores_report.method()}
- The targets are the goals set for the engine and the stores; each is marked
  as reached or not from this run's numbers alone."""
