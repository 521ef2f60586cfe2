"""Run the speed benchmarks as `make bench` does and copy what they print into RESULTS.md.

Each benchmark's output replaces the block between its ``<!-- output: NAME -->`` and
``<!-- end output -->`` markers, verbatim; the table of targets is rebuilt from the ``target |``
lines of every block, and the machine block from this machine. Nothing in those blocks is typed
by hand. Name benchmarks to run only those; the other blocks are kept as they were.

The detection benchmarks (``DETECTION``) are run by hand only, by name: they take tens of minutes.
Each of their blocks starts with the command that produced it, the date and the load; their
``target |`` lines make the table of detection targets, and the machine block is left alone.

    .venv/bin/python bench/results.py [replay] [startup] [mocks] [run] [make-test] [merge] [profile]
    .venv/bin/python bench/results.py detection-shape detection-behaviour detection-independent
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
#: name: the script and its arguments; the order is the order they run in.
BENCHMARKS = {
    "replay": ["replay.py"],
    "startup": ["startup.py"],
    "mocks": ["mock_speed.py"],
    "run": ["run_speed.py"],
    "make-test": ["make_test.py", "--repeat", "3"],
    "merge": ["merge.py"],
    "profile": ["profile.py"],
}
#: Detection power (issues 10 and 16), never run by ``make bench``: the mutants of the embedded mocks
#: by family, conformance run beside st run, and the independent servers' clean nights and breaks.
DETECTION = {
    "detection-shape": ["detection.py", "--only", "shape"],
    "detection-behaviour": ["detection.py", "--only", "behaviour"],
    "detection-independent": ["detection_independent.py"],
}
SCRIPTS = {**BENCHMARKS, **DETECTION}
BLOCK = re.compile(r"(<!-- output: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end output -->)", re.S)


def run(name: str) -> str:
    """The benchmark's standard output, shown as it comes and returned whole."""
    script, *arguments = SCRIPTS[name]
    print(f"== {name}: bench/{script} {' '.join(arguments)}", flush=True)
    process = subprocess.Popen(
        [sys.executable, "-u", str(BENCH / script), *arguments], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait() != 0:
        sys.exit(f"bench/{script} failed (exit {process.returncode}); RESULTS.md is unchanged")
    return "".join(lines)


def machine(names: list[str]) -> str:
    """Where and when: the figures mean little without it; a partial run names its blocks."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )  # fmt: skip
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    tools = [f"Python {platform.python_version()}", f"schemathesis {version('schemathesis')}"]
    for command in (["wrk", "--version"], [str(BENCH / ".prism/node_modules/.bin/prism"), "--version"]):
        try:
            shown = subprocess.run(command, capture_output=True, text=True, timeout=30)
            first = (shown.stdout + shown.stderr).strip().splitlines()
            tools.append(
                f"{Path(command[0]).name} {first[0].split()[1] if command[0] == 'wrk' else first[0]}"
            )
        except (OSError, IndexError, subprocess.TimeoutExpired):
            tools.append(f"{Path(command[0]).name} not installed")
    by = (
        "`make bench` (bench/results.py)"
        if set(names) == set(BENCHMARKS)
        else f"`bench/results.py {' '.join(names)}` (the other blocks are from an earlier run)"
    )
    return (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by {by} on "
        f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB, "
        f"{platform.system()} {platform.release()}; "
        f"{', '.join(tools)}; in the `.venv` that `make` builds.\n"
    )


def headed(name: str, output: str) -> str:
    """A detection block: the command that produced it, when and under what load, then its output."""
    script, *arguments = SCRIPTS[name]
    one, five, _ = os.getloadavg()
    return (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `.venv/bin/python bench/results.py {name}`, "
        f"which ran `bench/{' '.join([script, *arguments])}` (load average {one:.2f}, 5 min "
        f"{five:.2f}, at its end on {os.cpu_count()} cores):\n\n```\n{output}```\n"
    )


def table(text: str, names: dict[str, list[str]] = BENCHMARKS) -> str:
    rows = ["| target | measured | goal | met? |\n", "| --- | --- | --- | --- |\n"]
    for match in BLOCK.finditer(text):
        if match["name"] not in names:
            continue
        for line in match["body"].splitlines():
            if line.startswith("target | "):
                rows.append("| " + line.removeprefix("target | ") + " |\n")
    return "".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    found = [m for m in BLOCK.finditer(text) if m["name"] == name]
    if not found:
        sys.exit(f"RESULTS.md has no block <!-- output: {name} -->")
    match = found[0]
    return text[: match.start("body")] + body + text[match.end("body") :]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        help=f"benchmarks to run: {', '.join(SCRIPTS)} (default: the speed ones, {', '.join(BENCHMARKS)})",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}")
    names = args.names or list(BENCHMARKS)
    outputs = {name: run(name) for name in names}
    # read now, not before the runs: another results.py may have written its blocks meanwhile
    text = RESULTS.read_text()
    for name, output in outputs.items():
        text = replace_block(
            text, name, headed(name, output) if name in DETECTION else "```\n" + output + "```\n"
        )
    speed = [name for name in names if name in BENCHMARKS]
    if speed:
        text = replace_block(text, "machine", machine(speed))
        text = replace_block(text, "targets", table(text))
    if set(names) & set(DETECTION):
        text = replace_block(text, "detection-targets", table(text, DETECTION))
    temporary = RESULTS.with_suffix(".md.tmp")
    temporary.write_text(text)
    temporary.replace(RESULTS)
    print(f"RESULTS.md written: {', '.join(names)}")


if __name__ == "__main__":
    main()
