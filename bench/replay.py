"""Replay throughput: a 10,000-interaction cassette judged end to end (parse, resolve, check, classify).

The cassette repeats the committed mock recordings of all four APIs, so every schema and
the catalogue matching are exercised. Prints the median of several repeats.

    .venv/bin/python bench/replay.py [--interactions 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.cassettes.replay import replay

MOCK_CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "mocks"


def build_cassette(path: Path, size: int) -> None:
    recorded = [
        interaction
        for cassette in sorted(MOCK_CASSETTES.glob("*.yaml"))
        for interaction in parse_document(cassette)["interactions"]
    ]
    # Copies, not the same objects again: PyYAML would write repeats as aliases, a far smaller file.
    write_cassette(path, [copy.deepcopy(i) for i in itertools.islice(itertools.cycle(recorded), size)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cassette = Path(scratch) / "night.yaml"
        build_cassette(cassette, args.interactions)
        replay([cassette])  # load specs, catalogues and compiled validators once, as a nightly process would
        timings = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            result, _ = replay([cassette])
            timings.append(time.perf_counter() - started)
        cases = sum(api.cases for api in result.results)
        size = cassette.stat().st_size
    median = statistics.median(timings)
    print(
        f"replayed {cases} interactions ({size / 1e6:.1f} MB of YAML): "
        f"median {median:.2f} s over {args.repeats} repeats ({cases / median:,.0f} interactions/s); "
        f"min {min(timings):.2f} s, max {max(timings):.2f} s"
    )


if __name__ == "__main__":
    main()
