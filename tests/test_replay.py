"""``limiter replay``: request logs streamed through one limiter.

The command line is driven through ``limiter.cli.main`` (and, where the process
boundary matters, as ``python -m limiter``); the real NASA traces are checked
against a plain re-computation written here with fractions, sharing no code with
the limiter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from jsonschema import Draft202012Validator

from limiter.cli import main
from limiter.config import Config
from limiter.errors import InvalidInput
from limiter.failsafe import FailSafe
from limiter.replay import BATCH, run
from limiter.store import MemoryStore

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SCENARIOS = ROOT / "scenarios"
SUMMARY_SCHEMA = json.loads((ROOT / "schemas" / "summary.schema.json").read_text())

FIVE_PER_SECOND = {"default": {"capacity": 5, "refill_rate": 1}}
TWO_PER_SECOND = {"default": {"capacity": 2, "refill_rate": 1}}

Outcome = tuple[int, list[str], list[str]]  # exit status, stdout lines, stderr lines


def replay(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """Run ``limiter replay ARGS``; return the status and the lines of each stream."""
    status = main(["replay", *args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return path.name


def write_config(folder: Path, config: Mapping[str, Any]) -> str:
    return write(folder / "config.json", json.dumps(config))


def allowed(user: str, time: str, remaining: str) -> str:
    """The answer line ``scenario`` prints for an allowed request."""
    head = f'{{"user": "{user}", "time": {time}, '
    return f'{head}"decision": "ALLOW", "remaining": {remaining}}}'


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder, so that messages show short relative paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Formats


def scenario_as_trace(number: int, trace_format: str) -> tuple[dict[str, Any], str]:
    """A scenario file's configuration, and its requests written as a trace."""
    path = SCENARIOS / f"scenario_{number}.json"
    config = json.loads(path.read_text())["config"]
    # Times are kept as their text, so that "1.0" stays "1.0" in every format.
    requests = json.loads(path.read_text(), parse_float=str, parse_int=str)["requests"]
    if trace_format == "jsonl":
        rows = [f'{{"user": "{r["user"]}", "time": {r["time"]}}}' for r in requests]
        return config, "".join(f"{row}\n" for row in rows)
    separator = "\t" if trace_format == "tsv" else ","
    table = [["user", "time"], *([r["user"], r["time"]] for r in requests)]
    return config, "".join(separator.join(row) + "\n" for row in table)


@pytest.mark.parametrize("trace_format", ["jsonl", "csv", "tsv"])
@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_every_format_answers_as_scenario_does(
    folder: Path, capsys: pytest.CaptureFixture[str], number: int, trace_format: str
) -> None:
    assert main(["scenario", "--file", str(SCENARIOS / f"scenario_{number}.json")]) == 0
    expected = capsys.readouterr().out.splitlines()

    config, text = scenario_as_trace(number, trace_format)
    trace = write(folder / f"trace.{trace_format}", text)
    status, out, err = replay(capsys, trace, "--config", write_config(folder, config))

    assert (status, out, err) == (0, expected, [])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("trace.jsonl", '{"user": "alice", "time": 0}\n'),
        ("trace.ndjson", '{"user": "alice", "time": 0}\n'),
        ("trace.json", '{"user": "alice", "time": 0}\n'),
        ("TRACE.JSONL", '{"user": "alice", "time": 0}\n'),
        ("trace.csv", "user,time\nalice,0\n"),
        ("trace.tsv", "user\ttime\nalice\t0\n"),
        ("trace.tab", "user\ttime\nalice\t0\n"),
        ("a.log.csv", "user,time\nalice,0\n"),
    ],
)
def test_the_format_is_guessed_from_the_file_name(
    folder: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    trace = write(folder / name, text)
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, trace, "--config", config) == (
        0,
        [allowed("alice", "0.0", "4.0")],
        [],
    )


