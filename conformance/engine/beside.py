"""The lifecycle beside the phases, where nothing the phases send can reach its runs.

A lifecycle mostly waits: a vendor's run is polled from 1 s doubling to 30 s for minutes, a mock's
for a fraction of a second. When the server names each run the lifecycle starts (the plan's
``start.id``), the phases cannot know those ids, so the lifecycle runs in a thread while they run.
Its steps are kept and handed over after the phases, in the order it took them, so that the
session records them where a lifecycle after the phases would have: results.json reads the same.
Where the plan follows a run the documents name (SolveXia's ``pr-114278``, which the phases start
and cancel too) it stays after them: a run the phases revive mid-lifecycle is no finding of the
server's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

from conformance.contract.model import Spec
from conformance.engine.caller import Polling, Step

#: How long a stopped lifecycle is waited for before the run goes on without it (a request under
#: way may take up to its timeout; the thread is a daemon and ends with it).
STOP_WAIT = 1.0


class _Stopped(Exception):
    """Raised in the lifecycle's thread at its next wait once the run no longer wants it."""


def runs_its_own(spec: Spec) -> bool:
    """Whether every run the spec's lifecycle follows is named by the server when it starts it."""
    start = spec.lifecycle.plan.get("start") if spec.lifecycle else None
    return isinstance(start, dict) and bool(start.get("id"))


class LifecycleBeside:
    """A lifecycle in a thread of its own: ``steps()`` waits for it and gives what it found."""

    def __init__(self, follow: Callable[[Polling], Iterator[Step]], polling: Polling) -> None:
        self._stop = threading.Event()
        self._steps: list[Step] = []
        self._failure: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run,
            args=(follow, replace(polling, sleep=self._sleep)),
            name="lifecycle",
            daemon=True,
        )
        self._thread.start()

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped

    def _run(self, follow: Callable[[Polling], Iterator[Step]], polling: Polling) -> None:
        try:
            for step in follow(polling):
                self._steps.append(step)
                if self._stop.is_set():
                    return
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the run's thread, which deals with it as before
            self._failure = exc

    def steps(self) -> Iterator[Step]:
        """The steps in the order they were taken, then what stopped the lifecycle, raised here."""
        self._thread.join()
        yield from self._steps
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        """Leave the lifecycle unfinished: the run was interrupted or will not record it."""
        self._stop.set()
        self._thread.join(STOP_WAIT)
