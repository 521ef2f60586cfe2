"""Run the speed benchmarks as `make bench` does and copy what they print into RESULTS.md.

Each benchmark's output replaces the block between its ``<!-- output: NAME -->`` and
``<!-- end output -->`` markers, verbatim; the table of targets is rebuilt from the ``target |``
lines of every block, and the machine block from this machine. Nothing in those blocks is typed
by hand. Name benchmarks to run only those; the other blocks are kept as they were.

    .venv/bin/python bench/results.py [replay] [mocks] [run] [make-test]
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
    "mocks": ["mock_speed.py"],
    "run": ["run_speed.py"],
    "make-test": ["make_test.py"],
}
BLOCK = re.compile(r"(<!-- output: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end output -->)", re.S)


def run(name: str) -> str:
    """The benchmark's standard output, shown as it comes and returned whole."""
    script, *arguments = BENCHMARKS[name]
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


def table(text: str) -> str:
    rows = ["| target | measured | goal | met? |\n", "| --- | --- | --- | --- |\n"]
    for match in BLOCK.finditer(text):
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
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    text = RESULTS.read_text()
    for name in names:
        text = replace_block(text, name, "```\n" + run(name) + "```\n")
    text = replace_block(text, "machine", machine(names))
    text = replace_block(text, "targets", table(text))
    temporary = RESULTS.with_suffix(".md.tmp")
    temporary.write_text(text)
    temporary.replace(RESULTS)
    print(f"RESULTS.md written: {', '.join(names)}")


if __name__ == "__main__":
    main()
