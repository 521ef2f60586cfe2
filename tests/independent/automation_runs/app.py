"""The Automation Runs service: FastAPI routes under ``/api/v1/automation-runs``, one credential.

Written from the vendor's page alone; ``README.md`` beside this file lists what it implements and
every reading it chose where the page is silent. ``breaks`` switches on planted contradictions of
the page (``breaks.py``) so a contract suite can be shown to catch them.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Cookie, Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from .breaks import BREAKS
from .models import TERMINAL_STATUSES, AutomationRun, AutomationRunList, RetryRequest, RunStatus, RunSteps
from .store import DEFAULT_IDS, EXAMPLE_RUN_ID, Ids, RunStore

__all__ = ["EXAMPLE_RUN_ID", "PREFIX", "create_app"]

PREFIX = "/api/v1"

Body = dict[str, Any]


def _rename(body: Body, old: str, new: str) -> None:
    """Rename one member in place, keeping the members' order."""
    renamed = {new if key == old else key: value for key, value in body.items()}
    body.clear()
    body.update(renamed)


def _runs_in(body: Body) -> list[Body]:
    return body.get("items", [body])


def _recase_statuses(body: Body) -> None:
    for run in _runs_in(body):
        run["status"] = run["status"].upper()


def _snake_steps(body: Body) -> None:
    for step in body["steps"]:
        _rename(step, "dependsOn", "depends_on")


#: Shape breaks, by name: the operations (route names) they touch and the edit of the JSON body.
SHAPE_EDITS: dict[str, tuple[frozenset[str], Callable[[Body], None]]] = {
    "status-upper-case": (frozenset({"list", "get", "cancel", "retry"}), _recase_statuses),
    "run-field-snake-case": (
        frozenset({"get"}),
        lambda body: _rename(body, "automationVersionId", "automation_version_id"),
    ),
    "step-field-snake-case": (frozenset({"steps"}), _snake_steps),
    "total-as-string": (frozenset({"list"}), lambda body: body.update(total=str(body["total"]))),
    "cancel-drops-updated-at": (frozenset({"cancel"}), lambda body: body.pop("updatedAt")),
}


def _shaped(on: frozenset[str], operation: str, model: BaseModel) -> BaseModel | Response:
    """The model itself, or, when a shape break touches ``operation``, its JSON so edited."""
    edits = [
        edit for name, (operations, edit) in SHAPE_EDITS.items() if name in on and operation in operations
    ]
    if not edits:
        return model
    body = model.model_dump(mode="json", by_alias=True)
    for edit in edits:
        edit(body)
    return JSONResponse(body)


def make_authenticator(token: str, on: frozenset[str]) -> Callable[..., Awaitable[None]]:
    """The router dependency: the first credential present (header, header, cookie) must be ``token``."""
    honour_cookie = "cookie-ignored" not in on

    async def authenticate(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
        vai_token: Annotated[str | None, Cookie()] = None,
    ) -> None:
        supplied: str | None
        if authorization is not None:
            scheme, _, credentials = authorization.partition(" ")
            supplied = credentials.strip() if scheme.lower() == "bearer" else None
        elif x_api_key is not None:
            supplied = x_api_key
        elif vai_token is not None and honour_cookie:
            supplied = vai_token
        else:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Not authenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if supplied != token:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Invalid authentication credentials",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return authenticate


def _sse(event_id: int, event: str, model: BaseModel) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {model.model_dump_json(by_alias=True)}\n\n"


