"""Mock of the Automation Runs API: a FastAPI-style service of automation runs and their steps.

The store holds the reference page's example run ``497f6eca-…`` (pending) and one run in each
other status of the contract. Retrying a failed or cancelled run starts a new run that walks
pending → running → completed as it is polled. ``faithful`` mode answers as the reference
page shows (an empty ``error: {}`` on runs and steps without an error, and the event stream
as ``application/json`` ``null``); ``strict`` mode answers the contract. Like FastAPI, a retry
body that cannot be read at all (not UTF-8) is a 400, while JSON that cannot be decoded is a 422.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conformance.contract.model import Operation
from conformance.mocks.base import Handler, Mode, VendorMock, handles, iso, json_response
from conformance.mocks.calls import Call, RequestRejected
from conformance.mocks.runs import Clock, Run

PENDING_RUN_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
RUNNING_RUN_ID = "5c0f3b8e-2d4a-4c1e-9b7f-8a6d2e1f4c30"
FAILED_RUN_ID = "9b2e7d4a-1f3c-4e8b-a6d5-3c7f0e2b1a94"
COMPLETED_RUN_ID = "c4a1e8f2-7b3d-4f6a-9e2c-5d8b1a0f7e63"
CANCELLED_RUN_ID = "e7d3b9a1-4c2f-4a8e-b5d6-0f1c3e9a2b78"

#: The timestamp of every example in the reference page.
DOCUMENT_TIME = datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)
#: (status, started, completed, error) of a step.
StepProgress = tuple[str, datetime | None, datetime | None, dict[str, Any] | None]
RETRYABLE_STATES = frozenset({"failed", "cancelled"})
STEP_STATES = ("completed", "failed", "pending", "running")
#: FastAPI's answer (400) to a request body it cannot read at all.
UNREADABLE_BODY = "There was an error parsing the body"


class UnreadableBody(Exception):
    """A request body that is not UTF-8: FastAPI answers 400, not a validation error."""


@dataclass(frozen=True)
class StepPlan:
    """One step of an automation; ``reused`` is a completed step carried over by a retry."""

    key: str
    name: str
    depends_on: tuple[str, ...]
    result: dict[str, Any]
    reused: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunPlan:
    """What a run executes: its automation's fields, its steps, and the step it fails at (if any)."""

    automation: dict[str, Any]
    steps: tuple[StepPlan, ...]
    fails_at: str | None = None


INVOICE_STEPS = (
    StepPlan("fetch-invoices", "Fetch invoices", (), {"invoices": 12}),
    StepPlan(
        "extract-totals", "Extract totals", ("fetch-invoices",), {"total": "1834.50", "currency": "EUR"}
    ),
    StepPlan("post-to-ledger", "Post to ledger", ("extract-totals",), {"ledgerEntryId": "LE-20190824-0042"}),
)
INVOICE_AUTOMATION: dict[str, Any] = {
    "automationId": "1b4e28ba-2fa1-4d2d-883f-0016d3cca427",
    "automationVersionId": "6ecd8c99-4036-403d-bf84-cf8400f67836",
    "versionNumber": 3,
    "tenantId": "3d6f0a8e-5b1c-4e7a-9c2d-7f4e1b0a9c85",
    "concurrencyKey": None,
    "externalJobId": None,
    "orchestratorType": "local",
    "triggerSourceId": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "triggerSourceType": "user",
    "triggerType": "manual",
}


