"""Wall time of `conformance run` with its defaults (all four APIs, embedded faithful mocks).

Usage: .venv/bin/python bench/run_speed.py [--repeat N]
Prints each run's wall time and the median; the figure is quoted in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def one_run() -> float:
    with tempfile.TemporaryDirectory() as report_dir:
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--report-dir", report_dir],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"conformance run exited {completed.returncode}: {completed.stderr.strip()[-300:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    for index in range(args.repeat):
        times.append(one_run())
        print(f"run {index + 1}: {times[-1]:.1f} s", flush=True)
    median = statistics.median(times)
    print(f"median of {args.repeat}: {median:.1f} s (min {min(times):.1f}, max {max(times):.1f})")


if __name__ == "__main__":
    main()
