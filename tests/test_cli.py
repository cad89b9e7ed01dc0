"""The command line: exact answer lines, exit statuses, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SCENARIOS, Cli, Files

import limiter
from limiter.cli import main
from limiter.documents import parse_json
from limiter.validation import validate

# The five scenarios, answer by answer ----------------------------------------------

SCENARIO_ANSWERS = {
    "scenario_1": [
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 3.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 2.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 1.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 0.0}',
        '{"user": "alice", "time": 0.0, "decision": "DENY", "remaining": 0.0, '
        '"retry_after": 1.0}',
        '{"user": "alice", "time": 1.0, "decision": "ALLOW", "remaining": 0.0}',
    ],
    "scenario_2": [
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 2.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 1.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 0.0}',
        '{"user": "alice", "time": 0.0, "decision": "DENY", "remaining": 0.0, '
        '"retry_after": 1.0}',
        '{"user": "bob", "time": 0.0, "decision": "ALLOW", "remaining": 2.0}',
        '{"user": "bob", "time": 0.0, "decision": "ALLOW", "remaining": 1.0}',
        '{"user": "alice", "time": 1.0, "decision": "ALLOW", "remaining": 0.0}',
        '{"user": "bob", "time": 1.0, "decision": "ALLOW", "remaining": 1.0}',
    ],
    "scenario_3": [
        '{"user": "premium_user", "time": 0.0, "decision": "ALLOW", "remaining": 9.0}',
        '{"user": "premium_user", "time": 0.0, "decision": "ALLOW", "remaining": 8.0}',
        '{"user": "premium_user", "time": 0.0, "decision": "ALLOW", "remaining": 7.0}',
        '{"user": "free_user", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}',
        '{"user": "free_user", "time": 0.0, "decision": "ALLOW", "remaining": 3.0}',
        '{"user": "free_user", "time": 0.0, "decision": "ALLOW", "remaining": 2.0}',
        '{"user": "free_user", "time": 0.0, "decision": "ALLOW", "remaining": 1.0}',
        '{"user": "free_user", "time": 0.0, "decision": "ALLOW", "remaining": 0.0}',
        '{"user": "free_user", "time": 0.0, "decision": "DENY", "remaining": 0.0, '
        '"retry_after": 1.0}',
        '{"user": "premium_user", "time": 0.0, "decision": "ALLOW", "remaining": 6.0}',
    ],
    "scenario_4": [
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}',
        '{"user": "alice", "time": 10.0, "decision": "ALLOW", "remaining": 4.0}',
    ],
    "scenario_5": [
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 2.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 1.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 0.0}',
        '{"user": "alice", "time": 0.0, "decision": "DENY", "remaining": 0.0, '
        '"retry_after": 0.5}',
        '{"user": "alice", "time": 0.25, "decision": "DENY", "remaining": 0.5, '
        '"retry_after": 0.25}',
        '{"user": "alice", "time": 0.5, "decision": "ALLOW", "remaining": 0.0}',
    ],
}


@pytest.mark.parametrize("name", sorted(SCENARIO_ANSWERS))
def test_each_scenario_prints_its_answers_exactly(cli: Cli, name: str) -> None:
    result = cli("scenario", "--file", SCENARIOS / f"{name}.json")

    assert result.status == 0
    assert result.err == ""
    assert result.out == "".join(line + "\n" for line in SCENARIO_ANSWERS[name])


@pytest.mark.parametrize("name", sorted(SCENARIO_ANSWERS))
def test_every_answer_line_fits_the_answer_schema(cli: Cli, name: str) -> None:
    result = cli("scenario", "--file", SCENARIOS / f"{name}.json")

    for line in result.lines:
        validate(parse_json(line.encode()), "answer")


def test_a_scenario_without_requests_prints_nothing_and_succeeds(
    cli: Cli, files: Files
) -> None:
    result = cli("scenario", "--file", files.scenario(5, 1, []))

    assert (result.status, result.out, result.err) == (0, "", "")


def test_times_are_echoed_as_given(cli: Cli, files: Files) -> None:
    path = files.raw(
        "echo.json",
        '{"config": {"default": {"capacity": 9, "refill_rate": 1}}, "requests": ['
        '{"user": "a", "time": 0}, {"user": "a", "time": 2.50}, '
        '{"user": "a", "time": 1e2}, {"user": "a", "time": 100.0000000001}]}',
    )

    result = cli("scenario", "--file", path)

    assert [line.split(", ")[1] for line in result.lines] == [
        '"time": 0.0',
        '"time": 2.50',
        '"time": 1E+2',
        '"time": 100.0000000001',
    ]


# check -----------------------------------------------------------------------------


def test_check_answers_one_request_with_the_default_bucket(cli: Cli) -> None:
    result = cli("check", "--user", "alice", "--time", "0")

    assert result.status == 0
    assert result.err == ""
    assert result.out == (
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}\n'
    )


def test_every_check_starts_with_a_full_bucket(cli: Cli) -> None:
    first = cli("check", "--user", "alice", "--time", "7.5")
    second = cli("check", "--user", "alice", "--time", "7.5")

    assert first.out == second.out
    assert '"remaining": 4.0' in second.out


def test_check_without_time_reads_the_wall_clock(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("limiter.cli._wall_clock_ns", lambda: 1_700_000_000_123_456_789)

    result = cli("check", "--user", "alice")

    assert result.out == (
        '{"user": "alice", "time": 1700000000.123456789, "decision": "ALLOW", '
        '"remaining": 4.0}\n'
    )


def test_check_takes_a_configuration_file(cli: Cli, files: Files) -> None:
    path = files.json(
        "config.json",
        {
            "default": {"capacity": 5, "refill_rate": 1},
            "users": {"alice": {"capacity": 1, "refill_rate": 3}},
        },
    )

    alice = cli("check", "--user", "alice", "--time", "0", "--config", path)
    bob = cli("check", "--user", "bob", "--time", "0", "--config", path)

    assert alice.lines == [
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 0.0}'
    ]
    assert bob.lines == [
        '{"user": "bob", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}'
    ]


def test_check_echoes_any_user_id_as_json(cli: Cli) -> None:
    result = cli("check", "--user", 'Zoë "z" \u7528', "--time", "1")

    assert result.lines == [
        '{"user": "Zo\\u00eb \\"z\\" \\u7528", "time": 1.0, "decision": "ALLOW", '
        '"remaining": 4.0}'
    ]


# Errors: one line on stderr, nothing on stdout, the right exit status --------------

OPTION_ERRORS = [
    (
        "missing --user",
        ["check", "--time", "0"],
        "limiter: check: the following arguments are required: --user",
    ),
    (
        "--user without a value",
        ["check", "--user"],
        "limiter: check: argument --user: expected one argument",
    ),
    (
        "empty user",
        ["check", "--user", "", "--time", "0"],
        'limiter: --user: expected a non-empty user id, found ""',
    ),
    (
        "time that is not a number",
        ["check", "--user", "alice", "--time", "soon"],
        'limiter: --time: expected a number of seconds, at least 0, found "soon"',
    ),
    (
        "negative time",
        ["check", "--user", "alice", "--time", "-1"],
        'limiter: --time: expected a number of seconds, at least 0, found "-1"',
    ),
    (
        "NaN time",
        ["check", "--user", "alice", "--time", "NaN"],
        'limiter: --time: expected a number of seconds, at least 0, found "NaN"',
    ),
    (
        "time past a double",
        ["check", "--user", "alice", "--time", "1e309"],
        "limiter: --time: expected a number of seconds, at least 0"
        ' (at most 1.7976931348623157E+308), found "1e309"',
    ),
    (
        "no command",
        [],
        "limiter: the following arguments are required: COMMAND",
    ),
    (
        "scenario without --file",
        ["scenario"],
        "limiter: scenario: the following arguments are required: --file",
    ),
    (
        "unknown option",
        ["check", "--user", "alice", "--time", "0", "--burst", "3"],
        "limiter: check: unknown --burst 3"
        " (usage: limiter check [-h] --user USER [--time TIME] [--config FILE]"
        " [--state FILE | --redis URL] [--redis-prefix TEXT]"
        " [--connect-timeout SECONDS] [--expire | --no-expire]"
        " [--clock {caller,server}]"
        " [--on-store-error {fail,deny,allow,local}])",
    ),
]


@pytest.mark.parametrize(
    ("args", "message"),
    [(args, message) for _, args, message in OPTION_ERRORS],
    ids=[name for name, _, _ in OPTION_ERRORS],
)
def test_a_bad_command_line_is_one_line_and_exit_status_1(
    cli: Cli, args: list[str], message: str
) -> None:
    result = cli(*args)

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == message


def test_an_unknown_command_is_named(cli: Cli) -> None:
    result = cli("frobnicate")

    assert result.status == 1
    assert result.error_line().startswith(
        "limiter: argument COMMAND: invalid choice: 'frobnicate'"
    )


FILE_ERRORS: list[tuple[str, bytes, str]] = [
    (
        "malformed JSON",
        b'{"config": ',
        "line 1 column 12: invalid JSON: expecting value",
    ),
    (
        "unknown key",
        b'{"config": {"default": {"capacity": 5, "refil_rate": 2}}, "requests": []}',
        'config.default: unknown key "refil_rate"; missing key "refill_rate" '
        "(accepted: capacity, refill_rate)",
    ),
    (
        "half a user override",
        b'{"config": {"default": {"capacity": 5, "refill_rate": 1}, '
        b'"users": {"bob": {"capacity": 2}}}, "requests": []}',
        'config.users.bob: missing key "refill_rate" (accepted: capacity, refill_rate)',
    ),
    (
        "invalid UTF-8",
        b'{"config": {"default": {"capacity": 5, "refill_rate": 1}}, '
        b'"requests": [{"user": "\xff", "time": 0}]}',
        "not valid UTF-8 (byte 82)",
    ),
    (
        "empty file",
        b"",
        "empty, expected a JSON document",
    ),
    (
        "NaN",
        b'{"config": {"default": {"capacity": 5, "refill_rate": 1}}, '
        b'"requests": [{"user": "alice", "time": 0}, {"user": "alice", "time": NaN}]}',
        "requests[1].time: expected a number of seconds, at least 0, found NaN",
    ),
    (
        "text time",
        b'{"config": {"default": {"capacity": 5, "refill_rate": 1}}, '
        b'"requests": [{"user": "alice", "time": 0}, {"user": "alice", "time": "1"}]}',
        'requests[1].time: expected a number of seconds, at least 0, found "1"',
    ),
    (
        "empty user",
        b'{"config": {"default": {"capacity": 5, "refill_rate": 1}}, '
        b'"requests": [{"user": "", "time": 0}]}',
        'requests[0].user: expected a non-empty string, found ""',
    ),
    (
        "duplicate keys",
        b'{"config": {"default": {"capacity": 5, "refill_rate": 1, "capacity": 9}}, '
        b'"requests": []}',
        'config.default: key "capacity" appears twice',
    ),
    (
        "a list at top level",
        b'[{"config": {"default": {"capacity": 5, "refill_rate": 1}}, "requests": []}]',
        "(top level): expected an object with config and requests, found a list",
    ),
    (
        "zero refill rate",
        b'{"config": {"default": {"capacity": 1, "refill_rate": 0}}, "requests": []}',
        "config.default.refill_rate: expected a number of tokens per second, "
        "greater than 0, found 0",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _, content, message in FILE_ERRORS],
    ids=[name for name, _, _ in FILE_ERRORS],
)
def test_a_bad_scenario_file_is_one_line_naming_the_place(
    cli: Cli, files: Files, content: bytes, message: str
) -> None:
    path = files.raw("bad.json", content)

    result = cli("scenario", "--file", path)

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == f"limiter: {path}: {message}"


def test_a_scenario_is_checked_whole_before_any_answer(cli: Cli, files: Files) -> None:
    path = files.scenario(5, 1, [("alice", 0), ("alice", 1), ("bob", -2)])

    result = cli("scenario", "--file", path)

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == (
        f"limiter: {path}: requests[2].time: expected a number of seconds, "
        "at least 0, found -2"
    )


def test_a_missing_scenario_file_is_exit_status_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"

    result = cli("scenario", "--file", path)

    assert result.status == 2
    assert result.out == ""
    assert result.error_line() == f"limiter: {path}: no such file"


def test_a_missing_configuration_file_is_exit_status_2(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "nowhere.json"

    result = cli("check", "--user", "alice", "--time", "0", "--config", path)

    assert result.status == 2
    assert result.error_line() == f"limiter: {path}: no such file"


def test_a_directory_is_exit_status_1(cli: Cli, tmp_path: Path) -> None:
    result = cli("scenario", "--file", tmp_path)

    assert result.status == 1
    assert result.out == ""
    assert (
        result.error_line() == f"limiter: {tmp_path}: is a directory, expected a file"
    )


def test_a_path_through_a_file_is_a_missing_file(cli: Cli, files: Files) -> None:
    path = files.raw("plain.txt", "text") / "scenario.json"

    result = cli("scenario", "--file", path)

    assert result.status == 2
    assert result.error_line() == f"limiter: {path}: no such file"


def test_a_bad_configuration_file_for_check_is_exit_status_1(
    cli: Cli, files: Files
) -> None:
    path = files.json("config.json", {"default": {"capacity": 0, "refill_rate": 1}})

    result = cli("check", "--user", "alice", "--time", "0", "--config", path)

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == (
        f"limiter: {path}: default.capacity: expected a number of tokens, at least 1, "
        "found 0"
    )


def test_an_impossible_exponent_is_one_line_and_exit_status_1(
    cli: Cli, files: Files
) -> None:
    path = files.raw(
        "huge.json",
        '{"config": {"default": {"capacity": 1, "refill_rate": 1}}, '
        '"requests": [{"user": "alice", "time": 1e99999999999999999999}]}',
    )

    result = cli("scenario", "--file", path)

    assert result.status == 1
    assert result.error_line() == (
        f"limiter: {path}: requests[0].time: expected a number of seconds,"
        " at least 0, found 1e99999999999999999999"
    )


# The real entry point, in a process of its own -------------------------------------


def run_limiter(
    *args: str | Path, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m limiter`` with ``args`` from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "limiter", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


def test_python_dash_m_limiter_answers_a_scenario() -> None:
    done = run_limiter("scenario", "--file", "scenarios/scenario_5.json")

    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout.splitlines() == SCENARIO_ANSWERS["scenario_5"]


def test_python_dash_m_limiter_answers_a_check() -> None:
    done = run_limiter("check", "--user", "charlie", "--time", "0")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        '{"user": "charlie", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}\n'
    )


def test_python_dash_m_limiter_exits_2_for_a_missing_file() -> None:
    done = run_limiter("scenario", "--file", "scenarios/no_such_scenario.json")

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "limiter: scenarios/no_such_scenario.json: no such file\n"


def test_python_dash_m_limiter_exits_1_for_malformed_json(files: Files) -> None:
    path = files.raw("broken.json", "{")

    done = run_limiter("scenario", "--file", path)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"limiter: {path}: line 1 column 2: invalid JSON: "
        "expecting property name enclosed in double quotes\n"
    )


def test_a_time_with_a_tiny_exponent_is_answered_promptly() -> None:
    # Such a time is under a nanosecond, so 0; it must not be expanded digit by digit.
    done = run_limiter("check", "--user", "alice", "--time", "1e-999999999", timeout=5)

    assert done.returncode == 0
    assert done.stdout == (
        '{"user": "alice", "time": 1E-999999999, "decision": "ALLOW", '
        '"remaining": 4.0}\n'
    )


def test_the_version_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"limiter {limiter.__version__}\n"


def test_an_option_must_be_spelt_out(cli: Cli) -> None:
    result = cli("check", "--user", "alice", "--tim", "0")

    assert result.status == 1
    assert result.error_line().startswith("limiter: check: unknown --tim 0 (usage:")
