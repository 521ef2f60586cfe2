"""Loading the hand-written OpenAPI specs and compiling what the checks need from them.

A spec is parsed and validated once; JSON Schema validators are compiled once per
schema and cached, because a replay validates thousands of bodies against a handful
of schemas.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonpointer
import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from conformance.bounds import printable, read_text
from conformance.errors import SpecError
from conformance.usercache import cache_dir
from conformance.vendors.registry import ApiInfo, get_api

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
FORMAT_CHECKER = FormatChecker()
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path, error: type[Exception]) -> Any:
    """Parse a YAML file, turning every failure into ``error`` with a one-line cause."""
    text = read_text(path, error)
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = printable(str(getattr(exc, "problem", None) or "invalid YAML"))[:200]
        raise error(f"{path}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise error(f"{path}: invalid YAML: nested too deeply") from None


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
        """The ``responses`` key that documents ``status_code``: exact, ``2XX`` style, or ``default``."""
        responses = self.definition.get("responses", {})
        for key in (str(status_code), f"{str(status_code)[0]}XX", "default"):
            if key in responses:
                return key
        return None

    @cached_property
    def path_pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", self.path)
        regex = "".join("([^/]+)" if part.startswith("{") else re.escape(part) for part in parts)
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class Lifecycle:
    """A run's documented states and transitions, from the spec's ``x-lifecycle`` extension.

    Mocks walk runs through it; the lifecycle checks judge observed states against it (case
    aside: a re-cased state is the contract check's finding, not a transition's).
    """

    field: str
    initial: tuple[str, ...]
    running: tuple[str, ...]
    terminal: tuple[str, ...]
    transitions: dict[str, list[str]]
    plan: dict[str, Any]

    @classmethod
    def from_extension(cls, raw: dict[str, Any]) -> Lifecycle:
        return cls(
            raw["field"],
            tuple(raw["initial"]),
            tuple(raw.get("running", ())),
            tuple(raw["terminal"]),
            raw["transitions"],
            raw,
        )

    def allows(self, before: str, after: str) -> bool:
        """A direct, documented step (or no change at all)."""
        return before == after or after in self.transitions.get(before, [])

    def reachable(self, source: str, target: str) -> bool:
        """Whether documented steps lead from ``source`` to ``target``, ignoring case (polls sample)."""
        folded = {k.lower(): [v.lower() for v in vs] for k, vs in self.transitions.items()}
        frontier, seen = [source.lower()], {source.lower()}
        while frontier:
            state = frontier.pop()
            if state == target.lower():
                return True
            for following in folded.get(state, []):
                if following not in seen:
                    seen.add(following)
                    frontier.append(following)
        return False

    def is_terminal(self, state: str) -> bool:
        return state.lower() in {s.lower() for s in self.terminal}

    def is_initial(self, state: str) -> bool:
        return state.lower() in {s.lower() for s in self.initial}


class Spec:
    """A validated OpenAPI document for one API, with compiled validators."""

    def __init__(self, api: ApiInfo, document: dict[str, Any], source: Path) -> None:
        self.api = api
        self.document = document
        self.source = source
        self._uri = f"urn:conformance:spec:{api.name}"
        self._registry: Registry = Registry().with_resource(self._uri, DRAFT202012.create_resource(document))
        self.operations: dict[str, Operation] = {}
        for path, item in document.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    definition = item[method]
                    op_id = definition.get("operationId") or f"{method} {path}"
                    pointer = f"/paths/{_escape(path)}/{method}"
                    self.operations[op_id] = Operation(op_id, method, path, definition, pointer)
        #: Each ``$ref`` followed once: a replay resolves the same few references per interaction.
        self._targets: dict[str, Any] = {}

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
                    walk(value, f"{pointer}/{_escape(str(key))}")
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
        while isinstance(node, dict) and "$ref" in node:
            reference = node["$ref"]
            if reference not in self._targets:
                self._targets[reference] = self._registry.resolver(self._uri).lookup(reference).contents
            node = self._targets[reference]
        return node

    def validator(self, pointer: str, *, closed: bool = False) -> Draft202012Validator:
        """A compiled validator for the schema at ``pointer`` inside the document (cached).

        ``closed`` compiles a variant in which every object that declares its ``properties`` and
        leaves the rest open rejects other members: it finds the undeclared members that an open
        object allows, which a run reports as additive drift.
        """
        return _compiled(self, pointer, closed)

    def accepts(self, pointer: str, instance: Any) -> tuple[bool, bool]:
        """Whether the schema at ``pointer`` accepts ``instance`` as written, and closed (see
        ``validator``), by the Rust validator: microseconds, where ``validator`` takes a
        millisecond. ``False`` only means "not known to conform", and the caller then asks
        ``validator`` for the errors. The Rust validator uses this suite's own format checks, and
        a schema it could judge differently (a format the suite does not check) is never accepted."""
        validators = _accepting(self, pointer)
        if validators is None:
            return False, False
        try:
            return validators[0].is_valid(instance), validators[1].is_valid(instance)
        except Exception:  # a value the Rust side cannot take: the Python validator judges it
            return False, False

    def ref(self, pointer: str) -> str:
        return f"{self._uri}#{pointer}"

    @property
    def registry(self) -> Registry:
        return self._registry


@cache
def _compiled(spec: Spec, pointer: str, closed: bool) -> Draft202012Validator:
    """A validator for the schema at ``pointer`` with its local references inlined: validating
    then never goes through the registry, which was a third of a replay's time."""
    schema = _inline(spec, spec.resolve({"$ref": f"#{pointer}"}), frozenset())
    return Draft202012Validator(
        _close(schema) if closed else schema, registry=spec.registry, format_checker=FORMAT_CHECKER
    )


