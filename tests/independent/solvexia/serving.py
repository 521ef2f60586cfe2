"""Start the server for real (waitress on 127.0.0.1, a free port, a background thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields

from waitress import wasyncore
from waitress.server import create_server

from .app import create_app
from .breaks import BREAKS
from .oauth import Tokens
from .seed import Tenant, seed_runs
from .store import Store

START_TIMEOUT_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Served:
    """Where the running server is and what a client needs to talk to it."""

    base_url: str
    token_url: str
    credentials: dict[str, str]
    ids: dict[str, str]
    breaks: tuple[str, ...]
    step_seconds: float
    process_id: str
    process_run_id: str
    running_run_id: str
    finished_run_id: str
    cancelled_run_id: str
    timed_out_run_id: str
    data_step_id: str
    second_data_step_id: str
    disabled_step_id: str
    action_step_id: str


def _wait_until_listening(host: str, port: int, deadline: float) -> None:
    """Poll the port until it accepts a connection; give up at ``deadline``."""
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {host}:{port} did not start listening") from None
            time.sleep(0.01)


@contextmanager
def serve(*, breaks: Iterable[str] = (), step_seconds: float = 0.2, **ids: str) -> Iterator[Served]:
    """Run the SolveXia Process Run APIs server with the given planted breaks and tenant ids.

    ``ids`` may set any field of ``seed.Tenant`` (run, process and step ids, client_id,
    client_secret, token); unknown names are refused so a typo does not go unnoticed.
    """
    chosen = tuple(breaks)
    unknown = [b for b in chosen if b not in BREAKS]
    if unknown:
        raise ValueError(f"unknown breaks: {unknown}; known: {sorted(BREAKS)}")
    names = {f.name for f in fields(Tenant)}
    if set(ids) - names:
        raise TypeError(f"unknown serve() keywords: {sorted(set(ids) - names)}; known: {sorted(names)}")
    tenant = Tenant(**ids)
    store = Store(seed_runs(tenant, time.time()), step_seconds)
    tokens = Tokens(tenant.client_id, tenant.client_secret, tenant.token)
    app = create_app(store, tokens, chosen)
    server = create_server(app, host="127.0.0.1", port=0, threads=8, clear_untrusted_proxy_headers=True)
    port = server.socket.getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, name=f"solvexia-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_listening("127.0.0.1", port, time.monotonic() + START_TIMEOUT_SECONDS)
        root = f"http://127.0.0.1:{port}"
        yield Served(
            base_url=f"{root}/api",
            token_url=f"{root}/oauth/token",
            credentials={
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "token": tenant.token,
            },
            ids=tenant.ids(),
            breaks=chosen,
            step_seconds=step_seconds,
            **tenant.ids(),
        )
    finally:
        # Close every socket from inside the server's own loop, which then ends because its map is empty.
        # A loop that already ended has closed its trigger with the rest: nothing is left to close.
        with suppress(OSError):
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map, ignore_all=True))
        thread.join(STOP_TIMEOUT_SECONDS)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=STOP_TIMEOUT_SECONDS)
