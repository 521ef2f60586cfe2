"""What every benchmark prints the same way: the machine's load, a side's median and spread, and
one ``target |`` line per issue target, which ``bench/results.py`` copies into RESULTS.md."""

from __future__ import annotations

import os
import statistics


def load() -> str:
    """The load average: a figure taken on a busy machine says so."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """``median X (min A, max B, n runs)``."""
    return (
        f"median {statistics.median(values):.{digits}f} {unit} "
        f"(min {min(values):.{digits}f}, max {max(values):.{digits}f}, {len(values)} runs)"
    )


def target(name: str, measured: str, goal: str, met: bool) -> None:
    """One line of the results table: what was measured against which target, and whether it is met."""
    print(f"target | {name} | {measured} | {goal} | {'yes' if met else 'no'}", flush=True)
