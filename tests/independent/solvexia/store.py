"""In-memory process runs whose states are computed from the clock, so they really progress.

A run's progress is not pushed by a background thread: an active run holds an ``Execution``
(when it was asked to run, from which step) and every read resolves it against the clock,
one step per ``step_seconds``. Terminal outcomes are committed back into the run, so a
finished run stays finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

# Process Run Status Type and Process Step Run Status Type (process_runs_schemas.md).
NOT_STARTED, SCHEDULED, RUNNING, FINISHED, CANCELLED, TIMED_OUT = (
    "NotStarted",
    "Scheduled",
    "Running",
    "Finished",
    "Cancelled",
    "TimedOut",
)
SUCCESS, FAILED, SKIPPED = "Success", "Failed", "Skipped"
ACTIVE = frozenset({SCHEDULED, RUNNING})
RUNNING_MESSAGE = "step is currently running"
# Weight of the step that keeps the long-running seeded run busy (ticks of step_seconds).
FOREVER_TICKS = 10**9


class RunStateError(Exception):
    """The run is in a state that does not allow the requested action (answered 400)."""


@dataclass(frozen=True)
class Step:
    """A step of a process run: data steps hold inputs, action steps do the work."""

    id: str
    name: str
    order: str
    is_data: bool = True
    enabled: bool = True
    ticks: int = 1


@dataclass(frozen=True)
class StepState:
    """The run status of one step at one moment."""

    status: str = NOT_STARTED
    started: float | None = None
    finished: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Execution:
    """An active (scheduled or running) execution of a run, from step ``first`` onwards."""

    requested: float
    first: int
    scheduled: bool


@dataclass
class Run:
    """A process run: its descriptive fields plus its committed or in-flight state."""

    id: str
    name: str
    process: str
    description: str
    last_modified_by: str
    created: float
    modified: float
    steps: list[Step]
    status: str = NOT_STARTED
    started: float | None = None
    finished: float | None = None
    states: list[StepState] = field(default_factory=list)
    execution: Execution | None = None
    alert_email: str = ""
    alert_sms: str = ""

    def __post_init__(self) -> None:
        if not self.states:
            self.states = [StepState() for _ in self.steps]

    def step_index(self, step_id: str) -> int | None:
        """Position of ``step_id`` in this run, or None when the run has no such step."""
        return next((i for i, s in enumerate(self.steps) if s.id == step_id), None)


@dataclass(frozen=True)
class Snapshot:
    """A run's status as resolved at one instant; what every response is built from."""

    run: Run
    status: str
    started: float | None
    finished: float | None
    states: tuple[StepState, ...]
    at: float


class Store:
    """Thread-safe run storage; every state question is answered against ``clock``."""

    def __init__(self, runs: list[Run], step_seconds: float, clock: Callable[[], float] = time.time):
        self._runs = {r.id: r for r in runs}
        self._lock = threading.RLock()
        self.step_seconds = step_seconds
        self.clock = clock

    def snapshot(self, run_id: str) -> Snapshot | None:
        """The run's status now, or None for an unknown run."""
        with self._lock:
            run = self._runs.get(run_id)
            return None if run is None else self._resolve(run, self.clock())

    def start(self, run_id: str) -> Snapshot | None:
        """Schedule the whole run from its first step; refused while it is active."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return None
            now = self.clock()
            if self._resolve(run, now).status in ACTIVE:
                raise RunStateError(f"Process run {run_id} is already scheduled or running.")
            run.execution = Execution(requested=now, first=0, scheduled=True)
            run.states = [StepState() for _ in run.steps]
            run.status, run.started, run.finished = SCHEDULED, None, None
            return self._resolve(run, now)

    def cancel(self, run_id: str) -> Snapshot | None:
        """Stop an active run now; a cancelled run answers as it is, other runs are refused."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return None
            now = self.clock()
            snap = self._resolve(run, now)
            if snap.status == CANCELLED:
                return snap
            if snap.status not in ACTIVE:
                raise RunStateError(f"Process run {run_id} is not running (status {snap.status}).")
            run.states = [
                replace(s, status=CANCELLED, finished=now, message="") if s.status == RUNNING else s
                for s in snap.states
            ]
            run.status, run.started, run.finished, run.execution = CANCELLED, snap.started, now, None
            return self._resolve(run, now)

    def restart_from(self, run_id: str, step_id: str) -> tuple[Snapshot, int] | None:
        """Run again from ``step_id`` onwards, keeping earlier steps' outcomes; refused while active."""
        with self._lock:
            run = self._runs.get(run_id)
            index = None if run is None else run.step_index(step_id)
            if run is None or index is None:
                return None
            now = self.clock()
            snap = self._resolve(run, now)
            if snap.status in ACTIVE:
                raise RunStateError(f"Process run {run_id} is currently running; cancel it first.")
            run.states = list(snap.states[:index]) + [StepState() for _ in run.steps[index:]]
            run.execution = Execution(requested=now, first=index, scheduled=False)
            run.status, run.finished = RUNNING, None
            return self._resolve(run, now), index

    def _resolve(self, run: Run, now: float) -> Snapshot:
        """Work out where an execution has got to at ``now``; commit it once it has ended."""
        ex = run.execution
        if ex is None:
            return Snapshot(run, run.status, run.started, run.finished, tuple(run.states), now)
        states = list(run.states[: ex.first])
        t = ex.requested + (self.step_seconds if ex.scheduled else 0.0)
        if now < t:
            states += [StepState() for _ in run.steps[ex.first :]]
            return Snapshot(run, SCHEDULED, None, None, tuple(states), now)
        started = t
        for i, step in enumerate(run.steps[ex.first :], start=ex.first):
            if not step.enabled:
                states.append(StepState(SKIPPED, t, t))
                continue
            end = t + step.ticks * self.step_seconds
            if now < end:
                states.append(StepState(RUNNING, t, None, RUNNING_MESSAGE))
                states += [StepState() for _ in run.steps[i + 1 :]]
                return Snapshot(run, RUNNING, started, None, tuple(states), now)
            states.append(StepState(SUCCESS, t, end))
            t = end
        run.status, run.started, run.finished, run.states, run.execution = FINISHED, started, t, states, None
        return Snapshot(run, FINISHED, started, t, tuple(states), now)
