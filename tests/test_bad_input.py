"""Bad and awkward input, one kind per entry: what the command line must do with it.

Every entry of ``CATALOGUE`` is a different kind of input, not a variation of
another. Each states the exit status (0 answered, 1 invalid input, 2 no such
file), the exact answer lines on stdout and, for an error, the place the one
line on stderr must name first and the phrases saying what is accepted. No run
may print a traceback. ``scenario`` checks the whole file before answering, so
a bad scenario leaves stdout empty; ``replay`` answers as it reads, so the
answers before a bad record must be on stdout, intact.

The catalogue runs twice: in this process through ``limiter.cli.main`` (fast),
then once more as ``python -m limiter`` to prove the real entry point. Entries
with ``defect`` set state the right behaviour for a known fault of the limiter
and are expected to fail until it is fixed.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest

from limiter.cli import main

FIVE_A_SECOND = '{"default": {"capacity": 5, "refill_rate": 1}}'
TIME_ACCEPTED = "a number of seconds, at least 0"
USER_ACCEPTED = "a non-empty string"
CAPACITY_ACCEPTED = "a number of tokens, at least 1"
RATE_ACCEPTED = "a number of tokens per second, greater than 0"
DOUBLE_MAX = "1.7976931348623157E+308"
DOUBLE_MIN_NORMAL = "2.2250738585072014E-308"
PROC_MEM = "/proc/self/mem"  # opens, then every read fails: EIO at address 0

# User ids that are valid however odd: each must come back intact as JSON.
CONTROLS = "a\x01b\x1b[31mc\td\ne\x7f"
QUOTES = '"it\'s" \\ \'\\"'
RIGHT_TO_LEFT = "\u202eevil\u202c\u200f"
EMOJI = "\U0001f469\u200d\U0001f4bb\U0001f1f3\U0001f1f1"  # technologist, flag


@dataclass(frozen=True)
class Case:
    """One kind of input and what the command line must do with it.

    ``argv`` runs in a fresh folder holding ``files`` (``setup`` may add more).
    ``out`` is every line stdout must hold. For ``status`` 1 or 2 the one line
    on stderr starts ``limiter: WHERE: `` (``where`` ``None``: not pinned),
    contains every phrase of ``accepted`` and none of ``unsaid``.
    """

    kind: str
    argv: tuple[str, ...]
    files: Mapping[str, bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    status: int = 1
    where: str | None = None
    accepted: tuple[str, ...] = ()
    unsaid: tuple[str, ...] = ()
    out: tuple[str, ...] = ()
    defect: str = ""
    needs: str = ""  # a path that must exist on this machine for the case to run


class Outcome(NamedTuple):
    """What one run left behind: exit status and both streams as text."""

    status: int
    out: str
    err: str


# Building entries -------------------------------------------------------------------

Run = tuple[tuple[str, ...], Mapping[str, bytes]]  # a command line and its files


def on_command_line(*argv: str) -> Run:
    """``limiter ARGV``, with no files but those the entry's ``setup`` makes."""
    return argv, {}


def on_scenario(text: bytes) -> Run:
    """``limiter scenario --file s.json``, the file holding ``text``."""
    return ("scenario", "--file", "s.json"), {"s.json": text}


def on_trace(name: str, text: bytes, *options: str) -> Run:
    """``limiter replay NAME --config c.json OPTIONS``, capacity 5 at 1 a second."""
    argv = ("replay", name, "--config", "c.json", *options)
    return argv, {name: text, "c.json": FIVE_A_SECOND.encode()}


def allowed(user: str, time: str = "0.0", remaining: str = "4.0") -> str:
    """The answer line of an allowed request, the user id JSON-escaped."""
    return (
        f'{{"user": {json.dumps(user)}, "time": {time}, "decision": "ALLOW", '
        f'"remaining": {remaining}}}'
    )


def request(user: str = '"alice"', time: str = "0") -> str:
    """One request object as JSON text; ``user`` and ``time`` are JSON text too."""
    return f'{{"user": {user}, "time": {time}}}'


