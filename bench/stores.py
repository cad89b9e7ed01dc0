"""The shared stores, Redis and SQLite, timed next to their floors and a peer.

A shared store spends its time waiting: for a round trip to a server, for a
file's lock. So every call here is timed in wall-clock time, between two
``perf_counter_ns`` readings, and a rate is the requests of a run over the wall
seconds of its whole loop. The CPU time of the process asking is kept too, and
for Redis the server's CPU time and socket reads, so that a slow measure shows
where its time went.

Redis: the benchmark starts a redis-server of its own (bench/redis_server.py).
One request at a time, on one connection each: redis-py's PING (``Redis.ping``,
the floor the targets are set against); PING on a bare redis-py connection, as
``RedisStore`` uses them (a round trip with no client around it); the store's
Lua script on such a connection (the same round trip and the same work on the
server as ``RedisStore``, without the store's Python); ``RedisStore`` through
``Limiter.check_ns``; the ``limits`` library's Redis storage with its moving and
its fixed window. Then ``Limiter.check_many_ns`` on ``RedisStore``, ``BATCH``
requests at a time, as ``limiter replay`` gives them to a store that answers in
batches. SQLite: one process, then ``SQLITE_PROCESSES`` at once on one file,
each with its own ``SQLiteStore``, started as workers of this very script::

    python bench/stores.py sqlite-worker PATH REQUESTS SEED

A piece that is not there (redis-server, redis-py, ``limits``) is noted and left
out; a measure that fails is recorded as failed.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import importlib.resources
import importlib.util
import json
import math
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any, ClassVar, Final

import redis_server
from contenders import CAPACITY
from redis_server import Counters
from workloads import Stream, store_users

__all__ = [
    "BARE_PING",
    "BATCH",
    "LIMITS_FIXED",
    "LIMITS_MOVING",
    "PING",
    "REDIS_BATCHES",
    "REDIS_STORE",
    "SCRIPT",
    "SQLITE_MANY",
    "SQLITE_ONE",
    "SQLITE_PROCESSES",
    "STORE_REFILL_RATE",
    "StoreResults",
    "StoreRun",
    "measure",
]

BATCH: Final = 100  # requests a batch, as `limiter replay` sends them (replay.BATCH)
SQLITE_PROCESSES: Final = 4
# Tokens a second of the stores' buckets, which hold CAPACITY tokens as the
# engine's do. The requests' times run slowly (workloads.STORE_REQUESTS_PER_SECOND)
# and a user asks about once a second of them: this rate keeps most requests
# denied, and makes the unit a tenth of a nanosecond's gain, not a whole one.
STORE_REFILL_RATE: Final = Decimal("0.2")
WARM_UP_USER: Final = "warm-up"  # asked once, untimed, before the rounds

PING: Final = "redis-py: PING"
BARE_PING: Final = "bare connection: PING"
SCRIPT: Final = "bare connection: EVALSHA bucket.lua"
REDIS_STORE: Final = "RedisStore: Limiter.check_ns"
LIMITS_MOVING: Final = "limits: moving window"
LIMITS_FIXED: Final = "limits: fixed window"
REDIS_BATCHES: Final = f"RedisStore: Limiter.check_many_ns, {BATCH} a batch"
SQLITE_ONE: Final = "SQLiteStore: 1 process"
SQLITE_MANY: Final = f"SQLiteStore: {SQLITE_PROCESSES} processes"

Say = Callable[[str], None]
Ask = Callable[[Any, Any], int]  # one timed call: how many requests it allowed


@dataclass(frozen=True)
class Timed:
    """One run: wall and CPU seconds, requests allowed, every call's nanoseconds."""

    seconds: float
    cpu_seconds: float  # of the process(es) asking, user and system
    allowed: int
    latencies_ns: list[int]


