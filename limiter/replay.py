"""Replaying a request log through one limiter, a record at a time.

A trace is JSON Lines (one object per line) or CSV/TSV (a header line naming the
fields, then one request per row; fields not asked for are ignored). Records are
read one by one, so memory grows with the number of distinct users and never
with the number of requests. The first record that cannot be read stops the
replay with an error naming its line; every answer before it is already written.
"""

from __future__ import annotations

import csv
import heapq
import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, NoReturn, TextIO, TypeAlias

from limiter.answer import answer_line, write_lines
from limiter.bucket import Decision
from limiter.config import Config
from limiter.documents import json_object, open_file
from limiter.errors import InvalidInput
from limiter.exact import TIME, describe, timestamp
from limiter.protocol import Store
from limiter.registry import Limiter

__all__ = ["BATCH", "Request", "read_requests", "run"]

# The endings of a file name that a trace's format is guessed from.
_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_FORMATS |= {".csv": "csv", ".tsv": "tsv", ".tab": "tsv"}

_USER_ACCEPTED = "a non-empty string"
_LONGEST_FIELD = 2**31 - 1  # the most csv accepts
_JSON_SPACE = " \t\r\n"

Request: TypeAlias = tuple[str, int, str]
"""One request of a trace: who asked, when (in nanoseconds), and that time as the
JSON number to echo."""


def run(
    trace: str,
    config: Config,
    *,
    trace_format: str | None,
    user_field: str,
    time_field: str,
    summary: bool,
    top: int,
    out: TextIO,
    store: Store | None = None,
    progress: TextIO | None = None,
) -> None:
    """Answer every request of the log at ``trace`` with one ``Limiter(config)``.

    Writes each answer line to ``out`` as soon as it is decided or, with
    ``summary``, only the totals: one JSON object that lists the ``top`` most
    throttled users. ``trace_format`` is ``"jsonl"``, ``"csv"`` or ``"tsv"``;
    ``None`` guesses it from the file name. Buckets live in ``store`` (this
    process's memory by default); one that answers in batches is given
    ``BATCH`` requests at a time. Raises ``MissingFile``, or ``InvalidInput``
    naming ``TRACE:LINE`` for a record that cannot be read; either way, every
    request before it is answered first. With ``progress`` (a terminal), a
    progress bar of the lines read is drawn there.
    """
    with read_requests(
        trace,
        trace_format=trace_format,
        user_field=user_field,
        time_field=time_field,
        progress=progress,
    ) as requests:
        limiter = Limiter(config, store)
        if not summary:
            write_lines(out, _answer_each(limiter, requests))
            return
        totals = _summary(limiter, requests, top)
    out.write(totals + "\n")  # once the progress bar, if any, is done


@contextmanager
def read_requests(
    trace: str,
    *,
    trace_format: str | None,
    user_field: str,
    time_field: str,
    progress: TextIO | None = None,
) -> Iterator[Iterator[Request]]:
    """Open the log at ``trace`` and give its requests, read one at a time.

    The options are those of ``run``. Reading raises ``InvalidInput`` naming
    ``TRACE:LINE`` at the first record that cannot be read; the file is closed
    when the ``with`` block ends.
    """
    with _open_trace(trace) as file:
        kind = trace_format or _guess_format(trace)
        raw: Iterable[bytes] = file
        bar = None
        if progress is not None:
            from limiter.progress import LineProgress  # brings in tqdm

            bar = LineProgress(progress, _known_size(file))
            raw = bar.count(file)
        lines = _text_lines(raw, trace)
        if kind == "jsonl":
            requests = _jsonl_requests(lines, trace, user_field, time_field)
        else:
            delimiter = "\t" if kind == "tsv" else ","
            requests = _csv_requests(lines, trace, delimiter, user_field, time_field)
        try:
            yield requests
        finally:
            if bar is not None:  # its line ends before any error line starts
                bar.close()


def _known_size(file: BinaryIO) -> int | None:
    """The size in bytes of a regular file; ``None`` for a pipe or a terminal."""
    try:
        status = os.fstat(file.fileno())
    except OSError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _open_trace(trace: str) -> BinaryIO:
    if trace != "-":
        return open_file(trace)
    if sys.stdin is None:
        raise InvalidInput("-", "stdin is closed, so there is no trace to read")
    # The standard input, read as bytes; closing what is returned leaves it open.
    return os.fdopen(os.dup(sys.stdin.fileno()), "rb")


def _guess_format(trace: str) -> str:
    kind = _FORMATS.get(os.path.splitext(trace)[1].lower())
    if kind is None:
        endings = ", ".join(_FORMATS)
        problem = (
            f"cannot tell the format from the file name (known endings: {endings}); "
            "pass --format jsonl, csv or tsv"
        )
        raise InvalidInput(trace, problem)
    return kind


