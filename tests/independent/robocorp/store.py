"""In-memory, thread-safe Control Room workspace: processes, process runs and their outputs.

A run's life is a list of timed state transitions, so its state is computed from the clock at read
time: runs really progress without a background ticker, and a stop rewrites the future transitions.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATES = ("new", "in_progress", "completed", "unresolved", "stopping")
TERMINAL_STATES = frozenset({"completed", "unresolved"})


class UnknownProcess(Exception):
    """The process id does not name a process of the workspace."""


class ProcessDisabled(Exception):
    """The process exists but is disabled, so it cannot be started (409)."""


def iso(ts: float) -> str:
    """RFC 3339 UTC timestamp with milliseconds, as OpenAPI ``date-time`` wants."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Process:
    """A process of the workspace; ``final_state`` is how its runs end when left alone."""

    id: str
    name: str
    final_state: str = "completed"
    enabled: bool = True
    waiting_inputs: list[Any] = field(default_factory=list)


@dataclass
class Run:
    """A process run: timed transitions, who started it, and the input payloads it processes."""

    id: str
    process: Process
    seq: int
    created_at: float
    started_by: dict[str, Any]
    transitions: list[tuple[float, str]]
    inputs: list[Any]
    output_ids: list[str]
    output_files: list[list[dict[str, Any]]]
    stopped: bool = False

    def state_at(self, now: float) -> str:
        """The state of the latest transition that has already happened."""
        return [state for at, state in self.transitions if at <= now][-1]

    def _first(self, now: float, states: frozenset[str]) -> float | None:
        return next((at for at, state in self.transitions if at <= now and state in states), None)

    def started_at(self, now: float) -> float | None:
        """When a worker picked the run up; None while it is still ``new``."""
        return self._first(now, frozenset({"in_progress"}))

    def ended_at(self, now: float) -> float | None:
        """When the run reached a terminal state; None while it is active."""
        return self._first(now, TERMINAL_STATES)

    def view(self, now: float) -> dict[str, Any]:
        """The documented ProcessRunResource of this run at ``now``."""
        started, ended = self.started_at(now), self.ended_at(now)
        duration = round(ended - started, 3) if started is not None and ended is not None else None
        return {
            "id": self.id,
            "state": self.state_at(now),
            "created_at": iso(self.created_at),
            "started_at": iso(started) if started is not None else None,
            "ended_at": iso(ended) if ended is not None else None,
            "process": {"id": self.process.id, "name": self.process.name},
            "started_by": dict(self.started_by),
            "duration": duration,
        }

    def outputs(self, now: float) -> list[dict[str, Any]]:
        """Output work items: one per input, present only once the run completed on its own."""
        ended = self.ended_at(now)
        if ended is None or self.stopped or self.state_at(now) != "completed":
            return []
        return [
            {
                "id": output_id,
                "created_at": iso(ended),
                "process": {"id": self.process.id, "name": self.process.name},
                "process_run": {"id": self.id, "name": f"{self.process.name} #{self.seq}"},
                "payload": payload,
                "files": [dict(f) for f in files],
            }
            for output_id, payload, files in zip(self.output_ids, self.inputs, self.output_files, strict=True)
        ]


def _api_started_by() -> dict[str, Any]:
    return {"type": "api", "details": None}


