"""Runs kept in memory, their state derived from the wall clock so every timestamp agrees.

A run waits one ``step_seconds`` as ``pending``, then runs each step for ``step_seconds`` and
ends ``completed`` (or ``failed`` at its failing step); a cancel freezes the timeline.
"""

import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import HTTPException, status

from .models import (
    TERMINAL_STATUSES,
    AutomationRun,
    OrchestratorType,
    RetryRequest,
    RunStatus,
    RunStep,
    TriggerSourceType,
    TriggerType,
)

EXAMPLE_RUN_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
#: How long each step of the seeded long-running run takes: hours, so a client can always cancel it.
LONG_STEP_SECONDS = 3600.0
VERSION_NUMBER = 3


@dataclass(frozen=True)
class Ids:
    """The tenant-specific ids a server uses; the run ids must be canonical UUIDs (paths are uuid)."""

    tenant_id: str = "6f1c2a0e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    automation_id: str = "a3e1f2d4-5b6c-4d7e-8f90-1a2b3c4d5e6f"
    automation_version_id: str = "b7c8d9e0-1f2a-4b3c-9d4e-5f6a7b8c9d0e"
    user_id: str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
    example_run_id: str = EXAMPLE_RUN_ID
    running_run_id: str = "d4e5f6a7-b8c9-4dae-bf01-2c3d4e5f6a7b"
    completed_run_id: str = "e5f6a7b8-c9da-4ebf-8012-3d4e5f6a7b8c"
    failed_run_id: str = "f6a7b8c9-daeb-4fc0-9123-4e5f6a7b8c9d"
    cancelled_run_id: str = "0a7b8c9d-ebfc-4d01-a234-5f6a7b8c9d0e"

    def __post_init__(self) -> None:
        run_ids = [getattr(self, f.name) for f in fields(self) if f.name.endswith("_run_id")]
        for run_id in run_ids:
            if str(UUID(run_id)) != run_id:
                raise ValueError(f"run id {run_id!r} is not a lower-case canonical UUID")
        if len(set(run_ids)) != len(run_ids):
            raise ValueError("run ids must differ")


DEFAULT_IDS = Ids()


@dataclass(frozen=True)
class StepPlan:
    """A step every run of the automation goes through."""

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
    ids: Ids
    created_at: datetime
    step_seconds: float
    steps: tuple[StepPlan, ...] = PIPELINE
    fail_step: str | None = None
    carried: dict[str, RunStep] = field(default_factory=dict)
    cancelled_at: datetime | None = None
    action_run_ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for plan in self.steps:
            self.action_run_ids.setdefault(plan.key, _new_id())

    def _step(self, plan: StepPlan, begin: datetime, at: datetime, cancelled: bool) -> RunStep:
        """One step not carried over from an earlier run, seen at ``at`` (no failure before it)."""
        end = begin + timedelta(seconds=self.step_seconds)
        view = RunStep(key=plan.key, name=plan.name, status="pending", depends_on=list(plan.depends_on))
        if begin > at or (begin == at and cancelled):
            view.status = "cancelled" if cancelled else "pending"
            return view
        view.action_run_id = self.action_run_ids[plan.key]
        view.started_at = begin
        if end > at:
            if cancelled:
                view.status, view.completed_at = "cancelled", self.cancelled_at
                view.duration_seconds = _seconds(begin, self.cancelled_at)
            else:
                view.status = "running"
            return view
        view.completed_at, view.duration_seconds = end, _seconds(begin, end)
        if plan.key == self.fail_step:
            view.status = "failed"
            view.error = {
                "type": "StepExecutionError",
                "message": f"Step '{plan.key}' failed: upstream service returned 503",
            }
        else:
            view.status, view.result = "completed", {"ok": True, "step": plan.key}
        return view

    def snapshot(self, now: datetime) -> tuple[AutomationRun, list[RunStep]]:
        """The run and its steps as they stand at ``now``."""
        step = timedelta(seconds=self.step_seconds)
        cancelled = self.cancelled_at is not None and self.cancelled_at <= now
        at = self.cancelled_at if cancelled and self.cancelled_at else now  # past a cancel nothing moves
        started_at = self.created_at + step
        steps: list[RunStep] = []
        failed: RunStep | None = None
        index = 0
        for plan in self.steps:
            if plan.key in self.carried:
                steps.append(self.carried[plan.key].model_copy(deep=True))
                continue
            begin = started_at + index * step
            index += 1
            if failed is not None:
                never = "cancelled" if cancelled else "skipped"
                view = RunStep(key=plan.key, name=plan.name, status=never, depends_on=list(plan.depends_on))
            else:
                view = self._step(plan, begin, at, cancelled)
                failed = view if view.status == "failed" else None
            steps.append(view)
        last_end = started_at + index * step

        run_started = started_at if at >= started_at else None
        completed_at: datetime | None = None
        error: dict[str, Any] | None = None
        if cancelled:
            run_status, completed_at = RunStatus.cancelled, self.cancelled_at
        elif run_started is None:
            run_status = RunStatus.pending
        elif failed is not None:
            run_status, completed_at = RunStatus.failed, failed.completed_at
            error = {
                "type": "StepExecutionError",
                "message": f"Step '{failed.key}' failed",
                "stepKey": failed.key,
            }
        elif last_end <= at:
            run_status, completed_at = RunStatus.completed, last_end
        else:
            run_status = RunStatus.running

        moments = [self.created_at, run_started, completed_at]
        for view in steps:
            moments += [view.started_at, view.completed_at]
        run = AutomationRun(
            id=self.id,
            automation_id=self.ids.automation_id,
            automation_version_id=self.ids.automation_version_id,
            version_number=VERSION_NUMBER,
            tenant_id=self.ids.tenant_id,
            status=run_status,
            orchestrator_type=OrchestratorType.local,
            trigger_type=TriggerType.manual,
            trigger_source_type=TriggerSourceType.user,
            trigger_source_id=self.ids.user_id,
            error=error,
            created_at=self.created_at,
            updated_at=max(m for m in moments if m is not None and m <= now),
            started_at=run_started,
            completed_at=completed_at,
            duration_seconds=_seconds(run_started, completed_at),
        )
        return run, steps