@pytest.mark.parametrize(
    ("name", "trace_format", "text"),
    [
        ("requests.log", "csv", "user,time\nalice,0\n"),
        ("requests.csv", "tsv", "user\ttime\nalice\t0\n"),
        ("requests.tsv", "jsonl", '{"user": "alice", "time": 0}\n'),
    ],
)
def test_the_format_option_wins_over_the_file_name(
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    trace_format: str,
    text: str,
) -> None:
    trace = write(folder / name, text)
    config = write_config(folder, FIVE_PER_SECOND)

    outcome = replay(capsys, trace, "--config", config, "--format", trace_format)

    assert outcome == (0, [allowed("alice", "0.0", "4.0")], [])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("trace.jsonl", '{"at": 2.5, "path": "/", "who": "alice"}\n'),
        ("trace.csv", "at,path,who\n2.5,/,alice\n"),
    ],
)
def test_the_user_and_time_fields_may_be_named(
    folder: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    trace = write(folder / name, text)
    config = write_config(folder, FIVE_PER_SECOND)

    outcome = replay(
        capsys, trace, "--config", config, "--user-field", "who", "--time-field", "at"
    )

    assert outcome == (0, [allowed("alice", "2.5", "4.0")], [])


def test_the_user_field_is_the_one_named_never_a_guess(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(folder, FIVE_PER_SECOND)
    hosts = write(folder / "hosts.tsv", "host\ttime\nkennedy\t0\n")

    status, out, err = replay(capsys, hosts, "--config", config)
    assert (status, out) == (1, [])
    assert err == [
        f'limiter: {hosts}:1: no "user" column in the header (columns found: '
        '"host", "time"); name the column with --user-field'
    ]
    assert replay(capsys, hosts, "--config", config, "--user-field", "host")[1] == [
        allowed("kennedy", "0.0", "4.0")
    ]


def test_fields_not_asked_for_are_ignored_even_unnamed_ones(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in the NASA traces: every row ends with two fields the header lacks.
    text = "host\tlogname\ttime\turl\nkennedy\t-\t7\t/\t\t\n"
    trace = write(folder / "trace.tsv", text)
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, trace, "--config", config, "--user-field", "host") == (
        0,
        [allowed("kennedy", "7.0", "4.0")],
        [],
    )


@pytest.mark.parametrize(
    ("name", "text", "user"),
    [
        ("trace.csv", 'user,time\n"smith, alice",0\n', "smith, alice"),
        ("trace.tsv", 'user\ttime\n"smith\talice"\t0\n', "smith\\talice"),
        ("trace.csv", 'user,time\n"say ""hi""",0\n', 'say \\"hi\\"'),
    ],
)
def test_a_quoted_field_may_hold_the_separator(
    folder: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, user: str
) -> None:
    trace = write(folder / name, text)
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, trace, "--config", config)[1] == [allowed(user, "0.0", "4.0")]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "trace.jsonl",
            '\n{"user": "alice", "time": 0}\n  \r\n{"user": "alice", "time": 0}\n',
        ),
        ("trace.csv", "user,time\n\nalice,0\r\n\r\nalice,0\n\n"),
        ("trace.csv", "\ufeffuser,time\nalice,0\nalice,0\n"),
        (
            "trace.jsonl",
            '\ufeff{"user": "alice", "time": 0}\n{"user": "alice", "time": 0}',
        ),
    ],
)
def test_blank_lines_line_endings_and_a_byte_order_mark_are_accepted(
    folder: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    trace = write(folder / name, text)
    config = write_config(folder, FIVE_PER_SECOND)

    outcome = replay(capsys, trace, "--config", config)

    assert outcome == (
        0,
        [allowed("alice", "0.0", "4.0"), allowed("alice", "0.0", "3.0")],
        [],
    )


def test_times_are_echoed_as_written(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write(folder / "trace.csv", "user,time\nalice,0.10\nbob, 3 \ncarol,1e3\n")
    config = write_config(folder, FIVE_PER_SECOND)

    _, out, _ = replay(capsys, trace, "--config", config)

    assert [json.loads(line, parse_float=str)["time"] for line in out] == [
        "0.10",
        "3.0",
        "1E+3",
    ]


# Summary

# Capacity 2, refill 1 a second: alice is denied twice from t=0, bob and zed once
# at t=0, aaron once at t=1.5, carol never.
SUMMARY_TRACE = """user,time
alice,0
alice,0
alice,0
alice,0
zed,0
zed,0
zed,0
bob,0
bob,0
bob,0
aaron,1.5
aaron,1.5
aaron,1.5
carol,2.50
"""


def summary_of(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> Any:
    trace = write(folder / "trace.csv", SUMMARY_TRACE)
    config = write_config(folder, TWO_PER_SECOND)
    status, out, err = replay(capsys, trace, "--config", config, "--summary", *args)
    assert (status, err) == (0, [])
    return json.loads("\n".join(out))


def throttled(user: str, denied: int, requests: int, at: float) -> dict[str, Any]:
    return {"user": user, "denied": denied, "requests": requests, "first_denied_at": at}


def test_the_summary_counts_requests_users_and_denials(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = summary_of(capsys, folder)

    assert summary == {
        "requests": 14,
        "allowed": 9,
        "denied": 5,
        "users": 5,
        "throttled_users": 4,
        # Ties on denials go to the earlier first denial, then to the user id.
        "most_throttled": [
            throttled("alice", 2, 4, 0.0),
            throttled("bob", 1, 3, 0.0),
            throttled("zed", 1, 3, 0.0),
            throttled("aaron", 1, 3, 1.5),
        ],
    }
    Draft202012Validator(SUMMARY_SCHEMA).validate(summary)


def test_the_summary_is_one_object_indented_by_two_spaces(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write(folder / "trace.csv", SUMMARY_TRACE)
    config = write_config(folder, TWO_PER_SECOND)

    main(["replay", trace, "--config", config, "--summary"])
    text = capsys.readouterr().out

    assert text == json.dumps(json.loads(text), indent=2) + "\n"


@pytest.mark.parametrize(
    ("top", "users"),
    [("0", []), ("1", ["alice"]), ("3", ["alice", "bob", "zed"]), ("99", None)],
)
def test_top_limits_the_list_of_the_most_throttled(
    folder: Path, capsys: pytest.CaptureFixture[str], top: str, users: list[str] | None
) -> None:
    summary = summary_of(capsys, folder, "--top", top)

    listed = [entry["user"] for entry in summary["most_throttled"]]
    assert listed == (users if users is not None else ["alice", "bob", "zed", "aaron"])
    Draft202012Validator(SUMMARY_SCHEMA).validate(summary)


def test_first_denied_at_echoes_the_time_as_written(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write(
        folder / "trace.csv", "user,time\nalice,2.50\nalice,2.50\nalice,2.50\n"
    )
    config = write_config(folder, TWO_PER_SECOND)

    main(["replay", trace, "--config", config, "--summary"])

    assert '"first_denied_at": 2.50\n' in capsys.readouterr().out


def test_an_empty_trace_has_an_empty_summary(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write(folder / "trace.jsonl", "")
    config = write_config(folder, TWO_PER_SECOND)

    status, out, _ = replay(capsys, trace, "--config", config, "--summary")

    summary = json.loads("\n".join(out))
    assert (status, summary["requests"], summary["most_throttled"]) == (0, 0, [])
    Draft202012Validator(SUMMARY_SCHEMA).validate(summary)


# Errors


class BadTrace(NamedTuple):
    """A trace with a bad record, and what replaying it must show."""

    name: str
    text: str
    message: str  # the one line on stderr, after "limiter: "
    answered: int  # answers on stdout before the error


GOOD_JSONL = '{"user": "alice", "time": 0}\n'

# Traces that stop with an error, and how many answers come before it.
ERRORS = [
    BadTrace(
        "trace.csv",
        "user,time\nalice,0\nalice,abc\n",
        'trace.csv:3: time: expected a number of seconds, at least 0, found "abc"',
        1,
    ),
    BadTrace(
        "trace.csv",
        "user,time\nalice,0\nalice,-1\n",
        'trace.csv:3: time: expected a number of seconds, at least 0, found "-1"',
        1,
    ),
    BadTrace(
        "trace.csv",
        "user,time\nalice,0\n,1\n",
        'trace.csv:3: user: expected a non-empty string, found ""',
        1,
    ),
    BadTrace(
        "trace.csv",
        "user,time\nalice,0\nbob\n",
        'trace.csv:3: only 1 of the header\'s 2 fields, so no value for "time"',
        1,
    ),
    BadTrace(
        "trace.csv",
        'user,time\n"al\nice",0\nbob,x\n',  # the first record spans two lines
        'trace.csv:4: time: expected a number of seconds, at least 0, found "x"',
        1,
    ),
    BadTrace(
        "trace.csv",
        "name,time\nalice,0\n",
        'trace.csv:1: no "user" column in the header (columns found: "name", '
        '"time"); name the column with --user-field',
        0,
    ),
    BadTrace(
        "trace.tsv",
        "user\twhen\nalice\t0\n",
        'trace.tsv:1: no "time" column in the header (columns found: "user", '
        '"when"); name the column with --time-field',
        0,
    ),
    BadTrace(
        "trace.csv",
        "",
        "trace.csv:1: empty, expected a header line naming the fields",
        0,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "bob", "time": }\n',
        "trace.jsonl:2: invalid JSON (expecting value at character 25), expected "
        "one object per line",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "bob", "time": NaN}\n',
        "trace.jsonl:2: invalid JSON (NaN is not a JSON number), expected one "
        "object per line",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "bob", "time": -Infinity}\n',
        "trace.jsonl:2: invalid JSON (-Infinity is not a JSON number), expected one "
        "object per line",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "bob", "time": 1, "time": 2}\n',
        "trace.jsonl:2: time: given more than once",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"\\u0075ser": "eve", "time": 1, "user": "bob"}\n',
        "trace.jsonl:2: user: given more than once",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '["bob", 1]\n',
        "trace.jsonl:2: expected a JSON object, found a list",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "bob", "time": "1"}\n',
        'trace.jsonl:2: time: expected a number of seconds, at least 0, found "1"',
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "bob", "time": 1e999}\n',
        "trace.jsonl:2: time: expected a number of seconds, at least 0"
        " (at most 1.7976931348623157E+308), found 1e999",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": "", "time": 1}\n',
        'trace.jsonl:2: user: expected a non-empty string, found ""',
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"user": 7, "time": 1}\n',
        "trace.jsonl:2: user: expected a non-empty string, found 7",
        1,
    ),
    BadTrace(
        "trace.jsonl",
        GOOD_JSONL + '{"host": "bob", "time": 1}\n',
        'trace.jsonl:2: user: missing, expected a non-empty string (keys: "host", '
        '"time")',
        1,
    ),
    BadTrace(
        "trace.log",
        GOOD_JSONL,
        "trace.log: cannot tell the format from the file name (known endings: "
        ".jsonl, .ndjson, .json, .csv, .tsv, .tab); pass --format jsonl, csv or tsv",
        0,
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.message)
def test_a_bad_record_stops_the_replay_after_the_answers_before_it(
    folder: Path, capsys: pytest.CaptureFixture[str], case: BadTrace
) -> None:
    trace = write(folder / case.name, case.text)
    config = write_config(folder, FIVE_PER_SECOND)

    status, out, err = replay(capsys, trace, "--config", config)

    assert (status, err) == (1, [f"limiter: {case.message}"])
    assert len(out) == case.answered
    assert all(json.loads(line)["decision"] == "ALLOW" for line in out)


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.message)
def test_a_bad_record_means_no_summary(
    folder: Path, capsys: pytest.CaptureFixture[str], case: BadTrace
) -> None:
    trace = write(folder / case.name, case.text)
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, trace, "--config", config, "--summary") == (
        1,
        [],
        [f"limiter: {case.message}"],
    )