@dataclass
class StoreRun:
    """One measure over the rounds: each run's figures, every call's latency."""

    name: str
    requests: int  # answered in each run, by all processes together
    decides: bool = True  # False for PING, which answers nothing
    seconds: list[float] = field(default_factory=list)  # wall, of each run
    cpu_seconds: list[float] = field(default_factory=list)  # of the askers
    allowed: list[int] = field(default_factory=list)
    latencies_ns: list[int] = field(default_factory=list)  # of every timed call
    server: list[Counters] = field(default_factory=list)  # Redis: its work a run

    def add(self, timed: Timed, server: Counters | None = None) -> None:
        """Keep one run's figures, and the Redis server's work in it if given."""
        self.seconds.append(timed.seconds)
        self.cpu_seconds.append(timed.cpu_seconds)
        self.allowed.append(timed.allowed)
        self.latencies_ns += timed.latencies_ns
        if server is not None:
            self.server.append(server)

    def rates(self) -> list[float]:
        """Requests answered per wall second, run by run."""
        return [self.requests / seconds for seconds in self.seconds]

    def per_second(self) -> float:
        """The median of the runs' rates."""
        return statistics.median(self.rates())

    def latency_ns(self, share: float) -> int:
        """The latency that ``share`` of all calls stay within (nearest rank)."""
        ordered = sorted(self.latencies_ns)
        rank = max(1, math.ceil(share * len(ordered)))
        return ordered[rank - 1]

    def cpu_us(self) -> float:
        """Microseconds of the askers' CPU a request, median of the runs."""
        return statistics.median(self.cpu_seconds) / self.requests * 1e6

    def server_cpu_us(self) -> float | None:
        """Microseconds of the Redis server's CPU a request, median of the runs."""
        if not self.server:
            return None
        seconds = statistics.median(counters.cpu_seconds for counters in self.server)
        return seconds / self.requests * 1e6

    def reads_per_request(self) -> float | None:
        """The Redis server's socket reads a request, in the run that made most."""
        if not self.server:
            return None
        return max(counters.reads for counters in self.server) / self.requests


@dataclass
class StoreResults:
    """Everything the stores section measured, and what it could not."""

    stream: Stream  # the Redis workload
    sqlite_requests: int  # by each SQLite process in each run
    rounds: int
    seed: int  # of the workloads, the SQLite workers' included
    runs: dict[str, StoreRun] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # engine's allowed
    notes: list[str] = field(default_factory=list)  # what was left out, and why
    failures: list[str] = field(default_factory=list)  # measures that failed
    server: str = ""  # "redis-server 7.0.15", once one has run
    client: str = ""  # redis-py's version and parser
    sqlite_title: str = ""  # the workload of each SQLite process
    sqlite_disk: str = ""  # the file system the SQLite file lives on
    sqlite_journal: str = ""  # the file's journal mode, as the store left it

    def ratio(self, name: str, other: str) -> float | None:
        """How many times ``other``'s rate ``name``'s is: median of the rounds'."""
        if not self.measured(name) or not self.measured(other):
            return None
        pairs = zip(self.runs[name].rates(), self.runs[other].rates(), strict=True)
        return statistics.median(mine / theirs for mine, theirs in pairs)

    def measured(self, name: str) -> bool:
        """Whether every round of ``name`` ran."""
        run = self.runs.get(name)
        return run is not None and len(run.seconds) == self.rounds

    def disagreements(self) -> list[str]:
        """Stores that did not allow what the engine in memory allows."""
        found = []
        for name, expected in self.expected.items():
            run = self.runs.get(name)
            if run is not None and any(n != expected for n in run.allowed):
                found.append(f"{name}: allowed {run.allowed}, in memory {expected}")
        return found


def measure(
    requests: int,
    sqlite_requests: int,
    *,
    rounds: int,
    seed: int,
    workdir: Path,
    say: Say,
) -> StoreResults:
    """Time every shared store this machine can run; note the ones it cannot.

    Redis answers ``requests`` requests a run; each SQLite process answers
    ``sqlite_requests``.
    """
    stream = store_users(requests, seed)
    results = StoreResults(stream, sqlite_requests, rounds, seed)
    _measure_redis(results, workdir, say)
    _measure_sqlite(results, workdir, say)
    return results


def _config() -> Any:
    from limiter.config import Config

    default = {"capacity": CAPACITY, "refill_rate": STORE_REFILL_RATE}
    return Config.from_mapping({"default": default})


def _allowed_in_memory(stream: Stream) -> int:
    """What the engine with its in-process store allows on ``stream``."""
    from limiter import Limiter

    check_ns = Limiter(_config()).check_ns
    return sum(check_ns(user, now).allowed for user, now in _requests(stream))


