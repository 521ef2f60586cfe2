"""Serving one vendor mock over real HTTP for a test, with a drivable clock and a client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.contract.specs import load_spec
from conformance.judge.registry import check_response
from conformance.mocks import Clock, MockServer, Mode, create_mock
from conformance.mocks.base import VendorMock


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
    with (
        MockServer(mock.app(), mock.spec.base_path) as server,
        httpx.Client(base_url=server.base_url, headers=headers, **client_options) as client,
    ):
        yield served_type(mock, clock, client, server.base_url)


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