class Store:
    """The workspace's data; every public method takes the lock, so handlers may run on any thread."""

    def __init__(self, ids: dict[str, str], step_seconds: float) -> None:
        self.workspace_id = ids["workspace_id"]
        self.step = step_seconds
        self._lock = threading.Lock()
        self._seq = 0
        self.processes = {
            p.id: p
            for p in (
                Process(
                    ids["process_id"],
                    "Invoice processing",
                    waiting_inputs=[{"order": "A-1001"}, {"order": "A-1002"}],
                ),
                Process(ids["failing_process_id"], "Report reconciliation", final_state="unresolved"),
                Process(ids["disabled_process_id"], "Legacy archive export", enabled=False),
            )
        }
        self.runs: dict[str, Run] = {}
        self._hook_secrets: dict[str, str] = {}
        self._seed(ids, time.time())

    def _new_run(
        self,
        run_id: str,
        process: Process,
        created: float,
        started_by: dict[str, Any],
        transitions: list[tuple[float, str]],
        inputs: list[Any],
        stopped: bool = False,
    ) -> Run:
        self._seq += 1
        run = Run(
            run_id,
            process,
            self._seq,
            created,
            started_by,
            transitions,
            inputs,
            [str(uuid.uuid4()) for _ in inputs],
            [[] for _ in inputs],
            stopped,
        )
        self.runs[run_id] = run
        return run

    def _seed(self, ids: dict[str, str], t0: float) -> None:
        """Runs in every state; active ones are held (they never move on unless stopped)."""
        main, failing = self.processes[ids["process_id"]], self.processes[ids["failing_process_id"]]
        user = {
            "type": "user",
            "details": {
                "id": "a1b2c3d4-0000-4000-8000-00000000c0de",
                "first_name": "Ada",
                "last_name": "Lovelace",
            },
        }
        schedule = {"type": "schedule", "details": None}
        email = {"type": "email", "details": None}
        self._new_run(
            ids["stopped_run_id"],
            main,
            t0 - 10800,
            email,
            [
                (t0 - 10800, "new"),
                (t0 - 10790, "in_progress"),
                (t0 - 10700, "stopping"),
                (t0 - 10690, "unresolved"),
            ],
            [None],
            stopped=True,
        )
        self._new_run(
            ids["unresolved_run_id"],
            failing,
            t0 - 7200,
            schedule,
            [(t0 - 7200, "new"), (t0 - 7190, "in_progress"), (t0 - 7000, "unresolved")],
            [None],
        )
        done = self._new_run(
            ids["completed_run_id"],
            main,
            t0 - 3600,
            user,
            [(t0 - 3600, "new"), (t0 - 3590, "in_progress"), (t0 - 3500, "completed")],
            [{"order": "A-0998", "total": 120.5}, {"order": "A-0999", "total": 99}],
        )
        done.output_files[0] = [
            {"id": "f0a1b2c3-0000-4000-8000-0000000f11e5", "name": "receipt.pdf", "size": 20480}
        ]
        self._new_run(
            ids["stopping_run_id"],
            main,
            t0 - 900,
            _api_started_by(),
            [(t0 - 900, "new"), (t0 - 890, "in_progress"), (t0 - 30, "stopping")],
            [None],
            stopped=True,
        )
        self._new_run(
            ids["in_progress_run_id"],
            main,
            t0 - 600,
            _api_started_by(),
            [(t0 - 600, "new"), (t0 - 590, "in_progress")],
            [{"order": "A-1000"}],
        )
        self._new_run(ids["new_run_id"], failing, t0 - 60, schedule, [(t0 - 60, "new")], [None])

    def process(self, process_id: str) -> Process:
        """The startable process, or the reason it cannot be started."""
        process = self.processes.get(process_id)
        if process is None:
            raise UnknownProcess(process_id)
        if not process.enabled:
            raise ProcessDisabled(process_id)
        return process

    def start(self, process_id: str, inputs: list[Any] | None) -> str | None:
        """Start a run: new now, in progress one step later, finished one step after that.

        ``inputs=None`` means "take the work items waiting in the input queue"; the result is then
        None when the queue is empty (the documented ``{started: false}``).
        """
        with self._lock:
            process = self.process(process_id)
            if inputs is None:
                if not process.waiting_inputs:
                    return None
                inputs, process.waiting_inputs = process.waiting_inputs, []
            now = time.time()
            step = self.step
            plan = [(now, "new"), (now + step, "in_progress"), (now + 2 * step, process.final_state)]
            return self._new_run(str(uuid.uuid4()), process, now, _api_started_by(), plan, inputs).id

    def get(self, run_id: str, now: float) -> dict[str, Any] | None:
        """The run's resource, or None when it does not exist."""
        with self._lock:
            run = self.runs.get(run_id)
            return run.view(now) if run else None

    def list_runs(self, now: float, process_id: str | None, state: str | None) -> list[dict[str, Any]]:
        """All matching runs, newest first (ties broken by id so paging keys are total)."""
        with self._lock:
            runs = sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
            views = [r.view(now) for r in runs if process_id is None or r.process.id == process_id]
        return [v for v in views if state is None or v["state"] == state]

    def outputs(self, now: float, run_id: str | None) -> list[dict[str, Any]]:
        """Outputs of one run (or of the whole workspace), newest run first."""
        with self._lock:
            runs = sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
            return [o for r in runs if run_id is None or r.id == run_id for o in r.outputs(now)]

    def stop(self, run_id: str, set_remaining_done: bool, now: float) -> bool | None:
        """Stop an active run; None if unknown, False if it has already finished (nothing to stop).

        The run is ``stopping`` at once and finishes one step later: ``completed`` when the remaining
        work items are set as done, else ``unresolved`` (they are left for someone to resolve).
        """
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return None
            state = run.state_at(now)
            if state in TERMINAL_STATES:
                return False
            if state != "stopping":
                final = "completed" if set_remaining_done else "unresolved"
                run.transitions = [t for t in run.transitions if t[0] <= now]
                run.transitions += [(now, "stopping"), (now + self.step, final)]
                run.stopped = True
            return True

    def delete(self, run_id: str, now: float) -> str:
        """Delete a finished run: ``deleted``, ``missing``, or ``active`` (still running: conflict)."""
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return "missing"
            if run.state_at(now) not in TERMINAL_STATES:
                return "active"
            del self.runs[run_id]
            return "deleted"

    def set_hook_secret(self, process_id: str, secret: str) -> None:
        """Remember the secret of an Asana webhook handshake for the process."""
        with self._lock:
            self._hook_secrets[process_id] = secret

    def hook_secret(self, process_id: str) -> str | None:
        """The handshake secret of the process, if a handshake happened."""
        with self._lock:
            return self._hook_secrets.get(process_id)
