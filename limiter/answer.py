"""Answer lines: the one place where decisions are rounded and written as JSON."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _json_string

from limiter.bucket import Decision
from limiter.exact import hundredths_text

# Read by type checkers only: the typing module costs `limiter check` start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TextIO

# The text of small counts of hundredths, kept as they are first met: answer
# lines repeat a few values (4.0, 3.0, ...) millions of times.
_SHOWN: dict[int, str] = {}
_SHOWN_MOST = 1_000_000

# Lines written at once. Where stdout is unbuffered (PYTHONUNBUFFERED, common in
# containers) every write is a system call, dearer than deciding the request.
_BATCH = 512

__all__ = ["answer_line", "write_lines"]


def answer_line(user: str, time: str, decision: Decision) -> str:
    """One answer as a JSON line (without the newline).

    ``time`` is the request's time as JSON number text, echoed unchanged. Keys
    come in the order user, time, decision, remaining and, on a DENY,
    retry_after; ``remaining`` is rounded down and ``retry_after`` up, to 0.01.
    """
    head = f'{{"user": {_json_string(user)}, "time": {time}, '
    remaining = _shown(decision.remaining_hundredths)
    if decision.allowed:
        return f'{head}"decision": "ALLOW", "remaining": {remaining}}}'
    retry_after = _shown(decision.retry_after_hundredths)
    return (
        f'{head}"decision": "DENY", "remaining": {remaining}, '
        f'"retry_after": {retry_after}}}'
    )


def _shown(hundredths: int) -> str:
    text = _SHOWN.get(hundredths)
    if text is None:
        text = hundredths_text(hundredths)
        if hundredths < _SHOWN_MOST:
            _SHOWN[hundredths] = text
    return text


def write_lines(out: TextIO, lines: Iterable[str]) -> None:
    """Write each line, and a newline after it, to ``out``, a batch at a time.

    If ``lines`` stops with an error, every line it gave before is written first,
    so nothing already answered is lost.
    """
    batch: list[str] = []
    try:
        for line in lines:
            batch.append(line)
            if len(batch) == _BATCH:
                out.write("\n".join(batch) + "\n")
                batch.clear()
    finally:
        if batch:
            out.write("\n".join(batch) + "\n")
