"""Thread-safe in-memory runs: seeding, time-driven progress and continuation-token paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .models import COMPLETED, CREATED, FAILED, RUNNING, NamedValue, Run, StartRun

_ALPHABET = string.ascii_lowercase + string.digits
#: Input name that makes a started run end ``Failed`` instead of ``Completed`` (a test hook).
FAIL_INPUT = "simulate_failure"


class InvalidToken(ValueError):
    """A continuation token this server did not issue for the same query."""


def new_id(length: int = 25) -> str:
    """Random lowercase-alphanumeric id, 25 characters like the documents' examples."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def stable_id(seed: str) -> str:
    """Deterministic 25-character id, so seeded runs keep their ids across restarts."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(25):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def iso(moment: datetime) -> str:
    """RFC 3339 UTC timestamp with seconds precision, e.g. ``2021-01-01T12:00:00Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunRecord:
    """A stored run; ``pinned`` runs keep their status, others derive it from elapsed time."""

    seq: int
    id: str
    agent_id: str
    process_id: str
    name: str
    stage: str
    created_at: datetime
    file_ids: list[str] | None = None
    inputs: list[NamedValue] | None = None
    started: float = 0.0
    pinned: str | None = None
    fails: bool = False
    outputs: list[NamedValue] | None = None


class RunStore:
    """All runs of one tenant; every public method holds the lock, so handlers may run concurrently."""

    def __init__(self, step_seconds: float, id_length: int = 25) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, RunRecord] = {}
        self._seq = 0
        self._step = step_seconds
        self._id_length = id_length
        self.processes: dict[str, str] = {}

    def add_process(self, process_id: str, agent_id: str) -> None:
        """Register a process of an agent; only registered pairs can be started."""
        with self._lock:
            self.processes[process_id] = agent_id

    def seed(self, record_args: dict[str, object]) -> RunRecord:
        """Store a pinned (pre-existing) run; ``record_args`` are :class:`RunRecord` fields."""
        with self._lock:
            self._seq += 1
            record = RunRecord(seq=self._seq, **record_args)  # type: ignore[arg-type]
            self._runs[record.id] = record
            return record

    def start(self, body: StartRun) -> Run:
        """Create a run that goes ``Created`` -> ``Running`` -> ``Completed``/``Failed``, a step each."""
        fails = any(item.name == FAIL_INPUT and bool(item.value) for item in body.inputs or [])
        with self._lock:
            self._seq += 1
            run_id = new_id(self._id_length)
            while run_id in self._runs:
                run_id = new_id(self._id_length)
            record = RunRecord(
                seq=self._seq,
                id=run_id,
                agent_id=body.agent_id,
                process_id=body.process_id,
                name=body.name,
                stage=body.stage,
                created_at=datetime.now(UTC),
                file_ids=body.file_ids,
                inputs=body.inputs,
                started=time.monotonic(),
                fails=fails,
            )
            self._runs[run_id] = record
            return self._view(record)

    def get(self, run_id: str) -> Run | None:
        """The run as it stands now, or ``None`` when there is no such run."""
        with self._lock:
            record = self._runs.get(run_id)
            return None if record is None else self._view(record)

    def page(
        self, agent_id: str, process_id: str | None, stage: str | None, limit: int, token: str | None
    ) -> tuple[list[Run], str | None]:
        """Newest-first page of matching runs and the token for the next page (``None`` at the end)."""
        query = [agent_id, process_id, stage]
        after = _decode(token, query) if token else None
        with self._lock:
            matching = sorted(
                (
                    r
                    for r in self._runs.values()
                    if r.agent_id == agent_id
                    and (process_id is None or r.process_id == process_id)
                    and (stage is None or r.stage == stage)
                    and (after is None or r.seq < after)
                ),
                key=lambda r: r.seq,
                reverse=True,
            )
            chosen = matching[:limit]
            items = [self._view(r) for r in chosen]
        more = len(matching) > limit
        return items, (_encode(chosen[-1].seq, query) if more and chosen else None)

    def _view(self, record: RunRecord) -> Run:
        """Snapshot of a record with its status and outputs as of now."""
        status = record.pinned or self._status(record)
        outputs = record.outputs
        if status == COMPLETED and outputs is None:
            count = len(record.file_ids or []) + len(record.inputs or [])
            outputs = [NamedValue("total_items", count), NamedValue("summary", f"Processed {record.name}")]
        return Run(
            agent_id=record.agent_id,
            created_at=iso(record.created_at),
            file_ids=record.file_ids,
            id=record.id,
            name=record.name,
            outputs=outputs if status == COMPLETED else None,
            process_id=record.process_id,
            stage=record.stage,
            status=status,
        )

    def _status(self, record: RunRecord) -> str:
        """One state per ``step_seconds`` since the run was started."""
        steps = int((time.monotonic() - record.started) / self._step) if self._step > 0 else 2
        if steps <= 0:
            return CREATED
        if steps == 1:
            return RUNNING
        return FAILED if record.fails else COMPLETED


def _encode(after_seq: int, query: list[str | None]) -> str:
    """Opaque token: the last position served plus the query it belongs to."""
    raw = json.dumps({"after": after_seq, "query": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, query: list[str | None]) -> int:
    """Position from a token, refusing tokens that are malformed or were issued for another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after = data["after"]
        same = data["query"] == query
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(token) from exc
    if not same or not isinstance(after, int) or isinstance(after, bool):
        raise InvalidToken(token)
    return after


def seed_runs(store: RunStore, ids: dict[str, str], now: datetime) -> None:
    """Fill the store with a history of runs in every status, an hour apart, oldest first."""
    agent, process, second = ids["agent_id"], ids["process_id"], ids["second_process_id"]
    store.add_process(process, agent)
    store.add_process(second, agent)
    plan: list[tuple[str, str, str, str | None]] = [
        (second, "Published", COMPLETED, None),
        (second, "Draft", FAILED, None),
        (second, "Published", COMPLETED, None),
    ]
    for n in range(8):
        plan.append((process, "Published" if n % 3 else "Draft", FAILED if n % 4 == 3 else COMPLETED, None))
    plan += [
        (process, "Published", COMPLETED, ids["completed_run_id"]),
        (process, "Published", FAILED, ids["failed_run_id"]),
        (process, "Draft", RUNNING, ids["running_run_id"]),
        (process, "Published", CREATED, ids["created_run_id"]),
    ]
    base = now.replace(microsecond=0) - timedelta(hours=len(plan))
    for n, (proc, stage, status, run_id) in enumerate(plan):
        outputs = [NamedValue("total_items", 40 + n), NamedValue("customer_id", stable_id(f"customer-{n}"))]
        store.seed(
            {
                "id": run_id or stable_id(f"{proc}-{n}"),
                "agent_id": agent,
                "process_id": proc,
                "name": f"Process invoice {n + 1}",
                "stage": stage,
                "created_at": base + timedelta(hours=n),
                "file_ids": [stable_id(f"file-{n}")] if n % 2 else None,
                "pinned": status,
                "outputs": outputs if status == COMPLETED else None,
            }
        )
