"""Checking a document against a JSON Schema the suite declares (results.json, history lines,
catalogue entries, ``x-lifecycle``): the Rust validator accepts a good one in microseconds, and
jsonschema, loaded only for a bad one, says what is wrong. A command that reads only good
documents never imports jsonschema (a tenth of a second of every start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

#: Each declared schema compiled once, by identity; the schema is kept so its identity stays its own.
_COMPILED: dict[int, tuple[Any, jsonschema_rs.Validator]] = {}


def is_valid(schema: dict[str, Any], instance: Any) -> bool:
    """Whether ``instance`` conforms to ``schema`` (JSON Schema 2020-12)."""
    compiled = _COMPILED.get(id(schema))
    if compiled is None:
        compiled = _COMPILED[id(schema)] = (schema, jsonschema_rs.Draft202012Validator(schema))
    return compiled[1].is_valid(instance)


def errors(schema: dict[str, Any], instance: Any) -> list[ValidationError]:
    """jsonschema's errors for ``instance``, none when it conforms (then jsonschema is not loaded)."""
    if is_valid(schema, instance):
        return []
    from jsonschema import Draft202012Validator

    return list(Draft202012Validator(schema).iter_errors(instance))