def _requests(stream: Stream) -> Iterator[tuple[str, int]]:
    return zip(stream.users, stream.nanos, strict=True)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _time_calls(ask: Ask, calls: Iterable[tuple[Any, Any]]) -> Timed:
    """Make every call of ``calls``, timing each and all of them."""
    clock = time.perf_counter_ns
    latencies: list[int] = []
    record = latencies.append
    allowed = 0
    cpu = time.process_time()
    start = clock()
    for first, second in calls:
        before = clock()
        allowed += ask(first, second)
        record(clock() - before)
    seconds = (clock() - start) / 1e9
    return Timed(seconds, time.process_time() - cpu, allowed, latencies)


# --- Redis ----------------------------------------------------------------------


class _RedisMeasure(ABC):
    """One way of asking Redis: ``open`` connects and warms up, untimed."""

    name: ClassVar[str]
    module: ClassVar[str]  # what must be importable
    decides: ClassVar[bool] = True
    exact: ClassVar[bool] = False  # must allow just what the engine allows

    @abstractmethod
    def open(self, url: str) -> Ask:
        """Connect, make one untimed call, and return the call to time."""

    def calls(self, stream: Stream) -> Iterable[tuple[Any, Any]]:
        """The arguments of each timed call: a user and a time, by default."""
        return _requests(stream)

    @abstractmethod
    def close(self) -> None:
        """Close the connection ``open`` made."""


class _Ping(_RedisMeasure):
    name = PING
    module = "redis"
    decides = False

    def open(self, url: str) -> Ask:
        import redis

        self.client = redis.Redis.from_url(url)
        ping = self.client.ping
        ping()
        return lambda user, now: ping()

    def close(self) -> None:
        self.client.close()


class _BareMeasure(_RedisMeasure):
    """A measure on one of redis-py's connections, as ``RedisStore`` uses them."""

    module = "redis"

    def connect(self, url: str) -> Callable[..., Any]:
        """Open the connection; return the call that sends a command, answered."""
        from redis.connection import Connection, parse_url

        self.connection = Connection(**parse_url(url))
        self.connection.connect()
        send, read = self.connection.send_command, self.connection.read_response

        def ask(*command: Any) -> Any:
            send(*command)
            return read()

        return ask

    def close(self) -> None:
        self.connection.disconnect()


class _BarePing(_BareMeasure):
    name = BARE_PING
    decides = False

    def open(self, url: str) -> Ask:
        ask = self.connect(url)

        def ping(user: str, now: int) -> int:
            ask("PING")
            return 0

        ping(WARM_UP_USER, 0)
        return ping


class _Script(_BareMeasure):
    """bucket.lua sent on a bare connection, its arguments made once."""

    name = SCRIPT
    exact = True

    def open(self, url: str) -> Ask:
        ask = self.connect(url)
        source = importlib.resources.files("limiter") / "bucket.lua"
        sha = ask("SCRIPT", "LOAD", source.read_bytes())
        bucket = _config().default
        shape = f"{bucket.capacity}/{bucket.refill_rate}"
        fixed = (shape, str(bucket.unit), str(bucket.full), str(bucket.gain), "1")

        def decide(user: str, now: int) -> int:
            key = f"bench:{{{user}}}"  # the store's layout (docs/stores.md)
            allowed: int = ask("EVALSHA", sha, 1, key, str(now), *fixed)[0]
            return allowed

        decide(WARM_UP_USER, 0)
        return decide


class _RedisStoreCheck(_RedisMeasure):
    name = REDIS_STORE
    module = "limiter.redis_store"
    exact = True

    def limiter(self, url: str) -> Any:
        """A limiter on a new ``RedisStore``, the time given by the caller."""
        from limiter import Limiter
        from limiter.redis_store import RedisStore

        self.store = RedisStore(url, prefix="bench", clock="caller")
        return Limiter(_config(), store=self.store)

    def open(self, url: str) -> Ask:
        check_ns = self.limiter(url).check_ns
        check_ns(WARM_UP_USER, 0)  # connects and loads the script
        return lambda user, now: check_ns(user, now).allowed

    def close(self) -> None:
        self.store.close()


class _RedisStoreBatches(_RedisStoreCheck):
    name = REDIS_BATCHES

    def open(self, url: str) -> Ask:
        check_many_ns = self.limiter(url).check_many_ns
        check_many_ns([(WARM_UP_USER, 0)])

        def ask(batch: list[tuple[str, int]], _: None) -> int:
            return sum(decision.allowed for decision in check_many_ns(batch))

        return ask

    def calls(self, stream: Stream) -> Iterable[tuple[Any, Any]]:
        requests = list(_requests(stream))
        batches = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]
        return zip(batches, repeat(None))


