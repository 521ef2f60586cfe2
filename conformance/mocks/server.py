"""Serving a mock for real: uvicorn on a loopback socket, in a thread or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp


def bind_loopback(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """Bind before serving so that port 0 yields a free port we know before the server starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def uvicorn_server(app: ASGIApp) -> uvicorn.Server:
    # "error": schemathesis probes send deliberately invalid HTTP, which uvicorn logs as warnings
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off", server_header=False)
    return uvicorn.Server(config)


class MockServer:
    """A mock served on a free loopback port from a background thread, as a context manager."""

    def __init__(self, app: ASGIApp, base_path: str = "", port: int = 0) -> None:
        self.app = app
        self.base_path = base_path
        self._socket = bind_loopback(port)
        self.port: int = self._socket.getsockname()[1]
        self._server = uvicorn_server(app)
        self._thread = threading.Thread(target=self._serve, name=f"mock:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self) -> MockServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"mock server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
