"""An independent FastAPI implementation of the "Automation runs" API.

Built only from the vendor's rendered reference page (``/api/v1/automation-runs`` ...) and the
facts noted beside it, the way the vendor's own FastAPI developers plausibly wrote it: pydantic v2
models with camelCase fields, ``response_model=`` on every route, ``Query`` bounds exactly as
documented, ``HTTPException`` for unknown runs and FastAPI's own (uncustomised) 422 and 400 errors.

Operations (all under ``/api/v1``, all behind the same credential check):

- ``GET  /automation-runs`` -- List All Runs (``status``, ``limit`` <= 1000 default 100,
  ``offset`` >= 0 default 0) -> ``{"items": [...], "total": n}``
- ``GET  /automation-runs/{run_id}`` -- Get Run
- ``POST /automation-runs/{run_id}/cancel`` -- Cancel Run
- ``GET  /automation-runs/{run_id}/events`` -- Stream Run Events
- ``POST /automation-runs/{run_id}/retry`` -- Retry Run, body ``{"mode", "stepKey"}``
- ``GET  /automation-runs/{run_id}/steps`` -- Get Run Steps

Runs live in memory. Their state is derived from the wall clock: a run waits ``step_seconds`` as
``pending``, then runs each of its steps for ``step_seconds`` as ``running`` and ends ``completed``
(or ``failed`` at its failing step). ``startedAt``, ``completedAt``, ``updatedAt``,
``durationSeconds`` and the steps are all computed from the same timeline, so they always agree.

Where the page is silent, this service ...

1. Status values: runs use ``pending | running | completed | failed | cancelled`` (the page only
   shows the example ``"status": "pending"``); the ``status`` query filter takes the same enum,
   and any other value is FastAPI's 422 ``enum`` error.
2. ``orchestratorType``, ``triggerSourceType`` and ``triggerType`` are enums whose first values are
   the page's examples (``local``, ``user``, ``manual``); every run served uses exactly those.
   The other members (``kubernetes``; ``schedule``, ``webhook``, ``api_key``; ``scheduled``,
   ``webhook``, ``api``) are guesses and never emitted.
3. Nullable fields: ``startedAt``, ``completedAt``, ``durationSeconds``, ``error``,
   ``concurrencyKey``, ``externalJobId`` and ``triggerSourceId`` are ``null`` when they do not
   apply (the page shows only filled-in examples); ``null`` fields are sent, not omitted.
   ``durationSeconds`` is a float, ``null`` until the run is terminal and started.
4. Ids: the response ``id`` is typed ``string`` on the page ("id": "string") but always holds a
   UUID, because the path parameter is "Format uuid". A non-UUID ``run_id`` is FastAPI's 422
   ``uuid_parsing``; an unknown UUID is 404 ``{"detail": "Run not found"}``.
5. Credentials (``authorization``, ``X-API-Key``, ``vai_token`` are declared as optional
   header/cookie parameters, as the page lists them): the first one present, in that order,
   decides. ``authorization`` must be ``Bearer <token>``. None present -> 401
   ``{"detail": "Not authenticated"}``; present but wrong -> 401
   ``{"detail": "Invalid authentication credentials"}``; both with ``WWW-Authenticate: Bearer``.
   The check is a router dependency, so it runs before query/path validation (a 401 wins over a
   422) -- but FastAPI reads a JSON body before any dependency, so unparseable JSON is FastAPI's
   422 ``json_invalid`` even without a credential.
6. Listing is newest ``createdAt`` first; ``total`` counts the runs matching ``status`` before
   ``limit``/``offset``. The page bounds ``limit`` only by "value <= 1000", so ``limit`` <= 0 is
   accepted and returns no items.
7. Cancel: a ``pending`` or ``running`` run becomes ``cancelled`` (``completedAt`` = cancel time,
   ``error`` stays ``null``) and the updated run is returned with 200. Cancelling a run that is
   already ``completed``, ``failed`` or ``cancelled`` is 409 ``{"detail": "Run is already
   <status>"}``.
8. Retry: only a ``failed`` or ``cancelled`` run can be retried (otherwise 409 ``{"detail": "Only
   failed or cancelled runs can be retried"}``). A retry creates a NEW run (new UUID, same
   automation/version/tenant, ``triggerType`` ``manual``, ``triggerSourceType`` ``user``) and
   returns it with 200 in status ``pending``; the original run is unchanged. ``from_failed``
   re-runs from the first step that did not complete; ``from_step`` re-runs from ``stepKey`` on;
   ``full`` re-runs every step. Steps not re-run are carried over as they were (same timestamps
   and results). Retried runs do not fail again.
9. Retry body: the body itself is required (FastAPI's default for a model parameter; ``{}`` is
   fine). ``mode`` defaults to ``from_failed``; ``from_step`` without ``stepKey`` is FastAPI's 422
   ``value_error`` (a model validator); a ``stepKey`` not among the run's steps is 400
   ``{"detail": "Unknown stepKey '<key>'"}``; a ``stepKey`` whose earlier steps did not complete
   is 409. ``stepKey`` is ignored for the other modes (the notes: "meaningful with from_step").
   Unknown body fields are ignored (pydantic's default).
10. Events: the page documents ``application/json`` with body ``null`` (what FastAPI renders for a
    ``StreamingResponse``); the stream is really ``text/event-stream`` (Server-Sent Events). It
    opens with ``event: run`` (the run, as Get Run returns it); then, whenever a step changes
    status, ``event: step`` (the step, as in Get Run Steps) and, when the run's status changes,
    ``event: run``. Every event has ``id: <n>`` counting from 1 and ``data:`` one JSON line. The
    stream ends after the event that shows a terminal run status (at once for a run that is
    already terminal). An unknown run is 404 before streaming starts.
11. Steps: step ``status`` is ``pending | running | completed | failed | cancelled | skipped``
    (page: "status": "string"); steps after a failed one are ``skipped``, steps stopped or never
    reached by a cancel are ``cancelled``. The four counts count only their own status, so
    cancelled and skipped steps are in none. ``result`` is an object for completed steps and
    ``null`` otherwise; ``resultTruncated`` is always ``false``; ``decisionId`` is ``null``;
    ``actionRunId`` is set once a step has started.
12. Seed runs: the page's example id ``497f6eca-6276-4993-bfeb-53cbbbba6f08`` is a live run created
    with the app (pending -> running -> completed); one run completed a day ago, one failed two
    hours ago at its third step, one was cancelled an hour ago during its second step.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Cookie, Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

EXAMPLE_RUN_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


# --------------------------------------------------------------------------- schemas


class RunStatus(StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.completed, RunStatus.failed, RunStatus.cancelled})


class OrchestratorType(StrEnum):
    local = "local"
    kubernetes = "kubernetes"


class TriggerSourceType(StrEnum):
    user = "user"
    schedule = "schedule"
    webhook = "webhook"
    api_key = "api_key"


class TriggerType(StrEnum):
    manual = "manual"
    scheduled = "scheduled"
    webhook = "webhook"
    api = "api"


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AutomationRun(CamelModel):
    id: str
    automation_id: str
    automation_version_id: str
    version_number: int
    tenant_id: str
    status: RunStatus
    orchestrator_type: OrchestratorType
    trigger_type: TriggerType
    trigger_source_type: TriggerSourceType
    trigger_source_id: str | None = None
    concurrency_key: str | None = None
    external_job_id: str | None = None
    error: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None


class AutomationRunList(CamelModel):
    items: list[AutomationRun]
    total: int


class RunStep(CamelModel):
    key: str
    name: str
    status: str
    depends_on: list[str] = Field(default_factory=list)
    action_run_id: str | None = None
    decision_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    result: dict[str, Any] | None = None
    result_truncated: bool = False
    error: dict[str, Any] | None = None


class RunSteps(CamelModel):
    automation_run_id: str
    completed_count: int
    failed_count: int
    pending_count: int
    running_count: int
    steps: list[RunStep]


class RetryRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel)

    mode: Literal["from_failed", "from_step", "full"] = "from_failed"
    step_key: str | None = None

    @model_validator(mode="after")
    def _step_key_for_from_step(self) -> Self:
        if self.mode == "from_step" and not self.step_key:
            raise ValueError("stepKey is required when mode is 'from_step'")
        return self


# --------------------------------------------------------------------------- in-memory store


@dataclass(frozen=True)
class StepPlan:
    key: str
    name: str
    depends_on: tuple[str, ...] = ()


PIPELINE: tuple[StepPlan, ...] = (
    StepPlan("fetch-input", "Fetch input documents"),
    StepPlan("extract-fields", "Extract fields", ("fetch-input",)),
    StepPlan("validate-fields", "Validate extracted fields", ("extract-fields",)),
    StepPlan("publish-results", "Publish results", ("validate-fields",)),
)


def _new_id() -> str:
    return str(uuid.uuid4())


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


@dataclass
class RunRecord:
    """What the store keeps; everything time-dependent is derived by :meth:`snapshot`."""

    id: str
    automation_id: str
    automation_version_id: str
    version_number: int
    tenant_id: str
    created_at: datetime
    step_seconds: float
    steps: tuple[StepPlan, ...] = PIPELINE
    fail_step: str | None = None
    trigger_source_id: str | None = None
    carried: dict[str, RunStep] = field(default_factory=dict)
    cancelled_at: datetime | None = None
    action_run_ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for plan in self.steps:
            self.action_run_ids.setdefault(plan.key, _new_id())

    def snapshot(self, now: datetime) -> tuple[AutomationRun, list[RunStep]]:
        step = timedelta(seconds=self.step_seconds)
        cancelled = self.cancelled_at is not None and self.cancelled_at <= now
        # Past the cancel, nothing moves any more.
        at = min(now, self.cancelled_at) if cancelled and self.cancelled_at else now
        started_at = self.created_at + step
        steps: list[RunStep] = []
        failure: tuple[datetime, str] | None = None
        last_end = started_at
        index = 0
        for plan in self.steps:
            if plan.key in self.carried:
                steps.append(self.carried[plan.key].model_copy(deep=True))
                continue
            begin = started_at + index * step
            end = begin + step
            index += 1
            view = RunStep(key=plan.key, name=plan.name, status="pending", depends_on=list(plan.depends_on))
            if failure is not None:
                view.status = "cancelled" if cancelled else "skipped"
            elif begin > at or (begin == at and cancelled):
                view.status = "cancelled" if cancelled else "pending"
            elif end > at:
                view.action_run_id = self.action_run_ids[plan.key]
                view.started_at = begin
                if cancelled:
                    view.status = "cancelled"
                    view.completed_at = self.cancelled_at
                    view.duration_seconds = _seconds(begin, self.cancelled_at)
                else:
                    view.status = "running"
            else:
                view.action_run_id = self.action_run_ids[plan.key]
                view.started_at, view.completed_at = begin, end
                view.duration_seconds = _seconds(begin, end)
                if plan.key == self.fail_step:
                    view.status = "failed"
                    view.error = {
                        "type": "StepExecutionError",
                        "message": f"Step '{plan.key}' failed: upstream service returned 503",
                    }
                    failure = (end, plan.key)
                else:
                    view.status = "completed"
                    view.result = {"ok": True, "step": plan.key}
            last_end = end if failure is None else failure[0]
            steps.append(view)

        run_status: RunStatus
        run_started: datetime | None = started_at if at >= started_at else None
        completed_at: datetime | None = None
        error: dict[str, Any] | None = None
        if cancelled:
            run_status, completed_at = RunStatus.cancelled, self.cancelled_at
        elif run_started is None:
            run_status = RunStatus.pending
        elif failure is not None:
            run_status, completed_at = RunStatus.failed, failure[0]
            error = {
                "type": "StepExecutionError",
                "message": f"Step '{failure[1]}' failed",
                "stepKey": failure[1],
            }
        elif last_end <= at:
            run_status, completed_at = RunStatus.completed, last_end
        else:
            run_status = RunStatus.running

        moments = [self.created_at, run_started, completed_at]
        for view in steps:
            moments += [view.started_at, view.completed_at]
        updated_at = max(m for m in moments if m is not None and m <= now)
        run = AutomationRun(
            id=self.id,
            automation_id=self.automation_id,
            automation_version_id=self.automation_version_id,
            version_number=self.version_number,
            tenant_id=self.tenant_id,
            status=run_status,
            orchestrator_type=OrchestratorType.local,
            trigger_type=TriggerType.manual,
            trigger_source_type=TriggerSourceType.user,
            trigger_source_id=self.trigger_source_id,
            error=error,
            created_at=self.created_at,
            updated_at=updated_at,
            started_at=run_started,
            completed_at=completed_at,
            duration_seconds=_seconds(run_started, completed_at),
        )
        return run, steps


class RunStore:
    def __init__(self, step_seconds: float) -> None:
        self.step_seconds = step_seconds
        self.runs: dict[str, RunRecord] = {}

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def add(self, record: RunRecord) -> RunRecord:
        self.runs[record.id] = record
        return record

    def get(self, run_id: UUID) -> RunRecord:
        record = self.runs.get(str(run_id))
        if record is None:
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Run not found")
        return record

    def seed(self) -> None:
        now = self.now()
        tenant, automation, version, user = _new_id(), _new_id(), _new_id(), _new_id()
        common: dict[str, Any] = {
            "automation_id": automation,
            "automation_version_id": version,
            "version_number": 3,
            "tenant_id": tenant,
            "trigger_source_id": user,
        }
        self.add(RunRecord(id=_new_id(), created_at=now - timedelta(days=1), step_seconds=20, **common))
        self.add(
            RunRecord(
                id=_new_id(),
                created_at=now - timedelta(hours=2),
                step_seconds=15,
                fail_step="validate-fields",
                **common,
            )
        )
        cancelled = RunRecord(id=_new_id(), created_at=now - timedelta(hours=1), step_seconds=30, **common)
        cancelled.cancelled_at = cancelled.created_at + timedelta(seconds=75)  # during step two
        self.add(cancelled)
        self.add(RunRecord(id=EXAMPLE_RUN_ID, created_at=now, step_seconds=self.step_seconds, **common))

    def cancel(self, record: RunRecord) -> None:
        now = self.now()
        run, _ = record.snapshot(now)
        if run.status in TERMINAL_STATUSES:
            raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"Run is already {run.status}")
        record.cancelled_at = now

    def retry(self, record: RunRecord, request: RetryRequest) -> RunRecord:
        run, steps = record.snapshot(self.now())
        if run.status not in (RunStatus.failed, RunStatus.cancelled):
            raise HTTPException(
                status_code=status.HTTP_409_CONFLICT, detail="Only failed or cancelled runs can be retried"
            )
        keys = [view.key for view in steps]
        if request.mode == "full":
            resume = 0
        elif request.mode == "from_step":
            if request.step_key not in keys:
                raise HTTPException(
                    status_code=status.HTTP_400_BAD_REQUEST, detail=f"Unknown stepKey '{request.step_key}'"
                )
            resume = keys.index(request.step_key)
            blocked = next((view.key for view in steps[:resume] if view.status != "completed"), None)
            if blocked is not None:
                raise HTTPException(
                    status_code=status.HTTP_409_CONFLICT,
                    detail=f"Cannot retry from '{request.step_key}': step '{blocked}' did not complete",
                )
        else:
            resume = next(i for i, view in enumerate(steps) if view.status != "completed")
        return self.add(
            RunRecord(
                id=_new_id(),
                automation_id=record.automation_id,
                automation_version_id=record.automation_version_id,
                version_number=record.version_number,
                tenant_id=record.tenant_id,
                trigger_source_id=record.trigger_source_id,
                created_at=self.now(),
                step_seconds=self.step_seconds,
                steps=record.steps,
                carried={view.key: view for view in steps[:resume]},
            )
        )


# --------------------------------------------------------------------------- auth


def make_authenticator(token: str) -> Callable[..., Awaitable[None]]:
    async def authenticate(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
        vai_token: Annotated[str | None, Cookie()] = None,
    ) -> None:
        if authorization is not None:
            scheme, _, credentials = authorization.partition(" ")
            supplied: str | None = credentials.strip() if scheme.lower() == "bearer" else None
        elif x_api_key is not None:
            supplied = x_api_key
        elif vai_token is not None:
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


# --------------------------------------------------------------------------- routes


def _sse(event_id: int, event: str, model: BaseModel) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {model.model_dump_json(by_alias=True)}\n\n"


def build_router(store: RunStore, token: str) -> APIRouter:
    router = APIRouter(
        prefix="/automation-runs",
        tags=["Automation runs"],
        dependencies=[Depends(make_authenticator(token))],
    )

    @router.get("", response_model=AutomationRunList, summary="List All Runs")
    async def list_runs(
        status: Annotated[RunStatus | None, Query()] = None,
        limit: Annotated[int, Query(le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> AutomationRunList:
        now = store.now()
        runs = [record.snapshot(now)[0] for record in store.runs.values()]
        if status is not None:
            runs = [run for run in runs if run.status == status]
        runs.sort(key=lambda run: run.created_at, reverse=True)
        return AutomationRunList(items=runs[offset : offset + max(limit, 0)], total=len(runs))

    @router.get("/{run_id}", response_model=AutomationRun, summary="Get Run")
    async def get_run(run_id: UUID) -> AutomationRun:
        return store.get(run_id).snapshot(store.now())[0]

    @router.post("/{run_id}/cancel", response_model=AutomationRun, summary="Cancel Run")
    async def cancel_run(run_id: UUID) -> AutomationRun:
        record = store.get(run_id)
        store.cancel(record)
        return record.snapshot(store.now())[0]

    @router.get("/{run_id}/events", summary="Stream Run Events")
    async def stream_run_events(run_id: UUID, request: Request) -> StreamingResponse:
        record = store.get(run_id)
        poll = max(0.01, min(0.25, store.step_seconds / 5))

        async def events() -> AsyncIterator[str]:
            event_id = 1
            run, steps = record.snapshot(store.now())
            yield _sse(event_id, "run", run)
            seen = {view.key: view.status for view in steps}
            while run.status not in TERMINAL_STATUSES:
                await asyncio.sleep(poll)
                if await request.is_disconnected():
                    return
                previous = run.status
                run, steps = record.snapshot(store.now())
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
    async def retry_run(run_id: UUID, body: RetryRequest) -> AutomationRun:
        record = store.retry(store.get(run_id), body)
        return record.snapshot(store.now())[0]

    @router.get("/{run_id}/steps", response_model=RunSteps, summary="Get Run Steps")
    async def get_run_steps(run_id: UUID) -> RunSteps:
        record = store.get(run_id)
        _, steps = record.snapshot(store.now())

        def count(step_status: str) -> int:
            return sum(1 for view in steps if view.status == step_status)

        return RunSteps(
            automation_run_id=record.id,
            completed_count=count("completed"),
            failed_count=count("failed"),
            pending_count=count("pending"),
            running_count=count("running"),
            steps=steps,
        )

    return router


def create_app(token: str, *, step_seconds: float = 0.5) -> FastAPI:
    """The service with a freshly seeded store; ``token`` is the only credential accepted."""
    store = RunStore(step_seconds)
    store.seed()
    app = FastAPI(title="Automation runs", version="1.0.0")
    app.state.store = store
    app.include_router(build_router(store, token), prefix="/api/v1")
    return app