def _text_lines(file: Iterable[bytes], trace: str) -> Iterator[str]:
    """Each line of ``file`` decoded as UTF-8, its line ending kept."""
    number = 0
    try:
        for number, raw in enumerate(file, 1):
            # A byte order mark may open the file, and nowhere else.
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        problem = f"not valid UTF-8 (byte {error.start + 1} of the line), expected text"
        raise _bad(trace, number, problem) from None
    except OSError as error:
        raise _bad(trace, number + 1, f"cannot be read: {error.strerror}") from None


def _bad(trace: str, line: int, problem: str) -> InvalidInput:
    return InvalidInput(f"{trace}:{line}", problem)


def _bad_field(
    trace: str, line: int, record: dict[str, Any], field: str, accepted: str
) -> NoReturn:
    if field in record:
        found = describe(record[field])
        raise _bad(trace, line, f"{field}: expected {accepted}, found {found}")
    keys = ", ".join(json.dumps(key) for key in record) or "none"
    raise _bad(trace, line, f"{field}: missing, expected {accepted} (keys: {keys})")


def _time(trace: str, line: int, value: object, field: str) -> tuple[int, str]:
    try:
        return timestamp(value, field)
    except InvalidInput as error:
        raise _bad(trace, line, f"{error.where}: {error.problem}") from None


def _csv_requests(
    lines: Iterable[str], trace: str, delimiter: str, user_field: str, time_field: str
) -> Iterator[Request]:
    """The requests of a CSV or TSV trace, checked one row at a time."""
    # A user id has no length limit. csv's limit on a field is process-wide;
    # raising it changes nothing for any other reader.
    csv.field_size_limit(max(csv.field_size_limit(), _LONGEST_FIELD))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise _bad(trace, 1, "empty, expected a header line naming the fields")
        user_at = _column(trace, header, user_field, "--user-field")
        time_at = _column(trace, header, time_field, "--time-field")
        needed = max(user_at, time_at) + 1
        named = len(header)

        line = reader.line_num + 1  # where the next record starts
        for row in reader:
            if len(row) > named and any(row[named:]):
                # Empty fields past the header's are tolerated (web logs end rows
                # with them); a value there means the row is not what it seems,
                # a decimal comma, say.
                found = f"{len(row)} fields, more than the header's {named}"
                raise _bad(trace, line, f"{found}, and the extra ones are not empty")
            if len(row) >= needed:
                user = row[user_at]
                if not user:
                    _bad_field(
                        trace, line, {user_field: ""}, user_field, _USER_ACCEPTED
                    )
                yield user, *_time(trace, line, row[time_at], time_field)
            elif row:  # a row too short; a blank line is no record, and is skipped
                missing = ", ".join(map(json.dumps, header[len(row) : needed]))
                found = f"{len(row)} of the header's {len(header)} fields"
                raise _bad(trace, line, f"only {found}, so no value for {missing}")
            line = reader.line_num + 1
    except csv.Error as error:
        raise _bad(
            trace, reader.line_num, f"unreadable row: {_csv_problem(error)}"
        ) from None


def _csv_problem(error: csv.Error) -> str:
    said = str(error)
    if said.startswith("new-line character seen in unquoted field"):
        return "a line break inside an unquoted field; quote the field"
    if said == "unexpected end of data":
        return "a quoted field is never closed"
    return said


def _column(trace: str, header: list[str], field: str, option: str) -> int:
    if header.count(field) > 1:
        raise _bad(trace, 1, f"the header names the {json.dumps(field)} column twice")
    if field in header:
        return header.index(field)
    found = ", ".join(map(json.dumps, header))
    problem = (
        f"no {json.dumps(field)} column in the header (columns found: {found}); "
        f"name the column with {option}"
    )
    raise _bad(trace, 1, problem)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


class _Number(str):
    """A JSON number's text, as written: a type of its own, unlike a JSON string."""

    __slots__ = ()


# Numbers keep their text, to be read exactly; NaN and the infinities are refused.
_decode_plainly = json.JSONDecoder(
    parse_float=_Number, parse_int=_Number, parse_constant=_refuse_constant
).raw_decode
_decode_carefully = json.JSONDecoder(
    parse_float=_Number,
    parse_int=_Number,
    parse_constant=_refuse_constant,
    object_pairs_hook=json_object,
).decode


def _jsonl_requests(
    lines: Iterable[str], trace: str, user_field: str, time_field: str
) -> Iterator[Request]:
    """The requests of a JSON Lines trace, checked one line at a time.

    Fields not asked for are ignored, like any key they repeat; the user and
    time fields must each be given once. A line with no backslash that names
    each of them once cannot repeat them, so it is decoded the quick way;
    every other line is decoded with each object's keys counted.
    """
    user_key, time_key = json.dumps(user_field), json.dumps(time_field)
    seen_time, now, shown = "", 0, ""  # logs repeat an instant on many lines
    for line, text in enumerate(lines, 1):
        if "\\" not in text and text.count(user_key) == 1 and text.count(time_key) == 1:
            try:
                record, end = _decode_plainly(text)
            except ValueError:
                record, end = None, 0
            if type(record) is dict and not text[end:].strip(_JSON_SPACE):
                user = record.get(user_field)
                time = record.get(time_field)
                if type(user) is str and user and type(time) is _Number:
                    if time != seen_time:
                        now, shown = _time(trace, line, time, time_field)
                        seen_time = time
                    yield user, now, shown
                    continue
        if text.strip(_JSON_SPACE):  # a blank line is no record, and is skipped
            yield _careful_request(trace, line, text, user_field, time_field)