def test_invalid_utf8_is_refused_naming_the_line(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "trace.csv").write_bytes(b"user,time\nalice,0\nb\xffb,0\n")
    config = write_config(folder, FIVE_PER_SECOND)

    status, out, err = replay(capsys, "trace.csv", "--config", config)

    assert (status, out) == (1, [allowed("alice", "0.0", "4.0")])
    assert err == [
        "limiter: trace.csv:3: not valid UTF-8 (byte 2 of the line), expected text"
    ]


def test_a_missing_trace_exits_with_status_2(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, "absent.csv", "--config", config) == (
        2,
        [],
        ["limiter: absent.csv: no such file"],
    )


def test_a_folder_is_not_a_trace(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "logs.csv").mkdir()
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, "logs.csv", "--config", config) == (
        1,
        [],
        ["limiter: logs.csv: is a directory, expected a file"],
    )


def test_a_trace_that_cannot_be_opened_is_invalid_input(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(folder / "logs", "not a folder")
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, "logs/trace.csv", "--config", config) == (
        2,
        [],
        ["limiter: logs/trace.csv: no such file"],
    )


def test_answers_are_written_before_a_bad_record_is_read(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("user,time\nalice,0\nbob,0\ncarol,never\n")
    written: list[str] = []

    class Recorder:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

    with pytest.raises(InvalidInput) as raised:
        run(
            str(trace),
            Config.from_mapping(FIVE_PER_SECOND),
            trace_format=None,
            user_field="user",
            time_field="time",
            summary=False,
            top=10,
            out=Recorder(),  # type: ignore[arg-type]
        )

    assert raised.value.where == f"{trace}:4"
    assert "".join(written).splitlines() == [
        allowed("alice", "0.0", "4.0"),
        allowed("bob", "0.0", "4.0"),
    ]


def test_the_command_as_a_process_keeps_answers_and_error_apart(folder: Path) -> None:
    trace = write(folder / "trace.jsonl", GOOD_JSONL + "{oops}\n")
    config = write_config(folder, FIVE_PER_SECOND)

    done = subprocess.run(
        [sys.executable, "-m", "limiter", "replay", trace, "--config", config],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout.splitlines() == [allowed("alice", "0.0", "4.0")]
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("limiter: trace.jsonl:2: invalid JSON (")
    assert "Traceback" not in done.stderr


# The real traces, against a computation of their own


def expected_summary(
    trace: Path, config: Mapping[str, Any], top: int
) -> dict[str, Any]:
    """The summary of ``trace``, worked out with fractions, one host at a time."""
    lines = trace.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    host_at, time_at = header.index("host"), header.index("time")

    buckets: dict[str, tuple[Fraction, Fraction]] = {}  # host: tokens, last time
    requests: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    first_denial: dict[str, Fraction] = {}
    for line in lines[1:]:
        fields = line.split("\t")
        host, now = fields[host_at], Fraction(fields[time_at])
        shape = config.get("users", {}).get(host, config["default"])
        capacity, rate = shape["capacity"], shape["refill_rate"]
        tokens, last = buckets.get(host, (capacity, now))
        if now > last:
            tokens, last = min(capacity, tokens + (now - last) * rate), now
        requests[host] += 1
        if tokens >= 1:
            tokens -= 1
        else:
            denials[host] += 1
            first_denial.setdefault(host, now)
        buckets[host] = tokens, last

    ranked = sorted(
        denials, key=lambda host: (-denials[host], first_denial[host], host)
    )
    most = [
        throttled(host, denials[host], requests[host], float(first_denial[host]))
        for host in ranked[:top]
    ]
    return {
        "requests": sum(requests.values()),
        "allowed": sum(requests.values()) - sum(denials.values()),
        "denied": sum(denials.values()),
        "users": len(requests),
        "throttled_users": len(denials),
        "most_throttled": most,
    }


STRICT_POLICY = {
    "default": {"capacity": 3, "refill_rate": 0.1},
    "users": {"kristina.az.com": {"capacity": 2, "refill_rate": 0.3}},
}


@pytest.mark.parametrize(
    ("trace", "hosts"), [("nasa_19950701.tsv", 936), ("nasa_19950801.tsv", 853)]
)
@pytest.mark.parametrize("policy", ["shipped", "strict"])
def test_the_nasa_traces_match_a_computation_of_their_own(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    trace: str,
    hosts: int,
    policy: str,
) -> None:
    if policy == "shipped":
        config_path = DATA / "nasa.config.json"
    else:
        config_path = tmp_path / "strict.json"
        config_path.write_text(json.dumps(STRICT_POLICY))
    # Decimal text read as fractions: 0.1 is one tenth exactly.
    text = config_path.read_text()
    config = json.loads(text, parse_float=Fraction, parse_int=Fraction)

    status, out, err = replay(
        capsys,
        str(DATA / trace),
        "--config",
        str(config_path),
        "--user-field",
        "host",
        "--summary",
        "--top",
        "25",
    )

    summary = json.loads("\n".join(out))
    assert (status, err) == (0, [])
    assert summary == expected_summary(DATA / trace, config, top=25)
    assert (summary["requests"], summary["users"]) == (9999, hosts)
    Draft202012Validator(SUMMARY_SCHEMA).validate(summary)


# Streaming


def peak_memory_kib(trace: Path, config: str) -> int:
    """Replay ``trace`` in a fresh process; return its peak resident memory."""
    child = (
        "import resource, sys\n"
        "from limiter.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, "replay", str(trace), "--config", config],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return int(done.stderr.split()[-1])


def write_trace(path: Path, lines: int) -> Path:
    """A JSON Lines trace of ``lines`` requests from the same 100 users."""
    with path.open("w", encoding="utf-8") as file:
        for index in range(lines):
            user, time = f"user{index % 100}", f"{index // 50}.5"
            file.write(f'{{"user": "{user}", "time": {time}, "url": "/{"x" * 60}"}}\n')
    return path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="ru_maxrss as measured on POSIX")
def test_memory_does_not_grow_with_the_number_of_requests(tmp_path: Path) -> None:
    config = write_config(tmp_path, FIVE_PER_SECOND)
    small = write_trace(tmp_path / "small.jsonl", 20_000)
    large = write_trace(tmp_path / "large.jsonl", 200_000)

    small_peak = peak_memory_kib(small, str(tmp_path / config))
    large_peak = peak_memory_kib(large, str(tmp_path / config))

    # The large trace is 18 MB more to read and answer: keeping either its lines or
    # its answers would show here many times over.
    assert large.stat().st_size - small.stat().st_size > 18_000_000
    assert large_peak - small_peak < 2_048


# What a reader of a log must never guess ------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "user,time,time\na,5,1\n",
            'trace.csv:1: the header names the "time" column twice',
        ),
        (
            "user,user,time\na,b,1\n",
            'trace.csv:1: the header names the "user" column twice',
        ),
        (
            "user,time\na,1,5\n",  # a decimal comma: 1,5 meant 1.5
            "trace.csv:2: 3 fields, more than the header's 2, and the extra ones"
            " are not empty",
        ),
        (
            'user,time\n"a,1\n',
            "trace.csv:2: unreadable row: a quoted field is never closed",
        ),
    ],
    ids=["time twice", "user twice", "non-empty extra field", "unclosed quote"],
)
def test_a_csv_that_could_be_read_two_ways_is_refused(
    folder: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    trace = write(folder / "trace.csv", text)
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, trace, "--config", config) == (1, [], [f"limiter: {problem}"])