def scenario(*requests: str, config: str = FIVE_A_SECOND) -> bytes:
    """A scenario file: ``config`` and the request objects, all given as JSON text."""
    return f'{{"config": {config}, "requests": [{", ".join(requests)}]}}'.encode()


def bucket(capacity: str = "5", refill_rate: str = "1") -> str:
    """A configuration of one default bucket, as JSON text."""
    return f'{{"default": {{"capacity": {capacity}, "refill_rate": {refill_rate}}}}}'


def lines(*records: str) -> bytes:
    """A JSON Lines trace of ``records``, each ending in a newline."""
    return "".join(f"{record}\n" for record in records).encode()


def make_folder(name: str) -> Callable[[Path], None]:
    """Set up a folder where a file is expected."""
    return lambda folder: (folder / name).mkdir()


def make_socket(name: str) -> Callable[[Path], None]:
    """Set up a UNIX socket: it exists, yet opening it fails, even for root."""

    def setup(folder: Path) -> None:
        # Bound by a relative name: a socket's path is limited to about 100 bytes.
        previous = Path.cwd()
        os.chdir(folder)
        try:
            with socket.socket(socket.AF_UNIX) as listener:
                listener.bind(name)
        finally:
            os.chdir(previous)

    return setup


def make_pipe(name: str, data: bytes) -> Callable[[Path], None]:
    """Set up a named pipe, as ``<(command)`` gives, that a thread fills with data."""

    def feed(path: Path) -> None:
        with path.open("wb") as pipe:  # waits until the limiter opens the other end
            pipe.write(data)

    def setup(folder: Path) -> None:
        path = folder / name
        os.mkfifo(path)
        threading.Thread(target=feed, args=(path,), daemon=True).start()

    return setup


# The catalogue --------------------------------------------------------------------

ONE_MEBIBYTE_USER = "u" * (1 << 20)
PAST_CSV_LIMIT_USER = "c" * 131_073
TRUNCATED = scenario(request(), request('"bob"', "1"))[:-4]  # ends at "time":
SUMMARY_OF_ONE_REQUEST = (
    "{",
    '  "requests": 1,',
    '  "allowed": 1,',
    '  "denied": 0,',
    '  "users": 1,',
    '  "throttled_users": 0,',
    '  "most_throttled": []',
    "}",
)

