"""A mock that remembers every request it was sent, for tests of what travels with each request
(``-H``, ``--header`` in a file, credentials) and in which order, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.mocks import MockServer, create_mock


class Recorder:
    """ASGI middleware that keeps the headers, method and path of every request, in order."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
            self.calls.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@contextmanager
def recorded_mock(token: str, api: str = "kognitos") -> Iterator[tuple[Recorder, str]]:
    """``api``'s faithful mock accepting ``token``, behind a ``Recorder``, and its base URL."""
    mock = create_mock(api, "faithful", token)
    recorder = Recorder(mock.app())
    with MockServer(recorder, mock.spec.base_path) as server:
        yield recorder, server.base_url
