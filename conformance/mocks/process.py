"""A mock in its own process, the way ``conformance run`` uses them: the mocks then do not
compete with the test engine for the interpreter lock.

A mock never outlives the run that started it, however the run ends (SIGKILL and an
out-of-memory kill included): the child reads a pipe from its parent and exits when the
pipe closes, which the kernel does when the parent dies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import Any

from conformance.errors import ConformanceError

#: The variables that give a mock process the OAuth client it accepts (``conformance serve``
#: reads them too).
CLIENT_ID_ENV, CLIENT_SECRET_ENV = "CONFORMANCE_MOCK_CLIENT_ID", "CONFORMANCE_MOCK_CLIENT_SECRET"


def exit_with_parent(server: Any, grace: float = 5.0) -> None:
    """Stop ``server`` (a ``uvicorn.Server``) when stdin reaches its end: the parent that holds
    the other end of the pipe has exited or was killed. Past ``grace`` seconds the process ends."""

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except (OSError, ValueError):
            pass
        server.should_exit = True
        time.sleep(grace)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class MockProcess:
    """``conformance serve`` in a child process; its first stdout line gives the base URL."""

    def __init__(
        self,
        api: str,
        mode: str,
        token: str,
        startup_timeout: float = 30.0,
        client: tuple[str, str] | None = None,
    ) -> None:
        self.api, self.mode, self.token, self.startup_timeout = api, mode, token, startup_timeout
        #: The OAuth client id and secret the mock accepts (a vendor with a token endpoint).
        self.client = client
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> MockProcess:
        env = {**os.environ, "CONFORMANCE_MOCK_TOKEN": self.token}
        if self.client is not None:
            env[CLIENT_ID_ENV], env[CLIENT_SECRET_ENV] = self.client
        command = [
            *(sys.executable, "-m", "conformance", "serve", self.api),
            *("--port", "0", "--mode", self.mode, "--exit-with-parent"),
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,  # its end closes when this process dies, however it dies
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        line: list[str] = []
        stdout = self._process.stdout
        assert stdout is not None  # stdout=PIPE
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        first = line[0].strip() if line else ""
        prefix = f"serving {self.api} at "
        if not first.startswith(prefix):
            self.__exit__(None, None, None)
            raise ConformanceError(f"the embedded {self.api} mock did not start")
        self.base_url = first[len(prefix) :]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream:
                stream.close()
