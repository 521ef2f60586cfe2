"""A mock that remembers the headers of every request it was sent, for tests of what travels with
each request (``-H``, ``--header`` in a file, credentials), over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.mocks import MockServer, create_mock


class Recorder:
    """ASGI middleware that keeps the headers of every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.headers = app, []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@contextmanager
def recorded_mock(token: str, api: str = "kognitos") -> Iterator[tuple[Recorder, str]]:
    """``api``'s faithful mock accepting ``token``, behind a ``Recorder``, and its base URL."""
    mock = create_mock(api, "faithful", token)
    recorder = Recorder(mock.app())
    with MockServer(recorder, mock.spec.base_path) as server:
        yield recorder, server.base_url
