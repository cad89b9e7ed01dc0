"""Answer lines: the one place where decisions are rounded and written as JSON."""

from __future__ import annotations

import json

from limiter.bucket import Decision
from limiter.exact import hundredths_text

__all__ = ["answer_line"]


def answer_line(user: str, time: str, decision: Decision) -> str:
    """One answer as a JSON line (without the newline).

    ``time`` is the request's time as JSON number text, echoed unchanged. Keys
    come in the order user, time, decision, remaining and, on a DENY,
    retry_after; ``remaining`` is rounded down and ``retry_after`` up, to 0.01.
    """
    head = f'{{"user": {json.dumps(user)}, "time": {time}, '
    remaining = hundredths_text(decision.remaining_hundredths)
    if decision.allowed:
        return f'{head}"decision": "ALLOW", "remaining": {remaining}}}'
    retry_after = hundredths_text(decision.retry_after_hundredths)
    return (
        f'{head}"decision": "DENY", "remaining": {remaining}, '
        f'"retry_after": {retry_after}}}'
    )