COMMAND_LINES = [
    Case(
        "check without --user",
        *on_command_line("check", "--time", "0"),
        where="check",
        accepted=("required: --user",),
    ),
    Case(
        "empty --user",
        *on_command_line("check", "--user", "", "--time", "0"),
        where="--user",
        accepted=("a non-empty user id",),
    ),
    Case(
        "--time that is a word",
        *on_command_line("check", "--user", "alice", "--time", "abc"),
        where="--time",
        accepted=(TIME_ACCEPTED, 'found "abc"'),
    ),
    Case(
        "--time negative",
        *on_command_line("check", "--user", "alice", "--time", "-1"),
        where="--time",
        accepted=(TIME_ACCEPTED, 'found "-1"'),
    ),
    Case(
        "--time NaN",
        *on_command_line("check", "--user", "alice", "--time", "NaN"),
        where="--time",
        accepted=(TIME_ACCEPTED, 'found "NaN"'),
    ),
    Case(
        "--time past the largest double",
        *on_command_line("check", "--user", "alice", "--time", "1e400"),
        where="--time",
        accepted=(TIME_ACCEPTED, f"at most {DOUBLE_MAX}"),
    ),
    Case(
        "--time in Arabic-Indic digits",
        *on_command_line("check", "--user", "alice", "--time", "\u0665"),
        where="--time",
        accepted=(TIME_ACCEPTED,),
    ),
    Case("no command at all", *on_command_line(), accepted=("required: COMMAND",)),
    Case(
        "unknown command",
        *on_command_line("frobnicate"),
        where="argument COMMAND",
        accepted=("'frobnicate'", "choose from 'check', 'scenario', 'replay'"),
    ),
    Case(
        "unknown option",
        *on_command_line("check", "--user", "alice", "--time", "0", "--burst", "3"),
        accepted=("--burst", "--user", "--time", "--config"),
    ),
    Case(
        "a line break in an unknown argument",
        *on_command_line("check", "--user", "alice", "--time", "0", "extra\nline"),
    ),
    Case(
        "--top -1",
        *on_trace("t.jsonl", lines(request()), "--summary", "--top", "-1"),
        where="replay: argument --top",
        accepted=("a whole number", "'-1'"),
    ),
    Case(
        "--top past Python's digit limit for whole numbers",
        *on_trace("t.jsonl", lines(request()), "--summary", "--top", "9" * 5000),
        status=0,
        out=SUMMARY_OF_ONE_REQUEST,
    ),
    Case(
        "--format unknown",
        *on_trace("t.jsonl", lines(request()), "--format", "xml"),
        where="replay: argument --format",
        accepted=("choose from 'jsonl', 'csv', 'tsv'",),
    ),
    Case(
        "replay without --config",
        *on_command_line("replay", "t.jsonl"),
        where="replay",
        accepted=("required: --config",),
    ),
    Case(
        "a user id that starts with a dash",
        *on_command_line("check", "--user=-bob", "--time", "0"),
        status=0,
        out=(allowed("-bob"),),
    ),
    Case(
        "control characters in a user id",
        *on_command_line("check", "--user", CONTROLS, "--time", "0"),
        status=0,
        out=(allowed(CONTROLS),),
    ),
    Case(
        "quotes and backslashes in a user id",
        *on_command_line("check", "--user", QUOTES, "--time", "0"),
        status=0,
        out=(allowed(QUOTES),),
    ),
    Case(
        "right-to-left marks in a user id",
        *on_command_line("check", "--user", RIGHT_TO_LEFT, "--time", "0"),
        status=0,
        out=(allowed(RIGHT_TO_LEFT),),
    ),
    Case(
        "emoji in a user id",
        *on_command_line("check", "--user", EMOJI, "--time", "0"),
        status=0,
        out=(allowed(EMOJI),),
    ),
]

USERS_AND_TIMES = [
    Case(
        "no user",
        *on_scenario(scenario('{"time": 0}')),
        where="s.json: requests[0]",
        accepted=('missing key "user"', "accepted: user, time"),
    ),
    Case(
        "empty user",
        *on_scenario(scenario(request('""'))),
        where="s.json: requests[0].user",
        accepted=(USER_ACCEPTED, 'found ""'),
    ),
    Case(
        "user that is a number",
        *on_scenario(scenario(request("42"))),
        where="s.json: requests[0].user",
        accepted=(USER_ACCEPTED, "found 42"),
    ),
    Case(
        "NUL in a user id",
        *on_scenario(scenario(request('"a\\u0000b"'))),
        status=0,
        out=(allowed("a\x00b"),),
    ),
    Case(
        "a 1 MB user id",
        *on_scenario(scenario(request(json.dumps(ONE_MEBIBYTE_USER)))),
        status=0,
        out=(allowed(ONE_MEBIBYTE_USER),),
    ),
    Case(
        "time that is a string",
        *on_scenario(scenario(request(), request(time='"1"'))),
        where="s.json: requests[1].time",
        accepted=(TIME_ACCEPTED, 'found "1"'),
    ),
    Case(
        "time that is a boolean",
        *on_scenario(scenario(request(time="true"))),
        where="s.json: requests[0].time",
        accepted=(TIME_ACCEPTED, "found true"),
    ),
    Case(
        "time that is null",
        *on_scenario(scenario(request(time="null"))),
        where="s.json: requests[0].time",
        accepted=(TIME_ACCEPTED, "found null"),
    ),
    Case(
        "time NaN",
        *on_scenario(scenario(request(time="NaN"))),
        where="s.json: requests[0].time",
        accepted=(TIME_ACCEPTED, "found NaN"),
    ),
    Case(
        "time Infinity",
        *on_scenario(scenario(request(time="Infinity"))),
        where="s.json: requests[0].time",
        accepted=(TIME_ACCEPTED, "found Infinity"),
    ),
    Case(
        "time 1e400",
        *on_scenario(scenario(request(time="1e400"))),
        where="s.json: requests[0].time",
        accepted=(TIME_ACCEPTED, f"at most {DOUBLE_MAX}"),
    ),
    Case(
        "time negative",
        *on_scenario(scenario(request(time="-0.5"))),
        where="s.json: requests[0].time",
        accepted=(TIME_ACCEPTED, "found -0.5"),
    ),
    Case(
        "no time",
        *on_scenario(scenario('{"user": "alice"}')),
        where="s.json: requests[0]",
        accepted=('missing key "time"', "accepted: user, time"),
    ),
]

