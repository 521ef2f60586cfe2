"""Mock throughput: requests/s and p50/p99 latency at 64 connections on the same endpoints for
three servers, alternated within every repeat (ours, prism, bare, ours, prism, bare, ...):

- ``conformance serve API`` (faithful mode) in a child process, as ``conformance run`` starts it:
  the whole request path (authentication, routing, parameter validation, the run store, the
  rendering of the run and its JSON) on the mock's server stack (``conformance.mocks.server``);
- ``prism mock SPEC`` on the same spec (``make bench-tools`` installs both tools);
- a bare Starlette app with one route, the mock's path template (``/v2/runs/{run_id}``), that
  returns the very bytes and headers the mock returned for that request, in a child process on
  the same server stack: the floor that leaves only the ASGI stack and the HTTP parser, so ours /
  bare measures the mock's own work.

Issue 15's targets: ours at least 5x Prism and at least 0.8x the bare app. ``wrk`` shares the
machine's cores with the server it loads, the same for every side; the load average before and
after is printed, since a busy machine lowers every figure (the ratios within a repeat less).

    .venv/bin/python bench/mock_speed.py [--repeat 5] [--duration 5] [--connections 64]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import load, spread, target

from conformance.contract.specs import load_spec
from conformance.mocks.process import MockProcess

PRISM_DIR = Path(__file__).resolve().parent / ".prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
TOKEN = "bench-mock-token"
PRISM_TARGET, BARE_TARGET = 5.0, 0.8
#: (label, API, path relative to the spec's server); ``{run_id}`` is the first run the mock lists
LIST_RUNS = "/runs?process_id=b4fznghynbdemslfd5k044fgd&agent_id=b4fznghynbdemslfd5k044fgd"
ENDPOINTS = (
    ("kognitos getRun", "kognitos", "/runs/{run_id}"),
    ("kognitos listRuns", "kognitos", LIST_RUNS),
)
#: Response headers the bare app leaves to Starlette and uvicorn, as they do for the mock.
COMPUTED_HEADERS = {"content-length", "date", "server"}


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    #: answers that took longer than wrk's ``--timeout``, counted apart from the requests/s
    timeouts: int


@dataclass
class Side:
    name: str
    url: str
    loads: list[Load]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def prism(spec_path: Path) -> Iterator[str]:
    """`prism mock` on a loopback port; it serves the spec's paths without the server's base path."""
    if not PRISM.exists():
        sys.exit("Prism is not installed in bench/.prism: run `make bench-tools`")
    port = free_port()
    command = [str(PRISM), "mock", str(spec_path), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--errors=false"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("prism mock did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def bare(route: str, response: httpx.Response) -> Iterator[int]:
    """This script's ``--serve-bare`` in a child process, answering ``route`` (a Starlette path
    template) with ``response``; yields its port."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as answer:
        json.dump(
            {
                "route": route,
                "status": response.status_code,
                "headers": [(k, v) for k, v in response.headers.items() if k not in COMPUTED_HEADERS],
                "body": response.content.decode("latin-1"),
            },
            answer,
        )
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", answer.name],
        stdin=subprocess.PIPE,  # the child exits when this end closes
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None  # stdout=PIPE
        yield int(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.unlink(answer.name)


def serve_bare(answer_file: str) -> None:
    """A bare Starlette app on the mock's server stack (``uvicorn_server``, ``bind_loopback``) with
    one route that builds a Response from the recorded bytes and headers on every request."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from conformance.mocks.process import exit_with_parent
    from conformance.mocks.server import bind_loopback, uvicorn_server

    answer = json.loads(Path(answer_file).read_text())
    body, status, headers = answer["body"].encode("latin-1"), answer["status"], dict(answer["headers"])

    async def endpoint(request: Request) -> Response:
        return Response(body, status, headers)

    server = uvicorn_server(Starlette(routes=[Route(answer["route"], endpoint)]))
    sock = bind_loopback()
    exit_with_parent(server)
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


def wrk(url: str, header: str, duration: int, connections: int) -> Load:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "--latency",
            "-H",
            header,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    connect, read, write, timeouts = (int(count) for count in errors.groups()) if errors else (0, 0, 0, 0)
    if "Non-2xx or 3xx responses" in output or connect + read + write:
        sys.exit(f"{url} answered errors under load:\n{output}")

    def millis(percentile: str) -> float:
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        assert found, output
        value, unit = found.groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rate, output
    return Load(float(rate.group(1)), millis("50"), millis("99"), timeouts)


def answered(base_url: str, path: str, headers: dict[str, str]) -> tuple[str, httpx.Response]:
    """The endpoint's path on this server (``{run_id}``: the first run it lists) and its 200 answer."""
    if "{run_id}" in path:
        listed = httpx.get(base_url + LIST_RUNS, headers=headers, timeout=10).json()
        path = path.format(run_id=listed["items"][0]["id"])
    response = httpx.get(base_url + path, headers=headers, timeout=10)
    response.raise_for_status()
    return path, response


def versions() -> str:
    import starlette
    import uvicorn

    package = json.loads((PRISM_DIR / "node_modules/@stoplight/prism-cli/package.json").read_text())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    # what uvicorn's "auto" picks for the HTTP parser and the event loop when they are installed
    stack = ", ".join(name for name in ("httptools", "uvloop") if importlib.util.find_spec(name)) or "h11"
    return (
        f"Python {sys.version.split()[0]}, uvicorn {uvicorn.__version__} ({stack}), "
        f"starlette {starlette.__version__}; prism-cli {package['version']} on Node {node}"
    )


def bench_endpoint(label: str, api: str, path: str, args: argparse.Namespace) -> None:
    spec = load_spec(api)
    headers = spec.api.auth_headers(TOKEN)
    [(name, value)] = headers.items()
    header = f"{name}: {value}"
    with ExitStack() as servers:
        ours_url = servers.enter_context(MockProcess(api, "faithful", TOKEN)).base_url
        ours_path, ours_answer = answered(ours_url, path, headers)
        prism_url = servers.enter_context(prism(spec.source))
        prism_path, _ = answered(prism_url, path, headers)
        ours_full = httpx.URL(ours_url + ours_path)
        route = httpx.URL(ours_url).path + path.split("?")[0]  # the mock's template: /v2/runs/{run_id}
        bare_port = servers.enter_context(bare(route, ours_answer))
        bare_full = ours_full.copy_with(port=bare_port)
        bare_answer = httpx.get(bare_full, headers=headers, timeout=10)
        if bare_answer.content != ours_answer.content or _kept(bare_answer) != _kept(ours_answer):
            sys.exit(f"{label}: the bare app does not answer what the mock answered")
        sides = [
            Side("conformance serve", str(ours_full), []),
            Side("prism mock", prism_url + prism_path, []),
            Side("bare starlette", str(bare_full), []),
        ]
        for side in sides:  # warm up
            wrk(side.url, header, 2, args.connections)
        for _ in range(args.repeat):
            for side in sides:
                side.loads.append(wrk(side.url, header, args.duration, args.connections))
    for side in sides:
        timeouts = sum(load.timeouts for load in side.loads)
        print(f"{label}, {side.name}:")
        print(f"  requests/s {spread([load.requests_per_second for load in side.loads], 'req/s', 0)}")
        print(f"  p50 {spread([load.p50_ms for load in side.loads], 'ms', 1)}")
        print(f"  p99 {spread([load.p99_ms for load in side.loads], 'ms', 1)}")
        if timeouts:
            print(f"  {timeouts} answers took longer than wrk's 10 s timeout (not counted)")
    ours, prism_side, bare_side = sides
    for other, goal in ((prism_side, PRISM_TARGET), (bare_side, BARE_TARGET)):
        paired = [
            a.requests_per_second / b.requests_per_second
            for a, b in zip(ours.loads, other.loads, strict=True)
        ]
        ratio = statistics.median(load.requests_per_second for load in ours.loads) / statistics.median(
            load.requests_per_second for load in other.loads
        )
        target(
            f"mock {label} beside {other.name} (requests/s, 64 connections)",
            f"{ratio:.2f}x of the medians (per repeat {min(paired):.2f}x to {max(paired):.2f}x)",
            f"at least {goal}x",
            ratio >= goal,
        )


def _kept(response: httpx.Response) -> dict[str, str]:
    """The headers two answers must share: all but the date."""
    return {name: value for name, value in response.headers.items() if name != "date"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--serve-bare", metavar="ANSWER_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make bench-tools` (Debian: apt-get install -y wrk)")
    started = time.monotonic()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(versions())
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s on loopback, {args.repeat} repeats alternating "
        "ours, prism, bare"
    )
    print(
        "ours:  conformance serve API --mode faithful in a child process: auth, routing, parameter\n"
        "       validation, run store, rendering, JSON; uvicorn and Starlette\n"
        "prism: prism mock SPEC --errors=false: the spec's examples\n"
        "bare:  one Starlette route (the mock's path template) returning ours' recorded bytes and\n"
        "       headers, in a child process on the same server stack (mocks.server.uvicorn_server)\n"
        "wrk and the server share the machine's cores (two threads for wrk)"
    )
    print(f"before: {load()}")
    for label, api, path in ENDPOINTS:
        bench_endpoint(label, api, path, args)
    print(f"after:  {load()}; {time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
