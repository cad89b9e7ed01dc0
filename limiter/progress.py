"""A progress bar on a terminal for a trace being read: its lines, and its bytes.

Only the command line uses it, and only when stderr is a terminal: importing this
module brings in tqdm, which nothing else of the limiter loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from tqdm import tqdm

__all__ = ["LineProgress"]

# The bar is moved on every this many lines rather than on each, so that counting
# costs the replay next to nothing.
_EVERY = 1024

# tqdm's usual bar, with the unit shown after the counts of bytes; and, where
# there is nothing to fill a bar against, the count of lines read, in full.
_BYTES_BAR = (
    "{l_bar}{bar}| {n_fmt}B/{total_fmt}B [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
)
_LINES_COUNT = "{n:,} lines read [{elapsed}, {rate_fmt}]"


class LineProgress:
    """A bar on ``stream`` of a trace read line by line, left showing the totals.

    With the trace's ``size`` in bytes known (a regular file), the bar fills up as
    bytes are read and shows the lines read beside it; without (stdin), it counts
    the lines.
    """

    __slots__ = ("_bar", "_size")

    def __init__(self, stream: TextIO, size: int | None) -> None:
        self._size = size
        if size is None:
            self._bar = tqdm(
                file=stream, unit=" lines", unit_scale=True, bar_format=_LINES_COUNT
            )
        else:
            self._bar = tqdm(
                file=stream,
                total=size,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                bar_format=_BYTES_BAR,
            )

    def count(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        """Each of ``lines`` as it comes, moving the bar as they are read."""
        read = pending = 0
        for line in lines:
            yield line
            read += 1
            pending += len(line)
            if read % _EVERY == 0:
                self._show(read, pending)
                pending = 0
        self._show(read, pending)

    def _show(self, read: int, pending: int) -> None:
        if self._size is None:
            self._bar.update(read - self._bar.n)
            return
        self._bar.set_postfix_str(f"{read:,} lines", refresh=False)
        self._bar.update(pending)

    def close(self) -> None:
        """Show the bar a last time, with all that was read, and end its line."""
        self._bar.close()

    def __repr__(self) -> str:
        return f"LineProgress(size={self._size!r}, bar={self._bar!r})"
