"""The shared stores' part of the report: their targets, their section, their method.

Like report.py, this only renders what bench/stores.py measured.
"""

from __future__ import annotations

from typing import Final

from contenders import CAPACITY
from stores import (
    BARE_PING,
    BATCH,
    LIMITS_FIXED,
    LIMITS_MOVING,
    PING,
    REDIS_BATCHES,
    REDIS_STORE,
    SCRIPT,
    SQLITE_MANY,
    SQLITE_ONE,
    SQLITE_PROCESSES,
    STORE_REFILL_RATE,
    StoreResults,
    StoreRun,
)
from tables import reflow, table, times
from workloads import STORE_REQUESTS_A_USER, STORE_REQUESTS_PER_SECOND, STORE_USERS

__all__ = ["StoreTargets", "method", "section", "targets"]

ONE_AT_A_TIME: Final = (
    PING,
    BARE_PING,
    SCRIPT,
    REDIS_STORE,
    LIMITS_MOVING,
    LIMITS_FIXED,
)


class StoreTargets:
    """The goals the shared stores are measured against."""

    PING_SHARE = 0.75  # RedisStore one at a time: at least this share of PING's rate
    ROUND_TRIPS = 1  # RedisStore one at a time: round trips a decision, at most
    BATCH_SPEEDUP = 4  # RedisStore in batches: at least this many times one at a time


Target = tuple[str, str, bool | None]  # the goal, what was measured, whether met


def targets(stores: StoreResults | None) -> list[Target]:
    """Each store target: the goal, what this run measured, and whether it holds."""
    share, speedup = StoreTargets.PING_SHARE, StoreTargets.BATCH_SPEEDUP
    one = f"one request at a time ≥ {share}x PING"
    batches = f"{BATCH} a batch, as replay gives them, ≥ {speedup}x one at a time"
    return [
        _faster(stores, REDIS_STORE, PING, share, one),
        _round_trips(stores),
        _faster(stores, REDIS_BATCHES, REDIS_STORE, speedup, batches),
    ]


def _faster(
    stores: StoreResults | None, name: str, other: str, least: float, goal: str
) -> Target:
    goal = f"`RedisStore`: {goal}"
    ratio = None if stores is None else stores.ratio(name, other)
    if stores is None or ratio is None:
        return goal, "not measured", None
    mine, theirs = stores.runs[name].per_second(), stores.runs[other].per_second()
    measured = f"{times(ratio)} ({mine:,.0f} against {theirs:,.0f} a second)"
    bare = stores.ratio(name, BARE_PING) if other == PING else None
    if bare is not None:
        measured += f"; {times(bare)} a bare connection's PING"
    return goal, measured, ratio >= least


def _round_trips(stores: StoreResults | None) -> Target:
    goal = "`RedisStore` one request at a time: one round trip a decision, never more"
    if stores is None or not stores.measured(REDIS_STORE):
        return goal, "not measured", None
    reads = stores.runs[REDIS_STORE].reads_per_request()
    if reads is None:
        return goal, "not measured", None
    measured = f"{reads:.2f} server reads a decision, in the run with most"
    return goal, measured, reads <= StoreTargets.ROUND_TRIPS


def section(stores: StoreResults | None, cores: str) -> str:
    """The "Shared stores" section: what ran, its tables, and what was left out."""
    if stores is None:
        return ""
    parts = [_introduction(stores)]
    if _measured(stores, ONE_AT_A_TIME):
        parts.append(_redis(stores, cores))
    if _measured(stores, (SQLITE_ONE, SQLITE_MANY)):
        parts.append(_sqlite(stores))
    if stores.notes:
        parts.append("Not measured:\n\n" + "\n".join(f"- {n}" for n in stores.notes))
    return reflow("\n\n".join(parts))