DOCUMENTS = [
    Case(
        "extra key in a request",
        *on_scenario(scenario('{"user": "alice", "time": 0, "cost": 2}')),
        where="s.json: requests[0]",
        accepted=('unknown key "cost"', "accepted: user, time"),
    ),
    Case(
        "extra key at the top level",
        *on_scenario(scenario(request())[:-1] + b', "comment": "hi"}'),
        where="s.json: (top level)",
        accepted=('unknown key "comment"', "accepted: config, requests"),
    ),
    Case(
        "no requests key",
        *on_scenario(f'{{"config": {FIVE_A_SECOND}}}'.encode()),
        where="s.json: (top level)",
        accepted=('missing key "requests"', "accepted: config, requests"),
    ),
    Case(
        "top level that is a list",
        *on_scenario(b"[" + scenario(request()) + b"]"),
        where="s.json: (top level)",
        accepted=("an object with config and requests", "found a list"),
    ),
    Case(
        "top level that is a number",
        *on_scenario(b"42"),
        where="s.json: (top level)",
        accepted=("an object with config and requests", "found 42"),
    ),
    Case(
        "config without default",
        *on_scenario(scenario(request(), config='{"users": {}}')),
        where="s.json: config",
        accepted=('missing key "default"', "accepted: default, users"),
    ),
    Case(
        "users that are not an object",
        *on_scenario(scenario(config=FIVE_A_SECOND[:-1] + ', "users": []}')),
        where="s.json: config.users",
        accepted=("an object that maps user ids", "found a list"),
    ),
    Case(
        "a user's own bucket without refill_rate",
        *on_scenario(
            scenario(config=FIVE_A_SECOND[:-1] + ', "users": {"bob": {"capacity": 2}}}')
        ),
        where="s.json: config.users.bob",
        accepted=('missing key "refill_rate"', "accepted: capacity, refill_rate"),
    ),
    Case(
        "capacity 0",
        *on_scenario(scenario(config=bucket(capacity="0"))),
        where="s.json: config.default.capacity",
        accepted=(CAPACITY_ACCEPTED, "found 0"),
    ),
    Case(
        "capacity 0.5",
        *on_scenario(scenario(config=bucket(capacity="0.5"))),
        where="s.json: config.default.capacity",
        accepted=(CAPACITY_ACCEPTED, "found 0.5"),
    ),
    Case(
        "capacity negative",
        *on_scenario(scenario(config=bucket(capacity="-5"))),
        where="s.json: config.default.capacity",
        accepted=(CAPACITY_ACCEPTED, "found -5"),
    ),
    Case(
        "capacity 1e308",
        *on_scenario(scenario(request(), config=bucket(capacity="1e308"))),
        status=0,
        out=(allowed("alice", remaining="9" * 308 + ".0"),),
    ),
    Case(
        "capacity 1e400",
        *on_scenario(scenario(config=bucket(capacity="1e400"))),
        where="s.json: config.default.capacity",
        accepted=(CAPACITY_ACCEPTED, f"at most {DOUBLE_MAX}"),
    ),
    Case(
        "refill rate 0",
        *on_scenario(scenario(config=bucket(refill_rate="0"))),
        where="s.json: config.default.refill_rate",
        accepted=(RATE_ACCEPTED, "found 0"),
    ),
    Case(
        "refill rate negative",
        *on_scenario(scenario(config=bucket(refill_rate="-1"))),
        where="s.json: config.default.refill_rate",
        accepted=(RATE_ACCEPTED, "found -1"),
    ),
    Case(
        "refill rate below the least normal double",
        *on_scenario(scenario(config=bucket(refill_rate="1e-320"))),
        where="s.json: config.default.refill_rate",
        accepted=(RATE_ACCEPTED, f"at least {DOUBLE_MIN_NORMAL}"),
    ),
    Case(
        "a key given twice",
        *on_scenario(scenario('{"user": "alice", "time": 0, "user": "bob"}')),
        where="s.json: requests[0]",
        accepted=('key "user" appears twice',),
    ),
    Case(
        "truncated JSON",
        *on_scenario(TRUNCATED),
        where=f"s.json: line 1 column {len(TRUNCATED) + 1}",
        accepted=("invalid JSON",),
    ),
    Case(
        "nesting too deep",
        *on_scenario(b"[" * 100_000 + b"]" * 100_000),
        where="s.json",
        accepted=("invalid JSON: nested too deeply",),
    ),
    Case(
        "a UTF-8 byte order mark",
        *on_scenario(b"\xef\xbb\xbf" + scenario(request())),
        status=0,
        out=(allowed("alice"),),
    ),
    Case(
        "invalid UTF-8",
        *on_scenario(scenario(request('"bob"')).replace(b"bob", b"b\xffb")),
        where="s.json",
        accepted=("not valid UTF-8 (byte ",),
    ),
    Case(
        "an empty file",
        *on_scenario(b""),
        where="s.json",
        accepted=("empty, expected a JSON document",),
    ),
]

