"""Reading JSON strictly, and the one-line messages of schema validation."""

from __future__ import annotations

import builtins
import errno
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, SCENARIOS, Files

from limiter import InvalidInput, MissingFile
from limiter.documents import NonFinite, parse_json, read_bytes, read_json_file
from limiter.validation import SCHEMA_NAMES, schema_path, validate

# Parsing ---------------------------------------------------------------------------


def test_every_number_is_an_exact_decimal() -> None:
    document = parse_json(b'{"a": 0.1, "b": 5, "c": 1e300, "d": 2.50}')

    assert document == {
        "a": Decimal("0.1"),
        "b": Decimal(5),
        "c": Decimal("1e300"),
        "d": Decimal("2.50"),
    }
    assert isinstance(document, dict)
    assert all(type(value) is Decimal for value in document.values())


def test_nan_and_the_infinities_are_kept_apart_for_the_schema_to_refuse() -> None:
    document = parse_json(b"[NaN, Infinity, -Infinity]")

    assert isinstance(document, list)
    assert [type(value) for value in document] == [NonFinite] * 3
    assert [str(value) for value in document] == ["NaN", "Infinity", "-Infinity"]
    assert repr(document[0]) == "NonFinite('NaN')"


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert parse_json(b'\xef\xbb\xbf{"user": "alice"}') == {"user": "alice"}


