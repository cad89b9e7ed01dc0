"""Answer lines: the one place where decisions are rounded and written as JSON."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _json_string

from limiter.bucket import Decision
from limiter.exact import hundredths_text

# The text of small counts of hundredths, kept as they are first met: answer
# lines repeat a few values (4.0, 3.0, ...) millions of times.
_SHOWN: dict[int, str] = {}
_SHOWN_MOST = 1_000_000

__all__ = ["answer_line"]


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