FILES = [
    Case(
        "a folder instead of a file",
        *on_command_line("scenario", "--file", "s.json"),
        setup=make_folder("s.json"),
        where="s.json",
        accepted=("is a directory, expected a file",),
    ),
    Case(
        "a file that cannot be opened (a UNIX socket)",
        *on_command_line("scenario", "--file", "s.json"),
        setup=make_socket("s.json"),
        where="s.json",
        accepted=("cannot be read",),
    ),
    Case(
        "a scenario that fails while being read",
        *on_command_line("scenario", "--file", PROC_MEM),
        where=PROC_MEM,
        accepted=("cannot be read",),
        needs=PROC_MEM,
    ),
    Case(
        "a configuration that fails while being read",
        *on_command_line(
            "check", "--user", "alice", "--time", "0", "--config", PROC_MEM
        ),
        where=PROC_MEM,
        accepted=("cannot be read",),
        needs=PROC_MEM,
    ),
    Case(
        "a missing file",
        *on_command_line("scenario", "--file", "s.json"),
        status=2,
        where="s.json",
        accepted=("no such file",),
    ),
    Case(
        "a line break in a missing file's name",
        *on_command_line("scenario", "--file", "no\nsuch.json"),
        status=2,
        accepted=("no such file",),
    ),
    Case(
        "a named pipe instead of a file",
        *on_command_line("scenario", "--file", "s.json"),
        setup=make_pipe("s.json", scenario(request())),
        status=0,
        out=(allowed("alice"),),
    ),
]

