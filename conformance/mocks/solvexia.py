"""SolveXia process runs: a stateful mock of the documented ``/v1/processruns`` endpoints.

Process runs walk Scheduled → Running → Finished once started, can be cancelled while
active and restarted from one of their steps once they are not. Steps follow their run: a
start runs the data steps (the steps list), a restart the chosen step and the data steps after it.
Every request that reads or moves a run's state observes it, and each observation (or
each half second of clock time) takes a started run one state further.
In ``faithful`` mode the answers look like the vendor's page examples (every catalogued
response quirk of ``specs/quirks/solvexia.yaml``); in ``strict`` mode like the schema pages.

The OAuth 2.0 token endpoint is ``solvexia_oauth.AuthorizationServer``'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp

from conformance.mocks.base import (
    CaseInsensitivePaths,
    handles,
    iso,
    json_response,
)
from conformance.mocks.calls import Call, RequestRejected
from conformance.mocks.runs import Run
from conformance.mocks.solvexia_oauth import AuthorizationServer

#: States a started run walks through on its own.
STARTED_PATH = ["Scheduled", "Running", "Finished"]
#: States a run restarted from one of its steps walks through.
RESTARTED_PATH = ["Running", "Finished"]
#: States in which a run is active: it can be cancelled, but not started or restarted.
ACTIVE_STATES = frozenset({"Scheduled", "Running"})
#: The step state each terminal run state leaves its unfinished steps in.
STEP_OUTCOME = {"Finished": "Success", "Cancelled": "Cancelled", "TimedOut": "Failed"}
RUNNING_STEP_MESSAGE = "step is currently running"


@dataclass
class Step:
    """A step of a process run with its latest run status; data steps also have a place in the list."""

    id: str
    status: str = "NotStarted"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    message: str = ""
    name: str | None = None
    ordered_name: str | None = None
    enabled: bool = True

    @property
    def is_data_step(self) -> bool:
        return self.ordered_name is not None

    def reset(self, status: str, now: datetime | None = None, message: str = "") -> None:
        self.status, self.started_at, self.ended_at, self.message = status, now, None, message


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seconds_between(start: datetime | None, end: datetime) -> float | None:
    """A duration in seconds to the millisecond, the precision of the timestamps shown with it."""
    return None if start is None else round((end - start).total_seconds(), 3)


class Mock(AuthorizationServer):
    name = "solvexia"
    auth_status = 403  # the vendor documents no 401: missing and invalid tokens are forbidden

    records: dict[str, dict[str, Any]]  # the Process Run objects, by id
    steps: dict[str, list[Step]]  # each run's steps, in process order

    # -- store --------------------------------------------------------------------------
    def seed(self) -> None:
        """The runs, steps and step run of the process runs page's examples."""
        now = self.clock.now()
        created = utc("2020-06-15T02:24:14.270")
        self.records = {
            "pr-114278": {
                "id": "pr-114278",
                "name": "processapitest : run #1",
                "process": "p-114273",
                "alertEmailAddress": "",
                "alertSMS": "",
                "description": "Description here",
                "lastModifiedBy": "usa.john.adams",
                "dateModified": created,
                "dateCreated": created,
            },
            # pr-263 appears only in the cancel example; its record reuses pr-114278's process.
            "pr-263": {
                "id": "pr-263",
                "name": "processapitest : run #2",
                "process": "p-114273",
                "alertEmailAddress": "",
                "alertSMS": "",
                "description": "",
                "lastModifiedBy": "usa.john.adams",
                "dateModified": created,
                "dateCreated": created,
            },
        }
        # The run status example: pr-114278 was cancelled after 932 seconds.
        self.runs["pr-114278"] = Run(
            "pr-114278",
            ["Cancelled"],
            created_at=now,
            started_at=utc("2025-02-05T22:40:19.923"),
            ended_at=utc("2025-02-05T22:55:51.923"),
        )
        # The cancel example: pr-263 was running (for 48 seconds) when it was cancelled.
        self.runs["pr-263"] = Run(
            "pr-263", ["Running"], created_at=now, started_at=now - timedelta(seconds=48)
        )
        step_started = utc("2025-01-13T03:51:03.270")
        self.steps = {
            "pr-114278": [
                Step("ds-114279", name="New data step", ordered_name="1.1"),
                Step("ds-114278", name="New data step 2", ordered_name="1.2"),
                # Not a data step (it is absent from the steps list) but it has a run status; having
                # no place in the step order, it runs again only when the run is restarted from it.
                Step(
                    "as-20682",
                    status="Cancelled",
                    started_at=step_started,
                    ended_at=step_started + timedelta(seconds=2),
                ),
            ],
            "pr-263": [],
        }

    def current(self, run_id: str) -> Run:
        """The run after one more observation, with its steps brought in line with it."""
        run = self.observe(self.find_run(run_id))
        self.sync_steps(run)
        return run

    def sync_steps(self, run: Run) -> None:
        """Steps waiting for their run start with it, and unfinished ones end with it."""
        for step in self.steps[run.id]:
            if run.state == "Running" and step.status == "Scheduled":
                step.reset("Running", run.started_at, RUNNING_STEP_MESSAGE)
            elif run.state in STEP_OUTCOME and step.status in ("Scheduled", "Running"):
                step.status, step.ended_at, step.message = STEP_OUTCOME[run.state], run.ended_at, ""

    def find_step(self, run_id: str, step_id: str) -> Step:
        for step in self.steps[run_id]:
            if step.id == step_id:
                return step
        raise RequestRejected(404, f"step {step_id} was not found in process run {run_id}")

    def example_ids(self) -> dict[str, list[str]]:
        """The process its runs belong to, the runs, and their steps (a restart names one)."""
        return {
            "process": sorted({record["process"] for record in self.records.values()}),
            "process run": list(self.runs),
            "step": list(dict.fromkeys(step.id for steps in self.steps.values() for step in steps)),
        }

    # -- moves --------------------------------------------------------------------------
    def start(self, run_id: str) -> Run:
        run = self.current(run_id)
        if run.state in ACTIVE_STATES:
            raise RequestRejected(400, f"process run {run_id} is {run.state} and cannot be started")
        started = Run(run_id, list(STARTED_PATH), created_at=self.clock.now())
        self.runs[run_id] = started
        for step in self.steps[run_id]:
            if step.is_data_step:
                step.reset("Scheduled")
        return started

    def cancel(self, run_id: str) -> Run:
        run = self.current(run_id)
        if run.state not in ACTIVE_STATES:
            raise RequestRejected(400, f"process run {run_id} is {run.state}, not running: nothing to cancel")
        self.move(run, "Cancelled")
        self.sync_steps(run)
        return run

    def restart(self, run_id: str, step_id: str) -> Step:
        run = self.current(run_id)
        step = self.find_step(run_id, step_id)
        if run.state in ACTIVE_STATES:
            raise RequestRejected(400, f"process run {run_id} is {run.state}; cancel it before restarting")
        now = self.clock.now()
        self.runs[run_id] = Run(run_id, list(RESTARTED_PATH), created_at=now, started_at=now)
        if step.is_data_step:
            data_steps = [each for each in self.steps[run_id] if each.is_data_step]
            for later in data_steps[data_steps.index(step) + 1 :]:
                later.reset("Scheduled")
        step.reset("Running", now, RUNNING_STEP_MESSAGE)
        return step

    # -- bodies -------------------------------------------------------------------------
    def run_status(self, run: Run, *, cancel_answer: bool = False) -> dict[str, Any]:
        """A Process Run Status; faithful cancel answers copy the cancel example's shape."""
        duration = seconds_between(run.started_at, run.ended_at or self.clock.now())
        if self.faithful and cancel_answer:
            return {
                "id": run.id,
                "dateFinished": None,
                "dateStarted": "",
                "runDurationInSec": duration,
                "status": run.state,
            }
        offset = not self.faithful  # the run status example's timestamps carry no offset
        return {
            "id": run.id,
            "dateStarted": iso(run.started_at, offset=offset),
            "dateFinished": iso(run.ended_at, offset=offset),
            "runDurationInSeconds": duration,
            "status": run.state,
        }

    def step_status(self, step: Step) -> dict[str, Any]:
        """A Step Run Status; faithful answers use the examples' names, casing and empty finish."""
        duration = seconds_between(step.started_at, step.ended_at or self.clock.now())
        if not self.faithful:
            return {
                "id": step.id,
                "dateStarted": iso(step.started_at),
                "dateFinished": iso(step.ended_at),
                "runDurationInSeconds": duration,
                "status": step.status,
                "completionMessage": step.message,
            }
        cancelled = step.status == "Cancelled"
        return {
            "id": step.id,
            "dateFinished": None if cancelled else iso(step.ended_at, digits=2),
            "dateStarted": iso(step.started_at, digits=2),
            "runDurationInSec": duration,
            "status": "cancelled" if cancelled else step.status,
            "completionMessage": step.message,
        }

    def process_run(self, record: dict[str, Any]) -> dict[str, Any]:
        """A Process Run; the faithful dates have seven fraction digits and no offset, as documented."""
        dates = {
            key: iso(record[key], offset=False, digits=7) if self.faithful else iso(record[key])
            for key in ("dateModified", "dateCreated")
        }
        return {**record, **dates}

    def data_step(self, step: Step) -> dict[str, Any]:
        order_key = "stepOrder" if self.faithful else "orderedName"
        return {"isEnabled": step.enabled, order_key: step.ordered_name, "id": step.id, "name": step.name}

    # -- handlers -----------------------------------------------------------------------
    @handles("getProcessRun")
    async def get_process_run(self, call: Call) -> Response:
        await require_empty_body(call)
        self.find_run(call.path["processRunId"])
        return json_response(self.process_run(self.records[call.path["processRunId"]]))

    @handles("startProcessRun")
    async def start_process_run(self, call: Call) -> Response:
        await require_empty_body(call)
        return json_response(self.run_status(self.start(call.path["processRunId"])))

    @handles("cancelProcessRun")
    async def cancel_process_run(self, call: Call) -> Response:
        await require_empty_body(call)
        return json_response(self.run_status(self.cancel(call.path["processRunId"]), cancel_answer=True))

    @handles("processRunRequest")
    async def process_run_request(self, call: Call) -> Response:
        run_id = call.body["processRunId"]
        if call.body["request"] == "ProcessRun_StartRq":
            return json_response(self.run_status(self.start(run_id)))
        return json_response(self.run_status(self.cancel(run_id), cancel_answer=True))

    @handles("getProcessRunStatus")
    async def get_process_run_status(self, call: Call) -> Response:
        await require_empty_body(call)
        return json_response(self.run_status(self.current(call.path["processRunId"])))

    @handles("listProcessRunSteps")
    async def list_process_run_steps(self, call: Call) -> Response:
        await require_empty_body(call)
        run_id = call.path["processRunId"]
        self.find_run(run_id)
        return json_response([self.data_step(step) for step in self.steps[run_id] if step.is_data_step])

    @handles("getStepRunStatus")
    async def get_step_run_status(self, call: Call) -> Response:
        await require_empty_body(call)
        run_id = call.path["processRunId"]
        self.current(run_id)
        return json_response(self.step_status(self.find_step(run_id, call.path["stepId"])))

    @handles("restartStepFromHere")
    async def restart_step_from_here(self, call: Call) -> Response:
        await require_empty_body(call)
        step = self.restart(call.path["processRunId"], call.path["stepId"])
        return json_response(self.step_status(step))

    # -- vendor specifics ---------------------------------------------------------------
    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        """The general error object every non-200 answer carries (details are not part of it)."""
        return json_response({"message": message, "supportId": str(uuid.uuid4())}, status)

    def app(self) -> ASGIApp:
        """In faithful mode paths match regardless of case: the page spells one path ``processRuns``."""
        app = super().app()
        if not self.faithful:
            return app
        paths = {self.spec.server_path(op) + op.path for op in self.spec.operations.values()}
        return CaseInsensitivePaths(app, sorted(paths))


async def require_empty_body(call: Call) -> None:
    """Every endpoint but the deprecated one documents: "The request body must be empty"."""
    if await call.request.body():
        raise RequestRejected(400, "the request body must be empty")
