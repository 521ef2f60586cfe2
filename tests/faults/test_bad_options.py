"""Bad options are refused before anything runs (issue 28, cause 13): a header value httpx cannot
send, a header name that is no token, a missing or garbage CA bundle, a proxy that is no http(s)
URL, a config file nested 100,000 deep. Each is one line naming the option, exit 2, with the
server never contacted and an earlier report untouched; a report set the disk cannot take is one
line too."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.mocks import MockServer, create_mock

from ..inprocess import InProcess
from .test_bad_input import assert_stopped

TOKEN = "bad-options-token-3c9e"
ROOT = Path(__file__).resolve().parents[2]


class Counter:
    """ASGI middleware that counts the requests that reach the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.requests = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture
def counted() -> Iterator[tuple[Counter, str]]:
    mock = create_mock("kognitos", "faithful", TOKEN)
    counter = Counter(mock.app())
    with MockServer(counter, mock.spec.base_path) as server:
        yield counter, server.base_url


def _garbage(folder: Path) -> str:
    path = folder / "garbage.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\n\x00\xffnot base64\n-----END CERTIFICATE-----\n")
    return str(path)


def _deep(folder: Path) -> str:
    path = folder / "deep.toml"
    path.write_text("[run]\nphases = " + "[" * 100_000 + "]" * 100_000 + "\n")
    return str(path)


BAD: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "non-ASCII header value": (
        lambda _: ["--header", "X-Customer: café"],
        "--header 'X-Customer': its value must be ASCII",
    ),
    "header name with a space": (lambda _: ["-H", "Bad Name: v"], "--header 'Bad Name' is not a header name"),
    "missing CA bundle": (lambda folder: ["--cacert", str(folder / "none.pem")], "--cacert"),
    "garbage CA bundle": (lambda folder: ["--cacert", _garbage(folder)], "holds no PEM certificate"),
    "CA bundle that is a folder": (lambda folder: ["--cacert", str(folder)], "is not a file"),
    "garbage proxy": (lambda _: ["--proxy", "not a proxy"], "--proxy 'not a proxy'"),
    "socks5 proxy": (lambda _: ["--proxy", "socks5://127.0.0.1:1080"], "give an http:// or https:// proxy"),
    "TOML nested 100,000 deep": (lambda folder: ["--config", _deep(folder)], "invalid TOML: nested too deep"),
    "parameter without a value": (
        lambda _: ["--parameter", "workspace_id"],
        "--parameter 'workspace_id' is not a valid value (NAME=VALUE)",
    ),
    "parameter no operation has": (
        lambda _: ["--parameter", "workspaceid=ws-1"],
        "--parameter 'workspaceid': no path or query parameter of kognitos has that name",
    ),
    "unknown check": (lambda _: ["--checks", "not_a_check"], "--checks: unknown check 'not_a_check'"),
    "zero time budget": (lambda _: ["--max-time", "0"], "--max-time must be from 1"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_option_of_run_is_one_line_before_any_request(
    case: str, in_process: InProcess, counted: tuple[Counter, str], earlier_report: Path, tmp_path: Path
) -> None:
    counter, base_url = counted
    args, message = BAD[case]
    completed = in_process(
        "run", "kognitos", "--base-url", base_url, "--token", TOKEN, *args(tmp_path),
        "--report-dir", str(earlier_report),
    )  # fmt: skip
    assert_stopped(completed, message, earlier_report)
    assert counter.requests == 0


@pytest.mark.parametrize("case", ["non-ASCII header value", "header name with a space", "socks5 proxy"])
def test_a_bad_option_of_record_is_one_line_before_any_request(
    case: str, in_process: InProcess, counted: tuple[Counter, str], tmp_path: Path
) -> None:
    counter, base_url = counted
    args, message = BAD[case]
    completed = in_process(
        "record",
        "kognitos",
        "--base-url",
        base_url,
        "--token",
        TOKEN,
        *args(tmp_path),
        "--out",
        str(tmp_path),
    )
    assert completed.returncode == 2 and message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1 and counter.requests == 0
    assert list(tmp_path.iterdir()) == []


def test_a_disk_that_cannot_take_the_report_is_one_line_and_the_earlier_report_stays(
    earlier_report: Path, tmp_path: Path
) -> None:
    """A file-size limit stands in for a full disk: the write fails the same way (``EFBIG`` for
    ``ENOSPC``), in a child process whose limit no other test shares."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))

    completed = subprocess.run(
        [sys.executable, "-m", "conformance", "replay", str(ROOT / "cassettes" / "mocks" / "kognitos.yaml"),
         "--report-dir", str(earlier_report)],
        preexec_fn=limited, capture_output=True, text=True, timeout=120,
        # no bytecode written under the limit (a cut .pyc would break the next import of the module)
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert_stopped(completed, f"cannot write reports to {earlier_report}: File too large", earlier_report)
