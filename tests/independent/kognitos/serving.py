"""Start the Kognitos Runs server for real on 127.0.0.1 in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn

from .app import PREFIX, create_app
from .breaks import check
from .store import RunStore, seed_runs

#: Made-up tenant key; send it in the ``x-api-key`` header.
API_KEY = "kog-test-2f9c41d7e8a34b6f90c1"
AGENT_ID = "agt4m7q2x9c5v1b8n3k6p0r2w"
PROCESS_ID = "prc8t1y5u3i7o2p6a4s9d0f3g"
SECOND_PROCESS_ID = "prc2h6j1k5l9z3x7c0v4b8n6m"
COMPLETED_RUN_ID = "run1c0mp1etedq8w2e5r7t9y4"
FAILED_RUN_ID = "run2fa11edz6x1c3v5b7n9m0q"
RUNNING_RUN_ID = "run3runn1ngp2o4i6u8y0t1r5"
CREATED_RUN_ID = "run4createdk3j5h7g9f1d2s6"

DEFAULT_IDS: dict[str, str] = {
    "agent_id": AGENT_ID,
    "process_id": PROCESS_ID,
    "second_process_id": SECOND_PROCESS_ID,
    "completed_run_id": COMPLETED_RUN_ID,
    "failed_run_id": FAILED_RUN_ID,
    "running_run_id": RUNNING_RUN_ID,
    "created_run_id": CREATED_RUN_ID,
}
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Served:
    """A running server: where to point a client, what key to send, and the seeded ids."""

    base_url: str
    credentials: dict[str, str]
    agent_id: str
    process_id: str
    second_process_id: str
    completed_run_id: str
    failed_run_id: str
    running_run_id: str
    created_run_id: str
    breaks: frozenset[str]
    step_seconds: float


@contextmanager
def serve(
    *, breaks: Iterable[str] = (), step_seconds: float = 0.2, api_key: str = API_KEY, **ids: str
) -> Iterator[Served]:
    """Serve until the block exits; ``ids`` override any key of :data:`DEFAULT_IDS`."""
    unknown = sorted(set(ids) - set(DEFAULT_IDS))
    if unknown:
        raise TypeError(f"unknown ids {unknown}; known: {sorted(DEFAULT_IDS)}")
    active = check(tuple(breaks))
    chosen = {**DEFAULT_IDS, **ids}
    store = RunStore(step_seconds, id_length=36 if "long_run_ids" in active else 25)
    seed_runs(store, chosen, datetime.now(UTC))
    app = create_app(store, active, api_key)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it keep-alive answers wait ~40 ms on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield Served(
            base_url=f"http://127.0.0.1:{port}{PREFIX}",
            credentials={"token": api_key},
            breaks=active,
            step_seconds=step_seconds,
            **chosen,
        )
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Wait, bounded, until uvicorn reports it is accepting connections."""
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("Kognitos test server did not start")
        time.sleep(0.01)
