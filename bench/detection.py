"""Detection power: one contract-visible mutation at a time, on every operation of every API,
judged by `conformance run` and by plain `st run --checks all` on the same mock.

For each API a faithful mock is first run clean (false positives: any `new` finding; for
`st run`: its failures). Its recorded traffic then yields the mutants: for each operation and
drift class, the first place in a real response where the change breaks the documented
contract under plain JSON Schema (so no mutant is equivalent to the original), applied with
``conformance.mocks.drift``. Each mutant is served by a fresh faithful mock behind
``DriftMiddleware`` and judged by both tools with the same phases, budget and seed.

A mutant is *detected* when the run reports a `new` finding that the clean run did not, and
*located* when one of those names the mutated operation and location. `st run` has no notion
of a known quirk, so it is credited when it fails with a check failure at the mutated
operation that it did not report on the clean mock.

    .venv/bin/python bench/detection.py [--apis kognitos ...] [--max-examples 1] [--phases examples]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import jsonpointer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.apis import get_api, resolve_apis
from conformance.mocks import MockServer, create_mock
from conformance.mocks.drift import (
    Drift,
    DriftMiddleware,
    Mutation,
    add_field,
    answer,
    remove_field,
    rename_field,
    set_content_type,
    set_status,
    set_value,
    wrap_body,
)
from conformance.runner import RunOptions, run
from conformance.specs import Operation, Spec, load_spec

ST = Path(sys.executable).with_name("st")
TOKEN = "bench-detection-token"
ST_FAILURE = re.compile(r"^- (ST\d+) (.+)\n\n +(.+)$", re.M)
CLASSES = (
    "field renamed",
    "field removed",
    "type changed",
    "enum value re-cased",
    "unknown enum value",
    "null where forbidden",
    "timestamp format changed",
    "undocumented extra field",
    "status code changed",
    "content type changed",
    "error body reshaped",
    "documented path answering 404",
)


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    media_type: str
    body: bytes


class Recorder:
    """ASGI middleware that keeps every response of the clean run, to derive mutants from."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.exchanges, self.recording = app, list[Exchange](), True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.recording:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    media = next((v.decode() for k, v in start["headers"] if k == b"content-type"), "")
                    self.exchanges.append(
                        Exchange(scope["method"], scope["path"], start["status"], media, b"".join(chunks))
                    )
            await send(message)

        await self.app(scope, receive, keep)


@dataclass
class Mutant:
    api: str
    operation: str
    drift_class: str
    description: str
    drift: Drift
    #: (operation, location) pairs a precise report names
    locations: set[tuple[str, str]]


@dataclass
class Verdict:
    detected: bool
    located: bool
    findings: list[str] = field(default_factory=list)
    #: How the located findings were graded: breaking, additive (new drift) or assumption.
    grades: Counter[str] = field(default_factory=Counter)


# --- mutant derivation ---------------------------------------------------------------------


def pointer_of(path: tuple[Any, ...]) -> str:
    return "".join("/" + jsonpointer.escape(str(p)) for p in path)


def location_of(path: tuple[Any, ...]) -> str:
    """The suite's location convention: array indices as ``*``."""
    return "".join("/*" if isinstance(p, int) else "/" + str(p) for p in path)


def leaves(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every field of ``body`` breadth-first by depth, descending into the first item of arrays."""
    level = [(path, body)]
    while level:
        deeper = []
        for where, node in level:
            if isinstance(node, dict):
                for key, value in node.items():
                    yield (*where, key), value
                    deeper.append(((*where, key), value))
            elif isinstance(node, list) and node:
                deeper.append(((*where, 0), node[0]))
        level = deeper


def renamed(name: str) -> str:
    if "_" in name:
        head, *rest = name.split("_")
        return head + "".join(part.capitalize() for part in rest)
    if name != name.lower():
        return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
    return name.capitalize()


def http_date(value: str) -> str:
    """The same instant as an RFC 1123 HTTP date, a serializer change that keeps the meaning."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return format_datetime(
        (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC), usegmt=True
    )