#: The suite's format checks, for the Rust validator: both validators judge formats alike.
_FORMATS = {
    name: (lambda value, name=name: FORMAT_CHECKER.conforms(value, name)) for name in FORMAT_CHECKER.checkers
}


@cache
def _accepting(spec: Spec, pointer: str) -> tuple[jsonschema_rs.Validator, ...] | None:
    """Rust validators of the schema at ``pointer``, open and closed, or ``None`` where they might
    accept what ``_compiled`` rejects: a format the suite has no check for, or a schema the Rust
    validator cannot compile."""
    schemas = [_compiled(spec, pointer, closed).schema for closed in (False, True)]
    if any(
        isinstance(node, dict) and isinstance(node.get("format"), str) and node["format"] not in _FORMATS
        for _, node in _nodes(schemas[0])
    ):
        return None
    registry = jsonschema_rs.Registry([(spec._uri, spec.document)])
    try:
        return tuple(
            jsonschema_rs.Draft202012Validator(
                dict(schema) if isinstance(schema, Mapping) else schema,
                formats=_FORMATS,
                validate_formats=True,
                registry=registry,
            )
            for schema in schemas
        )
    except Exception:  # the Rust validator refuses the schema: the Python one judges alone
        return None


def _close(node: Any) -> Any:
    """``node`` with every open object that declares ``properties`` closed to other members."""
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _close(value) for key, value in node.items()}
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    open_keywords = ("additionalProperties", "unevaluatedProperties", "patternProperties", "allOf")
    if is_object and "properties" in node and not any(key in node for key in open_keywords):
        closed["additionalProperties"] = False
    return closed


#: Parameter names that carry a value the server issued: ``id``, ``run_id``, ``processRunId``,
#: ``continuation_token``, ``cursor``.
_ISSUED_NAME = re.compile(r"(?:^|_)ids?$|[a-z]Ids?$|(?:^|_)token$|[a-z]Token$|^cursor$")


