"""A mock's runs and the clock they are timed by."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


class Clock:
    """Wall-clock time plus an offset that tests advance instead of sleeping."""

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)


@dataclass
class Run:
    """A run in a mock's store. ``path`` is the sequence of states it will walk through."""

    id: str
    path: list[str]
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    index: int = 0
    polls: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    history: list[str] = field(default_factory=list)
    step_seconds: float = 0.5

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append(self.state)

    @property
    def state(self) -> str:
        return self.path[self.index]

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.ended_at or self.started_at) - self.started_at).total_seconds()

    def move_to(
        self, state: str, now: datetime, *, running: frozenset[str], terminal: frozenset[str]
    ) -> None:
        """Jump to ``state`` (cancel, stop, retry), stamping start and end times; a run that ends
        without ever running (cancelled while scheduled) keeps no start time."""
        if state in running and self.started_at is None:
            self.started_at = now
        if state in terminal:
            self.ended_at = now
        self.path = [*self.path[: self.index + 1], state]
        self.index += 1
        self.history.append(state)

    def observe(
        self, now: datetime, *, running: frozenset[str], terminal: frozenset[str], per_poll: bool = True
    ) -> None:
        """Advance by one state per ``step_seconds`` of clock time, or (``per_poll``, the embedded
        mocks' default, so runs end fast) by one state per poll when that is further."""
        self.polls += 1
        elapsed = (now - self.created_at).total_seconds()
        by_time = int(elapsed / self.step_seconds)
        target = min(len(self.path) - 1, max(self.polls - 1, by_time) if per_poll else by_time)
        while self.index < target:
            self.index += 1
            self.history.append(self.state)
            if self.state in running and self.started_at is None:
                self.started_at = now
            if self.state in terminal:
                self.ended_at = now
