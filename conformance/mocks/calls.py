"""A request to a mock, as its handler receives it or as the mock refuses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request

from conformance.contract.model import Operation, Spec


@dataclass
class Call:
    """A validated request handed to a handler."""

    request: Request
    operation: Operation
    path: dict[str, str]
    query: dict[str, Any]
    body: Any


class RequestRejected(Exception):
    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


@dataclass(frozen=True)
class RequestBody:
    """An operation's JSON request body: whether it is required and where its schema is."""

    required: bool
    schema_pointer: str

    @classmethod
    def of(cls, spec: Spec, operation: Operation) -> RequestBody | None:
        declared: dict[str, Any] = operation.definition.get("requestBody") or {}
        resolved = spec.resolve(declared)
        if not resolved:
            return None
        pointer = declared["$ref"].lstrip("#") if "$ref" in declared else operation.pointer + "/requestBody"
        return cls(bool(resolved.get("required")), pointer + "/content/application~1json/schema")


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    """The query's values by name, parsed as Starlette's ``request.query_params`` parses them
    (``parse_qsl`` keeping blank values) in one pass, without a multi-dict to search per name."""
    values: dict[str, list[str]] = {}
    text = query_string.decode("latin-1")
    escaped = "%" in text or "+" in text  # otherwise every name and value stands as it is written
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            if escaped:
                name, value = unquote(name.replace("+", " ")), unquote(value.replace("+", " "))
            values.setdefault(name, []).append(value)
    return values


def problem(loc: list[Any], message: str, kind: Any) -> dict[str, Any]:
    """One entry of a refusal's details, as FastAPI words them: where, what, which rule."""
    return {"loc": [str(part) for part in loc], "msg": message, "type": str(kind)}
