"""Wall time of `conformance run` beside plain `st run --checks all`, same specs, servers, budget and seed.

Each repeat times, API after API, `conformance run API --base-url URL --poll-interval 0.05` (the
mocks' runs are followed as the embedded ones are) and `st run SPEC --url URL --checks all
--continue-on-failure` with the same phases, max-examples and seed (without that flag st stops an
operation at its first failure and generates less than half the cases a conformance run does),
each against a fresh faithful mock started as a `conformance serve` process (untimed), so
neither meets the other's leftover runs, and in a fresh folder, so neither meets what a run before
left there (`st run` keeps a cache in `.schemathesis/` of its working folder and replays it into
the next run). Both keep hypothesis's data in the user's cache, as `conformance run` does anyway:
`st run` keeps it in `.hypothesis/` of its folder, and in a fresh one works it out again each run
(1 to 2.5 CPU-seconds) where a user's folder would have it. Which side goes first alternates
between repeats.
Each figure is one process from start to exit, reports written.
``--full`` also times the one-process default `conformance run` (embedded mocks started by the run).

Usage: .venv/bin/python bench/run_speed.py [--repeat 5] [--max-examples 10] [--seed 1] [--full]
Prints every run's wall time, medians, spread and the ratios; bench/results.py copies them.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load, spread, target

from conformance.contract.specs import load_spec
from conformance.engine.options import PHASES
from conformance.mocks.process import MockProcess
from conformance.usercache import keep_hypothesis_data
from conformance.vendors.registry import APIS

ST = Path(sys.executable).with_name("st")


def timed(command: list[str], cwd: str, ok: tuple[int, ...] = (0, 1)) -> tuple[float, str]:
    """Seconds the command took in the folder ``cwd``, and what it printed."""
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    elapsed = time.perf_counter() - started
    if completed.returncode not in ok:
        sys.exit(f"{command[:4]} exited {completed.returncode}: {completed.stderr.strip()[-300:]}")
    return elapsed, completed.stdout


CONFORMANCE, ST_RUN = "conformance run", "st run --checks all"
SIDES = (CONFORMANCE, ST_RUN)
#: What each side reports it did: "483 cases" (responses judged, ours), "517 generated" (st's cases).
CASES = {CONFORMANCE: re.compile(r"(\d+) cases"), ST_RUN: re.compile(r"(\d+) generated")}


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
        "--checks", "all", "--continue-on-failure", *headers, *budget, "--workers", "1", "--no-color",
        "--generation-database", "none", "--suppress-health-check", "all",
        "--report-dir", str(scratch / f"{api}-report"),
    ]  # fmt: skip


def side_by_side(
    budget: list[str], repeat: int, cases: dict[str, dict[str, list[int]]]
) -> dict[str, dict[str, float]]:
    """One repeat: each API under `conformance run` and under `st run`, each on a fresh mock; the
    side that goes first alternates from one repeat to the next. Adds to ``cases`` the count
    each side printed (``CASES``)."""
    token = secrets.token_urlsafe(18)
    sides = SIDES if repeat % 2 == 0 else SIDES[::-1]
    times: dict[str, dict[str, float]] = {side: {} for side in SIDES}
    for api in APIS:
        for side in sides:
            with MockProcess(api, "faithful", token) as mock, tempfile.TemporaryDirectory() as scratch:
                if side == CONFORMANCE:
                    command = conformance_command(api, mock.base_url, token, budget, f"{scratch}/{api}")
                else:
                    command = st_command(api, mock.base_url, token, budget, Path(scratch))
                times[side][api], printed = timed(command, scratch)
                counted = CASES[side].findall(printed)
                cases[side].setdefault(api, []).append(int(counted[-1]) if counted else 0)
    return times


def full_run(budget: list[str]) -> float:
    with tempfile.TemporaryDirectory() as report_dir:
        return timed(
            [sys.executable, "-m", "conformance", "run", *budget, "--report-dir", report_dir],
            report_dir,
            ok=(0,),
        )[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument(
        "--full", action="store_true", help="also time the one-process `conformance run` with its own mocks"
    )
    args = parser.parse_args()
    # both sides keep hypothesis's data where `conformance run` keeps it (the user's cache, a user's
    # own setting kept), given to each child: `st run` would keep it in `.hypothesis/` of its fresh
    # folder and work its tables out again each run, where a user's own folder would have them
    keep_hypothesis_data()
    budget = ["--phases", args.phases, "--max-examples", str(args.max_examples), "--seed", str(args.seed)]
    print(f"{load()} before", flush=True)
    runs: list[dict[str, dict[str, float]]] = []
    cases: dict[str, dict[str, list[int]]] = {side: {} for side in SIDES}
    full: list[float] = []
    for index in range(args.repeat):
        runs.append(side_by_side(budget, index, cases))
        line = ", ".join(f"{side} {sum(runs[-1][side].values()):.1f} s" for side in SIDES)
        if args.full:
            full.append(full_run(budget))
            line += f"; one-process conformance run {full[-1]:.1f} s"
        print(f"run {index + 1}: {line} (four APIs)", flush=True)
    print(f"phases {args.phases}, max-examples {args.max_examples}, seed {args.seed}, {args.repeat} runs")
    ratios = {}
    for api in APIS:
        ours = [run[CONFORMANCE][api] for run in runs]
        theirs = [run[ST_RUN][api] for run in runs]
        ratios[api] = statistics.median(ours) / statistics.median(theirs)
        print(f"  {api}: {CONFORMANCE} {spread(ours, digits=1)}; {ST_RUN} {spread(theirs, digits=1)}")
        print(
            f"    median responses judged by {CONFORMANCE} {statistics.median(cases[CONFORMANCE][api]):.0f}"
            f", cases generated by {ST_RUN} {statistics.median(cases[ST_RUN][api]):.0f}"
        )
    totals = {side: [sum(run[side].values()) for run in runs] for side in SIDES}
    for side, values in totals.items():
        print(f"  four APIs, {side}: {spread(values, digits=1)}")
    print("  ratio conformance / st per API: " + ", ".join(f"{a} {r:.2f}x" for a, r in ratios.items()))
    worst = max(ratios.values())
    target(
        "a run beside st run, per API on the same mocks",
        f"{min(ratios.values()):.2f}x to {worst:.2f}x (median {statistics.median(ratios.values()):.2f}x)",
        "at most 1.1x each",
        worst <= 1.1,
    )
    ratio = statistics.median(totals[CONFORMANCE]) / statistics.median(totals[ST_RUN])
    target("a run beside st run, four APIs on the same mocks", f"{ratio:.2f}x", "at most 1.1x", ratio <= 1.1)
    if full:
        print(f"  one-process conformance run, its own mocks: {spread(full, digits=1)}")
        one = statistics.median(full) / statistics.median(totals[ST_RUN])
        target("the one-process run beside st run per API", f"{one:.2f}x", "at most 1.1x", one <= 1.1)
    print(f"{load()} after")


if __name__ == "__main__":
    main()
