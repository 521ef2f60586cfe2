"""Replay throughput: a 10,000-interaction cassette judged end to end (parse, resolve, check, classify),
beside plain ``jsonschema.validate`` of each interaction's body against its documented schema.

The cassette repeats the committed mock recordings of all four APIs, so every schema and
the catalogue matching are exercised. The plain side parses the same file and validates each
response body the way a hand-rolled script would: ``jsonschema.validate`` per interaction, which
checks the schema and builds a validator every time (no compiled-validator cache), and does
nothing else (no explanation, no catalogue). Prints the medians of several repeats and the ratio.

    .venv/bin/python bench/replay.py [--interactions 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from conformance.apis import APIS
from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.cassettes.replay import replay
from conformance.specs import FORMAT_CHECKER, load_spec

MOCK_CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "mocks"


def build_cassette(path: Path, size: int) -> None:
    recorded = [
        interaction
        for cassette in sorted(MOCK_CASSETTES.glob("*.yaml"))
        for interaction in parse_document(cassette)["interactions"]
    ]
    # Copies, not the same objects again: PyYAML would write repeats as aliases, a far smaller file.
    write_cassette(path, [copy.deepcopy(i) for i in itertools.islice(itertools.cycle(recorded), size)])


class PlainValidator:
    """Every API's document in one referencing registry, each operation's path as a regex."""

    def __init__(self) -> None:
        self.registry: Registry = Registry()
        self.routes: list[tuple[re.Pattern[str], str, dict[str, str]]] = []
        for name in APIS:
            spec = load_spec(name)
            uri = f"urn:plain:{name}"
            self.registry = self.registry.with_resource(uri, DRAFT202012.create_resource(spec.document))
            for operation in spec.operations.values():
                pattern = re.compile(re.escape(spec.base_path) + operation.path_pattern.pattern.lstrip("^"))
                schemas = {}
                for code, response in operation.definition.get("responses", {}).items():
                    base = response.get("$ref", f"#{operation.pointer}/responses/{code}")
                    content = spec.resolve(response).get("content") or {}
                    if "schema" in content.get("application/json", {}):
                        schemas[code] = f"{uri}{base}/content/application~1json/schema"
                self.routes.append((pattern, operation.method, schemas))

    def failed(self, interaction: dict[str, Any]) -> bool:
        """Whether the response body breaks its documented schema (``jsonschema.validate``, uncached)."""
        request, response = interaction["request"], interaction["response"]
        path = urlsplit(request["uri"]).path
        route = next(
            (r for r in self.routes if r[1] == request["method"].lower() and r[0].fullmatch(path)), None
        )
        ref = route and route[2].get(str(response["status"]["code"]))
        if not ref:
            return False
        try:
            body = json.loads(response["body"]["string"])
            jsonschema.validate(
                body,
                {"$ref": ref},
                cls=jsonschema.Draft202012Validator,
                registry=self.registry,
                format_checker=FORMAT_CHECKER,
            )
        except (ValueError, jsonschema.ValidationError):
            return True
        return False


def plain_replay(path: Path, validator: PlainValidator) -> tuple[int, int]:
    """Parse the cassette and validate every interaction: (interactions, failures)."""
    interactions = parse_document(path)["interactions"]
    return len(interactions), sum(validator.failed(interaction) for interaction in interactions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cassette = Path(scratch) / "night.yaml"
        build_cassette(cassette, args.interactions)
        replay([cassette])  # load specs, catalogues and compiled validators once, as a nightly process would
        plain = PlainValidator()
        suite_times, plain_times = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            result, _ = replay([cassette])
            suite_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            validated, failures = plain_replay(cassette, plain)
            plain_times.append(time.perf_counter() - started)
        cases = sum(api.cases for api in result.results)
        size = cassette.stat().st_size
    print(f"{args.interactions} interactions ({size / 1e6:.1f} MB of YAML), {args.repeats} repeats each")
    for name, count, timings in (
        ("conformance replay", cases, suite_times),
        (f"plain jsonschema.validate ({failures} bodies rejected)", validated, plain_times),
    ):
        median = statistics.median(timings)
        print(
            f"{name}: median {median:.2f} s ({count / median:,.0f} interactions/s); "
            f"min {min(timings):.2f} s, max {max(timings):.2f} s"
        )
    ratio = (cases / statistics.median(suite_times)) / (validated / statistics.median(plain_times))
    print(f"throughput ratio conformance / plain: {ratio:.2f}x (target: at least 5,000 interactions/s)")


if __name__ == "__main__":
    main()
