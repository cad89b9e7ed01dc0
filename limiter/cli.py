"""The ``limiter`` command line: ``check``, ``scenario``, ``replay`` and ``plot``.

stdout carries answers only, one JSON line each; errors go to stderr as one
line that says where and what. Exit status: 0 when every request was answered,
1 for invalid input, 2 for a file that does not exist, 3 for a store of shared
state (``--state``, ``--redis``) that failed.

Buckets live in the process by default; ``--state FILE`` and ``--redis URL``
share them between runs (see ``limiter.shared_state``). Each store is imported
only when asked for, and so are the extras of the other commands: tqdm for
replay's progress bar on a terminal, and matplotlib for ``plot``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from decimal import Decimal

from limiter import __version__, shared_state
from limiter.answer import answer_line, write_lines
from limiter.config import Config
from limiter.errors import InvalidInput, LimiterError
from limiter.exact import TIME, describe, nanoseconds, read_number, seconds_text
from limiter.registry import Limiter

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn, TextIO

__all__ = ["DEFAULT_CONFIG", "main"]

DEFAULT_CONFIG = {"default": {"capacity": 5, "refill_rate": 1}}
"""What ``check`` uses without ``--config``: 5 tokens, refilled at 1 a second."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is invalid input: one line, exit status 1."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("limiter").strip()
        raise InvalidInput(command, message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (or ``sys.argv[1:]``); return its status."""
    if argv is None:
        argv = sys.argv[1:]
    parser = _parser(plot="plot" in argv)
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            usage = " ".join(args.parser.format_usage().split())  # one line
            command = args.parser.prog.removeprefix("limiter").strip()
            raise InvalidInput(command, f"unknown {' '.join(unknown)} ({usage})")
        if sys.stdout is None:
            raise InvalidInput("stdout", "closed, so there is nowhere to answer")
        status: int = args.run(args)
        sys.stdout.flush()
    except LimiterError as error:
        _flush_quietly(sys.stdout)
        _complain(str(error))
        return error.exit_status
    except BrokenPipeError:
        # The reader went away (``limiter replay ... | head``): stop quietly.
        _drop_pending_output()
        return 1
    except OSError as error:  # answers could not be written: a full disk, say
        _drop_pending_output()
        _complain(f"stdout: cannot write the answers: {error.strerror}")
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def _complain(message: str) -> None:
    """Say what went wrong on stderr, on one line whatever the message holds."""
    if sys.stderr is None:
        return  # stderr is closed: the exit status is all that can be said
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode() for c in message
    )
    print(f"limiter: {shown}", file=sys.stderr)


def _drop_pending_output() -> None:
    # Answers still buffered can no longer be written; send them nowhere, so
    # that Python's own flush at exit does not fail a second time.
    if sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _parser(*, plot: bool = True) -> argparse.ArgumentParser:
    """The command line's parser; the options of ``plot`` only if ``plot``.

    Building them costs every command's start-up time, so they are left out
    unless ``plot`` is named on the command line.
    """
    parser = _Parser(
        prog="limiter",
        description="Answer requests with a token bucket per user: ALLOW or DENY.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"limiter {__version__}")
    parser.set_defaults(parser=parser)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, allow_abbrev=False)

    check = command("check", "answer one request")
    check.add_argument("--user", required=True, help="the user making the request")
    check.add_argument(
        "--time", help="the request's time in seconds (default: the wall clock)"
    )
    check.add_argument(
        "--config",
        metavar="FILE",
        help="a JSON configuration (default: capacity 5, refill rate 1 per second)",
    )
    shared_state.add_options(check, clock=True)
    check.set_defaults(run=_check, parser=check)

    scenario = command("scenario", "answer every request of a file")
    scenario.add_argument(
        "--file", required=True, metavar="PATH", help="a scenario file"
    )
    shared_state.add_options(scenario)
    scenario.set_defaults(run=_scenario, parser=scenario)

    replay = command("replay", "stream a request log through a limiter")
    replay.add_argument(
        "trace", metavar="TRACE", help="a JSON Lines, CSV or TSV file; - for stdin"
    )
    replay.add_argument(
        "--config", required=True, metavar="FILE", help="a configuration"
    )
    _trace_options(replay)
    replay.add_argument(
        "--summary", action="store_true", help="print totals instead of every answer"
    )
    replay.add_argument(
        "--top",
        type=_count,
        metavar="N",
        help="with --summary, how many of the most throttled users to list "
        "(default: 10)",
    )
    shared_state.add_options(replay)
    replay.set_defaults(run=_replay, parser=replay)

    plot_command = command("plot", "draw each user's tokens over time")
    if plot:
        _plot_options(plot_command)
    plot_command.set_defaults(run=_plot, parser=plot_command)
    return parser


def _plot_options(plot: argparse.ArgumentParser) -> None:
    plot.add_argument(
        "trace",
        nargs="?",
        metavar="TRACE",
        help="a request log, read as replay reads it; - for stdin "
        "(or, instead, a scenario with --file)",
    )
    plot.add_argument("--file", metavar="PATH", help="a scenario file")
    plot.add_argument(
        "--config", metavar="FILE", help="the configuration, with a TRACE"
    )
    _trace_options(plot, defaults=False)
    plot.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME",
        help="a user to draw; repeat for more (default: every user of a scenario, "
        "or the busiest of a trace)",
    )
    plot.add_argument(
        "--top",
        type=_count,
        metavar="N",
        help="draw the N users with the most requests (default for a trace: 3)",
    )
    plot.add_argument(
        "--output",
        required=True,
        metavar="FILE",
        help="the picture to write: PNG or SVG, by the file name's ending",
    )


def _trace_options(command: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    # Without defaults, a value left as None shows the option was not given.
    command.add_argument(
        "--format",
        choices=("jsonl", "csv", "tsv"),
        help="the trace's format (default: guessed from the file name)",
    )
    command.add_argument(
        "--user-field",
        default="user" if defaults else None,
        metavar="NAME",
        help="the field naming the user (default: user)",
    )
    command.add_argument(
        "--time-field",
        default="time" if defaults else None,
        metavar="NAME",
        help="the field holding the time in seconds (default: time)",
    )


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(
            f"expected a whole number, at least 0, found {text!r}"
        )
    # More than there could ever be users means all of them; int() would refuse
    # a number of thousands of digits.
    return int(text) if len(text) <= _COUNT_DIGITS else 10**_COUNT_DIGITS


_COUNT_DIGITS = 18
_DEFAULT_TOP = 10


def _check(args: argparse.Namespace) -> int:
    if not args.user:
        raise InvalidInput("--user", 'expected a non-empty user id, found ""')
    if args.time is None:
        now = Decimal(_wall_clock_ns()).scaleb(-9)
    else:
        now = read_number(args.time, TIME, "--time")
    if args.config is None:
        config = Config.from_mapping(DEFAULT_CONFIG)
    else:
        config = _read_config(args.config)

    server_clock = shared_state.ServerClock() if args.clock == "server" else None
    store = shared_state.open_store(
        args,
        report=_complain,
        clocked=args.time is None or server_clock is not None,
        server_clock=server_clock,
    )
    try:
        decision = Limiter(config, store).check_ns(args.user, nanoseconds(now))
    finally:
        shared_state.close_store(store)
    if server_clock is not None and server_clock.time is not None:
        now = Decimal(server_clock.time).scaleb(-9)  # the time the decision used
    write_lines(sys.stdout, [answer_line(args.user, seconds_text(now), decision)])
    return 0


def _read_config(path: str) -> Config:
    # Reading a file brings in JSON Schema validation, which `check` alone skips.
    from limiter.scenario import read_config

    return read_config(path)


def _wall_clock_ns() -> int:
    import time

    return time.time_ns()


def _scenario(args: argparse.Namespace) -> int:
    from limiter.scenario import answer_all, read_scenario

    scenario = read_scenario(args.file)
    store = shared_state.open_store(args, report=_complain)
    try:
        limiter = Limiter(scenario.config, store)
        write_lines(sys.stdout, answer_all(limiter, scenario.requests))
    finally:
        shared_state.close_store(store)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from limiter import replay

    _check_fields(args.user_field, args.time_field)
    if args.top is not None and not args.summary:
        raise InvalidInput("--top", "goes with --summary, which is not given")
    config = _read_config(args.config)
    store = shared_state.open_store(args, report=_complain)
    try:
        replay.run(
            args.trace,
            config,
            trace_format=args.format,
            user_field=args.user_field,
            time_field=args.time_field,
            summary=args.summary,
            top=_DEFAULT_TOP if args.top is None else args.top,
            out=sys.stdout,
            store=store,
            progress=_progress_stream(answers_streamed=not args.summary),
        )
    finally:
        shared_state.close_store(store)
    return 0


def _check_fields(user_field: str, time_field: str) -> None:
    for option, field in (("--user-field", user_field), ("--time-field", time_field)):
        if not field:
            raise InvalidInput(option, 'expected the name of a field, found ""')
    if user_field == time_field:
        problem = f"names the same field as --user-field ({describe(time_field)})"
        raise InvalidInput("--time-field", problem)


def _progress_stream(*, answers_streamed: bool) -> TextIO | None:
    """stderr, where a progress bar may be drawn; ``None`` where none should be.

    A bar is drawn on a terminal only, and not on the one the answers stream to,
    where it would break their lines.
    """
    stderr = sys.stderr
    if stderr is None or not stderr.isatty():
        return None
    if answers_streamed and sys.stdout is not None and sys.stdout.isatty():
        return None
    return stderr


def _plot(args: argparse.Namespace) -> int:
    from limiter import plot

    plot.picture_format(args.output)
    _check_plot_options(args)
    plot.require_matplotlib()  # before any input is read

    if args.file is not None:
        plot.plot_scenario(args.file, users=args.user, top=args.top, output=args.output)
        return 0
    user_field = "user" if args.user_field is None else args.user_field
    time_field = "time" if args.time_field is None else args.time_field
    _check_fields(user_field, time_field)
    plot.plot_trace(
        args.trace,
        _read_config(args.config),
        trace_format=args.format,
        user_field=user_field,
        time_field=time_field,
        users=args.user,
        top=args.top,
        output=args.output,
        progress=_progress_stream(answers_streamed=False),
    )
    return 0


def _check_plot_options(args: argparse.Namespace) -> None:
    """A scenario, or a trace with its options; users by name or by number."""
    if (args.file is None) == (args.trace is None):
        found = "both" if args.file is not None else "neither"
        problem = "expected a scenario (--file PATH) or a trace (TRACE --config FILE)"
        raise InvalidInput("plot", f"{problem}, found {found}")
    if args.file is not None:
        for option, value in (
            ("--config", args.config),
            ("--format", args.format),
            ("--user-field", args.user_field),
            ("--time-field", args.time_field),
        ):
            if value is not None:
                raise InvalidInput(option, "goes with a TRACE, not with --file")
    elif args.config is None:
        raise InvalidInput("plot", "a TRACE needs its configuration: --config FILE")
    if args.top is not None:
        if args.user:
            raise InvalidInput("--top", "cannot be given with --user")
        if args.top == 0:
            raise InvalidInput("--top", "expected at least 1 user to draw, found 0")
    for user in args.user:
        if not user:
            raise InvalidInput("--user", 'expected a non-empty user id, found ""')


def _flush_quietly(stream: TextIO | None) -> None:
    if stream is None:
        return
    try:
        stream.flush()
    except (BrokenPipeError, ValueError):  # the reader has gone: nothing to keep
        return
