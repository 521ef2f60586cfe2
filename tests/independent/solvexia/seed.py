"""Default tenant identifiers and the runs the server holds when it starts.

The ids follow the shapes of the vendor's examples (``pr-…`` process runs, ``p-…`` processes,
``ds-…`` data steps, ``as-…`` action steps); the credentials are made up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from .store import (
    CANCELLED,
    FAILED,
    FINISHED,
    FOREVER_TICKS,
    SKIPPED,
    SUCCESS,
    TIMED_OUT,
    Execution,
    Run,
    Step,
    StepState,
)

PROCESS_ID = "p-114273"
PROCESS_RUN_ID = "pr-114278"
RUNNING_RUN_ID = "pr-263"
FINISHED_RUN_ID = "pr-114290"
CANCELLED_RUN_ID = "pr-114291"
TIMED_OUT_RUN_ID = "pr-114292"
DATA_STEP_ID = "ds-114279"
SECOND_DATA_STEP_ID = "ds-114278"
DISABLED_STEP_ID = "ds-114280"
ACTION_STEP_ID = "as-20682"
CLIENT_ID = "DDF-0000TEST-1111-4000-8000-INDEPENDENT1"
CLIENT_SECRET = "made-up-secret-for-tests-only"
TOKEN = "made-up-bearer-token-for-tests-only.0001"


@dataclass(frozen=True)
class Tenant:
    """Every identifier and credential a client needs; each is a keyword of ``serve()``."""

    process_id: str = PROCESS_ID
    process_run_id: str = PROCESS_RUN_ID
    running_run_id: str = RUNNING_RUN_ID
    finished_run_id: str = FINISHED_RUN_ID
    cancelled_run_id: str = CANCELLED_RUN_ID
    timed_out_run_id: str = TIMED_OUT_RUN_ID
    data_step_id: str = DATA_STEP_ID
    second_data_step_id: str = SECOND_DATA_STEP_ID
    disabled_step_id: str = DISABLED_STEP_ID
    action_step_id: str = ACTION_STEP_ID
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    token: str = TOKEN

    def ids(self) -> dict[str, str]:
        """The identifiers (not the credentials) by keyword name."""
        secret = {"client_id", "client_secret", "token"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in secret}


def _at(text: str) -> float:
    """A fixed UTC wall-clock instant for the historical seeded runs."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _steps(t: Tenant) -> list[Step]:
    """The same four steps in every seeded run (steps are addressed within their run)."""
    return [
        Step(t.data_step_id, "New data step", "1.1"),
        Step(t.second_data_step_id, "New data step 2", "1.2"),
        Step(t.disabled_step_id, "Archived inputs", "1.3", enabled=False, ticks=0),
        Step(t.action_step_id, "Reconcile ledgers", "2.1", is_data=False),
    ]


def _done(start: float, seconds: list[float], last: StepState | None = None) -> list[StepState]:
    """Step states of a historical run: three steps ran back to back, then ``last``."""
    t1, t2 = start + seconds[0], start + seconds[0] + seconds[1]
    tail = last or StepState(SUCCESS, t2, start + sum(seconds))
    return [StepState(SUCCESS, start, t1), StepState(SUCCESS, t1, t2), StepState(SKIPPED, t2, t2), tail]


def seed_runs(t: Tenant, now: float) -> list[Run]:
    """One run of each kind: startable, running for ever, finished, cancelled, timed out."""
    created = _at("2020-06-15T02:24:14.270")
    base = {
        "process": t.process_id,
        "last_modified_by": "usa.john.adams",
        "created": created,
        "modified": created,
    }
    fin, can, tim = _at("2025-02-05T22:40:19.923"), _at("2025-01-13T03:51:01.270"), _at("2025-01-20T07:00:00")
    forever = [*_steps(t)[:3], Step(t.action_step_id, "Reconcile ledgers", "2.1", False, True, FOREVER_TICKS)]
    return [
        Run(
            t.process_run_id,
            "processapitest : run #1",
            description="Description here",
            steps=_steps(t),
            **base,
        ),
        Run(
            t.running_run_id,
            "processapitest : run #2",
            description="Runs until cancelled",
            steps=forever,
            execution=Execution(requested=now - 60.0, first=0, scheduled=False),
            status="Running",
            **base,
        ),
        Run(
            t.finished_run_id,
            "processapitest : run #3",
            description="Finished run",
            steps=_steps(t),
            status=FINISHED,
            started=fin,
            finished=fin + 932,
            states=_done(fin, [400, 300, 232]),
            **base,
        ),
        Run(
            t.cancelled_run_id,
            "processapitest : run #4",
            description="Cancelled run",
            steps=_steps(t),
            status=CANCELLED,
            started=can,
            finished=can + 48,
            states=_done(can, [1, 1], StepState(CANCELLED, can + 2, can + 48)),
            **base,
        ),
        Run(
            t.timed_out_run_id,
            "processapitest : run #5",
            description="Run that timed out",
            steps=_steps(t),
            status=TIMED_OUT,
            started=tim,
            finished=tim + 3600,
            states=_done(tim, [30, 30], StepState(FAILED, tim + 60, tim + 3600, "Step timed out.")),
            **base,
        ),
    ]
