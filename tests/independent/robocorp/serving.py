"""Run the server for real on 127.0.0.1 in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from .app import AUTH_SCHEME, Config, make_app
from .breaks import BREAKS
from .defaults import DEFAULT_IDS
from .store import Store

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Served:
    """Where the server listens, what a client authenticates with, and the seeded ids."""

    base_url: str
    credentials: dict[str, str]
    workspace_id: str
    process_id: str
    failing_process_id: str
    disabled_process_id: str
    new_run_id: str
    in_progress_run_id: str
    stopping_run_id: str
    completed_run_id: str
    unresolved_run_id: str
    stopped_run_id: str
    step_seconds: float
    breaks: frozenset[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_accepting(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {port} did not start in {START_TIMEOUT} s") from None
            time.sleep(0.01)


@contextmanager
def serve(*, breaks: Iterable[str] = (), step_seconds: float = 0.2, **ids: str) -> Iterator[Served]:
    """Start the ProcessRunApi server, yield where it is, stop it (bounded) on exit.

    ``ids`` overrides any of ``defaults.DEFAULT_IDS`` (workspace_id, api_key, process and run ids);
    ``breaks`` switches on planted contract breaks by their names in ``BREAKS``.
    """
    chosen = frozenset(breaks)
    unknown = chosen - BREAKS.keys()
    if unknown:
        raise ValueError(f"unknown breaks: {sorted(unknown)}")
    wrong = ids.keys() - DEFAULT_IDS.keys()
    if wrong:
        raise TypeError(f"unknown id keywords: {sorted(wrong)}")
    merged = {**DEFAULT_IDS, **ids}
    if len(set(merged.values())) != len(merged):
        raise ValueError("ids must be distinct")
    app = make_app(Store(merged, step_seconds), Config(merged["api_key"], chosen))
    port = _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    failure: list[BaseException] = []
    ready = threading.Event()

    def run_loop() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        except BaseException as exc:  # reported to the starting thread
            failure.append(exc)
            return
        finally:
            ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run_loop, name=f"robocorp-server-{port}", daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT):
            raise TimeoutError(f"server on port {port} did not start in {START_TIMEOUT} s")
        if failure:
            raise failure[0]
        _wait_accepting(port, time.monotonic() + START_TIMEOUT)
        api_key = merged["api_key"]
        yield Served(
            base_url=f"http://127.0.0.1:{port}",
            credentials={"api_key": api_key, "authorization": f"{AUTH_SCHEME} {api_key}", "token": api_key},
            step_seconds=step_seconds,
            breaks=chosen,
            **{k: v for k, v in merged.items() if k != "api_key"},
        )
    finally:
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(STOP_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        if not thread.is_alive():
            loop.close()
