"""Progress while APIs run, fed by the runner's progress hook.

In a terminal: a bar per API; an API waiting its turn shows ``queued``, a running one its phase
and scenarios done. Elsewhere (CI logs, a file): one line when an API enters a phase or ends,
and a heartbeat line at least every ``HEARTBEAT`` seconds while nothing else was printed, so a
long night in a CI log is never silent until the end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from conformance.bounds import printable
from conformance.results.model import ProgressHook

#: Seconds between heartbeat lines at most, when no other progress line was printed.
HEARTBEAT = 30.0
#: The ``phase`` of the hook's last call for an API: it has finished.
DONE = "done"


class _Started(ProgressColumn):
    """A column that shows ``queued`` (or nothing) until its task has started."""

    def __init__(self, column: ProgressColumn | None = None) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> RenderableType:
        if not task.started:
            return Text("queued" if self.column is None else "", style="dim")
        if self.column is None:
            total = "?" if task.total is None else str(int(task.total))
            return Text(f"{int(task.completed)}/{total}")
        return self.column.render(task)


@contextmanager
def progress_bar(
    apis: list[str], console: Console | None = None, heartbeat: float = HEARTBEAT
) -> Iterator[ProgressHook]:
    """A hook that shows the APIs' progress on ``console`` (default: stderr)."""
    if console is None:
        from conformance.cli.console import stderr

        console = stderr
    if console.is_terminal:
        with _bars(apis, console) as hook:
            yield hook
    else:
        with _lines(apis, console, heartbeat) as hook:
            yield hook


@contextmanager
def _bars(apis: list[str], console: Console) -> Iterator[ProgressHook]:
    progress = Progress(
        TextColumn("{task.description:<30}"),
        _Started(BarColumn()),
        _Started(),
        _Started(TimeElapsedColumn()),
        console=console,
        transient=True,
    )
    tasks = {api: progress.add_task(escape(printable(api)), total=None, start=False) for api in apis}

    def update(api: str, done: int, total: int, phase: str | None = None) -> None:
        task = tasks[api]
        if not progress.tasks[task].started:
            progress.start_task(task)
        description = escape(printable(api if phase is None or phase == DONE else f"{api} · {phase}"))
        progress.update(task, completed=done, total=total, description=description)

    with progress:
        yield update


@dataclass
class _State:
    phase: str | None = None
    done: int = 0
    total: int = 0


@contextmanager
def _lines(apis: list[str], console: Console, heartbeat: float) -> Iterator[ProgressHook]:
    started = time.monotonic()
    states = {api: _State() for api in apis}
    lock = threading.Lock()
    last = [started]
    current: list[str] = []

    def say(text: str) -> None:
        elapsed = int(time.monotonic() - started)
        console.print(f"[{elapsed // 60:d}:{elapsed % 60:02d}] {text}", markup=False, highlight=False)
        console.file.flush()
        last[0] = time.monotonic()

    def update(api: str, done: int, total: int, phase: str | None = None) -> None:
        with lock:
            state = states.setdefault(api, _State())
            changed = phase is not None and phase != state.phase
            state.done, state.total = done, total
            if phase is not None:
                state.phase = phase
            current[:] = [api]
            if not changed:
                return
            if phase == DONE:
                say(f"{api}: done, {done}/{total} scenarios")
            else:
                say(f"{api}: {phase} ({done}/{total} scenarios done)")

    def beat(stop: threading.Event) -> None:
        while not stop.wait(min(heartbeat, 1.0)):
            with lock:
                if time.monotonic() - last[0] < heartbeat:
                    continue
                running = [api for api in current if states[api].phase != DONE]
                if running:
                    state = states[running[0]]
                    say(f"{running[0]}: still {state.phase}, {state.done}/{state.total} scenarios done")
                else:
                    say(f"still starting: {', '.join(apis)}")

    stop = threading.Event()
    thread = threading.Thread(target=beat, args=(stop,), name="progress-heartbeat", daemon=True)
    thread.start()
    try:
        yield update
    finally:
        stop.set()
        thread.join(timeout=5)
