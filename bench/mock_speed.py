"""Mock throughput: requests/s and p50/p99 latency at 64 connections, `conformance serve` beside
`prism mock` serving the same spec, the same endpoints, under the same load generator (wrk).

Needs `wrk` (Debian: `apt-get install -y wrk`) and Prism, installed on first use with npm into
bench/.prism/ (git-ignored). Every side runs ``--repeat`` times; medians and the ratio are printed.
Load goes to loopback only, for a bounded duration.

    .venv/bin/python bench/mock_speed.py [--repeat 5] [--duration 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from conformance.mocks.process import MockProcess
from conformance.specs import load_spec

PRISM_DIR = Path(__file__).resolve().parent / ".prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
TOKEN = "bench-mock-token"
#: (label, API, path relative to the spec's server); ``{run_id}`` is the first run the mock lists
LIST_RUNS = "/runs?process_id=b4fznghynbdemslfd5k044fgd&agent_id=b4fznghynbdemslfd5k044fgd"
ENDPOINTS = (
    ("kognitos getRun", "kognitos", "/runs/{run_id}"),
    ("kognitos listRuns", "kognitos", LIST_RUNS),
)


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def ensure_prism() -> Path:
    if not PRISM.exists():
        PRISM_DIR.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "@stoplight/prism-cli@5"],
            cwd=PRISM_DIR,
            check=True,
        )
    return PRISM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def prism(spec_path: Path) -> Iterator[str]:
    """`prism mock` on a loopback port; it serves the spec's paths without the server's base path."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(ensure_prism()),
            "mock",
            str(spec_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--errors=false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
def ours(api: str) -> Iterator[str]:
    with MockProcess(api, "faithful", TOKEN) as mock:
        yield mock.base_url


def wrk(url: str, header: str, duration: int, connections: int) -> Load:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", header, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses", output):
        sys.exit(f"{url} answered errors under load:\n{output}")

    def millis(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return Load(rate, millis("50"), millis("99"))


def measure(base_url: str, path: str, header: str, args: argparse.Namespace) -> list[Load]:
    name, _, value = header.partition(": ")
    if "{run_id}" in path:
        listed = httpx.get(base_url + LIST_RUNS, headers={name: value}, timeout=10).json()
        path = path.format(run_id=listed["items"][0]["id"])
    response = httpx.get(base_url + path, headers={name: value}, timeout=10)
    response.raise_for_status()
    wrk(base_url + path, header, 2, args.connections)  # warm up
    return [wrk(base_url + path, header, args.duration, args.connections) for _ in range(args.repeat)]


def median(loads: list[Load], field: str) -> float:
    return statistics.median(getattr(load, field) for load in loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")
    print(f"wrk -t2 -c{args.connections} -d{args.duration}s, {args.repeat} runs per side")
    for label, api, path in ENDPOINTS:
        spec = load_spec(api)
        info = spec.api
        [(name, value)] = info.auth_headers(TOKEN).items()
        header = f"{name}: {value}"
        with ours(api) as url:
            conformance = measure(url, path, header, args)
        with prism(spec.source) as url:
            prism_loads = measure(url, path, header, args)
        for side, loads in (("conformance serve", conformance), ("prism mock", prism_loads)):
            runs = ", ".join(f"{load.requests_per_second:.0f}" for load in loads)
            print(
                f"{label:18} {side:18} median {median(loads, 'requests_per_second'):7.0f} req/s "
                f"p50 {median(loads, 'p50_ms'):6.1f} ms p99 {median(loads, 'p99_ms'):6.1f} ms  (runs: {runs})"
            )
        ratio = median(conformance, "requests_per_second") / median(prism_loads, "requests_per_second")
        print(f"{label:18} throughput ratio conformance / prism: {ratio:.2f}x (target at least 2x)")


if __name__ == "__main__":
    main()
