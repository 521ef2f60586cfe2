"""Merging two large ``results.json`` (issue 28): reading and checking both files and merging them
into one results document, in a fresh process, timed and measured.

The two files are made from a real replay of the committed mock cassettes (four APIs, every
catalogued quirk that appears there): its findings repeated at distinct locations until each
file holds ``--megabytes`` MB of indented JSON, half of them in both files (they merge, their
counts added up) and half in one file only, as the two shards or two nights of one large run.

What the figure includes: the interpreter's start and the imports, ``load_results`` of each file
(the bytes read, the depth bound, ``json.loads``, both schema checks), and ``merge_documents``
(every finding of both read once, identical ones merged, counts, scores and the verdict
recomputed). It does not include writing the merged report set. The peak is the process's
resident high-water mark (``VmHWM``). Once, for context and with no target, the whole command
``conformance report A B --out DIR`` is timed too: it also writes results.json, junit.xml and
index.html (the HTML page of every finding is most of its time).

    .venv/bin/python bench/merge.py [--megabytes 35] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import load, spread, target

from conformance.cassettes.replay import replay
from conformance.results.document import results_document, results_text

MOCK_CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "mocks"
GOAL_SECONDS, GOAL_MB = 5.0, 300

#: Loads and merges the files named, then prints its seconds and its peak resident memory (kB).
MEASURED = """
import sys, time
started = time.monotonic()
from pathlib import Path
from conformance.results.merge import merge_documents
from conformance.results.publish import load_results
merged = merge_documents([load_results(Path(name)) for name in sys.argv[1:]])
seconds = time.monotonic() - started
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(seconds, time.process_time(), peak, len(merged["findings"]))
"""


def results_files(directory: Path, megabytes: float) -> list[Path]:
    """Two results files of about ``megabytes`` MB each, half of their findings shared."""
    result, _ = replay([MOCK_CASSETTES])
    source = results_document(result)
    paths = []
    for part in ("a", "b"):
        document = copy.deepcopy(source)
        findings: list[dict[str, Any]] = []
        size, round_ = len(results_text(document)), 0
        while size < megabytes * 1024 * 1024:
            for finding in source["findings"]:
                where = round_ if round_ % 2 == 0 else f"{part}{round_}"
                findings.append({**finding, "location": f"{finding['location']}/bench{where}"})
                size += len(json.dumps(findings[-1], indent=4))  # as deep as results.json holds it
            round_ += 1
        document["findings"] = findings
        paths.append(directory / f"{part}.json")
        paths[-1].write_text(results_text(document))
    return paths


def measure(paths: list[Path]) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds (the process's own: less moved by a busy machine), peak MB, findings."""
    shown = subprocess.run(
        [sys.executable, "-c", MEASURED, *map(str, paths)], capture_output=True, text=True, check=True
    )
    seconds, cpu, peak_kb, findings = shown.stdout.split()
    return float(seconds), float(cpu), int(peak_kb) / 1024, int(findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=35, help="size of each results file (35)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(load(), "before", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        paths = results_files(Path(folder), args.megabytes)
        sizes = " and ".join(f"{path.stat().st_size / 1024 / 1024:.1f} MB" for path in paths)
        runs = [measure(paths) for _ in range(args.repeats)]
        seconds, cpu, peaks = ([run[index] for run in runs] for index in range(3))
        print(f"two results files of {sizes}, merged into {runs[0][3]} findings; {args.repeats} runs")
        print(f"  load_results of both and merge_documents, fresh process: {spread(seconds)}")
        print(f"  its CPU time (user and system): {spread(cpu)}")
        print(f"  peak resident memory: {spread(peaks, 'MB', 0)}")
        started = time.monotonic()
        command = [sys.executable, "-m", "conformance", "report", *map(str, paths), "--out", folder + "/out"]
        code = subprocess.run(command, capture_output=True).returncode
        print(
            f"  once, for context: conformance report A B --out DIR (report set written too): "
            f"{time.monotonic() - started:.1f} s, exit {code}"
        )
    median_s, worst_mb = statistics.median(seconds), max(peaks)
    target(
        f"merging two {args.megabytes:.0f} MB results files (read, checked, merged)",
        f"{median_s:.2f} s median, {worst_mb:.0f} MB peak",
        f"under {GOAL_SECONDS:.0f} s and {GOAL_MB} MB",
        median_s < GOAL_SECONDS and worst_mb < GOAL_MB,
    )
    print(load(), "after", flush=True)


if __name__ == "__main__":
    main()