class _LimitsWindow(_RedisMeasure):
    module = "limits"
    strategy: ClassVar[str]  # a key of limits.strategies.STRATEGIES

    def open(self, url: str) -> Ask:
        from limits import RateLimitItemPerSecond
        from limits.storage import storage_from_string
        from limits.strategies import STRATEGIES

        self.storage: Any = storage_from_string(url)
        hit = STRATEGIES[self.strategy](self.storage).hit
        # As long a window as the bucket takes to fill: the same burst, the same
        # rate in the long run.
        window = int(CAPACITY / STORE_REFILL_RATE)
        item = RateLimitItemPerSecond(CAPACITY, window)
        hit(item, WARM_UP_USER)
        return lambda user, now: hit(item, user)

    def close(self) -> None:
        self.storage.get_connection().close()


class _LimitsMoving(_LimitsWindow):
    name = LIMITS_MOVING
    strategy = "moving-window"


class _LimitsFixed(_LimitsWindow):
    name = LIMITS_FIXED
    strategy = "fixed-window"


_REDIS_MEASURES: Final = (
    _Ping,
    _BarePing,
    _Script,
    _RedisStoreCheck,
    _LimitsMoving,
    _LimitsFixed,
    _RedisStoreBatches,
)


def _measure_redis(results: StoreResults, workdir: Path, say: Say) -> None:
    """Every Redis measure, round after round, on one server of our own."""
    if not _importable("redis"):
        results.notes.append(
            "Redis: redis-py is not installed here (bench/setup installs it)."
        )
        return
    executable = shutil.which("redis-server")
    if executable is None:
        results.notes.append("Redis: no redis-server on PATH.")
        return
    measures: list[_RedisMeasure] = []
    missing: dict[str, list[str]] = {}  # module -> the measures that need it
    for kind in _REDIS_MEASURES:
        if _importable(kind.module):
            measures.append(kind())
        else:
            missing.setdefault(kind.module, []).append(kind.name)
    for module, names in missing.items():
        results.notes.append(f"{', '.join(names)}: {module} cannot be imported here.")
    exact = [measure.name for measure in measures if measure.exact]
    if exact:
        allowed = _allowed_in_memory(results.stream)
        results.expected.update((name, allowed) for name in exact)

    import redis

    try:
        with redis_server.running(executable, workdir) as url:
            _redis_rounds(results, measures, url, say)
    except (RuntimeError, redis.RedisError) as error:
        results.failures.append(f"redis-server: {_one_line(error)}")


def _redis_rounds(
    results: StoreResults, measures: list[_RedisMeasure], url: str, say: Say
) -> None:
    import redis

    admin = redis.Redis.from_url(url, decode_responses=True)
    results.server = f"redis-server {admin.info('server')['redis_version']}"
    results.client = _redis_client()
    asks = {}
    for measure in measures:
        # limits keeps both windows under one key a user: a warm-up call of one
        # must not leave that key to the other.
        admin.flushdb()
        try:
            asks[measure.name] = measure.open(url)
        except Exception as error:  # a failure costs this measure only
            results.failures.append(f"{measure.name}: {_one_line(error)}")
    stream = results.stream
    for round_number in range(1, results.rounds + 1):
        say(f"stores: Redis round {round_number}/{results.rounds}")
        for measure in measures:
            if measure.name not in asks:
                continue
            admin.flushdb()  # every run starts from empty state
            gc.collect()
            before = Counters.read(admin)
            try:
                timed = _time_calls(asks[measure.name], measure.calls(stream))
            except Exception as error:
                results.failures.append(f"{measure.name}: {_one_line(error)}")
                del asks[measure.name]
                continue
            server = Counters.read(admin).since(before)
            run = results.runs.setdefault(
                measure.name, StoreRun(measure.name, len(stream), measure.decides)
            )
            run.add(timed, server)
            say(f"  {measure.name}: {run.rates()[-1]:,.0f} requests/s")
    for measure in measures:
        with contextlib.suppress(Exception):
            measure.close()
    admin.close()


def _redis_client() -> str:
    """redis-py's version, and which parser reads the server's replies."""
    import redis.utils

    parser = "hiredis" if redis.utils.HIREDIS_AVAILABLE else "pure Python"
    if parser == "hiredis":
        parser += " " + importlib.metadata.version("hiredis")
    return f"redis-py {importlib.metadata.version('redis')}, {parser} parser"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