def _careful_request(
    trace: str, line: int, text: str, user_field: str, time_field: str
) -> Request:
    record = _json_object(trace, line, text)
    for field in (user_field, time_field):
        if field in getattr(record, "repeated", ()):
            raise _bad(trace, line, f"{field}: given more than once")
    user = record.get(user_field)
    time = record.get(time_field)
    if type(user) is not str or not user:
        _bad_field(trace, line, record, user_field, _USER_ACCEPTED)
    if type(time) is not _Number:  # a string is not a JSON number
        _bad_field(trace, line, record, time_field, TIME.accepted)
    return user, *_time(trace, line, time, time_field)


def _json_object(trace: str, line: int, text: str) -> dict[str, Any]:
    try:
        record = _decode_carefully(text)
    except json.JSONDecodeError as error:
        problem = f"{error.msg[:1].lower()}{error.msg[1:]} at character {error.pos + 1}"
    except ValueError as error:
        problem = str(error)
    except RecursionError:
        problem = "nested too deeply"
    else:
        if isinstance(record, dict):
            return record
        raise _bad(trace, line, f"expected a JSON object, found {describe(record)}")
    raise _bad(trace, line, f"invalid JSON ({problem}), expected one object per line")


def _answer_each(limiter: Limiter, requests: Iterable[Request]) -> Iterator[str]:
    """Each request's answer line, as soon as it is decided."""
    if limiter.batches:
        for (user, _, time), decision in _decided_in_batches(limiter, requests):
            yield answer_line(user, time, decision)
        return
    check = limiter.check_ns
    for user, now, time in requests:
        yield answer_line(user, time, check(user, now))


BATCH = 100
"""Requests given at once to a store that answers in batches (one Redis pipeline)."""


def _decided_in_batches(
    limiter: Limiter, requests: Iterable[Request]
) -> Iterator[tuple[Request, Decision]]:
    """Each request with its decision, ``BATCH`` requests to a store call."""
    for batch in _batches(requests):
        decisions = limiter.check_many_ns([(user, now) for user, now, _ in batch])
        yield from zip(batch, decisions, strict=True)


def _batches(requests: Iterable[Request]) -> Iterator[list[Request]]:
    batch: list[Request] = []
    try:
        for request in requests:
            batch.append(request)
            if len(batch) == BATCH:
                yield batch
                batch = []
    except InvalidInput:
        if batch:  # answer the requests read before the record that is refused
            yield batch
        raise
    if batch:
        yield batch


def _summary(limiter: Limiter, requests: Iterable[Request], top: int) -> str:
    """Answer every request, then show the totals as JSON indented by two spaces."""
    decided: Iterable[tuple[Request, Decision]]
    if limiter.batches:
        decided = _decided_in_batches(limiter, requests)
    else:
        check = limiter.check_ns
        decided = ((request, check(request[0], request[1])) for request in requests)
    requests_of: dict[str, int] = {}
    denials_of: dict[str, int] = {}
    first_denied_at: dict[str, tuple[int, str]] = {}  # in ns, and as written
    for (user, now, time), decision in decided:
        requests_of[user] = requests_of.get(user, 0) + 1
        if not decision.allowed:
            if user in denials_of:
                denials_of[user] += 1
            else:
                denials_of[user] = 1
                first_denied_at[user] = now, time

    # Most denials first; ties go to the earlier first denial, then the user id.
    def rank(user: str) -> tuple[int, int, str]:
        return -denials_of[user], first_denied_at[user][0], user

    entries = [
        _summary_entry(
            user, denials_of[user], requests_of[user], first_denied_at[user][1]
        )
        for user in heapq.nsmallest(top, denials_of, key=rank)
    ]
    total, denied = sum(requests_of.values()), sum(denials_of.values())
    totals = {
        "requests": total,
        "allowed": total - denied,
        "denied": denied,
        "users": len(requests_of),
        "throttled_users": len(denials_of),
    }
    head = "".join(f'  "{key}": {value},\n' for key, value in totals.items())
    listed = "[\n" + ",\n".join(entries) + "\n  ]" if entries else "[]"
    return f'{{\n{head}  "most_throttled": {listed}\n}}'


def _summary_entry(user: str, denied: int, requests: int, first: str) -> str:
    # Laid out by hand as json.dumps(indent=2) would lay it out, so that the time
    # is echoed exactly as answer lines echo it, never through a float.
    return (
        f'    {{\n      "user": {json.dumps(user)},\n'
        f'      "denied": {denied},\n      "requests": {requests},\n'
        f'      "first_denied_at": {first}\n    }}'
    )
