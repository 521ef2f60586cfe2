"""Serving one vendor mock over real HTTP for a test, with a drivable clock and a client.

Each test gets a mock of its own (its own runs, clock and tokens) behind a loopback uvicorn server
that a worker keeps for its next tests: starting and stopping uvicorn took longer than most of
these tests (~0.3 s each, for more than 500 of them), and no test here is about the server's own
life. A server serves one test's mock at a time; a test that serves two at once gets two servers.
"""

from __future__ import annotations

import atexit
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.contract.specs import load_spec
from conformance.judge.registry import check_response
from conformance.mocks import Clock, MockServer, Mode, create_mock
from conformance.mocks.base import VendorMock

from .. import loopback


@dataclass
class Served:
    """A running mock, the clock it reads, and a client that carries the credential."""

    mock: VendorMock
    clock: Clock
    client: httpx.Client
    base_url: str

    @property
    def mode(self) -> Mode:
        return self.mock.mode

    @property
    def faithful(self) -> bool:
        return self.mock.faithful


class _Switch:
    """An ASGI app that hands each request to the app of the test being served (none between tests)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is None:
            raise RuntimeError("a request reached a pooled mock server between tests")
        await app(scope, receive, send)


#: This worker's servers not serving a test now, each with the switch it serves.
_IDLE: list[tuple[MockServer, _Switch]] = []


@contextmanager
def _loopback(app: ASGIApp) -> Iterator[MockServer]:
    """A running loopback server (this worker's idle one, else a new one) serving ``app`` for the block."""
    if _IDLE:
        server, switch = _IDLE.pop()
    else:
        switch = _Switch()
        server = MockServer(switch).start()
        atexit.register(server.stop)
    switch.app = app
    try:
        yield server
    finally:
        switch.app = None
        _IDLE.append((server, switch))


@contextmanager
def serve(
    api: str,
    mode: Mode | str,
    token: str,
    headers: dict[str, str],
    served_type: type[Served] = Served,
    mock_options: dict[str, Any] | None = None,
    **client_options: Any,
) -> Iterator[Served]:
    """Start ``api``'s mock (made with ``mock_options``) on loopback for the duration of the block."""
    clock = Clock()
    mock = create_mock(api, mode, token, clock, **(mock_options or {}))
    with _loopback(mock.app()) as server:
        base_url = server.base_url + mock.spec.base_path
        with loopback.Client(base_url=base_url, headers=headers, **client_options) as client:
            yield served_type(mock, clock, client, base_url)


def judged(
    api: str, operation_id: str, status: int, body: Any, media_type: str = "application/json"
) -> list[tuple[str, str, bool]]:
    """(kind, location, assumed?) of each deviation of one answer (``body`` as JSON, or bytes)."""
    spec = load_spec(api)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    deviations = check_response(
        spec, spec.operations[operation_id], status, {"content-type": media_type}, content
    )
    return sorted((d.kind, d.location, d.assumption is not None) for d in deviations)