class RunStore:
    """All runs of one tenant, plus the behaviour breaks (see ``breaks.py``) that live in the store."""

    def __init__(self, step_seconds: float, ids: Ids, breaks: frozenset[str]) -> None:
        self.step_seconds = step_seconds
        self.ids = ids
        self.breaks = breaks
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

    def view(self, record: RunRecord, now: datetime | None = None) -> tuple[AutomationRun, list[RunStep]]:
        """What clients are told about ``record``; the only place a finished run may be reopened."""
        now = now or self.now()
        run, steps = record.snapshot(now)
        if "completed-run-reopens" in self.breaks and run.status == RunStatus.completed and run.completed_at:
            reopened = run.completed_at + timedelta(seconds=record.step_seconds)
            if reopened <= now:
                run = run.model_copy(
                    update={
                        "status": RunStatus.running,
                        "completed_at": None,
                        "duration_seconds": None,
                        "updated_at": reopened,
                    }
                )
        return run, steps

    def seed(self) -> None:
        """Five runs: completed, failed, long-running, cancelled, and the page's example run (live)."""
        now = self.now()
        ids = self.ids
        self.add(RunRecord(ids.completed_run_id, ids, now - timedelta(days=1), step_seconds=20))
        self.add(
            RunRecord(
                ids.failed_run_id, ids, now - timedelta(hours=2), step_seconds=15, fail_step="validate-fields"
            )
        )
        self.add(RunRecord(ids.running_run_id, ids, now - timedelta(minutes=90), LONG_STEP_SECONDS))
        cancelled = RunRecord(ids.cancelled_run_id, ids, now - timedelta(hours=1), step_seconds=30)
        cancelled.cancelled_at = cancelled.created_at + timedelta(seconds=75)  # during step two
        self.add(cancelled)
        self.add(RunRecord(ids.example_run_id, ids, now, self.step_seconds))

    def cancel(self, record: RunRecord) -> None:
        """Stop a pending or running run now; 409 for a finished one."""
        run, _ = self.view(record)
        if run.status in TERMINAL_STATUSES:
            raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"Run is already {run.status}")
        if "cancel-is-a-no-op" not in self.breaks:
            record.cancelled_at = self.now()

    def retry(self, record: RunRecord, request: RetryRequest) -> RunRecord:
        """A new run of a failed or cancelled one, carrying over the steps it need not redo."""
        run, steps = self.view(record)
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
            replace(
                record,
                id=_new_id(),
                created_at=self.now(),
                step_seconds=self.step_seconds,
                fail_step=None,
                carried={view.key: view for view in steps[:resume]},
                cancelled_at=None,
                action_run_ids={},
            )
        )