def method() -> str:
    """The Method bullet on how the shared stores are timed."""
    return """- The shared stores are timed differently: in wall-clock time, since a
  call spends most of its time waiting for a server or a file lock, which CPU
  time leaves out. Each call is timed alone, between two `perf_counter_ns`
  readings, so the rates include the benchmark's own loop. The redis-server is
  started by the benchmark on this machine and reached over loopback TCP: no
  network in the round trip, but the server's CPU comes from the same cores.
  These numbers are a lower bound on what a round trip costs across a network."""


def _measured(stores: StoreResults, names: tuple[str, ...]) -> list[StoreRun]:
    return [stores.runs[name] for name in names if stores.measured(name)]


def _introduction(stores: StoreResults) -> str:
    rounds = f"{stores.rounds} round{'s' if stores.rounds != 1 else ''}"
    return f"""## Shared stores

Stores that keep the buckets outside this process, so that several processes
can share them. Every bucket holds {CAPACITY} tokens and gains {STORE_REFILL_RATE} a
second. The workload: users each as likely as the next, about
{STORE_REQUESTS_A_USER} requests a user ({STORE_USERS:,} users at most), each
request with its time in whole nanoseconds given to the store, so that most are
denied. The requests' times run at {STORE_REQUESTS_PER_SECOND:,} requests a
second, slower than any store answers, so that they run faster than real time:
Redis expires a key in real time once its bucket would be full in the requests'
time, which is right only then (docs/stores.md, "Expiry"). Timings are
wall-clock, and each call is timed alone. A rate is a run's requests over the
wall seconds of its whole loop, the median of {rounds}, interleaved; p50 and p99
are over every call of every round. "client CPU" is the CPU time of the
process(es) asking, "allowed" the share let through, each the median of the
runs. The exact stores must allow just what the engine allows with its
in-process store on the same requests; the run fails if they do not."""


def _expected(stores: StoreResults, name: str, requests: int) -> str:
    """The engine's allowed share, said in a sentence, where it was computed."""
    expected = stores.expected.get(name)
    if expected is None:
        return ""
    return f" The engine in memory allows {expected / requests:.2%} of them."