def first_breaking(
    spec: Spec,
    schema_pointer: str,
    body: Any,
    candidates: Iterator[tuple[str, Mutation, set[str]]],
    *,
    closed: bool = False,
) -> tuple[str, Mutation, set[str]] | None:
    """The first candidate mutation that plain JSON Schema rejects where it accepted the original
    (a faithful body may already break the contract elsewhere, in documented ways). Its locations
    are the candidate's own and wherever the new schema errors point. ``closed`` judges against the
    documented members alone (objects closed), the reading under which an extra member differs."""
    validator = spec.validator(schema_pointer, closed=closed)

    def errors(instance: Any) -> dict[tuple[Any, ...], set[str]]:
        found: dict[tuple[Any, ...], set[str]] = {}
        for error in validator.iter_errors(instance):
            where = location_of(tuple(error.absolute_path))
            named = set()
            if error.validator == "required" and isinstance(error.instance, dict):
                named = {f"{where}/{n}" for n in error.validator_value if n not in error.instance}
            elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
                known = error.schema.get("properties") or {}
                named = {f"{where}/{n}" for n in error.instance if n not in known}
            found[(tuple(error.absolute_path), error.validator, error.message)] = named or {where}
        return found

    before = errors(body)
    for description, mutation, locations in candidates:
        try:
            _, mutated = mutation(200, copy.deepcopy(body))
        except (KeyError, IndexError, TypeError):
            continue
        after = errors(mutated)
        broken = [where for key, where in after.items() if key not in before]
        if broken:
            return description, mutation, locations.union(*broken)
    return None


def field_candidates(drift_class: str, body: Any) -> Iterator[tuple[str, Mutation, set[str]]]:
    for path, value in leaves(body):
        pointer, where = pointer_of(path), location_of(path)
        name = path[-1]
        if isinstance(name, int):
            continue
        if drift_class == "field renamed":
            new = renamed(name)
            yield (
                f"{where} renamed {new}",
                rename_field(pointer, new),
                {where, location_of((*path[:-1], new))},
            )
        elif drift_class == "field removed":
            yield f"{where} removed", remove_field(pointer), {where}
        elif drift_class == "type changed" and value is not None and not isinstance(value, dict | list):
            other: Any = 12345 if isinstance(value, str) else str(value)
            yield f"{where} = {other!r}", set_value(pointer, other), {where}
        elif (
            drift_class == "enum value re-cased" and isinstance(value, str) and value.upper() != value.lower()
        ):
            other = value.upper() if value != value.upper() else value.lower()
            yield f"{where} {value!r} -> {other!r}", set_value(pointer, other), {where}
        elif (
            drift_class == "unknown enum value"
            and isinstance(value, str)
            and re.fullmatch(r"[A-Za-z_-]+", value)
        ):
            yield f"{where} = 'Paused'", set_value(pointer, "Paused"), {where}
        elif drift_class == "null where forbidden" and value is not None:
            yield f"{where} = null", set_value(pointer, None), {where}
        elif (
            drift_class == "timestamp format changed"
            and isinstance(value, str)
            and re.match(r"^\d{4}-\d{2}-\d{2}T", value)
        ):
            other = http_date(value)
            if other != value:
                yield f"{where} {value!r} -> {other!r}", set_value(pointer, other), {where}
    if drift_class == "undocumented extra field":
        for path, value in [((), body), *leaves(body)]:
            if isinstance(value, dict):
                extra = (*path, "debug_trace_id")
                where = location_of(extra)
                yield f"{where} added", add_field(pointer_of(extra), "abc123"), {where}


def body_schema_pointer(spec: Spec, operation: Operation, status: int, media: str) -> str | None:
    key = operation.response_key(status)
    if key is None:
        return None
    raw = operation.definition["responses"][key]
    base = raw["$ref"].lstrip("#") if "$ref" in raw else f"{operation.pointer}/responses/{key}"
    content = spec.resolve(raw).get("content") or {}
    if media not in content or "schema" not in content[media]:
        return None
    return f"{base}/content/{jsonpointer.escape(media)}/schema"


