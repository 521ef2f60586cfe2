"""The model of a spec: its ``Operation``s and the ``Spec`` that routes requests to them,
resolves their parameters and holds the compiled validators of their schemas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jsonpointer

from conformance.contract.extensions import Lifecycle, ListSpec, assumption_of, identity_of
from conformance.contract.schemas import Reach, SchemaDocument
from conformance.vendors.registry import ApiInfo

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

#: Parameter names that carry a value the server issued: ``id``, ``run_id``, ``processRunId``,
#: ``continuation_token``, ``cursor``.
_ISSUED_NAME = re.compile(r"(?:^|_)ids?$|[a-z]Ids?$|(?:^|_)token$|[a-z]Token$|^cursor$")

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Operation:
    """One documented operation: method, templated path and its OpenAPI object."""

    id: str
    method: str
    path: str
    definition: dict[str, Any] = field(repr=False)
    pointer: str = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def documented_statuses(self) -> list[str]:
        return sorted(key for key in self.definition.get("responses", {}) if not key.startswith("x-"))

    @property
    def status_assumption(self) -> str | None:
        """Why the spec lists these statuses, when no document does (``responses.x-assumption``)."""
        return assumption_of(self.definition.get("responses"))

    def response_key(self, status_code: int) -> str | None:
        """The ``responses`` key that documents ``status_code``: exact, ``2XX`` style, or ``default``
        (worked out once per status: every response asks)."""
        keys = self._response_keys
        if status_code not in keys:
            responses = self.definition.get("responses", {})
            candidates = (str(status_code), f"{str(status_code)[0]}XX", "default")
            keys[status_code] = next((key for key in candidates if key in responses), None)
        return keys[status_code]

    @cached_property
    def _response_keys(self) -> dict[int, str | None]:
        return {}

    @cached_property
    def path_pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", self.path)
        regex = "".join("([^/]+)" if part.startswith("{") else re.escape(part) for part in parts)
        return re.compile(f"^{regex}$")

    @cached_property
    def listing(self) -> ListSpec | None:
        """What the operation promises of its pages (its ``x-list``), if it is a list."""
        raw = self.definition.get("x-list")
        return ListSpec.from_extension(self.id, raw) if raw else None

    @property
    def identity(self) -> dict[str, str]:
        """``{path parameter: pointer}`` of the operation's ``x-identity``."""
        return identity_of(self.definition.get("x-identity"))


