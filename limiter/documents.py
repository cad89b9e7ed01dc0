"""Reading JSON documents strictly: exact numbers, no duplicate keys, clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from limiter.config import key_path
from limiter.errors import InvalidInput, MissingFile
from limiter.exact import decimal_or_none

__all__ = [
    "NonFinite",
    "RepeatedKeys",
    "index_path",
    "json_number",
    "json_object",
    "open_file",
    "parse_json",
    "read_bytes",
    "read_json_file",
]


class NonFinite:
    """``NaN``, ``Infinity``, ``-Infinity`` or a number past any exponent.

    They are no numbers we can hold; they are kept as values of their own so that
    the schema can refuse them with the place where they stand.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"NonFinite({self.text!r})"


class RepeatedKeys(dict[str, Any]):
    """A JSON object in which some keys were given more than once.

    ``repeated`` names them, in the order their second mention came; the value
    kept for each is the last one given.
    """

    repeated: tuple[str, ...] = ()


def json_number(text: str) -> Decimal | NonFinite:
    """A JSON number as an exact ``Decimal``; one past any exponent, ``NonFinite``."""
    number = decimal_or_none(text)
    return NonFinite(text) if number is None else number


def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An ``object_pairs_hook``: a ``dict``, or ``RepeatedKeys`` if a key repeats."""
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    marked = RepeatedKeys(result)
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    marked.repeated = tuple(repeated)
    return marked


def read_bytes(path: str) -> bytes:
    """The contents of the file at ``path``; a missing file is ``MissingFile``."""
    with open_file(path) as file:
        try:
            return file.read()
        except OSError as error:
            raise InvalidInput(path, f"cannot be read: {error.strerror}") from None


def open_file(path: str) -> BinaryIO:
    """Open the file at ``path`` to read bytes, or say in one line why it can't be."""
    try:
        return open(path, "rb")
    except (FileNotFoundError, NotADirectoryError):
        raise MissingFile(path) from None
    except IsADirectoryError:
        raise InvalidInput(path, "is a directory, expected a file") from None
    except OSError as error:
        raise InvalidInput(path, f"cannot be read: {error.strerror}") from None


def read_json_file(path: str) -> object:
    """Parse the JSON document in the file at ``path``; see ``parse_json``."""
    try:
        return parse_json(read_bytes(path))
    except InvalidInput as error:
        raise error.within(path) if error.where != path else error from None


def parse_json(data: bytes) -> object:
    """Parse one JSON document from UTF-8 bytes (a leading byte order mark is allowed).

    Every number becomes an exact ``Decimal``; ``NaN`` and the infinities become
    ``NonFinite`` values. A syntax error, invalid UTF-8 or a key given twice in
    one object raises ``InvalidInput`` saying where.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput("", f"not valid UTF-8 (byte {error.start})") from None
    if not text.strip():
        raise InvalidInput("", "empty, expected a JSON document")
    duplicates = False

    def make_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        made = json_object(pairs)
        duplicates = duplicates or isinstance(made, RepeatedKeys)
        return made

    try:
        document = json.loads(
            text,
            parse_float=json_number,
            parse_int=json_number,
            parse_constant=NonFinite,
            object_pairs_hook=make_object,
        )
    except json.JSONDecodeError as error:
        problem = f"invalid JSON: {error.msg[:1].lower()}{error.msg[1:]}"
        raise InvalidInput(
            f"line {error.lineno} column {error.colno}", problem
        ) from None
    except RecursionError:
        raise InvalidInput("", "invalid JSON: nested too deeply") from None
    for where, key in _duplicates(document, "") if duplicates else ():
        raise InvalidInput(
            where or "(top level)", f"key {json.dumps(key)} appears twice"
        )
    return document


def _duplicates(value: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, RepeatedKeys):
        yield where, value.repeated[0]
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _duplicates(item, key_path(where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _duplicates(item, index_path(where, index))


def index_path(where: str, index: int) -> str:
    """Extend a JSON path by a list index: ``requests`` + 3 -> ``requests[3]``."""
    return f"{where}[{index}]"
