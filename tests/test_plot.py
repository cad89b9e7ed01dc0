"""``limiter plot``: the token series it draws, the files it writes, its errors."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SCENARIOS, Cli, Files

from limiter.bucket import BucketConfig
from limiter.config import Config
from limiter.exact import nanoseconds
from limiter.plot import Point, Series, busiest, decide, token_series
from limiter.scenario import read_scenario

S2 = SCENARIOS / "scenario_2.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}svg"
NASA = REPO_ROOT / "data" / "nasa_19950701.tsv"
NASA_CONFIG = REPO_ROOT / "data" / "nasa.config.json"


def scenario_series(number: int, user: str = "alice") -> Series:
    """The series ``limiter plot`` draws for ``user`` of specification scenario N."""
    scenario = read_scenario(str(SCENARIOS / f"scenario_{number}.json"))
    requests = [(who, nanoseconds(time)) for who, time in scenario.requests]
    decided = decide(scenario.config, requests)
    bucket = scenario.config.users.get(user, scenario.config.default)
    return token_series(user, bucket, decided[user])


def at(*points: str) -> list[Point]:
    """Points written as "time tokens", exact: ``at("0 3", "1/4 1/2")``."""
    pairs = (point.split() for point in points)
    return [(Fraction(time), Fraction(tokens)) for time, tokens in pairs]


# The token series, exactly ---------------------------------------------------------


def test_scenario_5_drops_to_0_holds_half_a_token_then_takes_the_whole_one() -> None:
    series = scenario_series(5)

    assert series.points == at(
        "0 3",
        "0 2",
        "0 1",
        "0 0",
        "1/4 1/2",
        "1/2 1",
        "1/2 0",
        "2 3",  # full again 1.5 s later, at 2 tokens a second
    )
    assert series.allowed == at("0 3", "0 2", "0 1", "1/2 1")
    assert series.denied == at("0 0", "1/4 1/2")


def test_scenario_1_denies_the_sixth_at_0_and_has_one_token_at_1_s() -> None:
    series = scenario_series(1)

    assert series.points == at(
        "0 5",
        "0 4",
        "0 3",
        "0 2",
        "0 1",
        "0 0",
        "1 1",
        "1 0",
        "6 5",
    )
    assert series.denied == at("0 0")
    assert [time for time, _ in series.allowed] == [Fraction(0)] * 5 + [Fraction(1)]


def test_scenario_4_shows_the_kink_where_the_bucket_is_full_again() -> None:
    series = scenario_series(4)

    assert series.points == at(
        "0 5",
        "0 4",
        "1 5",  # the kink: full after one second, then flat
        "10 5",
        "10 4",
        "11 5",
    )


def test_scenario_2_keeps_bob_apart_from_alice() -> None:
    bob = scenario_series(2, "bob")

    assert bob.points == at(
        "0 3",
        "0 2",
        "0 1",
        "1 2",
        "1 1",
        "3 3",
    )
    assert bob.denied == []


def test_a_line_runs_on_at_capacity_until_the_time_asked_for() -> None:
    scenario = read_scenario(str(SCENARIOS / "scenario_2.json"))
    requests = [(who, nanoseconds(time)) for who, time in scenario.requests]
    decided = decide(scenario.config, requests, {"bob"})

    bob = token_series(
        "bob", scenario.config.default, decided["bob"], until=Fraction(4)
    )

    assert list(decided) == ["bob"]
    assert bob.points[-2:] == at("3 3", "4 3")


def test_the_line_meets_every_request_where_the_engine_found_its_tokens() -> None:
    # Capacity and rate with no common shape, at times a nanosecond apart and
    # seconds apart, in and out of order.
    config = Config(BucketConfig("2.5", "0.3"))
    times = [0, 1, 1, 10**9, 2 * 10**9, 7 * 10**9 + 1, 3 * 10**9, 40 * 10**9]
    decided = decide(config, [("alice", now) for now in times])["alice"]

    series = token_series("alice", config.default, decided)

    marks = sorted(series.allowed + series.denied)
    assert all(mark in series.points for mark in marks)
    assert len(marks) == len(times)
    for (t0, y0), (t1, y1) in zip(series.points, series.points[1:], strict=False):
        if t0 == t1:
            assert y0 - y1 == 1  # an allowed request takes one token
        else:
            slope = (y1 - y0) / (t1 - t0)
            assert slope in (Fraction(3, 10), 0)  # the refill rate, or full
            assert (slope == 0) == (y0 == y1 == Fraction(5, 2))
    assert max(held for _, held in series.points) == Fraction(5, 2)


def test_the_busiest_users_have_the_most_requests_ties_by_user_id() -> None:
    config = Config(BucketConfig(5, 1))
    requests = [("carol", 0), ("bob", 0), ("alice", 0), ("bob", 1), ("carol", 1)]
    decided = decide(config, requests)

    assert busiest(decided, 2) == ["bob", "carol"]
    assert busiest(decided, 9) == ["bob", "carol", "alice"]


# The files it writes ---------------------------------------------------------------


def test_a_png_is_written_and_nothing_else_is_said(cli: Cli, tmp_path: Path) -> None:
    output = tmp_path / "tokens.png"

    result = cli("plot", "--file", SCENARIOS / "scenario_5.json", "--output", output)

    assert (result.status, result.out, result.err) == (0, "", "")
    assert output.read_bytes().startswith(PNG_SIGNATURE)


def test_an_svg_is_valid_xml_and_the_same_every_time(cli: Cli, tmp_path: Path) -> None:
    first, second = tmp_path / "first.svg", tmp_path / "second.SVG"

    for output in (first, second):
        result = cli(
            "plot", "--file", SCENARIOS / "scenario_2.json", "--output", output
        )
        assert (result.status, result.out, result.err) == (0, "", "")

    root = ET.parse(first).getroot()
    assert root.tag == SVG
    assert "alice: capacity 3" in "".join(root.itertext())
    assert first.read_bytes() == second.read_bytes()


def test_a_trace_is_drawn_for_the_users_named(cli: Cli, tmp_path: Path) -> None:
    output = tmp_path / "nasa.svg"

    result = cli(
        "plot",
        NASA,
        "--config",
        NASA_CONFIG,
        "--user-field",
        "host",
        "--user",
        "kristina.az.com",
        "--user",
        "slip-5.io.com",
        "--output",
        output,
    )

    assert (result.status, result.out, result.err) == (0, "", "")
    text = "".join(ET.parse(output).getroot().itertext())
    assert "kristina.az.com: capacity 5, refill rate 0.05 tokens/s" in text
    assert "118 requests, 13 denied" in text
    assert "slip-5.io.com" in text


def test_a_trace_is_drawn_for_its_busiest_users(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    trace = files.raw(
        "trace.csv", "who,when\nann,0\nbea,0\nbea,1\ncid,0\ncid,1\ncid,2\ndan,5\n"
    )
    config = files.json("config.json", {"default": {"capacity": 2, "refill_rate": 1}})
    output = tmp_path / "busiest.svg"

    options = ["--user-field", "who", "--time-field", "when", "--top", "2"]
    result = cli("plot", trace, "--config", config, *options, "--output", output)

    assert (result.status, result.out, result.err) == (0, "", "")
    text = "".join(ET.parse(output).getroot().itertext())
    assert "cid: capacity 2" in text
    assert "bea: capacity 2" in text
    assert "ann" not in text
    assert "time (s)" in text


# Errors: one line on stderr, nothing on stdout, the documented status ---------------

S5 = str(SCENARIOS / "scenario_5.json")

PLOT_ERRORS = [
    (
        "an output that is neither PNG nor SVG",
        ["--file", S5, "--output", "tokens.pdf"],
        "limiter: --output: expected a file name ending in .png or .svg, "
        'found "tokens.pdf"',
    ),
    (
        "an output with no ending",
        ["--file", S5, "--output", "tokens"],
        "limiter: --output: expected a file name ending in .png or .svg, "
        'found "tokens"',
    ),
    (
        "no output",
        ["--file", S5],
        "limiter: plot: the following arguments are required: --output",
    ),
    (
        "neither a scenario nor a trace",
        ["--output", "x.png"],
        "limiter: plot: expected a scenario (--file PATH) or a trace "
        "(TRACE --config FILE), found neither",
    ),
    (
        "both a scenario and a trace",
        ["trace.tsv", "--file", S5, "--output", "x.png"],
        "limiter: plot: expected a scenario (--file PATH) or a trace "
        "(TRACE --config FILE), found both",
    ),
    (
        "a trace without its configuration",
        ["trace.tsv", "--output", "x.png"],
        "limiter: plot: a TRACE needs its configuration: --config FILE",
    ),
    (
        "a configuration beside a scenario",
        ["--file", S5, "--config", "c.json", "--output", "x.png"],
        "limiter: --config: goes with a TRACE, not with --file",
    ),
    (
        "a field beside a scenario",
        ["--file", S5, "--user-field", "host", "--output", "x.png"],
        "limiter: --user-field: goes with a TRACE, not with --file",
    ),
    (
        "users by name and by number",
        ["--file", S5, "--user", "alice", "--top", "1", "--output", "x.png"],
        "limiter: --top: cannot be given with --user",
    ),
    (
        "no users at all",
        ["--file", S5, "--top", "0", "--output", "x.png"],
        "limiter: --top: expected at least 1 user to draw, found 0",
    ),
    (
        "an empty user",
        ["--file", S5, "--user", "", "--output", "x.png"],
        'limiter: --user: expected a non-empty user id, found ""',
    ),
    (
        "a user with no requests",
        ["--file", S5, "--user", "bob", "--output", "x.png"],
        f'limiter: --user: no request by "bob" in {S5}',
    ),
]


@pytest.mark.parametrize(
    ("args", "message"),
    [(args, message) for _, args, message in PLOT_ERRORS],
    ids=[name for name, _, _ in PLOT_ERRORS],
)
def test_a_bad_command_line_is_one_line_and_exit_status_1(
    cli: Cli, args: list[str], message: str
) -> None:
    result = cli("plot", *args)

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == message


def test_a_missing_scenario_is_exit_status_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"

    result = cli("plot", "--file", path, "--output", tmp_path / "x.png")

    assert result.status == 2
    assert result.error_line() == f"limiter: {path}: no such file"
    assert not (tmp_path / "x.png").exists()


def test_a_bad_scenario_is_refused_as_scenario_refuses_it(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    path = files.scenario(5, 1, [("alice", 0), ("bob", -2)])

    plotted = cli("plot", "--file", path, "--output", tmp_path / "x.png")
    answered = cli("scenario", "--file", path)

    assert plotted.status == answered.status == 1
    assert plotted.error_line() == answered.error_line()


@pytest.mark.parametrize(
    ("capacity", "rate", "times", "spans"),
    [
        (5, 1, [0, 1.7e308], "span 1.7e+308 s, with capacities up to 5 tokens"),
        (1, 2.2250738585072014e-308, [0, 0, 1e308], "span 1.45e+308 s"),
        (1e308, 1e300, [0, 1], "capacities up to 1e+308 tokens"),
    ],
)
def test_what_no_axis_can_hold_is_one_line(
    *,
    cli: Cli,
    files: Files,
    tmp_path: Path,
    capacity: object,
    rate: object,
    times: list[object],
    spans: str,
) -> None:
    # Numbers the engine answers exactly, but near a double's limits once drawn.
    path = files.scenario(capacity, rate, [("alice", time) for time in times])

    plotted = cli("plot", "--file", path, "--output", tmp_path / "x.svg")
    answered = cli("scenario", "--file", path)

    assert answered.status == 0
    assert plotted.status == 1
    line = plotted.error_line()
    assert line.startswith(f"limiter: {path}: cannot be drawn: its requests and ")
    assert spans in line
    assert "past what matplotlib can place on an axis" in line


def test_a_bad_trace_line_is_refused_as_replay_refuses_it(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    trace = files.raw("trace.jsonl", '{"user": "a", "time": 0}\n{"user": "a"}\n')
    config = files.json("config.json", {"default": {"capacity": 2, "refill_rate": 1}})

    plotted = cli("plot", trace, "--config", config, "--output", tmp_path / "x.png")
    replayed = cli("replay", trace, "--config", config)

    assert plotted.status == replayed.status == 1
    assert plotted.out == ""
    assert plotted.error_line() == replayed.error_line()
    assert plotted.error_line().startswith(f"limiter: {trace}:2: time: missing")


def test_an_empty_scenario_has_nothing_to_draw(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    path = files.scenario(5, 1, [])

    result = cli("plot", "--file", path, "--output", tmp_path / "x.png")

    assert result.status == 1
    assert result.error_line() == (
        f"limiter: {path}: holds no requests, so there is nothing to draw"
    )


def test_more_users_than_a_picture_holds_are_refused(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    path = files.scenario(5, 1, [(f"user{n}", 0) for n in range(11)])

    result = cli("plot", "--file", path, "--output", tmp_path / "x.png")

    assert result.status == 1
    assert result.error_line() == (
        f"limiter: {path}: 11 users to draw, more than the 10 one picture holds; "
        "choose some with --user or --top"
    )


def test_an_output_that_cannot_be_written_is_named(cli: Cli, tmp_path: Path) -> None:
    output = tmp_path / "no" / "such" / "folder.svg"

    result = cli("plot", "--file", S5, "--output", output)

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == (
        f"limiter: --output: cannot write {output}: No such file or directory"
    )


def test_without_matplotlib_the_extra_to_install_is_named(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails

    result = cli("plot", "--file", S5, "--output", tmp_path / "x.png")

    assert result.status == 1
    assert result.out == ""
    assert result.error_line() == (
        "limiter: plot: needs matplotlib, which is not installed; "
        "pip install 'limiter[plot]'"
    )


# What other commands do not load ---------------------------------------------------


def test_check_and_replay_load_neither_matplotlib_nor_tqdm(files: Files) -> None:
    config = files.json("config.json", {"default": {"capacity": 2, "refill_rate": 1}})
    trace = files.raw("trace.jsonl", '{"user": "a", "time": 0}\n')
    program = (
        "import sys\n"
        "from limiter.cli import main\n"
        "main(['check', '--user', 'a', '--time', '0'])\n"
        f"main(['replay', {str(trace)!r}, '--config', {str(config)!r}])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'tqdm'}))"
    )

    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )

    assert done.stdout.splitlines()[-1] == "[]"


def test_points_are_pairs_of_fractions() -> None:
    point: Point = scenario_series(3, "premium_user").points[0]

    assert point == (Fraction(0), Fraction(10))
    assert all(isinstance(value, Fraction) for value in point)