def build_router(store: RunStore, token: str, on: frozenset[str]) -> APIRouter:
    """The six operations of the page, behind the credential check."""
    router = APIRouter(
        prefix="/automation-runs",
        tags=["Automation runs"],
        dependencies=[Depends(make_authenticator(token, on))],
    )
    limit_bound = Query() if "limit-range-ignored" in on else Query(le=1000)

    @router.get("", response_model=AutomationRunList, summary="List All Runs")
    async def list_runs(
        status: Annotated[RunStatus | None, Query()] = None,
        limit: Annotated[int, limit_bound] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> BaseModel | Response:
        now = store.now()
        runs = [store.view(record, now)[0] for record in store.runs.values()]
        if status is not None:
            runs = [run for run in runs if run.status == status]
        runs.sort(key=lambda run: run.created_at, reverse=True)
        start = 0 if "offset-ignored" in on else offset
        page = runs[start : start + max(limit, 0)]
        if "list-duplicates-items" in on and page:
            page.insert(1, page[0])
        return _shaped(on, "list", AutomationRunList(items=page, total=len(runs)))

    @router.get("/{run_id}", response_model=AutomationRun, summary="Get Run")
    async def get_run(run_id: UUID) -> BaseModel | Response:
        return _shaped(on, "get", store.view(store.get(run_id))[0])

    @router.post("/{run_id}/cancel", response_model=AutomationRun, summary="Cancel Run")
    async def cancel_run(run_id: UUID) -> BaseModel | Response:
        record = store.get(run_id)
        store.cancel(record)
        return _shaped(on, "cancel", store.view(record)[0])

    @router.get("/{run_id}/events", summary="Stream Run Events")
    async def stream_run_events(run_id: UUID, request: Request) -> StreamingResponse:
        record = store.get(run_id)
        poll = max(0.01, min(0.25, store.step_seconds / 5))

        async def events() -> AsyncIterator[str]:
            event_id = 1
            run, steps = store.view(record)
            yield _sse(event_id, "run", run)
            seen = {view.key: view.status for view in steps}
            while run.status not in TERMINAL_STATUSES:
                await asyncio.sleep(poll)
                if await request.is_disconnected():
                    return
                previous = run.status
                run, steps = store.view(record)
                for view in steps:
                    if seen.get(view.key) != view.status:
                        seen[view.key] = view.status
                        event_id += 1
                        yield _sse(event_id, "step", view)
                if run.status != previous:
                    event_id += 1
                    yield _sse(event_id, "run", run)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @router.post("/{run_id}/retry", response_model=AutomationRun, summary="Retry Run")
    async def retry_run(run_id: UUID, body: RetryRequest) -> BaseModel | Response:
        record = store.retry(store.get(run_id), body)
        return _shaped(on, "retry", store.view(record)[0])

    @router.get("/{run_id}/steps", response_model=RunSteps, summary="Get Run Steps")
    async def get_run_steps(run_id: UUID) -> BaseModel | Response:
        record = store.get(run_id)
        if "steps-server-error" in on:
            raise HTTPException(
                status_code=status.HTTP_500_INTERNAL_SERVER_ERROR, detail="Internal Server Error"
            )
        _, steps = store.view(record)

        def count(step_status: str) -> int:
            return sum(1 for view in steps if view.status == step_status)

        body = RunSteps(
            automation_run_id=record.id,
            completed_count=count("completed"),
            failed_count=count("failed"),
            pending_count=count("pending"),
            running_count=count("running"),
            steps=steps,
        )
        return _shaped(on, "steps", body)

    return router


async def _flat_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The ``validation-error-shape`` break: one string where FastAPI sends a list of errors."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": "; ".join(str(error["msg"]) for error in errors)}, status_code=422)


def create_app(
    token: str, *, step_seconds: float = 0.5, breaks: Iterable[str] = (), ids: Ids = DEFAULT_IDS
) -> FastAPI:
    """The service with a freshly seeded store; ``token`` is the only credential accepted."""
    on = frozenset(breaks)
    unknown = on - BREAKS.keys()
    if unknown:
        raise ValueError(f"unknown breaks: {sorted(unknown)}")
    store = RunStore(step_seconds, ids, on)
    store.seed()
    app = FastAPI(title="Automation runs", version="1.0.0")
    app.state.store = store
    app.include_router(build_router(store, token, on), prefix=PREFIX)
    if "validation-error-shape" in on:
        app.add_exception_handler(RequestValidationError, _flat_validation_error)
    return app
