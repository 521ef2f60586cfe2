"""The fixed cost of a command: each one a user types that does little, timed from process start to
exit in a fresh process, as the shell runs the installed ``conformance`` script.

- ``--version``: start, the version lookup of four libraries;
- ``list``: start, the four specs and catalogues read and checked, the table printed;
- ``replay`` of one interaction with its reports written (results.json, junit.xml, index.html);
- ``report`` of that results.json (the report rendered again, nothing judged);
- ``diff`` of that results.json against itself (two files read, compared, printed).

Every command runs once as a warm-up (the bytecode caches written), then the commands alternate
within each repeat; medians over the repeats. Issue 29's target: each under 0.35 s.

    .venv/bin/python bench/startup.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load, spread, target
from replay import build_cassette

CONFORMANCE = Path(sys.executable).parent / "conformance"
GOAL_SECONDS = 0.35


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    outcome = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if outcome.returncode not in (0, 1):
        sys.exit(f"{' '.join(command[1:])} failed ({outcome.returncode}): {outcome.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"{load()} before", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        build_cassette(folder / "one.yaml", 1)
        results = "one/results.json"
        commands = {
            "conformance --version": ["--version"],
            "conformance list": ["list"],
            "conformance replay of one interaction, reports written": [
                "replay", "one.yaml", "--report-dir", "one",
            ],
            "conformance report of its results.json": ["report", results, "--out", "again"],
            "conformance diff of its results.json with itself": ["diff", results, results],
        }  # fmt: skip
        timings: dict[str, list[float]] = {name: [] for name in commands}
        for arguments in commands.values():  # warm-up, in order: report and diff read replay's output
            timed([str(CONFORMANCE), *arguments], folder)
        for _ in range(args.repeats):
            for name, arguments in commands.items():
                timings[name].append(timed([str(CONFORMANCE), *arguments], folder))
    print(f"{args.repeats} repeats, commands alternated, each a fresh process from start to exit")
    for name, values in timings.items():
        print(f"  {name}: {spread(values, digits=3)}")
    for name, values in timings.items():
        median = statistics.median(values)
        target(f"{name}: fixed cost", f"{median:.2f} s", f"under {GOAL_SECONDS} s", median < GOAL_SECONDS)
    print(f"{load()} after")


if __name__ == "__main__":
    main()
