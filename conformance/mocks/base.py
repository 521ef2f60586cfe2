"""What every vendor mock shares: modes, a drivable clock, run lifecycles, request
validation against the spec, and the Starlette app that ties them together.

A vendor module subclasses ``VendorMock``, says how its vendor authenticates and shapes
errors, and registers one handler per operationId with ``@handles``. Routing, request
validation and the documented 4xx answers come from the spec itself, so a mock can never
accept a request its spec forbids.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.contract.model import Operation
from conformance.contract.parameters import coerce, operation_parameters
from conformance.contract.specs import load_spec
from conformance.mocks.calls import Call, RequestBody, RequestRejected, parse_query, problem
from conformance.mocks.process import CLIENT_ID_ENV, CLIENT_SECRET_ENV
from conformance.mocks.runs import Clock, Run

DEFAULT_TOKEN = "conformance-demo"


def mock_token(explicit: str | None = None) -> str:
    """The credential a mock accepts: ``--token``, else ``CONFORMANCE_MOCK_TOKEN``, else the demo token."""
    return explicit or os.environ.get("CONFORMANCE_MOCK_TOKEN") or DEFAULT_TOKEN


#: The OAuth client a mock with a token endpoint accepts unless told otherwise (``--client-id`` and
#: ``--client-secret`` of ``conformance serve``, or ``CLIENT_ID_ENV`` and ``CLIENT_SECRET_ENV``).
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET = "conformance-demo-client", "conformance-demo-secret"


def mock_client(client_id: str | None = None, client_secret: str | None = None) -> tuple[str, str]:
    """The client id and secret a mock accepts: explicit, else the variables, else the demo ones."""
    return (
        client_id or os.environ.get(CLIENT_ID_ENV) or DEFAULT_CLIENT_ID,
        client_secret or os.environ.get(CLIENT_SECRET_ENV) or DEFAULT_CLIENT_SECRET,
    )


#: Catalogued quirks a faithful mock answers as if the vendor had fixed them (comma-separated ids,
#: e.g. ``KG-001``): how a test sees what a run reports when a vendor fixes one.
FIXED_ENV = "CONFORMANCE_MOCK_FIXED"


def fixed_quirks() -> frozenset[str]:
    """The quirk ids ``CONFORMANCE_MOCK_FIXED`` names (a mock process inherits it from its run)."""
    return frozenset(part.strip() for part in os.environ.get(FIXED_ENV, "").split(",") if part.strip())


class Mode(StrEnum):
    FAITHFUL = "faithful"  # reproduce every documented quirk
    STRICT = "strict"  # answer exactly what the spec says


Handler = Callable[["VendorMock", Call], Awaitable[Response]]
#: A vendor mock's own handler method (its ``self`` is the vendor's subclass).
AnyHandler = TypeVar("AnyHandler", bound=Callable[..., Awaitable[Response]])


def handles(operation_id: str) -> Callable[[AnyHandler], AnyHandler]:
    """Mark a ``VendorMock`` method as the handler of ``operation_id``."""

    def mark(function: AnyHandler) -> AnyHandler:
        function.operation_id = operation_id  # type: ignore[attr-defined]
        return function

    return mark


class VendorMock:
    """Base of the four vendor mocks: state, auth and error shape are theirs, the rest is shared."""

    name: ClassVar[str]
    validation_status: ClassVar[int] = 400
    auth_status: ClassVar[int] = 403
    #: Runs advance a state per poll (fast runs for the demo); ``False``: by clock time alone, as a
    #: real vendor's runs do (``run_step_seconds`` a state), to test how a run is followed.
    advance_per_poll: bool = True
    run_step_seconds: float | None = None

    def __init__(
        self, mode: Mode = Mode.FAITHFUL, token: str | None = None, clock: Clock | None = None
    ) -> None:
        self.mode = Mode(mode)
        self.token = mock_token(token)
        self.clock = clock or Clock()
        self.spec = load_spec(self.name)
        lifecycle = self.spec.lifecycle
        if lifecycle is None:
            raise RuntimeError(f"specs/{self.name}.yaml has no x-lifecycle for its mock to follow")
        self.lifecycle = lifecycle
        self.runs: dict[str, Run] = {}
        self.fixed = fixed_quirks()
        self._request_bodies: dict[str, RequestBody | None] = {}
        self.seed()

    @property
    def faithful(self) -> bool:
        return self.mode is Mode.FAITHFUL

    def reproduces(self, quirk: str) -> bool:
        """Whether the mock answers with the catalogued ``quirk``: faithful, and not fixed."""
        return self.faithful and quirk not in self.fixed

    # -- vendor specifics -------------------------------------------------------------
    def seed(self) -> None:
        """Fill the store with the documents' example objects."""

    def example_ids(self) -> dict[str, list[str]]:
        """The ids of what the store holds, by what they name: those a client puts in its paths
        and queries (``conformance serve`` prints them)."""
        return {"run": list(self.runs)}

    def authenticated(self, request: Request) -> bool:
        raise NotImplementedError

    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        raise NotImplementedError

    # -- shared lifecycle helpers ------------------------------------------------------
    @cached_property
    def running_states(self) -> frozenset[str]:
        return frozenset(self.lifecycle.running)

    @cached_property
    def terminal_states(self) -> frozenset[str]:
        return frozenset(self.lifecycle.terminal)

    def observe(self, run: Run) -> Run:
        if self.run_step_seconds is not None:
            run.step_seconds = self.run_step_seconds
        run.observe(
            self.clock.now(),
            running=self.running_states,
            terminal=self.terminal_states,
            per_poll=self.advance_per_poll,
        )
        return run

    def move(self, run: Run, state: str) -> None:
        run.move_to(state, self.clock.now(), running=self.running_states, terminal=self.terminal_states)

    def find_run(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise RequestRejected(404, f"process run {run_id} was not found")
        return run

    # -- the app ---------------------------------------------------------------------
    def app(self) -> ASGIApp:
        handlers: dict[str, Handler] = {}
        for klass in reversed(type(self).__mro__):
            for value in vars(klass).values():
                if hasattr(value, "operation_id"):
                    handlers[value.operation_id] = value
        routes: dict[str, list[Operation]] = {}
        for operation in self.spec.operations.values():
            if operation.id not in handlers:
                raise RuntimeError(f"{self.name} mock has no handler for {operation.id}")
            # each operation under its server's path: /api/v1/... but SolveXia's /oauth/token
            routes.setdefault(self.spec.server_path(operation) + operation.path, []).append(operation)
        app = Starlette(
            routes=[
                Route(
                    path,
                    self._endpoint({op.method.upper(): (op, handlers[op.id]) for op in operations}),
                    methods=[op.method.upper() for op in operations],
                )
                for path, operations in routes.items()
            ],
            exception_handlers={404: self._routing_error, 405: self._routing_error},
        )
        return app

    async def rejection(
        self, request: Request, operation: Operation, status: int, rejected: RequestRejected
    ) -> Response:
        """The answer to a rejected request; the vendor's error object unless an operation has its own."""
        return self.error(status, rejected.message, rejected.details)

    async def _routing_error(self, request: Request, exc: Exception) -> Response:
        """Unknown paths and methods answer in the vendor's error shape too (``Allow`` kept on 405)."""
        status = getattr(exc, "status_code", 404)
        message = "no such path" if status == 404 else f"method {request.method} is not allowed here"
        response = self.error(status, message)
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    def _endpoint(
        self, by_method: dict[str, tuple[Operation, Handler]]
    ) -> Callable[[Request], Awaitable[Response]]:
        secured = {method: self.spec.secured(operation) for method, (operation, _) in by_method.items()}

        async def endpoint(request: Request) -> Response:
            operation, handler = by_method[request.method]
            try:
                if secured[request.method] and not self.authenticated(request):
                    return self.error(self.auth_status, "missing or invalid credentials")
                call = await self._validated_call(request, operation)
                return await handler(self, call)
            except RequestRejected as rejected:
                status = self.validation_status if rejected.status == 400 else rejected.status
                return await self.rejection(request, operation, status, rejected)

        return endpoint

    async def _validated_call(self, request: Request, operation: Operation) -> Call:
        path: dict[str, str] = dict(request.path_params)
        query: dict[str, Any] = {}
        problems: list[dict[str, Any]] = []
        query_values = parse_query(request.scope["query_string"])
        for rule in operation_parameters(self.spec, operation.id):
            name, where = rule.name, rule.where
            if where == "path":
                raw: Any = path.get(name)
            elif where == "query":
                values = query_values.get(name, [])
                raw = values if rule.is_array else (values[0] if values else None)
            elif where == "header":
                raw = request.headers.get(name)
            else:
                raw = request.cookies.get(name)
            if raw is None:
                if rule.required:
                    problems.append(
                        problem([where, name], f"{where} parameter {name} is required", "missing")
                    )
                continue
            if rule.any_string and isinstance(raw, str):
                value = raw
            else:
                value = coerce(raw, rule.schema)
                if not self.spec.accepts(rule.schema_pointer, value)[0]:
                    for error in rule.validator.iter_errors(value):
                        problems.append(problem([where, name], error.message[:200], error.validator))
            if where == "path":
                path[name] = value
            elif where == "query":
                query[name] = value
        body = await self._body(request, operation, problems)
        if problems:
            raise RequestRejected(400, problems[0]["msg"], problems)
        return Call(request, operation, path, query, body)

    def _request_body(self, operation: Operation) -> RequestBody | None:
        """The operation's request body, resolved once rather than on every request."""
        if operation.id not in self._request_bodies:
            self._request_bodies[operation.id] = RequestBody.of(self.spec, operation)
        return self._request_bodies[operation.id]

    async def _body(self, request: Request, operation: Operation, problems: list[dict[str, Any]]) -> Any:
        request_body = self._request_body(operation)
        if request_body is None:
            return None
        data = await request.body()
        if not data:
            if request_body.required:
                problems.append(problem(["body"], "a JSON request body is required", "missing"))
            return None
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and "json" not in content_type:
            problems.append(problem(["body"], f"unsupported content type {content_type}", "content_type"))
            return None
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            problems.append(problem(["body"], "request body is not valid JSON", "json_invalid"))
            return None
        if self.spec.accepts(request_body.schema_pointer, body)[0]:
            return body
        for error in self.spec.validator(request_body.schema_pointer).iter_errors(body):
            loc = ["body", *error.absolute_path]
            if error.validator == "required" and isinstance(error.instance, dict):
                # name the missing field, as FastAPI's validation errors do
                loc += [name for name in error.validator_value if name not in error.instance][:1]
            problems.append(problem(loc, error.message[:200], error.validator))
        return body


class CaseInsensitivePaths:
    """ASGI middleware: route ``/v1/processRuns/x`` as ``/v1/processruns/x`` (literal segments only)."""

    def __init__(self, app: ASGIApp, templates: list[str]) -> None:
        self.app = app
        self.patterns = []
        for template in templates:
            parts = re.split(r"(\{[^}]+\})", template)
            regex = "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
            self.patterns.append((re.compile(f"^{regex}$", re.IGNORECASE), parts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for pattern, parts in self.patterns:
                match = pattern.match(scope["path"])
                if match:
                    values = iter(match.groups())
                    canonical = "".join(next(values) if p.startswith("{") else p for p in parts)
                    scope = {**scope, "path": canonical, "raw_path": canonical.encode()}
                    break
        await self.app(scope, receive, send)


#: Starlette's JSONResponse encodes with these options through a new encoder for every response.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


class CompactJSONResponse(JSONResponse):
    """Starlette's JSONResponse, bytes for bytes, with its encoder made once."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return CompactJSONResponse(data, status_code=status, headers=headers)


def iso(moment: datetime | None, *, offset: bool = True, digits: int = 3) -> str | None:
    """Format a timestamp; ``offset=False`` drops the zone, as some vendors' examples do."""
    if moment is None:
        return None
    text = moment.isoformat(timespec="seconds")[:19]  # without an offset; isoformat is C, strftime is not
    if digits:
        text += "." + f"{moment.microsecond:06d}{'0' * 7}"[:digits]
    return text + ("Z" if offset else "")
