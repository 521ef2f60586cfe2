"""Litestar application serving Kognitos REST API v2 Runs under ``/v2``, with optional planted breaks."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from .models import LIMIT_DEFAULT, LIMIT_MAX, STAGES, ErrorDetail, ErrorModel, ListResponse, Run, StartRun
from .store import InvalidToken, RunStore

PREFIX = "/v2"
API_KEY_HEADER = "x-api-key"
_PATH_TOKEN = re.compile(r"\.(\w+)|\[(\d+)\]")
_MISSING = re.compile(r"missing required field `(\w+)`")


class ApiError(Exception):
    """An error answered as the documented ``ErrorModel`` body."""

    def __init__(self, status_code: int, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.status_code, self.message, self.details = status_code, message, details


def _invalid(where: str, field: str, msg: str, kind: str = "value_error") -> ApiError:
    """422 for a request that parses but breaks a documented constraint."""
    return ApiError(422, "Request validation failed", [ErrorDetail([where, field], msg, kind)])


def create_app(store: RunStore, breaks: frozenset[str], api_key: str) -> Litestar:
    """Build the app; ``breaks`` names entries of :data:`BREAKS` to misbehave on purpose."""

    def error_response(status_code: int, message: str, details: list[ErrorDetail] | None = None) -> Response:
        body: dict[str, Any] = msgspec.to_builtins(ErrorModel(message, status_code, details))
        if "error_status_code_as_string" in breaks:
            body["status_code"] = str(status_code)
        return Response(body, status_code=status_code)

    def run_body(run: Run, operation: str) -> dict[str, Any]:
        """A run as JSON, bent by whichever breaks touch this operation."""
        body: dict[str, Any] = msgspec.to_builtins(run)
        if "stage_lowercase" in breaks:
            body["stage"] = body["stage"].lower()
        if operation == "get" and "rename_created_at" in breaks:
            body["createdAt"] = body.pop("created_at")
        if operation == "get" and "file_ids_as_string" in breaks:
            body["file_ids"] = ",".join(body["file_ids"] or [])
        if operation == "list" and "list_drops_agent_id" in breaks:
            del body["agent_id"]
        return body

    def require_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        """Every documented operation requires the ``x-api-key`` header to carry the tenant's key."""
        if "auth_not_enforced" in breaks:
            return
        given = connection.headers.get(API_KEY_HEADER)
        if given is None:
            raise NotAuthorizedException("Missing API key in header x-api-key")
        if not secrets.compare_digest(given.encode(), api_key.encode()):
            raise NotAuthorizedException("Invalid API key")

    @get("/runs")
    async def list_runs(request: Request[Any, Any, Any]) -> Response:
        """List Runs: runs of one process and agent, newest first, optionally of one stage."""
        query = request.query_params
        process_id, agent_id = _required(query, "process_id"), _required(query, "agent_id")
        limit, stage = _limit(query.get("limit")), query.get("stage") or None
        token = query.get("continuation_token") or None
        if stage is not None and stage not in STAGES:
            raise _invalid("query", "stage", f"Input should be 'Draft' or 'Published', got {stage!r}", "enum")
        try:
            items, next_token = store.page(
                agent_id,
                None if "process_filter_ignored" in breaks else process_id,
                None if "stage_filter_ignored" in breaks else stage,
                LIMIT_DEFAULT if "limit_ignored" in breaks else limit,
                None if "continuation_token_ignored" in breaks else token,
            )
        except InvalidToken:
            raise ApiError(400, "Invalid continuation_token") from None
        bodies = [run_body(run, "list") for run in items]
        if "duplicate_items" in breaks:
            bodies += bodies[:1]
        body: dict[str, Any] = msgspec.to_builtins(ListResponse(next_token, []))
        body["items"] = bodies
        if next_token is None and "last_page_omits_continuation_token" in breaks:
            del body["continuation_token"]
        return Response(body)

    @post("/runs")
    async def start_run(request: Request[Any, Any, Any]) -> Response:
        """Start a Run: 201 with the new run, which then advances on its own."""
        try:
            raw = msgspec.json.decode(await request.body())
        except msgspec.DecodeError as exc:
            raise ApiError(400, f"Request body is not valid JSON: {exc}") from None
        try:
            start = msgspec.convert(raw, StartRun)
        except msgspec.ValidationError as exc:
            raise ApiError(422, "Request validation failed", [_detail(str(exc))]) from None
        if store.processes.get(start.process_id) != start.agent_id:
            raise ApiError(404, f"Process {start.process_id} not found in agent {start.agent_id}")
        run = store.start(start)
        location = {"Location": f"{PREFIX}/runs/{run.id}"}
        return Response(run_body(run, "start"), status_code=201, headers=location)

    @get("/runs/{run_id:str}")
    async def get_run(request: Request[Any, Any, Any]) -> Response:
        """Get Run: the run as it stands now."""
        run_id: str = request.path_params["run_id"]
        run = store.get(run_id)
        if run is None:
            raise ApiError(404, f"Run {run_id} not found")
        if "get_run_500" in breaks:
            raise ApiError(500, "Internal server error")
        return Response(run_body(run, "get"))

    handlers: dict[type[Exception] | int, Callable[..., Response]] = {
        ApiError: lambda _, exc: error_response(exc.status_code, exc.message, exc.details),
        HTTPException: lambda _, exc: error_response(exc.status_code, str(exc.detail)),
        Exception: lambda _, exc: error_response(500, "Internal server error"),
    }
    router = Router(path=PREFIX, route_handlers=[list_runs, start_run, get_run], guards=[require_key])
    # logging_config=None: Litestar's default puts a queue handler on the root logger at INFO, bound
    # to the stderr of the test that started it; later tests' HTTP clients then log into a closed
    # capture, and the logging error's traceback lands in whatever output another test captures
    return Litestar(
        route_handlers=[router], exception_handlers=handlers, openapi_config=None, logging_config=None
    )


def _required(query: Any, name: str) -> str:
    """A required, non-empty query parameter."""
    value = query.get(name)
    if not value:
        raise _invalid("query", name, "Field required", "missing")
    return str(value)


def _limit(raw: str | None) -> int:
    """``limit``: absent or empty means the default 10; otherwise an integer from 1 to 100."""
    if raw is None or raw == "":
        return LIMIT_DEFAULT
    try:
        limit = int(raw)
    except ValueError:
        raise _invalid("query", "limit", "Input should be a valid integer", "int_parsing") from None
    if not 1 <= limit <= LIMIT_MAX:
        raise _invalid("query", "limit", f"Input should be between 1 and {LIMIT_MAX}", "range")
    return limit


def _detail(message: str) -> ErrorDetail:
    """Turn a msgspec message like ``Expected `str` - at `$.inputs[0].name``` into a located detail."""
    text, _, path = message.partition(" - at `")
    loc = ["body"] + [name or index for name, index in _PATH_TOKEN.findall(path.rstrip("`"))]
    missing = _MISSING.search(text)
    if missing:
        return ErrorDetail([*loc, missing.group(1)], "Field required", "missing")
    return ErrorDetail(loc, text, "value_error")
