"""Wall time of `conformance run` beside plain `st run --checks all`, same specs, servers, budget and seed.

Each repeat starts the four faithful mocks as `conformance serve` processes (untimed), then
times, one API after another, `conformance run API --base-url URL --poll-interval 0.05` (the
mocks' runs are followed as the embedded ones are) and `st run SPEC --url URL`
with the same phases, max-examples and seed against the very same servers (fresh mocks for
each side, so neither meets the other's leftover runs). The full default `conformance run`
(embedded mocks started by the run itself) is timed as well.

Usage: .venv/bin/python bench/run_speed.py [--repeat 5] [--max-examples 10] [--seed 1]
Prints every run's wall time, the medians and the ratio; the figures go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from conformance.apis import APIS
from conformance.mocks.process import MockProcess
from conformance.options import PHASES
from conformance.specs import load_spec

ST = Path(sys.executable).with_name("st")


def timed(command: list[str], ok: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode not in ok:
        sys.exit(f"{command[:4]} exited {completed.returncode}: {completed.stderr.strip()[-300:]}")
    return elapsed


#: The mocks answer at once: their runs are followed as the embedded ones are (``MOCK_POLLING``),
#: not at the 1 s a real vendor's are, which would time waiting, not work.
LOOPBACK_POLL = 0.05


def conformance_command(api: str, url: str, token: str, budget: list[str], report_dir: str) -> list[str]:
    return [
        sys.executable, "-m", "conformance", "run", api, "--base-url", url, "--token", token,
        *budget, "--report-dir", report_dir, "--poll-interval", str(LOOPBACK_POLL),
    ]  # fmt: skip


def st_command(api: str, url: str, token: str, budget: list[str], scratch: Path) -> list[str]:
    """`st run --checks all` with the vendor's credential; a query-parameter credential goes in a
    config file, the only place `st` accepts one."""
    info = APIS[api]
    config = scratch / f"{api}.toml"
    config.write_text(
        "".join(f'[parameters]\n"{k}" = "{v}"\n' for k, v in info.credential_parameters(token).items())
    )
    headers = [f"-H{name}: {value}" for name, value in info.auth_headers(token).items()]
    return [
        str(ST), "--config-file", str(config), "run", str(load_spec(api).source), "--url", url,
        "--checks", "all", *headers, *budget, "--workers", "1", "--no-color",
        "--generation-database", "none", "--suppress-health-check", "all",
        "--report-dir", str(scratch / f"{api}-report"),
    ]  # fmt: skip


def side_by_side(budget: list[str]) -> tuple[float, float]:
    """One repeat: every API under `conformance run`, then under `st run`, each on fresh mocks."""
    token = secrets.token_urlsafe(18)
    totals = []
    for side in ("conformance", "st"):
        with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
            mocks = {api: stack.enter_context(MockProcess(api, "faithful", token)) for api in APIS}
            elapsed = 0.0
            for api, mock in mocks.items():
                if side == "conformance":
                    command = conformance_command(api, mock.base_url, token, budget, f"{scratch}/{api}")
                else:
                    command = st_command(api, mock.base_url, token, budget, Path(scratch))
                elapsed += timed(command)
            totals.append(elapsed)
    return totals[0], totals[1]


def full_run(budget: list[str]) -> float:
    with tempfile.TemporaryDirectory() as report_dir:
        return timed(
            [sys.executable, "-m", "conformance", "run", *budget, "--report-dir", report_dir], ok=(0,)
        )


def summary(name: str, times: list[float]) -> str:
    return f"{name}: median {statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default=",".join(PHASES))
    args = parser.parse_args()
    budget = ["--phases", args.phases, "--max-examples", str(args.max_examples), "--seed", str(args.seed)]
    ours, theirs, full = [], [], []
    for index in range(args.repeat):
        conformance_time, st_time = side_by_side(budget)
        ours.append(conformance_time)
        theirs.append(st_time)
        full.append(full_run(budget))
        print(
            f"run {index + 1}: conformance run {ours[-1]:.1f} s, st run {theirs[-1]:.1f} s "
            f"(four APIs, same mocks); full conformance run {full[-1]:.1f} s",
            flush=True,
        )
    print(f"phases {args.phases}, max-examples {args.max_examples}, seed {args.seed}, {args.repeat} runs")
    print(summary("conformance run, per API on the same mocks", ours))
    print(summary("st run --checks all, per API on the same mocks", theirs))
    print(summary("conformance run, all APIs, its own mocks", full))
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"ratio conformance / st: {ratio:.2f}x (target at most 1.3x)")
    print(f"ratio full conformance run / st: {statistics.median(full) / statistics.median(theirs):.2f}x")


if __name__ == "__main__":
    main()
