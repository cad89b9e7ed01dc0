"""The JSON Schemas in ``schemas/``: every JSON line a system prints is held to one.

Numbers are read as exact values (``Decimal`` for fractions, ``int`` for whole
numbers), so ``4`` and ``4.0`` compare equal and ``0.1`` is one tenth.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, cast

from hamcrest import assert_that, empty
from jsonschema import Draft202012Validator

__all__ = ["SCHEMA_FOLDER", "read_json"]

SCHEMA_FOLDER: Final = Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    path = SCHEMA_FOLDER / f"{name}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def read_json(text: str, schema: str) -> dict[str, Any]:
    """Parse one JSON document and check it against ``schemas/<schema>.schema.json``.

    Fails the step, quoting the text, when it is not JSON or breaks the schema.
    """
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise AssertionError(f"not one JSON document ({error.msg}): {text!r}") from None

    problems = [
        f"{error.json_path}: {error.message}"
        for error in _validator(schema).iter_errors(document)
    ]
    assert_that(problems, empty(), f"{text!r} against {schema}.schema.json")
    # Both schemas require an object, so the check above has made this one.
    return cast(dict[str, Any], document)