def operation_regex(spec: Spec, operation: Operation) -> str:
    parts = re.split(r"(\{[^}]+\})", operation.path)
    return (
        "^"
        + re.escape(spec.base_path)
        + "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        + "$"
    )


def derive_mutants(spec: Spec, exchanges: list[Exchange], not_found: Any) -> tuple[list[Mutant], list[str]]:
    """Mutants for every operation and class, and why a class could not apply to an operation."""
    by_operation: dict[str, list[Exchange]] = defaultdict(list)
    for exchange in exchanges:
        relative = exchange.path[len(spec.base_path) :]
        found = spec.find_operation(exchange.method, relative)
        if found:
            by_operation[found[0].id].append(exchange)
    mutants: list[Mutant] = []
    skipped: list[str] = []
    for operation in spec.operations.values():
        seen = by_operation.get(operation.id, [])
        regex = operation_regex(spec, operation)
        op_id = operation.id
        success = [e for e in seen if 200 <= e.status < 300]
        errors = [e for e in seen if 400 <= e.status < 500 and "json" in e.media_type]
        for drift_class in CLASSES:
            found_one: tuple[str, Mutation, set[str], int | tuple[int, ...]] | None = None
            if drift_class == "error body reshaped":
                # a vendor changes its error envelope everywhere: every error status seen at once
                hits = {}
                for exchange in errors:
                    schema = body_schema_pointer(spec, operation, exchange.status, "application/json")
                    body = json.loads(exchange.body)
                    hit = schema and first_breaking(
                        spec, schema, body, iter([("nested under /error", wrap_body("error"), set())])
                    )
                    if hit:
                        hits.setdefault(exchange.status, hit)
                if hits:
                    locations = set().union(*(hit[2] for hit in hits.values()))
                    codes = tuple(sorted(hits))
                    found_one = (
                        f"{'/'.join(map(str, codes))} bodies nested under /error",
                        wrap_body("error"),
                        locations,
                        codes,
                    )
            elif drift_class == "status code changed" and success:
                code = next(c for c in (203, 206, 299) if operation.response_key(c) is None)
                exchange = success[0]
                found_one = (f"{exchange.status} -> {code}", set_status(code), {"status"}, exchange.status)
            elif drift_class == "content type changed" and success:
                exchange = success[0]
                media = "text/plain" if exchange.media_type != "text/plain" else "application/octet-stream"
                found_one = (
                    f"{exchange.media_type} -> {media}",
                    set_content_type(media),
                    {"header:content-type"},
                    exchange.status,
                )
            elif drift_class == "documented path answering 404" and seen:
                every = tuple(sorted({e.status for e in seen}))
                found_one = (
                    "every answer is the unknown-path 404",
                    answer(404, not_found),
                    {"status"},
                    every,
                )
            else:
                for exchange in success:
                    if "json" not in exchange.media_type:
                        continue
                    schema = body_schema_pointer(
                        spec, operation, exchange.status, exchange.media_type.split(";")[0]
                    )
                    if schema is None:
                        continue
                    hit = first_breaking(
                        spec,
                        schema,
                        json.loads(exchange.body),
                        field_candidates(drift_class, json.loads(exchange.body)),
                        closed=drift_class == "undocumented extra field",
                    )
                    if hit:
                        found_one = (*hit, exchange.status)
                        break
            if found_one is None:
                skipped.append(f"{spec.api.name} {op_id}: {drift_class}")
                continue
            description, mutation, locations, status = found_one
            drift = Drift(
                operation.method, regex, mutation, status if isinstance(status, tuple) else (status,)
            )
            mutants.append(
                Mutant(
                    spec.api.name, op_id, drift_class, description, drift, {(op_id, loc) for loc in locations}
                )
            )
    return mutants, skipped


# --- judging -------------------------------------------------------------------------------


@dataclass
class Budget:
    phases: tuple[str, ...]
    max_examples: int
    seed: int


