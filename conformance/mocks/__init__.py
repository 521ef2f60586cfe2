"""Embedded mock servers, one per API, in ``faithful`` or ``strict`` mode.

The names below load their modules when first used: a run that starts its mocks as processes
(``mocks.process``) does not import Starlette and uvicorn itself (about 60 ms of its start).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.mocks.base import DEFAULT_TOKEN, Mode, VendorMock, mock_token
    from conformance.mocks.runs import Clock
    from conformance.mocks.server import MockServer

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

#: The module each name of the package comes from.
_HOMES = {
    "DEFAULT_TOKEN": "base",
    "Mode": "base",
    "VendorMock": "base",
    "mock_token": "base",
    "Clock": "runs",
    "MockServer": "server",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)


def create_mock(
    api: str,
    mode: Mode | str = "faithful",
    token: str | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> VendorMock:
    """A fresh mock of ``api`` with its store seeded from the documents' examples; ``options`` go
    to the vendor's mock (SolveXia's OAuth client: ``client_id``, ``client_secret``, ``token_lifetime``)."""
    from conformance.mocks.base import Mode
    from conformance.vendors.registry import get_api

    mock: VendorMock = get_api(api).create_mock(Mode(mode), token, clock, **options)
    return mock


def start_mock(
    api: str, mode: Mode | str = "faithful", token: str | None = None, port: int = 0, **options: Any
) -> MockServer:
    """Create ``api``'s mock and serve it on loopback; the caller stops it."""
    from conformance.mocks.server import MockServer

    mock = create_mock(api, mode, token, **options)
    return MockServer(mock.app(), mock.spec.base_path, port).start()