TRACES = [
    Case(
        "JSON Lines: a time as text after good records",
        *on_trace(
            "t.jsonl", lines(request(), request(time="0.5"), request(time='"1"'))
        ),
        where="t.jsonl:3",
        accepted=(TIME_ACCEPTED, 'found "1"'),
        out=(allowed("alice"), allowed("alice", "0.5", "3.5")),
    ),
    Case(
        "JSON Lines: a last record cut short",
        *on_trace("t.jsonl", lines(request()) + request().encode()[:-3]),
        where="t.jsonl:2",
        accepted=("invalid JSON", "expected one object per line"),
        out=(allowed("alice"),),
    ),
    Case(
        "JSON Lines: a record that is not an object",
        *on_trace("t.jsonl", lines(request(), f"[{request()}]")),
        where="t.jsonl:2",
        accepted=("expected a JSON object", "found a list"),
        out=(allowed("alice"),),
    ),
    Case(
        "JSON Lines: a byte order mark on a later line",
        *on_trace("t.jsonl", lines(request(), "\ufeff" + request())),
        where="t.jsonl:2",
        accepted=("expected one object per line",),
        out=(allowed("alice"),),
    ),
    Case(
        "JSON Lines: an empty trace",
        *on_trace("t.jsonl", b""),
        status=0,
    ),
    Case(
        "CSV: no user column",
        *on_trace("t.csv", b"name,time\nalice,0\n"),
        where="t.csv:1",
        accepted=('no "user" column', "--user-field"),
    ),
    Case(
        "CSV: a short row",
        *on_trace("t.csv", b"user,time\nalice,0\nbob\n"),
        where="t.csv:3",
        accepted=('no value for "time"',),
        out=(allowed("alice"),),
    ),
    Case(
        "CSV: a quoted field holding a tab",
        *on_trace("t.csv", b'user,time\n"al\tice",0\n'),
        status=0,
        out=(allowed("al\tice"),),
    ),
    Case(
        "CSV: an empty user field",
        *on_trace("t.csv", b"user,time\nalice,0\n,1\n"),
        where="t.csv:3",
        accepted=(USER_ACCEPTED, 'found ""'),
        out=(allowed("alice"),),
    ),
    Case(
        "CSV: a raw NUL byte in a field",
        *on_trace("t.csv", b"user,time\nal\x00ice,0\n"),
        status=0,
        out=(allowed("al\x00ice"),),
    ),
    Case(
        "CSV: a carriage return in an unquoted field",
        *on_trace("t.csv", b"user,time\nalice,0\nbo\rb,0\n"),
        where="t.csv:3",
        unsaid=("universal-newline",),
        out=(allowed("alice"),),
    ),
    Case(
        "CSV: a field longer than the csv module's limit",
        *on_trace("t.csv", f"user,time\nalice,0\n{PAST_CSV_LIMIT_USER},0\n".encode()),
        status=0,
        out=(allowed("alice"), allowed(PAST_CSV_LIMIT_USER)),
    ),
    Case(
        "CSV: an empty trace",
        *on_trace("t.csv", b""),
        where="t.csv:1",
        accepted=("expected a header line",),
    ),
    Case(
        "CSV: invalid UTF-8 after good rows",
        *on_trace("t.csv", b"user,time\nalice,0\nb\xffb,0\n"),
        where="t.csv:3",
        accepted=("not valid UTF-8",),
        out=(allowed("alice"),),
    ),
    Case(
        "a trace whose format its name does not tell",
        *on_trace("t.log", lines(request())),
        where="t.log",
        accepted=("pass --format",),
    ),
    Case(
        "a line break in --user-field",
        *on_trace("t.jsonl", lines(request()), "--user-field", "who\nelse"),
        accepted=(USER_ACCEPTED,),
    ),
]

CATALOGUE = COMMAND_LINES + USERS_AND_TIMES + DOCUMENTS + FILES + TRACES


def entries(cases: list[Case]) -> list[object]:
    """The cases as pytest parameters: known defects expected to fail."""
    params: list[object] = []
    for case in cases:
        marks: list[pytest.MarkDecorator] = []
        if case.defect:
            marks.append(pytest.mark.xfail(strict=True, reason=case.defect))
        if case.needs and not Path(case.needs).exists():
            marks.append(pytest.mark.skip(reason=f"no {case.needs} on this machine"))
        params.append(pytest.param(case, marks=marks, id=case.kind))
    return params


# Checking an outcome ----------------------------------------------------------------


def prepare(case: Case, folder: Path) -> None:
    """Write the case's files into ``folder`` and run its setup."""
    for name, content in case.files.items():
        (folder / name).write_bytes(content)
    if case.setup is not None:
        case.setup(folder)