def _row(run: StoreRun, ratio: float | None, server: bool) -> list[str]:
    allowed = sorted(run.allowed)[len(run.allowed) // 2]
    row = [
        run.name,
        f"{run.per_second():,.0f}",
        f"{run.latency_ns(0.50) / 1000:,.1f}",
        f"{run.latency_ns(0.99) / 1000:,.1f}",
        f"{run.cpu_us():,.1f}",
    ]
    if server:
        cpu, reads = run.server_cpu_us(), run.reads_per_request()
        row.append("—" if cpu is None else f"{cpu:,.1f}")
        row.append("—" if reads is None else f"{reads:.2f}")
    row.append(f"{allowed / run.requests:.2%}" if run.decides else "—")
    row.append("—" if ratio is None else times(ratio))
    return row


_PER_REQUEST: Final = ["client CPU µs", "server CPU µs", "server reads"]

# What each Redis measure calls, shown for the measures that ran.
_REDIS_MEASURES: Final = {
    PING: f"""**{PING}**: `Redis.ping()`, a round trip that reads and writes
  nothing, through redis-py's client (its connection pool, its retries): the
  floor the targets are set against.""",
    BARE_PING: f"""**{BARE_PING}**: PING on one of redis-py's connections,
  `Connection.send_command` and `read_response`, as `RedisStore` uses them:
  the round trip with no client around it. No store on this server can answer
  a request in less.""",
    SCRIPT: f"""**{SCRIPT}**: the store's own Lua script, `limiter/bucket.lua`,
  sent as `EVALSHA` on such a connection, its arguments made once: the same
  round trip and the same work on the server as `RedisStore`, with none of the
  store's Python around it. From the bare PING to this row is the script's
  cost; from this row to the next, the store's and the engine's Python.""",
    REDIS_STORE: f"""**{REDIS_STORE}**: `Limiter(config, store=RedisStore(url,
  clock="caller")).check_ns(user, now_ns)`, the time given by the caller.""",
    LIMITS_MOVING: f"""**{LIMITS_MOVING}**, **{LIMITS_FIXED}**: the `limits`
  library's `RedisStorage` (`storage_from_string(url)`) under its
  `MovingWindowRateLimiter` or `FixedWindowRateLimiter`, `hit(item, user)`,
  {CAPACITY} per {CAPACITY / STORE_REFILL_RATE:.0f} seconds; one `EVALSHA` a hit. It has
  no token bucket. Both follow the real clock, not the workload's: the moving
  window reads this machine's `time.time()`, the fixed window counts in a key
  that Redis expires; so their allowed shares are not comparable.""",
    REDIS_BATCHES: f"""**{REDIS_BATCHES}**: {BATCH} requests at a time given to
  `Limiter.check_many_ns`, which hands them to `RedisStore.take_many` at once,
  as `limiter replay` does; the latencies are a whole batch's.""",
}


def _redis(stores: StoreResults, cores: str) -> str:
    one = [
        _row(run, stores.ratio(run.name, PING), server=True)
        for run in _measured(stores, ONE_AT_A_TIME)
    ]
    header = ["one request at a time", "requests/s", "p50 µs", "p99 µs"]
    header += [*_PER_REQUEST, "allowed", "x PING"]
    expected = _expected(stores, REDIS_STORE, len(stores.stream))
    text = f"""### Redis

The benchmark starts its own redis-server on 127.0.0.1 at a free port, saving
nothing to disk, and stops it at the end: client and server share this machine
and talk over loopback TCP. Each measure opens its own connection and makes one
untimed call first (connecting, loading its Lua script); each run starts from
an empty database (`FLUSHDB`, untimed). The server's CPU time and socket reads
come from its `INFO`, read before and after each run. The columns of CPU time
and reads are per request. A client that sends a request and waits for the
answer makes the server read once: there, reads are round trips. A batch's
requests share their reads. Each run: {stores.stream.title}.{expected}

- server: {stores.server}
- client: {stores.client}
- machine: {cores}

{table(header, one)}"""

    batches = _measured(stores, (REDIS_BATCHES,))
    if batches:
        ratio = stores.ratio(REDIS_BATCHES, REDIS_STORE)
        header = ["in batches", "requests/s", "p50 µs a batch", "p99 µs a batch"]
        header += [*_PER_REQUEST, "allowed", "x one at a time"]
        text += f"\n\n{table(header, [_row(batches[0], ratio, server=True)])}"
    ran = {run.name for run in _measured(stores, tuple(stores.runs))}
    if LIMITS_FIXED in ran:
        ran.add(LIMITS_MOVING)  # whose note speaks for both windows
    notes = [f"- {note}" for name, note in _REDIS_MEASURES.items() if name in ran]
    return text + "\n\n" + "\n".join(notes)


def _sqlite(stores: StoreResults) -> str:
    rows = [
        _row(run, stores.ratio(run.name, SQLITE_ONE), server=False)
        for run in _measured(stores, (SQLITE_ONE, SQLITE_MANY))
    ]
    header = ["on one file", "decisions/s, all processes", "p50 µs", "p99 µs"]
    header += ["client CPU µs", "allowed", "x 1 process"]
    expected = _expected(stores, SQLITE_ONE, stores.sqlite_requests)
    return f"""### SQLite

Each process is an interpreter of its own, a worker of `bench/stores.py`, with
its own `SQLiteStore` on one file in a temporary directory. The workers open the
file and make one untimed call, then start together: the rate is all their
decisions over the wall time from the start until the last is done; p50 and
p99 pool every process's calls, the CPU time is all the processes' together.
Each process asks for the same users at the same times, so with
{SQLITE_PROCESSES} processes each bucket is asked {SQLITE_PROCESSES} times as
often and fewer requests are allowed: which ones depends on how the processes
interleave, so that share is not checked. Each process: {stores.sqlite_title},
in order.{expected}

- file system: {stores.sqlite_disk}
- journal mode of the file, as the store left it: {stores.sqlite_journal}

{table(header, rows)}"""
