"""Embedded mock servers, one per API, in ``faithful`` or ``strict`` mode."""

from __future__ import annotations

from typing import Any

from conformance.mocks.base import DEFAULT_TOKEN, Mode, VendorMock, mock_token
from conformance.mocks.runs import Clock
from conformance.mocks.server import MockServer
from conformance.vendors.registry import get_api

__all__ = [
    "DEFAULT_TOKEN",
    "Clock",
    "MockServer",
    "Mode",
    "VendorMock",
    "create_mock",
    "mock_token",
    "start_mock",
]


def create_mock(
    api: str,
    mode: Mode | str = Mode.FAITHFUL,
    token: str | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> VendorMock:
    """A fresh mock of ``api`` with its store seeded from the documents' examples; ``options`` go
    to the vendor's mock (SolveXia's OAuth client: ``client_id``, ``client_secret``, ``token_lifetime``)."""
    mock: VendorMock = get_api(api).create_mock(Mode(mode), token, clock, **options)
    return mock


def start_mock(
    api: str, mode: Mode | str = Mode.FAITHFUL, token: str | None = None, port: int = 0, **options: Any
) -> MockServer:
    """Create ``api``'s mock and serve it on loopback; the caller stops it."""
    mock = create_mock(api, mode, token, **options)
    return MockServer(mock.app(), mock.spec.base_path, port).start()
