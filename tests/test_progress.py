"""``limiter replay``'s progress bar: drawn on a terminal's stderr, and nowhere else.

Each test runs ``python -m limiter replay`` with stderr (and, for one, stdout too)
on a pseudo-terminal, and reads what the terminal was sent.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

from conftest import REPO_ROOT

from limiter.progress import LineProgress

NASA = ["data/nasa_19950701.tsv", "--config", "data/nasa.config.json"]
REPLAY = [sys.executable, "-m", "limiter", "replay", *NASA, "--user-field", "host"]
NASA_REQUESTS = 9999


class Terminal:
    """A pseudo-terminal whose output is collected while a process writes to it."""

    def __init__(self) -> None:
        self.reader, self.writer = pty.openpty()
        # A new pseudo-terminal is 0 columns wide; give it the usual 24 by 80.
        size = struct.pack("HHHH", 24, 80, 0, 0)
        fcntl.ioctl(self.writer, termios.TIOCSWINSZ, size)
        self._sent = bytearray()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while True:
            try:
                chunk = os.read(self.reader, 65536)
            except OSError:  # every writer has closed the terminal
                return
            if not chunk:
                return
            self._sent += chunk

    def sent(self) -> str:
        """All that was written to the terminal, once the process has ended."""
        self._thread.join(timeout=30)
        os.close(self.reader)
        # A terminal sends each line feed as a carriage return and a line feed.
        return self._sent.decode("utf-8", "replace").replace("\r\n", "\n")


def run(
    args: list[str], *, stdout_on_terminal: bool = False, stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run ``args`` with stderr on a terminal: status, stdout, what the terminal got."""
    terminal = Terminal()
    process = subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=terminal.writer if stdout_on_terminal else subprocess.PIPE,
        stderr=terminal.writer,
    )
    os.close(terminal.writer)
    out, _ = process.communicate(stdin, timeout=60)
    return process.returncode, (out or b"").decode(), terminal.sent()


def without_terminal(
    args: list[str], stdin: bytes | None = None
) -> tuple[int, str, str]:
    done = subprocess.run(
        args, cwd=REPO_ROOT, input=stdin, capture_output=True, timeout=60, check=False
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_a_terminal_shows_a_bar_of_bytes_and_lines_and_the_answers_are_intact() -> None:
    status, out, shown = run(REPLAY)
    plain = without_terminal(REPLAY)

    assert status == 0
    assert out == plain[1]  # the answers, byte for byte as without a terminal
    assert len(out.splitlines()) == NASA_REQUESTS
    assert "%|" in shown  # a bar, filled by the share of the file's bytes read
    assert f"{NASA_REQUESTS + 1:,} lines" in shown  # the header line too
    assert "787kB/787kB" in shown  # the file's size, known up front


def test_without_a_terminal_stderr_stays_empty() -> None:
    status, out, err = without_terminal(REPLAY)

    assert (status, err) == (0, "")
    assert len(out.splitlines()) == NASA_REQUESTS


def test_stdin_shows_a_count_of_lines() -> None:
    trace = (REPO_ROOT / NASA[0]).read_bytes()
    args = [*REPLAY[:4], "-", "--format", "tsv", *NASA[1:], "--user-field", "host"]

    status, out, shown = run(args, stdin=trace)

    assert status == 0
    assert out == without_terminal(args, stdin=trace)[1]
    assert f"{NASA_REQUESTS + 1:,} lines read" in shown
    assert "%|" not in shown  # no size to fill a bar against


def test_answers_streamed_to_the_same_terminal_get_no_bar() -> None:
    status, _, shown = run(REPLAY, stdout_on_terminal=True)

    assert status == 0
    assert shown.count('"decision"') == NASA_REQUESTS
    assert "%|" not in shown
    assert " lines" not in shown


def test_a_summary_on_the_terminal_comes_on_the_line_after_the_bar() -> None:
    status, _, shown = run([*REPLAY, "--summary"], stdout_on_terminal=True)

    assert status == 0
    bar, summary = shown.split("\n", 1)
    assert "100%|" in bar
    assert summary.startswith('{\n  "requests": 9999,')


def test_an_error_line_comes_on_the_line_after_the_bar(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text('{"user": "a", "time": 0}\n{"user": "a"}\n', encoding="utf-8")
    config = tmp_path / "config.json"
    config.write_text('{"default": {"capacity": 1, "refill_rate": 1}}')

    args = [*REPLAY[:4], str(trace), "--config", str(config)]
    status, out, shown = run(args)

    assert status == 1
    assert out.count("\n") == 1  # the first request was answered
    bar, error, end = shown.split("\n")
    assert "|" in bar
    assert error.startswith(f"limiter: {trace}:2: time: missing")
    assert end == ""


def test_the_bar_counts_lines_in_batches_and_all_of_them_at_the_end() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream, size=3000 * 4)

    lines = list(progress.count(b"abc\n" for _ in range(3000)))
    progress.close()

    assert len(lines) == 3000
    assert "3,000 lines" in stream.getvalue()
