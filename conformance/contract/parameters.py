"""Request parameters as a spec declares them, and their values as they travel.

A query, path or header value is a string on the wire; ``coerce`` reads it as the JSON value
its schema describes. The judge (what a request asked for) and the mocks (whether to accept a
request) both read values here, so they never disagree about what a request sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from conformance.contract.model import Spec

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

#: An integer as JSON writes it: no plus sign, no leading zero, no underscore, no space (all of
#: which ``int()`` would take), and ASCII digits only.
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
#: A number as JSON writes it, likewise.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")

#: Schema keywords that describe a value without constraining it.
ANNOTATIONS = frozenset(
    {"title", "description", "default", "example", "examples", "deprecated", "readOnly", "writeOnly"}
)


def coerce(raw: Any, schema: dict[str, Any]) -> Any:
    """A parameter value (a string, or a list of them for an array) as the JSON value its schema
    describes, read strictly: only a value's plain JSON form is a number, a boolean or null
    (``12``, never `` 12``, ``1_000`` or ``+12``); anything else stays the string it was."""
    if isinstance(raw, list):
        item_schema = schema.get("items", {})
        return [coerce(item, item_schema) for item in raw]
    if not isinstance(raw, str):
        return raw
    for kind in _types(schema):
        if kind == "integer" and _INTEGER.fullmatch(raw):
            return int(raw)
        if kind == "number" and _NUMBER.fullmatch(raw):
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        if kind == "boolean" and raw in ("true", "false"):
            return raw == "true"
        if kind == "null" and raw == "null":  # an empty value is a string, not null
            return None
    return raw


def _types(schema: dict[str, Any]) -> list[str]:
    """The types a schema allows, its own and those of its ``anyOf`` and ``oneOf`` branches."""
    types: list[str] = []
    for node in (schema, *schema.get("anyOf", []), *schema.get("oneOf", [])):
        kind = node.get("type")
        types += kind if isinstance(kind, list) else [kind] if kind else []
    return types


@dataclass(frozen=True)
class Parameter:
    """One request parameter, ready to check: where it travels and its compiled schema."""

    name: str
    where: str
    required: bool
    schema: dict[str, Any]
    validator: Draft202012Validator
    #: Where the schema is in the spec, for ``Spec.accepts``.
    schema_pointer: str
    is_array: bool
    #: The schema asks for a string and nothing else: any string value is valid as it came.
    any_string: bool

    @classmethod
    def compile(cls, spec: Spec, pointer: str, parameter: dict[str, Any]) -> Parameter:
        """The parameter defined at ``pointer`` (resolved as ``parameter``)."""
        schema = spec.resolve(parameter.get("schema", {}))
        constraints = {key for key in schema if key not in ANNOTATIONS and not key.startswith("x-")}
        return cls(
            parameter["name"],
            parameter["in"],
            bool(parameter.get("required")),
            schema,
            spec.validator(f"{pointer}/schema"),
            f"{pointer}/schema",
            schema.get("type") == "array",
            constraints == {"type"} and schema["type"] == "string",
        )

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` (as sent, a string for a query parameter) is valid for the parameter."""
        return self.validator.is_valid(coerce(value, self.schema))

    @property
    def format(self) -> str | None:
        return self.schema.get("format") or next(
            (o.get("format") for o in self.schema.get("anyOf", []) if o.get("format")), None
        )


@cache
def operation_parameters(spec: Spec, operation_id: str) -> tuple[Parameter, ...]:
    """The operation's parameters (path-level ones too), resolved and compiled once."""
    return tuple(
        Parameter.compile(spec, pointer, parameter)
        for pointer, parameter in spec.parameters_at(spec.operations[operation_id])
    )


@cache
def parameters(spec: Spec, operation_id: str) -> dict[str, Parameter]:
    """The operation's parameters by name."""
    return {parameter.name: parameter for parameter in operation_parameters(spec, operation_id)}


def example_value(parameter: dict[str, Any], spec: Spec | None = None) -> Any:
    """The documented example of a parameter or schema: example, examples, default, first enum;
    ``None`` where the documents give none."""
    if "example" in parameter:
        return parameter["example"]
    examples = parameter.get("examples")
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        return first.get("value") if isinstance(first, dict) else first
    schema = parameter.get("schema") or {}
    if spec is not None:
        schema = spec.resolve(schema)
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    return None