def assert_outcome(case: Case, outcome: Outcome) -> None:
    """Fail unless ``outcome`` is what ``case`` states, stream by stream."""
    assert "Traceback" not in outcome.out + outcome.err, outcome.err[-2000:]
    assert outcome.status == case.status, outcome.err
    assert outcome.out == "".join(f"{line}\n" for line in case.out)
    if case.status == 0:
        assert outcome.err == ""
        return

    # One line: a terminal, a log and ``read`` all split at \n and \r.
    assert outcome.err.endswith("\n"), repr(outcome.err)
    assert outcome.err.count("\n") == 1, repr(outcome.err)
    assert "\r" not in outcome.err, repr(outcome.err)
    line = outcome.err.removesuffix("\n")
    assert line.startswith("limiter: "), line
    if case.where is not None:
        assert line.startswith(f"limiter: {case.where}: "), line
    for phrase in case.accepted:
        assert phrase in line
    for phrase in case.unsaid:
        assert phrase not in line


# The tests ---------------------------------------------------------------------------


def test_the_catalogue_holds_forty_kinds_or_more_each_named_once() -> None:
    kinds = [case.kind for case in CATALOGUE]

    assert len(set(kinds)) == len(kinds)
    assert len(kinds) >= 40


@pytest.mark.parametrize("case", entries(CATALOGUE))
def test_each_kind_in_process(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()

    status = main(list(case.argv))

    captured = capsys.readouterr()
    assert_outcome(case, Outcome(status, captured.out, captured.err))


@pytest.mark.parametrize("case", entries(CATALOGUE))
def test_each_kind_as_a_process(case: Case, tmp_path: Path) -> None:
    prepare(case, tmp_path)

    done = subprocess.run(
        [sys.executable, "-m", "limiter", *case.argv],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )

    out = done.stdout.decode("utf-8", "backslashreplace")
    err = done.stderr.decode("utf-8", "backslashreplace")
    assert_outcome(case, Outcome(done.returncode, out, err))


# An unreadable file ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("scenario", "--file", "secret.json"),
        ("check", "--user", "alice", "--time", "0", "--config", "secret.json"),
        ("replay", "secret.json", "--config", "c.json"),
    ],
    ids=["scenario", "check --config", "replay"],
)
def test_an_unreadable_file_is_one_line_and_exit_status_1(
    argv: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "c.json").write_text(FIVE_A_SECOND)
    secret = tmp_path / "secret.json"
    secret.write_bytes(scenario(request()))
    secret.chmod(0)
    monkeypatch.chdir(tmp_path)
    if os.geteuid() == 0:
        # Root reads a file of mode 000, so refuse it as the kernel refuses others.
        monkeypatch.setattr(builtins, "open", refusing_to_open(secret))

    status = main(list(argv))

    captured = capsys.readouterr()
    case = Case(
        "unreadable",
        argv,
        where="secret.json",
        accepted=("cannot be read: Permission denied",),
    )
    assert_outcome(case, Outcome(status, captured.out, captured.err))


