"""Scenario files: a configuration and the requests to answer, in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from limiter.answer import answer_line
from limiter.config import Config
from limiter.documents import read_json_file
from limiter.errors import InvalidInput
from limiter.exact import nanoseconds, seconds_text
from limiter.registry import Limiter
from limiter.validation import validate

__all__ = ["Request", "Scenario", "answer_all", "read_config", "read_scenario"]


class Request(NamedTuple):
    """One request: who made it and when, in exact seconds."""

    user: str
    time: Decimal


class Scenario(NamedTuple):
    """A configuration and the requests to answer against it, in order."""

    config: Config
    requests: list[Request]


def read_scenario(path: str) -> Scenario:
    """Read and validate the whole scenario file at ``path`` before anything runs.

    Raises ``MissingFile`` or ``InvalidInput``; a scenario is answered either
    completely or not at all.
    """
    document: Any = _read_valid(path, "scenario")
    config = Config.from_mapping(document["config"])
    requests = [Request(item["user"], item["time"]) for item in document["requests"]]
    return Scenario(config, requests)


def read_config(path: str) -> Config:
    """Read and validate a configuration file (a scenario's ``config`` alone)."""
    document = _read_valid(path, "config")
    assert isinstance(document, Mapping)
    return Config.from_mapping(document)


def _read_valid(path: str, schema: str) -> object:
    document = read_json_file(path)
    try:
        validate(document, schema)
    except InvalidInput as error:
        raise error.within(path) from None
    return document


def answer_all(limiter: Limiter, requests: Iterable[Request]) -> Iterator[str]:
    """Answer each request in turn and yield its answer line."""
    for user, time in requests:
        decision = limiter.check_ns(user, nanoseconds(time))
        yield answer_line(user, seconds_text(time), decision)