def test_text_is_read_as_utf8() -> None:
    assert parse_json('{"user": "\u7528\u6237"}'.encode()) == {"user": "\u7528\u6237"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"user": "\xff"}', "not valid UTF-8 (byte 10)"),
        (b'{"user": "caf\xc3"}', "not valid UTF-8 (byte 13)"),
        (b"", "empty, expected a JSON document"),
        (b" \n\t ", "empty, expected a JSON document"),
        (b"\xef\xbb\xbf", "empty, expected a JSON document"),
        (b'{"config": ', "line 1 column 12: invalid JSON: expecting value"),
        (
            b"{'a': 1}",
            "line 1 column 2: invalid JSON: expecting property name "
            "enclosed in double quotes",
        ),
        (b"[1] [2]", "line 1 column 5: invalid JSON: extra data"),
        (b"[" * 100_000, "invalid JSON: nested too deeply"),
    ],
    ids=[
        "invalid byte",
        "cut-off character",
        "empty",
        "blank",
        "byte order mark only",
        "cut short",
        "single quotes",
        "two documents",
        "too deep",
    ],
)
def test_unreadable_json_is_refused_saying_where(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_json(data)

    assert str(raised.value) == message


def test_a_syntax_error_is_placed_by_line_and_column() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_json(b'{\n  "a": 1,\n}')

    # The wording after the place is Python's own and varies between versions.
    assert str(raised.value).startswith("line 3 column 1: invalid JSON: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', '(top level): key "a" appears twice'),
        (
            '{"config": {"default": {"capacity": 5, "capacity": 6}}}',
            'config.default: key "capacity" appears twice',
        ),
        (
            '{"requests": [{"user": "a"}, {"user": "a", "user": "b"}]}',
            'requests[1]: key "user" appears twice',
        ),
        (
            '{"users": {"bob smith": {"x": 1, "x": 1}}}',
            'users["bob smith"]: key "x" appears twice',
        ),
    ],
    ids=["top level", "nested object", "inside a list", "under an odd key"],
)
def test_a_key_given_twice_is_refused_naming_the_object(
    text: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_json(text.encode())

    assert str(raised.value) == message


def test_a_number_past_any_exponent_is_kept_for_the_schema_to_refuse() -> None:
    document = parse_json(b'{"time": 1e99999999999999999999}')

    assert isinstance(document, dict)
    assert isinstance(document["time"], NonFinite)
    assert str(document["time"]) == "1e99999999999999999999"


# Reading files ---------------------------------------------------------------------


def test_a_file_is_parsed_like_bytes(files: Files) -> None:
    path = files.raw("doc.json", '\ufeff{"time": 0.1}')

    assert read_json_file(str(path)) == {"time": Decimal("0.1")}


def test_a_missing_file_has_exit_status_2(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere.json")

    with pytest.raises(MissingFile) as raised:
        read_bytes(path)

    assert str(raised.value) == f"{path}: no such file"
    assert raised.value.exit_status == 2
    assert raised.value.path == path


def test_a_directory_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_json_file(str(tmp_path))

    assert str(raised.value) == f"{tmp_path}: is a directory, expected a file"
    assert raised.value.exit_status == 1


def test_a_path_through_a_file_is_a_missing_file(files: Files) -> None:
    path = str(files.raw("plain.txt", "not a folder") / "doc.json")

    with pytest.raises(MissingFile) as raised:
        read_json_file(path)

    assert str(raised.value) == f"{path}: no such file"


def test_an_unreadable_file_is_invalid_input(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(files.raw("secret.json", "{}"))
    real_open = builtins.open

    def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if file == path:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(file, *args, **kwargs)

    # Tests may run as root, for whom file permissions do not stop reading.
    monkeypatch.setattr(builtins, "open", refusing_open)

    with pytest.raises(InvalidInput) as raised:
        read_json_file(path)

    assert str(raised.value) == f"{path}: cannot be read: Permission denied"
    assert raised.value.exit_status == 1


def test_a_parse_error_in_a_file_names_the_file_first(files: Files) -> None:
    path = files.raw("broken.json", '{"a": }')

    with pytest.raises(InvalidInput) as raised:
        read_json_file(str(path))

    assert (
        str(raised.value) == f"{path}: line 1 column 7: invalid JSON: expecting value"
    )


# Validation against the schemas ----------------------------------------------------

GOOD_CONFIG: dict[str, Any] = {"default": {"capacity": 5, "refill_rate": 1}}


def scenario(**changes: Any) -> dict[str, Any]:
    """A valid scenario document, with some top-level keys replaced or added."""
    document: dict[str, Any] = {
        "config": GOOD_CONFIG,
        "requests": [{"user": "alice", "time": Decimal(0)}],
    }
    document.update(changes)
    return document


def requests(*items: dict[str, Any]) -> dict[str, Any]:
    """A scenario whose requests are ``items``, after one good request."""
    return scenario(requests=[{"user": "alice", "time": Decimal(0)}, *items])


def config(default: Any, **users: Any) -> dict[str, Any]:
    """A scenario with this default bucket and these user buckets."""
    shape: dict[str, Any] = {"default": default}
    if users:
        shape["users"] = users
    return scenario(config=shape)


REFUSED: list[tuple[str, object, str]] = [
    ("a list", [scenario()],
     "(top level): expected an object with config and requests, found a list"),
    ("a number", Decimal(5),
     "(top level): expected an object with config and requests, found 5"),
    ("no requests", {"config": GOOD_CONFIG},
     '(top level): missing key "requests" (accepted: config, requests)'),
    ("misspelt requests", {"config": GOOD_CONFIG, "request": []},
     '(top level): unknown key "request"; missing key "requests" '
     "(accepted: config, requests)"),
    ("requests not a list", scenario(requests={}),
     "requests: expected a list of requests, found an object"),
    ("text time", requests({"user": "alice", "time": "x"}),
     'requests[1].time: expected a number of seconds, at least 0, found "x"'),
    ("NaN time", requests({"user": "alice", "time": NonFinite("NaN")}),
     "requests[1].time: expected a number of seconds, at least 0, found NaN"),
    ("negative time", requests({"user": "alice", "time": Decimal(-1)}),
     "requests[1].time: expected a number of seconds, at least 0, found -1"),
    ("time past a double", requests({"user": "alice", "time": Decimal("1e309")}),
     "requests[1].time: expected a number of seconds, at least 0"
     " (at most 1.7976931348623157E+308), found 1E+309"),
    ("no time", requests({"user": "alice"}),
     'requests[1]: missing key "time" (accepted: user, time)'),
    ("extra request key", requests({"user": "a", "time": Decimal(1), "cost": 2}),
     'requests[1]: unknown key "cost" (accepted: user, time)'),
    ("empty user", requests({"user": "", "time": Decimal(0)}),
     'requests[1].user: expected a non-empty string, found ""'),
    ("numeric user", requests({"user": Decimal(7), "time": Decimal(0)}),
     "requests[1].user: expected a non-empty string, found 7"),
    ("misspelt rate", config({"capacity": Decimal(5), "refil_rate": Decimal(2)}),
     'config.default: unknown key "refil_rate"; missing key "refill_rate" '
     "(accepted: capacity, refill_rate)"),
    ("half an override", config(GOOD_CONFIG["default"], bob={"capacity": Decimal(2)}),
     'config.users.bob: missing key "refill_rate" (accepted: capacity, refill_rate)'),
    ("capacity below one", config({"capacity": Decimal("0.5"), "refill_rate": 1}),
     "config.default.capacity: expected a number of tokens, at least 1, found 0.5"),
    ("infinite capacity",
     config({"capacity": NonFinite("Infinity"), "refill_rate": Decimal(1)}),
     "config.default.capacity: expected a number of tokens, at least 1, "
     "found Infinity"),
    ("zero rate", config({"capacity": Decimal(1), "refill_rate": Decimal(0)}),
     "config.default.refill_rate: expected a number of tokens per second, "
     "greater than 0, found 0"),
    ("boolean rate", config({"capacity": Decimal(1), "refill_rate": True}),
     "config.default.refill_rate: expected a number of tokens per second, "
     "greater than 0, found true"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "message"),
    [(document, message) for _, document, message in REFUSED],
    ids=[name for name, _, _ in REFUSED],
)
def test_a_scenario_breaking_the_schema_gets_one_message_with_its_path(
    document: object, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate(document, "scenario")

    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_the_document_root_can_be_named() -> None:
    with pytest.raises(InvalidInput) as raised:
        validate(requests({"user": "", "time": Decimal(0)}), "scenario", "run.json")

    assert raised.value.where == "run.json.requests[1].user"


def test_the_offending_value_travels_with_the_error() -> None:
    with pytest.raises(InvalidInput) as raised:
        validate(requests({"user": "alice", "time": "x"}), "scenario")

    assert raised.value.value == "x"
    assert raised.value.problem == 'expected a number of seconds, at least 0, found "x"'


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.json")), ids=lambda p: p.stem)
def test_the_shipped_scenarios_are_valid(path: Path) -> None:
    validate(read_json_file(str(path)), "scenario")


def test_the_shipped_traffic_configuration_is_valid() -> None:
    validate(read_json_file(str(REPO_ROOT / "data" / "nasa.config.json")), "config")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_is_found_and_is_json(name: str) -> None:
    schema = json.loads(Path(schema_path(name)).read_text(encoding="utf-8"))

    assert schema["$id"] == f"urn:limiter:{name}"


@pytest.mark.parametrize(
    "line",
    [
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}',
        '{"user": "alice", "time": 0.25, "decision": "DENY", "remaining": 0.5, '
        '"retry_after": 0.25}',
    ],
    ids=["allow", "deny"],
)
def test_the_answer_schema_accepts_answer_lines(line: str) -> None:
    validate(parse_json(line.encode()), "answer")


@pytest.mark.parametrize(
    "line",
    [
        '{"user": "alice", "time": 0.0, "decision": "DENY", "remaining": 0.0}',
        '{"user": "alice", "time": 0.0, "decision": "ALLOW", "remaining": 4.0, '
        '"retry_after": 0.0}',
        '{"user": "alice", "time": 0.0, "decision": "DENY", "remaining": 1.0, '
        '"retry_after": 0.01}',
        '{"user": "", "time": 0.0, "decision": "ALLOW", "remaining": 4.0}',
    ],
    ids=["deny without wait", "allow with wait", "deny with a token", "no user"],
)
def test_the_answer_schema_refuses_impossible_answers(line: str) -> None:
    with pytest.raises(InvalidInput):
        validate(parse_json(line.encode()), "answer")
