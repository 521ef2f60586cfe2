"""`make test` wall time as a developer meets it: a fresh clone of this repository's HEAD, its own
`.venv` and Spectral installed by `make` (timed apart: the install), then `make test` (lint, types
and the whole test suite) timed from start to exit, with an empty user cache, as on a fresh
machine. Each repeat starts from the clone as it was after the install: what a run leaves (mypy's
cache, compiled modules, pytest's cache) is removed first.

    .venv/bin/python bench/make_test.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load, spread, target

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 90
#: pytest's last line ("2258 passed in 119.23s (0:01:59)"), not ruff's "All checks passed!".
PYTEST_SUMMARY = re.compile(r"^\d+ passed")


def timed_make(clone: Path, goal: str, env: dict[str, str]) -> tuple[float, str]:
    """Seconds ``make goal`` took in ``clone``, and pytest's summary line (lint's lines follow it),
    else the last line; a failure ends the bench."""
    started = time.perf_counter()
    completed = subprocess.run(
        ["make", goal], cwd=clone, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"make {goal} failed in the clone:\n{(completed.stdout + completed.stderr)[-2000:]}")
    lines = completed.stdout.strip().splitlines() or [""]
    return elapsed, next((line for line in reversed(lines) if PYTEST_SUMMARY.search(line)), lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="make test runs in the one clone")
    args = parser.parse_args()
    print(f"{load()} before", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(scratch) / "cache")}
        for inherited in ("VIRTUAL_ENV", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):  # as typed, not nested
            env.pop(inherited, None)
        install = sum(timed_make(clone, goal, env)[0] for goal in (".venv/.installed", "spectral"))
        print(f"install (make's .venv and Spectral, not in the figures below): {install:.0f} s", flush=True)
        times = []
        for run in range(args.repeat):
            subprocess.run(["git", "clean", "-fdxq", "-e", ".venv", "-e", ".tools"], cwd=clone, check=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds, last = timed_make(clone, "test", env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            times.append(seconds)
            print(
                f"make test {run + 1}: {seconds:.0f} s wall, {cpu:.0f} s CPU (user + system): {last}",
                flush=True,
            )
    print(f"  make test: {spread(times, digits=0)}")
    median = statistics.median(times)
    target(
        "make test, fresh clone, 2 cores",
        f"{median:.0f} s",
        f"at most {GOAL_SECONDS} s",
        median <= GOAL_SECONDS,
    )
    print(f"{load()} after")


if __name__ == "__main__":
    main()