class Mock(VendorMock):
    name = "automation_runs"
    validation_status = 422
    auth_status = 401

    def __init__(
        self, mode: Mode = Mode.FAITHFUL, token: str | None = None, clock: Clock | None = None
    ) -> None:
        self.plans: dict[str, RunPlan] = {}
        super().__init__(mode, token, clock)

    # -- store ---------------------------------------------------------------------------
    def seed(self) -> None:
        """The page's example run (pending) plus one run in every other status, all stable."""
        plan = RunPlan(INVOICE_AUTOMATION, INVOICE_STEPS)
        self._seed(PENDING_RUN_ID, ["pending"], plan, DOCUMENT_TIME, None, None)
        self._seed(RUNNING_RUN_ID, ["pending", "running"], plan, DOCUMENT_TIME + timedelta(hours=1), 2, None)
        self._seed(
            FAILED_RUN_ID,
            ["pending", "running", "failed"],
            replace(plan, fails_at="extract-totals"),
            DOCUMENT_TIME + timedelta(hours=2),
            3,
            45,
        )
        self._seed(
            COMPLETED_RUN_ID,
            ["pending", "running", "completed"],
            plan,
            DOCUMENT_TIME + timedelta(hours=3),
            2,
            62,
        )
        self._seed(
            CANCELLED_RUN_ID,
            ["pending", "running", "cancelled"],
            plan,
            DOCUMENT_TIME + timedelta(hours=4),
            1,
            10,
        )

    def _seed(
        self,
        run_id: str,
        path: list[str],
        plan: RunPlan,
        created: datetime,
        started_after: int | None,
        ended_after: int | None,
    ) -> None:
        """A run already at the end of ``path``: polling it never moves it further."""
        self.runs[run_id] = Run(
            run_id,
            path,
            created,
            index=len(path) - 1,
            history=list(path),
            started_at=None if started_after is None else created + timedelta(seconds=started_after),
            ended_at=None if ended_after is None else created + timedelta(seconds=ended_after),
        )
        self.plans[run_id] = plan

    def find_run(self, run_id: str) -> Run:
        run = self.runs.get(str(uuid.UUID(run_id)))
        if run is None:
            raise RequestRejected(404, "Automation run not found")
        return run

    def example_ids(self) -> dict[str, list[str]]:
        """The automation its runs belong to, and the runs."""
        return {"automation": [INVOICE_AUTOMATION["automationId"]], "run": list(self.runs)}

    # -- vendor specifics ----------------------------------------------------------------
    def authenticated(self, request: Request) -> bool:
        """Any one of ``authorization: Bearer``, ``X-API-Key`` or the ``vai_token`` cookie suffices."""
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        presented = [
            bearer.strip() if scheme.lower() == "bearer" else "",
            request.headers.get("x-api-key", ""),
            request.cookies.get("vai_token", ""),
        ]
        expected = self.token.encode()
        return any(secrets.compare_digest(value.encode(), expected) for value in presented if value)

    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        """FastAPI's bodies: a ``detail`` list for validation errors, a ``detail`` string otherwise."""
        if status == self.validation_status:
            problems = details or [{"loc": ["body"], "msg": message, "type": "value_error"}]
            return json_response({"detail": problems}, status)
        if status == self.auth_status:
            return json_response({"detail": "Not authenticated"}, status, {"WWW-Authenticate": "Bearer"})
        return json_response({"detail": message}, status)

    def _endpoint(
        self, by_method: dict[str, tuple[Operation, Handler]]
    ) -> Callable[[Request], Awaitable[Response]]:
        validated = super()._endpoint(by_method)

        async def endpoint(request: Request) -> Response:
            try:
                return await validated(request)
            except UnreadableBody:
                return self.error(400, UNREADABLE_BODY)

        return endpoint

    async def _body(self, request: Request, operation: Operation, problems: list[dict[str, Any]]) -> Any:
        if operation.definition.get("requestBody"):  # FastAPI reads only the bodies it expects
            try:
                (await request.body()).decode("utf-8")
            except UnicodeDecodeError:
                raise UnreadableBody from None
        return await super()._body(request, operation, problems)

    # -- rendering -----------------------------------------------------------------------
    def _no_error(self, quirk: str) -> dict[str, Any] | None:
        """The page shows ``error: {}`` where there is none (AR-009 runs, AR-010 steps); the
        contract says null."""
        return {} if self.reproduces(quirk) else None

    def run_body(self, run: Run) -> dict[str, Any]:
        plan = self.plans[run.id]
        moments = [moment for moment in (run.created_at, run.started_at, run.ended_at) if moment]
        error = None
        if run.state == "failed":
            step = plan.fails_at or plan.steps[0].key
            error = {"type": "StepFailed", "stepKey": step, "message": f"step {step} failed"}
        body = {
            **plan.automation,
            "id": run.id,
            "status": run.state,
            "createdAt": iso(run.created_at),
            "startedAt": iso(run.started_at),
            "completedAt": iso(run.ended_at),
            "updatedAt": iso(max(moments)),
            "durationSeconds": round(run.duration, 3) if run.ended_at and run.duration is not None else None,
            "error": error or self._no_error("AR-009"),
        }
        return dict(sorted(body.items()))

    def step_bodies(self, run: Run) -> list[dict[str, Any]]:
        """Steps derived from the run's status; reused steps keep what the retried run recorded."""
        plan = self.plans[run.id]
        fresh = [step for step in plan.steps if step.reused is None]
        progress = self._progress(run, plan, fresh)
        bodies = []
        for step in plan.steps:
            if step.reused is not None:
                bodies.append(step.reused)
                continue
            status, start, end, error = progress[step.key]
            bodies.append(
                {
                    "actionRunId": str(uuid.uuid5(uuid.UUID(run.id), step.key)) if start else None,
                    "completedAt": iso(end),
                    "decisionId": None,
                    "dependsOn": list(step.depends_on),
                    "durationSeconds": round((end - start).total_seconds(), 3) if start and end else None,
                    "error": error or self._no_error("AR-010"),
                    "key": step.key,
                    "name": step.name,
                    "result": step.result if status == "completed" else None,
                    "resultTruncated": False,
                    "startedAt": iso(start),
                    "status": status,
                }
            )
        return bodies

    def _progress(self, run: Run, plan: RunPlan, fresh: list[StepPlan]) -> dict[str, StepProgress]:
        """(status, started, completed, error) of each step the run executes itself."""
        progress: dict[str, StepProgress] = {step.key: ("pending", None, None, None) for step in fresh}
        began, ended = run.started_at, run.ended_at
        if not fresh or began is None or "running" not in run.history:
            return progress
        keys = [step.key for step in fresh]
        if run.state == "running":
            progress[keys[0]] = ("running", began, None, None)
            return progress
        if ended is None:  # not terminal either: nothing has run to an end
            return progress
        if run.state == "completed":
            done, last = len(keys), None
        elif run.state == "failed":
            done = keys.index(plan.fails_at) if plan.fails_at in keys else 0
            last = ("failed", {"type": "StepFailed", "message": f"step {keys[done]} failed"})
        else:
            done, last = 0, ("failed", {"type": "Cancelled", "message": "the run was cancelled"})
        slices = done + (1 if last else 0)
        share = (ended - began) / slices
        for index in range(done):
            progress[keys[index]] = ("completed", began + share * index, began + share * (index + 1), None)
        if last:
            status, error = last
            progress[keys[done]] = (status, began + share * done, ended, error)
        return progress

    def event_stream(self, run: Run) -> str:
        """One ``status`` event per status entered, stamped with when it was entered."""
        events = []
        for number, state in enumerate(run.history, start=1):
            moment: datetime | None
            if state in self.lifecycle.initial:
                moment = run.created_at
            elif state in self.running_states:
                moment = run.started_at
            else:
                moment = run.ended_at
            data = json.dumps({"runId": run.id, "status": state, "at": iso(moment)})
            events.append(f"id: {number}\nevent: status\ndata: {data}\n\n")
        return "".join(events)

    # -- operations ----------------------------------------------------------------------
    @handles("listAutomationRuns")
    async def list_runs(self, call: Call) -> Response:
        status = call.query.get("status")
        limit, offset = call.query.get("limit", 100), call.query.get("offset", 0)
        runs = [self.observe(run) for run in self.runs.values()]
        matching = sorted(
            (run for run in runs if status is None or run.state == status),
            key=lambda run: (run.created_at, run.id),
            reverse=True,
        )
        page = matching[offset : offset + max(limit, 0)]  # the page sets no lower bound on limit
        return json_response({"items": [self.run_body(run) for run in page], "total": len(matching)})

    @handles("getAutomationRun")
    async def get_run(self, call: Call) -> Response:
        return json_response(self.run_body(self.observe(self.find_run(call.path["run_id"]))))

    @handles("cancelAutomationRun")
    async def cancel_run(self, call: Call) -> Response:
        run = self.observe(self.find_run(call.path["run_id"]))
        if run.state in self.terminal_states:
            raise RequestRejected(409, f"Automation run is already {run.state} and cannot be cancelled")
        self.move(run, "cancelled")
        # startedAt is "when the run left pending": a cancel out of pending counts as leaving it.
        run.started_at = run.started_at or run.ended_at
        return json_response(self.run_body(run))

    @handles("streamAutomationRunEvents")
    async def stream_events(self, call: Call) -> Response:
        run = self.observe(self.find_run(call.path["run_id"]))
        if self.faithful:
            return json_response(None)
        return Response(
            self.event_stream(run), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @handles("retryAutomationRun")
    async def retry_run(self, call: Call) -> Response:
        """A new run of the same automation version, reusing the completed steps before the restart point."""
        original = self.observe(self.find_run(call.path["run_id"]))
        if original.state not in RETRYABLE_STATES:
            raise RequestRejected(
                409, f"Automation run is {original.state}; only failed or cancelled runs can be retried"
            )
        request = call.body or {}
        mode = request.get("mode", "from_failed")
        recorded = self.step_bodies(original)
        keys = [step["key"] for step in recorded]
        restart = next((i for i, step in enumerate(recorded) if step["status"] != "completed"), len(keys))
        if mode == "full":
            restart = 0
        elif mode == "from_step":
            step_key = request["stepKey"]
            if step_key not in keys:
                raise RequestRejected(404, f"Step {step_key} not found in this automation run")
            restart = min(restart, keys.index(step_key))
        plan = self.plans[original.id]
        steps = tuple(
            replace(step, reused=recorded[index] if index < restart else None)
            for index, step in enumerate(plan.steps)
        )
        run_id = str(uuid.uuid4())
        self.runs[run_id] = Run(run_id, ["pending", "running", "completed"], self.clock.now())
        self.plans[run_id] = RunPlan(plan.automation, steps)
        return json_response(self.run_body(self.runs[run_id]))

    @handles("getAutomationRunSteps")
    async def get_steps(self, call: Call) -> Response:
        run = self.observe(self.find_run(call.path["run_id"]))
        steps = self.step_bodies(run)
        counts = {status: sum(step["status"] == status for step in steps) for status in STEP_STATES}
        return json_response(
            {
                "automationRunId": run.id,
                **{f"{status}Count": count for status, count in counts.items()},
                "steps": steps,
            }
        )
