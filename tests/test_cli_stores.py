"""The command line with shared state: ``--state FILE`` and ``--redis URL``.

Without either, every run starts from full buckets, as the specification's
``check`` does. With one, runs share buckets, and a store that fails stops the
run with exit status 3 and one line naming it, after the answers it gave.
"""

from __future__ import annotations

import json
import math
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from conftest import REPO_ROOT, Cli, CliResult, Files

from steps.support.servers import RedisServer

TWO_A_SECOND = {"default": {"capacity": 2, "refill_rate": 1}}


@pytest.fixture
def inspect(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the session's Redis server, to look at what was stored."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def decisions(lines: list[str]) -> list[str]:
    """The decision of each answer line."""
    return [json.loads(line)["decision"] for line in lines]


# SQLite -----------------------------------------------------------------------------


def test_successive_checks_share_a_state_file(cli: Cli, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    check = ("check", "--user", "alice", "--time", "0", "--state", state)

    answers = [cli(*check) for _ in range(6)]
    later = cli("check", "--user", "alice", "--time", "1.5", "--state", state)

    assert [answer.status for answer in answers] == [0] * 6
    assert [json.loads(answer.out)["remaining"] for answer in answers] == [
        4.0,
        3.0,
        2.0,
        1.0,
        0.0,
        0.0,
    ]
    assert json.loads(answers[-1].out)["retry_after"] == 1.0
    assert json.loads(later.out)["remaining"] == 0.5


def test_without_a_state_file_every_check_starts_full(cli: Cli) -> None:
    answers = [cli("check", "--user", "alice", "--time", "0") for _ in range(6)]

    assert {json.loads(answer.out)["remaining"] for answer in answers} == {4.0}


def test_a_scenario_and_a_replay_share_one_state_file(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    scenario = files.scenario(2, 1, [("alice", 0), ("alice", 0)])
    config = files.json("config.json", TWO_A_SECOND)
    trace = files.raw("trace.jsonl", '{"user": "alice", "time": 0}\n')

    first = cli("scenario", "--file", scenario, "--state", state)
    then = cli("replay", trace, "--config", config, "--state", state)

    assert decisions(first.lines) == ["ALLOW", "ALLOW"]
    assert decisions(then.lines) == ["DENY"]


def test_processes_at_once_never_share_a_token(files: Files, tmp_path: Path) -> None:
    # Eight processes ask for the same user's 100 tokens, 50 times each.
    state = tmp_path / "state.db"
    trace = files.raw("trace.jsonl", '{"user": "alice", "time": 0}\n' * 50)
    config = files.json("config.json", {"default": {"capacity": 100, "refill_rate": 1}})
    command = [sys.executable, "-m", "limiter", "replay", str(trace)]
    command += ["--config", str(config), "--state", str(state)]

    runs = [
        subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]

    assert [run.returncode for run in runs] == [0] * 8
    answered = [decision for out in outputs for decision in decisions(out.splitlines())]
    assert len(answered) == 400
    assert answered.count("ALLOW") == 100


def test_a_file_that_is_not_a_database_stops_with_exit_status_3(
    cli: Cli, files: Files
) -> None:
    notes = files.raw("notes.txt", "alice: 5 tokens\n" * 100)

    result = cli("check", "--user", "alice", "--time", "0", "--state", notes)

    assert result.status == 3
    assert result.out == ""
    assert result.error_line() == f"limiter: {notes}: file is not a database"
    assert notes.read_text() == "alice: 5 tokens\n" * 100


def test_a_state_file_in_a_missing_folder_is_one_line(cli: Cli, tmp_path: Path) -> None:
    state = tmp_path / "nowhere" / "state.db"

    result = cli("check", "--user", "alice", "--time", "0", "--state", state)

    assert result.status == 3
    assert result.error_line() == (
        f"limiter: {state}: cannot make the file: there is no directory "
        f"{tmp_path / 'nowhere'}"
    )


def test_a_lock_held_too_long_keeps_the_answers_already_given(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    cli("check", "--user", "alice", "--time", "0", "--state", state)
    holder = sqlite3.connect(state, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        scenario = files.scenario(5, 1, [("alice", 0), ("bob", 0)])
        started = time.perf_counter()
        result = cli("scenario", "--file", scenario, "--state", state)
        waited = time.perf_counter() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert result.status == 3
    assert result.out == ""
    assert result.error_line() == (
        f"limiter: {state}: still locked by another connection after 5 s"
    )
    assert 4.5 < waited < 10


@pytest.mark.parametrize(
    ("policy", "decision"), [("deny", "DENY"), ("allow", "ALLOW"), ("local", "ALLOW")]
)
def test_a_policy_answers_when_the_state_file_fails(
    cli: Cli, files: Files, policy: str, decision: str
) -> None:
    notes = files.raw("notes.txt", "not a database\n" * 100)

    result = cli(
        "check", "--user", "alice", "--time", "0", "--state", notes,
        "--on-store-error", policy,
    )  # fmt: skip

    assert result.status == 0, result.err
    assert decisions(result.lines) == [decision]
    assert result.error_line() == (
        f"limiter: {notes}: file is not a database; "
        f"answering by the {policy!r} policy until it is back"
    )


# Redis -------------------------------------------------------------------------------


def answer_of(result: CliResult) -> dict[str, object]:
    """The one answer of a ``check`` run."""
    assert result.status == 0, result.err
    answer: dict[str, object] = json.loads(result.out)
    return answer


def test_successive_checks_share_a_redis_server(
    cli: Cli, redis_url: str, inspect: redis.Redis
) -> None:
    prefix = f"cli-{uuid.uuid4().hex}"
    check = ("check", "--user", "alice", "--redis", redis_url, "--redis-prefix", prefix)

    given = [answer_of(cli(*check, "--time", "0")) for _ in range(3)]
    ttl_given = inspect.pttl(f"{prefix}:{{alice}}")
    expiring = answer_of(cli(*check, "--time", "0", "--expire"))
    ttl_expiring = inspect.pttl(f"{prefix}:{{alice}}")

    assert [answer["remaining"] for answer in given] == [4.0, 3.0, 2.0]
    assert ttl_given == -1  # given times: the key is kept
    assert expiring["remaining"] == 1.0
    assert 0 < ttl_expiring <= 4_002  # full again 4 s later, plus 1 ms, rounded up


def test_check_on_the_server_clock_shows_the_time_the_server_used(
    cli: Cli, redis_url: str, inspect: redis.Redis
) -> None:
    prefix = f"cli-{uuid.uuid4().hex}"
    check = ("check", "--user", "alice", "--redis", redis_url, "--redis-prefix", prefix)

    before = server_seconds(inspect)
    answers = [answer_of(cli(*check, "--clock", "server")) for _ in range(2)]
    after = server_seconds(inspect)
    ttl = inspect.pttl(f"{prefix}:{{alice}}")

    times = [Decimal(str(answer["time"])) for answer in answers]
    assert before <= times[0] <= times[1] <= after
    assert answers[1]["remaining"] == float(
        math.floor((3 + (times[1] - times[0])) * 100) / 100
    )
    assert 0 < ttl <= 2_002  # on a clock, keys expire by default


def server_seconds(client: redis.Redis) -> Decimal:
    """The Redis server's clock, in seconds, to the microsecond."""
    seconds, micros = client.time()
    return Decimal(seconds) + Decimal(micros).scaleb(-6)


def test_a_server_that_is_not_there_is_one_line_and_exit_status_3(cli: Cli) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"

    started = time.perf_counter()
    result = cli("check", "--user", "alice", "--time", "0", "--redis", url)
    waited = time.perf_counter() - started

    assert result.status == 3
    assert result.out == ""
    assert result.error_line() == f"limiter: {url}: cannot connect: Connection refused"
    assert waited < 1


def test_a_server_that_never_answers_costs_one_timeout(cli: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.perf_counter()
        result = cli("check", "--user", "alice", "--time", "0", "--redis", url)
        waited = time.perf_counter() - started

    assert result.status == 3
    assert result.out == ""
    assert result.error_line() == f"limiter: {url}: no answer within 1 s"
    assert waited < 3


def test_a_server_stopped_during_a_replay_keeps_the_answers_given(
    redis_server: RedisServer, files: Files
) -> None:
    config = files.json("config.json", TWO_A_SECOND)
    command = [sys.executable, "-m", "limiter", "replay", "-", "--format", "jsonl"]
    command += ["--config", str(config), "--redis", redis_server.url]
    lines = [json.dumps({"user": f"u{n}", "time": 0}) + "\n" for n in range(600)]
    client = redis.Redis.from_url(redis_server.url)

    run = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert run.stdin is not None
    run.stdin.writelines(lines[:300])
    run.stdin.flush()
    deadline = time.monotonic() + 30
    while client.dbsize() < 300 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the server holds the first 300 users' buckets
    answered_before_stop = client.dbsize()
    redis_server.stop()
    stopped = time.perf_counter()
    out, err = run.communicate("".join(lines[300:]), timeout=30)
    waited = time.perf_counter() - stopped

    assert answered_before_stop == 300
    assert run.returncode == 3
    assert decisions(out.splitlines()) == ["ALLOW"] * 300
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert err.startswith(f"limiter: {redis_server.url}: ")
    assert waited < 5


def closed_port() -> int:
    """A loopback port on which nothing listens, so a connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Options that go together ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--state", "a.db", "--redis", "redis://127.0.0.1:1"],
            "check: argument --redis: not allowed with argument --state",
        ),
        (["--redis-prefix", "app"], "--redis-prefix: goes with --redis"),
        (["--connect-timeout", "1"], "--connect-timeout: goes with --redis"),
        (["--clock", "server"], "--clock: goes with --redis"),
        (["--no-expire"], "--no-expire: goes with --redis"),
        (["--expire"], "--expire: goes with --redis"),
        (
            ["--on-store-error", "deny"],
            "--on-store-error: goes with --state or --redis",
        ),
        (
            ["--redis", "redis://127.0.0.1:1", "--connect-timeout", "0"],
            "--connect-timeout: expected a number of seconds above 0, at most "
            "1000000, found 0",
        ),
        (
            ["--redis", "redis://127.0.0.1:1", "--connect-timeout", "1e300"],
            "--connect-timeout: expected a number of seconds above 0, at most "
            "1000000, found 1e300",
        ),
        (
            ["--redis", "http://127.0.0.1:1/0"],
            '--redis: expected a redis://, rediss:// or unix:// URL, found "http',
        ),
        (
            ["--redis", "redis://127.0.0.1:1/0", "--redis-prefix", "a{b"],
            '--redis-prefix: expected text without { or }, found "a{b"',
        ),
        (
            ["--redis", "redis://127.0.0.1:1", "--clock", "server", "--time", "0"],
            "--time: cannot be given with --clock server",
        ),
        (
            ["--on-store-error", "retry", "--state", "a.db"],
            "argument --on-store-error: invalid choice: 'retry'",
        ),
    ],
)
def test_store_options_in_the_wrong_company_are_refused(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli("check", "--user", "alice", *args)

    assert result.status == 1
    assert message in result.error_line()
    assert list(tmp_path.iterdir()) == []  # no state file was made
