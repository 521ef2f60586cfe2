"""Replay throughput and memory: ``conformance replay FILE --report-dir DIR`` end to end (process start
to exit, reports written) on a 10,000-interaction cassette, beside what bounds it.

The sides, alternated within each repeat, medians over the repeats:

- ``conformance replay`` (end to end): the command a user types, in a fresh process; includes Python's
  start, the imports, loading and validating the four specs, parsing, judging, explaining and
  classifying every response, and writing results.json, junit.xml and report.html;
- ``read_cassette`` (in process): the suite's streaming reader alone (``yaml_rs`` per interaction where
  it reads as vcrpy's loader does), building the ``Interaction`` objects, no judging;
- PyYAML C loader: ``yaml.load(text, CSafeLoader)`` of the whole file, parse alone;
- vcrpy: ``FilesystemPersister.load_cassette`` with vcrpy's YAML serializer (how vcrpy loads it);
- the limit: ``yaml_rs.loads`` of the whole file, then per interaction ``json.loads`` of the body and
  ``jsonschema_rs`` ``is_valid`` against its documented schema (compiled once): the fastest parse +
  validate these libraries allow, with no explanation, classification, streaming or report.

The end-to-end command is timed on four inputs: the committed mock recordings of all four APIs
repeated to 10,000 interactions (every schema and catalogue entry exercised; bodies repeat, as a
run's polls and listings do, and a body seen before is judged from memory), the same with every
body made distinct (worst case for that memory), and a single interaction (the fixed cost: start,
imports, specs, reports); and on the distinct one cut into 10 files, as a folder of nights is.
In-process sides are timed after one warm-up (imports and compiled validators are not in them).
At 10,000 the fixed cost (the single interaction's time) is a large share of each figure.

Then the issue's targets, on ``--month`` interactions in one file (a month of nights: 100,000, about
100 MB of YAML, replayed with ``--max-body-mb`` raised so that one file may hold them), every body
distinct and bodies as recorded, alternated ``--month-repeats`` times: the end-to-end command's
time, and then once each its peak memory (its largest process's, and its processes' together: a
file that large is judged in parts on every core).

    .venv/bin/python bench/replay.py [--interactions 10000] [--repeats 5] [--month 100000]
        [--month-repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jsonschema_rs
import yaml
import yaml_rs
from common import load, spread, target
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from conformance.cassettes.cassette import parse_document, read_cassette, write_cassette
from conformance.contract.specs import load_spec
from conformance.vendors.registry import APIS

MOCK_CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "mocks"
CONFORMANCE = Path(sys.executable).parent / "conformance"


def build_cassette(path: Path, size: int, distinct: bool = False) -> list[dict[str, Any]]:
    """``size`` interactions, the committed recordings over and over. ``distinct``: every JSON
    body made unique by whitespace after its first character (its index in binary, as spaces
    and tabs: the same value, other bytes), so no body is judged from the memory of another."""
    recorded = [
        interaction
        for cassette in sorted(MOCK_CASSETTES.glob("*.yaml"))
        for interaction in parse_document(cassette)["interactions"]
    ]
    interactions = []
    for index, original in enumerate(itertools.islice(itertools.cycle(recorded), size)):
        # Copies, not the same objects again: PyYAML would write repeats as aliases, a far smaller file.
        interaction = copy.deepcopy(original)
        response = interaction["response"]
        body = response["body"]["string"]
        if distinct and body[:1] in ("{", "["):
            unique = format(index, "b").replace("0", " ").replace("1", "\t")  # whitespace, by index
            body = body[0] + unique + body[1:]
            response["body"]["string"] = body
            response["headers"]["content-length"] = [str(len(body.encode()))]
        interactions.append(interaction)
    write_cassette(path, interactions)
    return interactions


def split_cassette(interactions: list[dict[str, Any]], folder: Path, files: int) -> None:
    """``interactions`` in ``files`` cassettes of equal size under ``folder`` (a night a file)."""
    folder.mkdir()
    size = math.ceil(len(interactions) / files)
    for night in range(files):
        write_cassette(folder / f"night-{night:02d}.yaml", interactions[night * size : (night + 1) * size])


class Limit:
    """Every documented JSON response schema compiled once by jsonschema-rs; operations as regexes."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], str, dict[str, jsonschema_rs.Validator]]] = []
        for name in APIS:
            spec = load_spec(name)
            registry = jsonschema_rs.Registry([(f"urn:limit:{name}", spec.document)])
            for operation in spec.operations.values():
                prefix = spec.server_path(operation)
                pattern = re.compile(re.escape(prefix) + operation.path_pattern.pattern.lstrip("^"))
                schemas = {}
                for code, response in operation.definition.get("responses", {}).items():
                    if code.startswith("x-"):
                        continue
                    pointer = (
                        response["$ref"][1:]
                        if "$ref" in response
                        else f"{operation.pointer}/responses/{code}"
                    )
                    content = spec.resolve(response).get("content") or {}
                    if "schema" in content.get("application/json", {}):
                        ref = f"urn:limit:{name}#{quote(pointer)}/content/application~1json/schema"
                        schemas[code] = jsonschema_rs.Draft202012Validator({"$ref": ref}, registry=registry)
                self.routes.append((pattern, operation.method, schemas))

    def run(self, path: Path) -> tuple[int, int]:
        """Parse the whole file, validate every body: (interactions, bodies rejected)."""
        interactions = yaml_rs.loads(path.read_text(), parse_datetime=False)["interactions"]
        rejected = 0
        for interaction in interactions:
            request, response = interaction["request"], interaction["response"]
            target = urlsplit(request["uri"]).path
            method = request["method"].lower()
            route = next((r for r in self.routes if r[1] == method and r[0].fullmatch(target)), None)
            validator = route and route[2].get(str(response["status"]["code"]))
            if validator:
                try:
                    rejected += not validator.is_valid(json.loads(response["body"]["string"]))
                except ValueError:
                    rejected += 1
        return len(interactions), rejected