def refusing_to_open(path: Path) -> Callable[..., object]:
    """``open``, but opening ``path`` fails as a file of mode 000 does for non-root."""
    real_open = builtins.open

    def guarded_open(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, str | Path) and Path(file).resolve() == path.resolve():
            message = os.strerror(errno.EACCES)
            raise PermissionError(errno.EACCES, message, str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    return guarded_open


# 100 MB of requests --------------------------------------------------------------

# Runs the command line in a child and writes the child's peak resident memory
# (KiB on Linux) to the file named first, so stdout and stderr stay the limiter's.
PEAK_MEMORY_WRAPPER = """\
import resource, sys
from limiter.cli import main
status = main(sys.argv[2:])
sys.stdout.flush()
with open(sys.argv[1], "w") as report:
    report.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(status)
"""
# Each record is ~400 bytes, so 100 MB is ~250,000 records: a few seconds' work.
BIG_RECORD = '{{"user": "user{user}", "time": {second}.25, "path": "/{padding}"}}\n'
PADDING = "p" * 340


def write_big_trace(path: Path, size: int) -> int:
    """Write ``size`` bytes or more of requests, then one bad record; count them.

    500 users take turns, a hundred requests to the second, so both the state and
    the answers are alike whatever the size: only the length differs.
    """
    records = 0
    with path.open("w", encoding="utf-8") as trace:
        while trace.tell() < size:
            trace.write(
                "".join(
                    BIG_RECORD.format(user=n % 500, second=n // 100, padding=PADDING)
                    for n in range(records, records + 1000)
                )
            )
            records += 1000
        trace.write('{"user": "late", "time": "soon"}\n')
    return records


class Measured(NamedTuple):
    """A replay in a child process: its status, answers, stderr and peak memory."""

    status: int
    answers: int
    err: str
    peak_kib: int


def replay_measured(folder: Path, trace: Path) -> Measured:
    """Replay ``trace`` in a child process, stdout to a file, and measure it."""
    report, answers = folder / "peak.txt", folder / "answers.jsonl"
    with answers.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-c", PEAK_MEMORY_WRAPPER, str(report), "replay",
             trace.name, "--config", "c.json"],
            cwd=folder,
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )  # fmt: skip

    with answers.open("rb") as out:
        count = sum(1 for _ in out)
        out.seek(max(0, out.tell() - 1000))
        json.loads(out.read().splitlines()[-1])  # whole, not cut off by the error
    peak = int(report.read_text())
    answers.unlink()
    return Measured(done.returncode, count, done.stderr.decode(), peak)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_100_mb_trace_streams_in_the_memory_of_a_1_mb_one(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(FIVE_A_SECOND)
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small_records = write_big_trace(small, 1_000_000)
    big_records = write_big_trace(big, 100_000_000)

    small_run = replay_measured(tmp_path, small)
    try:
        big_run = replay_measured(tmp_path, big)
    finally:
        big.unlink()  # 100 MB is too much to leave behind in pytest's folders

    # Every answer before the bad last record is written, then one error line.
    for run, records, name in [
        (small_run, small_records, small.name),
        (big_run, big_records, big.name),
    ]:
        assert (run.status, run.answers) == (1, records)
        assert run.err == (
            f"limiter: {name}:{records + 1}: time: expected {TIME_ACCEPTED}, "
            'found "soon"\n'
        )
    # Keeping the file, its records or its answers would cost 100 MB or more.
    assert big_run.peak_kib - small_run.peak_kib < 4096, (small_run, big_run)


# Streams that cannot be written ------------------------------------------------------


def run_redirected(redirection: str, folder: Path, *argv: str) -> Outcome:
    """Run ``python -m limiter ARGV`` through a shell that applies ``redirection``."""
    done = subprocess.run(
        ["sh", "-c", f'exec "$@" {redirection}', "sh", sys.executable, "-m",
         "limiter", *argv],
        cwd=folder,
        capture_output=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    return Outcome(done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    "argv",
    [
        ("check", "--user", "alice", "--time", "0"),
        ("scenario", "--file", "s.json"),
        ("replay", "t.jsonl", "--config", "c.json"),
    ],
    ids=["check", "scenario", "replay"],
)
def test_a_full_disk_under_stdout_is_one_line_and_exit_status_1(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    (tmp_path / "s.json").write_bytes(scenario(request()))
    (tmp_path / "t.jsonl").write_bytes(lines(request()))
    (tmp_path / "c.json").write_text(FIVE_A_SECOND)

    outcome = run_redirected(">/dev/full", tmp_path, *argv)

    assert_outcome(Case("full disk", argv), outcome)


def test_a_closed_stdout_is_one_line_and_exit_status_1(tmp_path: Path) -> None:
    outcome = run_redirected(">&-", tmp_path, "check", "--user", "alice", "--time", "0")

    assert_outcome(Case("closed stdout", ()), outcome)


def test_a_closed_stderr_never_puts_the_error_on_stdout(tmp_path: Path) -> None:
    status, out, _ = run_redirected("2>&-", tmp_path, "check", "--time", "0")

    assert (status, out) == (1, "")