class Served:
    """A fresh faithful mock behind ``DriftMiddleware`` (and a recorder), on loopback."""

    def __init__(self, api: str, drifts: list[Drift]) -> None:
        mock = create_mock(api, "faithful", TOKEN)
        self.recorder = Recorder(DriftMiddleware(mock.app(), drifts))
        self.server = MockServer(self.recorder, mock.spec.base_path)

    def __enter__(self) -> Served:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def conformance_new(api: str, base_url: str, budget: Budget) -> set[tuple[str, str, str, str]]:
    """``(operation, location, kind, grade)`` of every finding a run reports as drift: new (its
    severity, ``breaking`` or ``additive``) or contradicting an assumption of the spec."""
    options = RunOptions(
        apis=[api],
        base_url=base_url,
        token=TOKEN,
        phases=budget.phases,
        max_examples=budget.max_examples,
        seed=budget.seed,
        # the mocks answer at once and end a run in a few polls: detection, not a vendor's pace, is
        # measured (a mutated state never ends: its run is given up after 10 s, not 10 minutes)
        poll_interval=0.05,
        lifecycle_timeout=10.0,
    )
    return {
        (f.operation, f.location, f.kind, str(f.severity) if f.classification == "new" else "assumption")
        for f in run(options).findings
        if f.classification in ("new", "assumption")
    }


def st_failures(api: str, base_url: str, budget: Budget, scratch: Path) -> set[tuple[str, str]]:
    """``(operation label, failure title)`` of every failed check of ``st run --checks all``."""
    info, spec = get_api(api), load_spec(api)
    config = scratch / "schemathesis.toml"
    config.write_text(
        "".join(f'[parameters]\n"{k}" = "{v}"\n' for k, v in info.credential_parameters(TOKEN).items())
    )
    junit = scratch / "junit.xml"
    headers = [f"-H{name}: {value}" for name, value in info.auth_headers(TOKEN).items()]
    command = [
        str(ST), "--config-file", str(config), "run", str(spec.source), "--url", base_url,
        "--checks", "all", *headers, "--phases", ",".join(budget.phases),
        "--max-examples", str(budget.max_examples), "--seed", str(budget.seed), "--workers", "1",
        "--report", "junit", "--report-junit-path", str(junit), "--no-color",
        "--generation-database", "none", "--suppress-health-check", "all",
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, check=False, cwd=scratch, timeout=300)
    failures: set[tuple[str, str]] = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            text = failure.text or failure.get("message") or ""
            # "- ST108 Response violates schema" and its first line of detail name one failure
            for code, title, detail in ST_FAILURE.findall(text) or [(text.strip()[:80], "", "")]:
                failures.add((case.get("name") or "", f"{code} {title}: {detail}"))
    return failures


def label_of(spec: Spec, operation_id: str) -> str:
    return spec.operations[operation_id].label


@dataclass
class ApiOutcome:
    api: str
    clean_new: set[tuple[str, str, str, str]]
    clean_st: set[tuple[str, str]]
    mutants: list[Mutant]
    skipped: list[str]
    conformance: list[Verdict]
    st: list[Verdict]


def not_found_body(base_url: str) -> Any:
    """What the mock answers on a path it does not serve: a removed route answers the same."""
    response = httpx.get(f"{base_url}/no-such-route", timeout=10)
    return response.json()


def judge_api(api: str, budget: Budget, with_st: bool) -> ApiOutcome:
    spec = load_spec(api)
    with tempfile.TemporaryDirectory() as scratch, Served(api, []) as clean:
        clean_new = conformance_new(api, clean.server.base_url, budget)
        clean.recorder.recording = False
        mutants, skipped = derive_mutants(
            spec, clean.recorder.exchanges, not_found_body(clean.server.base_url)
        )
        clean_st = st_failures(api, clean.server.base_url, budget, Path(scratch)) if with_st else set()
    conformance_verdicts, st_verdicts = [], []
    for mutant in mutants:
        with Served(api, [mutant.drift]) as served:
            served.recorder.recording = False
            found = conformance_new(api, served.server.base_url, budget) - clean_new
        located = [f for f in found if (f[0], f[1]) in mutant.locations]
        conformance_verdicts.append(
            Verdict(
                bool(found),
                bool(located),
                sorted(" ".join(f) for f in found),
                Counter(grade for *_, grade in located),
            )
        )
        if not with_st:
            continue
        with tempfile.TemporaryDirectory() as scratch, Served(api, [mutant.drift]) as served:
            served.recorder.recording = False
            failed = st_failures(api, served.server.base_url, budget, Path(scratch)) - clean_st
        label = label_of(spec, mutant.operation)
        at_operation = {f for f in failed if f[0] == label}
        st_verdicts.append(
            Verdict(bool(at_operation), bool(at_operation), sorted(" ".join(f) for f in failed))
        )
    return ApiOutcome(api, clean_new, clean_st, mutants, skipped, conformance_verdicts, st_verdicts)


def rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def report(outcomes: list[ApiOutcome], with_st: bool, verbose: bool) -> None:
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    grades: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        for index, mutant in enumerate(outcome.mutants):
            tally = per_class[mutant.drift_class]
            tally["mutants"] += 1
            verdict = outcome.conformance[index]
            tally["detected"] += verdict.detected
            tally["located"] += verdict.located
            grades[mutant.drift_class].update(verdict.grades)
            if with_st:
                tally["st"] += outcome.st[index].detected
            if verbose or not verdict.detected or not verdict.located:
                mark = "ok" if verdict.located else ("UNLOCATED" if verdict.detected else "MISSED")
                print(
                    f"  {mark:9} {mutant.api} {mutant.operation} [{mutant.drift_class}] {mutant.description}"
                    f" -> {'; '.join(verdict.findings) or 'no new finding'}"
                )
    print()
    header = f"{'class':32} {'mutants':>7}  {'conformance new':>16}  {'located':>16}"
    print(header + (f"  {'st run failed':>16}" if with_st else "") + "  graded (located findings)")
    totals: Counter[str] = Counter()
    for drift_class in CLASSES:
        tally = per_class.get(drift_class, Counter())
        totals.update(tally)
        line = (
            f"{drift_class:32} {tally['mutants']:>7}  {rate(tally['detected'], tally['mutants']):>16}"
            f"  {rate(tally['located'], tally['detected']):>16}"
        )
        graded = ", ".join(f"{grade} {count}" for grade, count in sorted(grades[drift_class].items()))
        print(line + (f"  {rate(tally['st'], tally['mutants']):>16}" if with_st else "") + f"  {graded}")
    line = (
        f"{'all':32} {totals['mutants']:>7}  {rate(totals['detected'], totals['mutants']):>16}"
        f"  {rate(totals['located'], totals['detected']):>16}"
    )
    print(line + (f"  {rate(totals['st'], totals['mutants']):>16}" if with_st else ""))
    print()
    for outcome in outcomes:
        print(
            f"{outcome.api}: false positives on the faithful mock: {len(outcome.clean_new)} new finding(s)"
            + (f"; st run failures: {len(outcome.clean_st)}" if with_st else "")
        )
        for finding in sorted(outcome.clean_new):
            print(f"    new: {' '.join(finding)}")
        if verbose:
            for failure in sorted(outcome.clean_st):
                print(f"    st: {' '.join(failure)}")
    skipped = [s for outcome in outcomes for s in outcome.skipped]
    print(f"\nno contract-visible mutation of this class in the clean traffic ({len(skipped)}):")
    for line in skipped:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apis", nargs="*", default=[])
    parser.add_argument("--phases", default="examples")
    parser.add_argument("--max-examples", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-st", action="store_true", help="judge with conformance run only")
    parser.add_argument("--verbose", action="store_true", help="every mutant and every st failure")
    args = parser.parse_args()
    budget = Budget(tuple(args.phases.split(",")), args.max_examples, args.seed)
    started = time.perf_counter()
    outcomes = [judge_api(api.name, budget, not args.no_st) for api in resolve_apis(args.apis)]
    print(
        f"phases {args.phases}, max-examples {args.max_examples}, seed {args.seed}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    report(outcomes, not args.no_st, args.verbose)


if __name__ == "__main__":
    main()