def end_to_end(paths: list[Path], report: Path, *options: str) -> float:
    started = time.perf_counter()
    outcome = subprocess.run(
        [str(CONFORMANCE), "replay", *map(str, paths), "--report-dir", str(report), *options],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if outcome.returncode not in (0, 1):
        sys.exit(f"conformance replay failed ({outcome.returncode}): {outcome.stderr.strip()}")
    return elapsed


def peak_mb(paths: list[Path], report: Path, *options: str) -> tuple[float, float]:
    """The peak resident memory (MB) of one end-to-end replay's largest process (GNU time); then, in
    a second replay (the sampling takes CPU from the one it samples), the peak of its processes'
    memory together: the sum of their proportional set sizes (a page two processes share counts
    half in each), sampled every 20 ms from /proc."""
    command = [str(CONFORMANCE), "replay", *map(str, paths), "--report-dir", str(report), *options]
    timed = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, check=False
    )
    largest = int(timed.stderr.strip().splitlines()[-1]) / 1024
    sampled = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    together = 0
    while sampled.poll() is None:
        together = max(together, _tree_pss(sampled.pid))
        time.sleep(0.02)
    return largest, together / 1024


def _tree_pss(root: int) -> int:
    """The summed Pss (kB) of ``root`` and its descendants."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += int(rollup.split("\nPss:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while it was read
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--month", type=int, default=100_000, help="interactions of the one-file runs (0: none)"
    )
    parser.add_argument("--month-repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{load()} before", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        recorded, distinct, single = (Path(scratch) / f"{n}.yaml" for n in ("recorded", "distinct", "one"))
        build_cassette(recorded, args.interactions)
        distinct_interactions = build_cassette(distinct, args.interactions, distinct=True)
        build_cassette(single, 1)
        nights = Path(scratch) / "nights"
        split_cassette(distinct_interactions, nights, NIGHTS)
        text_mb = recorded.stat().st_size / 1e6
        limit = Limit()
        end_to_end_sides = {
            RECORDED: recorded,
            DISTINCT: distinct,
            MANY: nights,
            "conformance replay of one interaction (start, imports, specs, report)": single,
        }
        in_process: dict[str, Callable[[], Any]] = {
            "read_cassette (suite's streaming reader, in process)": lambda: sum(
                1 for _ in read_cassette(recorded)
            ),
            "PyYAML C loader, parse alone": lambda: yaml.load(recorded.read_text(), Loader=yaml.CSafeLoader),
            "vcrpy load_cassette": lambda: FilesystemPersister.load_cassette(str(recorded), yamlserializer),
            LIMIT: lambda: limit.run(recorded),
        }
        for side in in_process.values():  # warm-up: imports, compiled validators
            side()
        timings: dict[str, list[float]] = {k: [] for k in [*end_to_end_sides, *in_process]}
        for repeat in range(args.repeats):
            for name, path in end_to_end_sides.items():
                timings[name].append(end_to_end([path], Path(scratch) / f"report-{path.stem}-{repeat}"))
            for name, side in in_process.items():
                started = time.perf_counter()
                side()
                timings[name].append(time.perf_counter() - started)
        _, rejected = limit.run(recorded)
        results = json.loads((Path(scratch) / "report-recorded-0" / "results.json").read_text())["summary"]
        print(
            f"{args.interactions} interactions ({text_mb:.1f} MB of YAML), {args.repeats} repeats each, "
            f"sides alternated; the end-to-end replay judged {results['cases']} cases "
            f"({results['known']} known findings); the limit rejected {rejected} bodies"
        )
        for name, values in timings.items():
            count = 1 if end_to_end_sides.get(name) == single else args.interactions
            rate = count / statistics.median(values)
            print(f"  {name}: {spread(values, digits=3)}; {rate:,.0f} interactions/s")
        if args.month:
            month(Path(scratch) / "month", args.month, args.month_repeats)
    print(f"{load()} after")


RECORDED = "conformance replay, bodies as recorded (they repeat)"
DISTINCT = "conformance replay, every body distinct"
NIGHTS = 10
MANY = f"conformance replay, every body distinct, in {NIGHTS} files (a night a file)"
LIMIT = "limit: yaml_rs + jsonschema_rs is_valid"


def month(folder: Path, interactions: int, repeats: int) -> None:
    """The issue's targets, on ``interactions`` in one file (a month of nights): every body distinct
    and bodies as recorded, alternated ``repeats`` times, then the peak memory of each (with
    ``--max-body-mb`` high enough for the file: a file may hold 4 x --max-body-mb)."""
    folder.mkdir()
    files = {"every body distinct": folder / "distinct.yaml", "bodies as recorded": folder / "recorded.yaml"}
    for name, path in files.items():
        build_cassette(path, interactions, distinct=name == "every body distinct")
    options = {
        name: ("--max-body-mb", str(math.ceil(path.stat().st_size / 4 / 1024 / 1024) + 1))
        for name, path in files.items()
    }
    seconds: dict[str, list[float]] = {name: [] for name in files}
    for repeat in range(repeats):
        for name, path in files.items():
            report = folder / f"report-{path.stem}-{repeat}"
            seconds[name].append(end_to_end([path], report, *options[name]))
    goals = {"every body distinct": 10_000, "bodies as recorded": 20_000}
    for name in files:
        rate = interactions / statistics.median(seconds[name])
        print(f"  one file of {interactions:,} interactions, {name}: {spread(seconds[name])}; {rate:,.0f}/s")
        target(
            f"conformance replay of {interactions:,} interactions in one file, {name}",
            f"{rate:,.0f} interactions/s",
            f"at least {goals[name]:,} interactions/s",
            rate >= goals[name],
        )
    for name, path in files.items():
        peak, together = peak_mb([path], folder / f"memory-{path.stem}", *options[name])
        print(f"  peak memory, {name}: {peak:.0f} MB in its largest process, {together:.0f} MB all")
        target(
            f"replay memory, {interactions:,} interactions in one file, {name}",
            f"{max(peak, together):.0f} MB peak ({peak:.0f} MB largest process, {together:.0f} MB all)",
            "under 300 MB",
            max(peak, together) < 300,
        )


if __name__ == "__main__":
    main()