def test_a_trace_can_come_on_stdin(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(folder, FIVE_PER_SECOND)
    write(folder / "trace.jsonl", '{"user": "alice", "time": 0}\n')
    with (folder / "trace.jsonl").open("rb") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        outcome = replay(capsys, "-", "--config", config, "--format", "jsonl")

    assert outcome == (0, [allowed("alice", "0.0", "4.0")], [])


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--top", "3"], "--top: goes with --summary, which is not given"),
        (
            ["--user-field", "time"],
            '--time-field: names the same field as --user-field ("time")',
        ),
    ],
    ids=["top without summary", "one field for both"],
)
def test_options_that_contradict_each_other_are_refused(
    folder: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    trace = write(folder / "trace.jsonl", '{"user": "alice", "time": 0}\n')
    config = write_config(folder, FIVE_PER_SECOND)

    assert replay(capsys, trace, "--config", config, *args) == (
        1,
        [],
        [f"limiter: {problem}"],
    )


# Stores that answer in batches


def replayed(trace: Path, config: Mapping[str, Any], **options: Any) -> list[str]:
    """The answer lines of ``run``, with ``options`` added to its defaults."""
    written: list[str] = []

    class Recorder:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

    run(
        str(trace),
        Config.from_mapping(config),
        trace_format=None,
        user_field="host",
        time_field="time",
        summary=options.pop("summary", False),
        top=10,
        out=Recorder(),  # type: ignore[arg-type]
        **options,
    )
    return "".join(written).splitlines()


def test_a_batching_store_answers_the_real_trace_as_memory_does() -> None:
    # FailSafe answers in batches (take_many) whatever it wraps.
    trace = DATA / "nasa_19950701.tsv"
    config = json.loads((DATA / "nasa.config.json").read_text())
    batching = FailSafe(MemoryStore(), "fail")

    alone = replayed(trace, config)
    assert replayed(trace, config, store=batching) == alone
    assert len(alone) > 3 * BATCH
    assert {json.loads(line)["decision"] for line in alone} == {"ALLOW", "DENY"}


def test_a_batching_store_gives_the_same_summary() -> None:
    trace = DATA / "nasa_19950701.tsv"
    config = json.loads((DATA / "nasa.config.json").read_text())
    batching = FailSafe(MemoryStore(), "fail")

    alone = replayed(trace, config, summary=True)
    assert replayed(trace, config, store=batching, summary=True) == alone


def test_a_bad_record_in_a_batch_comes_after_the_answers_before_it(
    tmp_path: Path,
) -> None:
    good = BATCH + BATCH // 2  # one whole batch, and half of the next
    rows = "".join(f"user{n % 7},{n}\n" for n in range(good))
    trace = tmp_path / "trace.csv"
    trace.write_text("host,time\n" + rows + "carol,never\n")
    written: list[str] = []

    class Recorder:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

    with pytest.raises(InvalidInput) as raised:
        run(
            str(trace),
            Config.from_mapping(FIVE_PER_SECOND),
            trace_format=None,
            user_field="host",
            time_field="time",
            summary=False,
            top=10,
            out=Recorder(),  # type: ignore[arg-type]
            store=FailSafe(MemoryStore(), "fail"),
        )

    assert raised.value.where == f"{trace}:{good + 2}"
    assert len("".join(written).splitlines()) == good