class Spec:
    """A validated OpenAPI document for one API, with compiled validators."""

    def __init__(self, api: ApiInfo, document: dict[str, Any], source: Path) -> None:
        self.api = api
        self.document = document
        self.source = source
        self.schemas = SchemaDocument(f"urn:conformance:spec:{api.name}", document)
        self.operations: dict[str, Operation] = {}
        for path, item in document.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    definition = item[method]
                    op_id = definition.get("operationId") or f"{method} {path}"
                    pointer = f"/paths/{jsonpointer.escape(path)}/{method}"
                    self.operations[op_id] = Operation(op_id, method, path, definition, pointer)

    @cached_property
    def check_settings(self) -> dict[str, dict[str, Any]]:
        """How the spec adjusts schemathesis' standard checks (``x-conformance.judge.checks``), each with
        the documented reason."""
        return (self.document.get("x-conformance") or {}).get("checks") or {}

    @cached_property
    def lifecycle(self) -> Lifecycle | None:
        raw = self.document.get("x-lifecycle")
        return Lifecycle.from_extension(raw) if raw else None

    @cached_property
    def base_path(self) -> str:
        """The path of the first server URL (``/api`` for ``https://app.solvexia.com/api``)."""
        servers = self.document.get("servers") or [{"url": "/"}]
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def server_path(self, operation: Operation) -> str:
        """The path of the server an operation is served from: its own ``servers`` (on the
        operation or its path item) where it declares them, else the base path. SolveXia's token
        endpoint lives at the host root (``/oauth/token``), outside the API's ``/api``."""
        item = self.document["paths"][operation.path]
        servers = operation.definition.get("servers") or item.get("servers")
        if not servers:
            return self.base_path
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def operation_base_url(self, base_url: str, operation: Operation) -> str:
        """Where ``operation`` answers when the API's base URL (the spec's first server) is
        ``base_url``: the base path at its end is replaced by the operation's server path, so a run
        against ``http://host:8080/api`` signs in at ``http://host:8080/oauth/token``."""
        base_url = base_url.rstrip("/")
        own = self.server_path(operation)
        if own == self.base_path:
            return base_url
        root = base_url.removesuffix(self.base_path) if self.base_path else base_url
        if root == base_url and self.base_path:  # a base URL without the base path: its origin
            parts = urlsplit(base_url)
            root = f"{parts.scheme}://{parts.netloc}"
        return root + own

    def locate(self, method: str, path: str) -> tuple[Operation, dict[str, str], str] | None:
        """Match a request's full URL path to an operation, each under its own server path; also
        gives that server path (the prefix the base URL ends with)."""
        for operation, prefix, names in self._routes.get(method.lower(), ()):
            if not (path.startswith(prefix + "/") or not prefix):
                continue
            match = operation.path_pattern.match(path[len(prefix) :])
            if match:
                return operation, dict(zip(names, match.groups(), strict=True)), prefix
        return None

    @cached_property
    def _routes(self) -> dict[str, list[tuple[Operation, str, list[str]]]]:
        """Operations by method, in document order, with their server path and parameter names:
        computed once, not for every located request."""
        routes: dict[str, list[tuple[Operation, str, list[str]]]] = {}
        for operation in self.operations.values():
            names = re.findall(r"\{([^}]+)\}", operation.path)
            routes.setdefault(operation.method, []).append((operation, self.server_path(operation), names))
        return routes

    def find_operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """Match a concrete request path (relative to the base path) to an operation."""
        method = method.lower()
        for operation in self.operations.values():
            if operation.method != method or self.server_path(operation) != self.base_path:
                continue
            match = operation.path_pattern.match(path)
            if match:
                names = re.findall(r"\{([^}]+)\}", operation.path)
                return operation, dict(zip(names, match.groups(), strict=True))
        return None

    def secured(self, operation: Operation) -> bool:
        """Whether the operation needs the credential: ``security: []`` (a token endpoint) does not."""
        return bool(operation.definition.get("security", self.document.get("security", [])))

    def issued_parameters(self, operation: Operation) -> list[str]:
        """The parameters whose values the server hands out (its ids, continuation tokens and
        cursors): a client learns them from a prior answer and never invents them, so what a server
        answers to an invented one is not the documents' promise."""
        return [
            str(parameter["name"])
            for parameter in self.parameters(operation)
            if parameter.get("in") == "path" or _ISSUED_NAME.search(str(parameter.get("name", "")))
        ]

    def parameters(self, operation: Operation) -> list[dict[str, Any]]:
        """Path-level and operation-level parameters, resolved; the operation's win on the same
        name and place."""
        return [parameter for _, parameter in self.parameters_at(operation)]

    def parameters_at(self, operation: Operation) -> list[tuple[str, dict[str, Any]]]:
        """(JSON pointer, resolved parameter) of each of ``parameters``: the pointer names the
        parameter's own definition (a ``$ref``'s target), so its schema's validator
        (``validator(pointer + "/schema")``) is compiled once for every operation sharing it."""
        item = operation.pointer.rsplit("/", 1)[0]
        merged: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for base, raws in (
            (item, self.document["paths"][operation.path].get("parameters", [])),
            (operation.pointer, operation.definition.get("parameters", [])),
        ):
            for index, raw in enumerate(raws):
                pointer = raw["$ref"].lstrip("#") if "$ref" in raw else f"{base}/parameters/{index}"
                parameter = self.resolve(raw)
                merged[(parameter["name"], parameter["in"])] = (pointer, parameter)
        return list(merged.values())

    def assumptions(self) -> dict[str, list[str]]:
        """Every statement the spec makes where no document does: reason -> JSON pointers where
        it is made (``x-assumption`` anywhere, and ``x-lifecycle.assumptions``)."""
        found: dict[str, list[str]] = {}

        def walk(node: Any, pointer: str) -> None:
            if isinstance(node, dict):
                reason = assumption_of(node)
                if reason:
                    found.setdefault(reason, []).append(pointer or "/")
                for key, value in node.items():
                    walk(value, f"{pointer}/{jsonpointer.escape(str(key))}")
            elif isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, f"{pointer}/{index}")

        walk(self.document, "")
        for part, reason in ((self.document.get("x-lifecycle") or {}).get("assumptions") or {}).items():
            found.setdefault(str(reason), []).append(f"/x-lifecycle/{part}")
        return found

    def request_assumption(self, operation: Operation) -> str | None:
        """The first ``x-assumption`` anywhere in what the operation accepts (body and parameters):
        a request that schemathesis judged by an assumed rule contradicts only that assumption."""
        body = self.resolve(operation.definition.get("requestBody"))
        for node in (body, *self.parameters(operation)):
            reason = _first_assumption(self, node, frozenset())
            if reason:
                return reason
        return None

    def resolve(self, node: Any) -> Any:
        """Follow a local ``$ref`` (one level at a time until a non-reference)."""
        return self.schemas.resolve(node)

    def validator(self, pointer: str, *, closed: bool = False) -> Draft202012Validator:
        """A compiled validator for the schema at ``pointer`` inside the document (cached).

        ``closed`` compiles a variant in which every object that declares its ``properties`` and
        leaves the rest open rejects other members: it finds the undeclared members that an open
        object allows, which a run reports as additive drift.
        """
        return self.schemas.validator(pointer, closed)

    def accepts(self, pointer: str, instance: Any) -> tuple[bool, bool]:
        """Whether the schema at ``pointer`` accepts ``instance`` as written, and closed (see
        ``validator``), by the Rust validator: microseconds, where ``validator`` takes a
        millisecond. ``False`` only means "not known to conform", and the caller then asks
        ``validator`` for the errors. The Rust validator uses this suite's own format checks, and
        a schema it could judge differently (a format the suite does not check) is never accepted."""
        return self.schemas.accepts(pointer, instance)

    def reach(self, node: Any, keyword: str) -> Reach | None:
        """The ways from the schema ``node`` down to ``keyword`` (``SchemaDocument.reach``)."""
        return self.schemas.reach(node, keyword)

    def error_shape(self, pointer: str, instance: Any) -> tuple[Any, ...] | None:
        """A key for what the schema at ``pointer`` finds wrong with ``instance``: two bodies
        with one key are explained alike (see ``SchemaDocument.error_shape``)."""
        return self.schemas.error_shape(pointer, instance)


def _first_assumption(spec: Spec, node: Any, seen: frozenset[str]) -> str | None:
    if isinstance(node, list):
        return next((r for item in node if (r := _first_assumption(spec, item, seen))), None)
    if not isinstance(node, dict):
        return None
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#") and reference not in seen:
        return _first_assumption(spec, spec.resolve(node), seen | {reference})
    return assumption_of(node) or next(
        (r for value in node.values() if (r := _first_assumption(spec, value, seen))), None
    )