def assumption_of(node: Any) -> str | None:
    """The reason a spec node gives for saying what no document says (its ``x-assumption``)."""
    reason = node.get("x-assumption") if isinstance(node, dict) else None
    return str(reason) if reason else None


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


def schema_assumption(schema: Any, schema_path: Iterable[Any]) -> str | None:
    """The first ``x-assumption`` on the way from ``schema`` down ``schema_path``: an assumed
    node covers everything below it."""
    node = schema
    for part in (None, *schema_path):
        if part is not None:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and part < len(node)
            ):
                node = node[part]
            else:
                return None
        reason = assumption_of(node)
        if reason:
            return reason
    return None


def _inline(spec: Spec, node: Any, expanding: frozenset[str]) -> Any:
    """Replace local ``$ref``s by their targets; a recursive reference stays a reference."""
    if isinstance(node, list):
        return [_inline(spec, item, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#") and reference not in expanding:
        target = _inline(spec, spec.resolve({"$ref": reference}), expanding | {reference})
        siblings = {key: _inline(spec, value, expanding) for key, value in node.items() if key != "$ref"}
        if not siblings:
            return target
        return {**siblings, "allOf": [*siblings.get("allOf", []), target]}
    if isinstance(reference, str) and reference.startswith("#"):
        return {**node, "$ref": spec.ref(reference[1:])}
    return {key: _inline(spec, value, expanding) for key, value in node.items()}


def _escape(token: str) -> str:
    return jsonpointer.escape(token)


def load_spec_file(api: ApiInfo, path: Path) -> Spec:
    """Parse and validate ``path`` as the spec of ``api``; any problem is a ``SpecError``.

    Only references inside the spec resolve (``#/...``): a ``$ref`` to a URL, a ``file://``
    URI or another file is refused before the validator runs, so reading a spec never fetches
    anything or reads another file, and the error quotes the reference, never a target."""
    document = load_yaml(path, SpecError)
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not an OpenAPI document (top level is not a mapping)")
    check_references(document, path)
    validate_openapi(document, path)
    check_lifecycle(document, path)
    return Spec(api, document, path)


def validate_openapi(document: dict[str, Any], path: Path) -> None:
    """Validate ``document`` as OpenAPI, unless this very document has passed before.

    Validating the four bundled specs (and importing the validator) took a second of every
    command's start; a document that passed leaves a mark named by its digest and the validator's
    version in the user's cache, so the next command skips it. A document that fails never
    leaves one, and a cache that cannot be written only costs the time again."""
    mark = _validation_mark(document)
    if mark is not None and mark.exists():
        return
    from openapi_spec_validator import validate  # a third of a second to import

    try:
        validate(document)
    except RecursionError:
        raise SpecError(f"{path}: invalid OpenAPI: nested too deeply") from None
    except Exception as exc:  # the validator raises several unrelated types, all meaning "invalid"
        raise SpecError(f"{path}: invalid OpenAPI: {_validation_problem(exc)}") from None
    if mark is not None:
        with contextlib.suppress(OSError):
            mark.touch()


def _validation_mark(document: dict[str, Any]) -> Path | None:
    """Where a pass of ``document`` is remembered, or ``None`` where it cannot be (no cache, or a
    document that cannot be written as JSON, a YAML alias loop): that one is validated every time."""
    try:
        text = json.dumps(document, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        return None
    directory = cache_dir("valid-openapi")
    if directory is None:
        return None
    validator = importlib.metadata.version("openapi-spec-validator")
    return directory / hashlib.sha256(f"{validator}\n{text}".encode()).hexdigest()


def _nodes(document: Any) -> Iterator[tuple[str, Any]]:
    """Every node of a parsed YAML document with its JSON pointer, without recursion (YAML
    anchors can nest deeply or loop: each node is visited once)."""
    pending: list[tuple[str, Any]] = [("", document)]
    seen: set[int] = set()
    while pending:
        pointer, node = pending.pop()
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        yield pointer, node
        items = node.items() if isinstance(node, dict) else enumerate(node)
        pending += [(f"{pointer}/{_escape(str(key))}", value) for key, value in items]


def check_references(document: Any, path: Path) -> None:
    """Refuse any ``$ref`` that leaves the spec: only ``#/...`` pointers into it are allowed."""
    for pointer, node in _nodes(document):
        if not isinstance(node, dict) or "$ref" not in node:
            continue
        reference = node["$ref"]
        if not isinstance(reference, str) or not reference.startswith("#"):
            shown = printable(str(reference))[:200]
            raise SpecError(
                f"{path}: $ref {shown!r} at {printable(pointer)[:200] or '/'} leaves the spec; only "
                "references inside it (#/...) are read, nothing is fetched"
            )


_STATES = {"type": "array", "items": {"type": "string"}}
_STEP = {
    "type": "object",
    "required": ["operation"],
    "properties": {
        "operation": {"type": "string"},
        "parameters": {"type": "object"},
        "run_id": {"type": "string"},
        "id": {"type": "string", "pattern": "^(/|$)"},
        "state": {"type": "string", "pattern": "^(/|$)"},
        "find": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["operation", "id"],
                "properties": {
                    "operation": {"type": "string"},
                    "parameters": {"type": "object"},
                    "id": {"type": "string", "pattern": "^(/|$)"},
                },
            },
        },
    },
}
#: ``x-lifecycle``, as the lifecycle checks and the mocks read it.
LIFECYCLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["field", "initial", "terminal", "transitions", "start", "poll"],
    "properties": {
        "field": {"type": "string"},
        "initial": {**_STATES, "minItems": 1},
        "running": _STATES,
        "terminal": _STATES,
        "transitions": {"type": "object", "additionalProperties": _STATES},
        "start": _STEP,
        "poll": {**_STEP, "required": ["operation", "run_id", "state"]},
        "cancel": {**_STEP, "required": ["operation", "run_id"]},
        "timestamps": {"type": "object", "additionalProperties": {"type": "string"}},
        "assumptions": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def check_lifecycle(document: dict[str, Any], path: Path) -> None:
    """``x-lifecycle``, when present, has the shape the lifecycle reads, and names operations the
    spec has; anything else is one ``SpecError`` line naming the place."""
    raw = document.get("x-lifecycle")
    if raw is None:
        return
    error = best_match(Draft202012Validator(LIFECYCLE_SCHEMA).iter_errors(raw))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        rule = f"{error.validator} {printable(str(error.validator_value))[:80]}"
        raise SpecError(f"{path}: invalid x-lifecycle at /{printable(where)[:200]}: breaks the {rule} rule")
    ids = {
        (item.get(method) or {}).get("operationId")
        for item in (document.get("paths") or {}).values()
        if isinstance(item, dict)
        for method in HTTP_METHODS
        if isinstance(item.get(method), dict)
    }
    steps = [raw[s] for s in ("start", "poll", "cancel") if s in raw] + list(raw["start"].get("find", []))
    for step in steps:
        if step["operation"] not in ids:
            shown = printable(step["operation"])[:100]
            raise SpecError(f"{path}: invalid x-lifecycle: no operation {shown!r} in the spec")


def _validation_problem(error: Exception) -> str:
    """The validator's complaint in one short line (a broken ``$ref`` message quotes the whole document)."""
    message = getattr(error, "message", None) or next(iter(str(error).splitlines()), "")
    message = message.split(" does not exist within {", 1)[0] + (
        " does not exist" if " does not exist within {" in message else ""
    )
    if not message:
        return "no supported 'openapi' version (expected 3.0.x or 3.1.x)"
    return message if len(message) <= 300 else message[:297] + "..."


@cache
def load_spec(name: str) -> Spec:
    """The bundled spec of API ``name`` (parsed and validated once per process)."""
    api = get_api(name)
    return load_spec_file(api, api.spec_path)