# --- SQLite ---------------------------------------------------------------------


def _measure_sqlite(results: StoreResults, workdir: Path, say: Say) -> None:
    """One process, then several at once on one file; round after round."""
    seed, count = results.seed, results.sqlite_requests
    stream = store_users(count, seed)
    results.sqlite_title = stream.title
    results.expected[SQLITE_ONE] = _allowed_in_memory(stream)
    results.sqlite_disk = _file_system(workdir)
    for round_number in range(1, results.rounds + 1):
        say(f"stores: SQLite round {round_number}/{results.rounds}")
        for name, processes in ((SQLITE_ONE, 1), (SQLITE_MANY, SQLITE_PROCESSES)):
            path = workdir / f"sqlite-{round_number}-{processes}.db"
            try:
                timed = _sqlite_run(path, processes, count, seed)
            except RuntimeError as error:
                results.failures.append(f"{name}: {error}")
                return
            run = results.runs.setdefault(name, StoreRun(name, processes * count))
            run.add(timed)
            results.sqlite_journal = _journal_mode(path)
            say(f"  {name}: {run.rates()[-1]:,.0f} decisions/s")


def _sqlite_run(path: Path, processes: int, count: int, seed: int) -> Timed:
    """Start the workers, let them go at once, time them until the last is done."""
    command = [sys.executable, str(Path(__file__).resolve()), "sqlite-worker"]
    command += [str(path), str(count), str(seed)]
    with contextlib.ExitStack() as stack:
        workers = []
        for _ in range(processes):
            errors = stack.enter_context(tempfile.TemporaryFile())
            worker = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            stack.callback(_reap, worker)
            workers.append((worker, errors))
        for worker, errors in workers:
            _expect(worker, errors, "ready")

        gc.collect()
        start = time.perf_counter_ns()
        for worker, _ in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker, errors in workers:
            _expect(worker, errors, "done")
        seconds = (time.perf_counter_ns() - start) / 1e9

        cpu, allowed, latencies = 0.0, 0, []
        for worker, errors in workers:
            answer = json.loads(_expect(worker, errors, None))
            cpu += answer["cpu_seconds"]
            allowed += answer["allowed"]
            latencies += answer["latencies_ns"]
    return Timed(seconds, cpu, allowed, latencies)


def _expect(worker: subprocess.Popen[str], errors: Any, word: str | None) -> str:
    """The worker's next line, which must be ``word`` if given."""
    assert worker.stdout is not None
    line = worker.stdout.readline().strip()
    if not line or (word is not None and line != word):
        worker.wait()
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()
        last = said[-1] if said else f"exit status {worker.returncode}"
        awaited = word or "its times"
        raise RuntimeError(f"a worker stopped before saying {awaited}: {last}")
    return line


def _reap(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        worker.kill()
    worker.wait()


def _file_system(path: Path) -> str:
    """The type of the file system ``path`` is on, from /proc/mounts: ``ext4``."""
    found, longest = "unknown", -1
    with contextlib.suppress(OSError), open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            point, kind = fields[1], fields[2]
            inside = str(path.resolve()).startswith(point.rstrip("/") + "/")
            if inside and len(point) > longest:
                found, longest = kind, len(point)
    return found


def _journal_mode(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        mode: str = connection.execute("PRAGMA journal_mode").fetchone()[0]
        return mode


def _sqlite_worker(path: str, count: int, seed: int) -> None:
    """One SQLite process: connect, say ready, wait for go, answer, report times."""
    from limiter import Limiter
    from limiter.sqlite_store import SQLiteStore

    stream = store_users(count, seed)
    store = SQLiteStore(path)
    check_ns = Limiter(_config(), store=store).check_ns
    check_ns(WARM_UP_USER, 0)  # opens the file and makes the table
    print("ready", flush=True)
    if sys.stdin.readline() != "go\n":  # the benchmark has gone: so does this
        sys.exit(1)

    timed = _time_calls(
        lambda user, now: check_ns(user, now).allowed, _requests(stream)
    )
    print("done", flush=True)
    store.close()
    answer = {
        "cpu_seconds": timed.cpu_seconds,
        "allowed": timed.allowed,
        "latencies_ns": timed.latencies_ns,
    }
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] != ["sqlite-worker"] or len(sys.argv) != 5:
        sys.exit("usage: python bench/stores.py sqlite-worker PATH REQUESTS SEED")
    _sqlite_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
