"""Validating documents against the JSON Schemas in ``schemas/``.

jsonschema is imported on first use only, so a command that reads no document
starts without paying for it. A failure becomes one ``InvalidInput`` that names
the JSON path, what was found there and what is accepted.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from limiter.config import key_path
from limiter.documents import index_path
from limiter.errors import InvalidInput
from limiter.exact import CAPACITY, REFILL_RATE, TIME, describe, read_number

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

__all__ = ["SCHEMA_NAMES", "schema_path", "validate"]

SCHEMA_NAMES = ("answer", "config", "request", "scenario", "summary")
_KEY_RULES = ("required", "additionalProperties")
# Number fields whose schema description is, word for word, an engine rule.
_NUMBER_RULES = {rule.accepted: rule for rule in (TIME, CAPACITY, REFILL_RATE)}


def schema_path(name: str) -> str:
    """The file of the schema called ``name`` (``"scenario"``, ``"answer"``...)."""
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.join(here, "schemas")  # where an installed package has them
    if not os.path.isdir(folder):
        folder = os.path.join(os.path.dirname(here), "schemas")  # a source checkout
    return os.path.join(folder, f"{name}.schema.json")


@functools.cache
def _validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {other: _load(other) for other in SCHEMA_NAMES}
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return Draft202012Validator(schemas[name], registry=registry)


def _load(name: str) -> dict[str, Any]:
    with open(schema_path(name), encoding="utf-8") as file:
        schema: dict[str, Any] = json.load(file)
    return schema


def validate(document: object, schema: str, where: str = "") -> None:
    """Raise ``InvalidInput`` for the most telling way ``document`` breaks ``schema``.

    ``where`` names the document's root in the message; the JSON path follows.
    """
    from jsonschema.exceptions import best_match

    errors = list(_validator(schema).iter_errors(cast(Any, document)))
    if not errors:
        return
    best = best_match(errors)
    path = _path(where, best.absolute_path)
    same_place = [e for e in errors if e.absolute_path == best.absolute_path]
    raise InvalidInput(path or "(top level)", _problem(best, same_place), best.instance)


def _path(where: str, steps: Iterable[str | int]) -> str:
    for step in steps:
        if isinstance(step, int):
            where = index_path(where, step)
        else:
            where = key_path(where, step)
    return where


def _problem(best: ValidationError, same_place: list[ValidationError]) -> str:
    keys = [e for e in same_place if e.validator in _KEY_RULES]
    if best.validator in _KEY_RULES and keys:
        return _key_problems(keys)
    accepted = best.schema.get("description") if isinstance(best.schema, dict) else None
    rule = _NUMBER_RULES.get(accepted) if isinstance(accepted, str) else None
    if rule is not None:
        # The engine's own check says it the same way, naming a bound it breaks.
        try:
            read_number(best.instance, rule, "")
        except InvalidInput as refused:
            return refused.problem
    if accepted:
        return f"expected {accepted}, found {describe(best.instance)}"
    return best.message


def _key_problems(errors: list[ValidationError]) -> str:
    unknown: list[str] = []
    missing: list[str] = []
    accepted: list[str] = []
    for error in errors:
        schema = cast(dict[str, Any], error.schema)
        instance = cast(dict[str, Any], error.instance)
        properties = schema.get("properties", {})
        accepted = list(properties)
        if error.validator == "additionalProperties":
            unknown += [key for key in instance if key not in properties]
        else:
            required = cast(list[str], error.validator_value)
            missing += [key for key in required if key not in instance]
    # The same rule can be broken along more than one road through the schema.
    problems = [f"unknown key {json.dumps(key)}" for key in dict.fromkeys(unknown)]
    problems += [f"missing key {json.dumps(key)}" for key in dict.fromkeys(missing)]
    return f"{'; '.join(problems)} (accepted: {', '.join(accepted)})"
