"""Detection power: one contract-visible mutation at a time, on every operation of every API,
judged by `conformance run` and by plain `st run --checks all` on the same mock.

For each API a faithful mock is first run clean (false positives: any `new` finding; for
`st run`: its failures). Its recorded traffic then yields the mutants: for each operation and
drift class, the first place in a real response where the change breaks the documented
contract under plain JSON Schema (so no mutant is equivalent to the original), applied with
``conformance.mocks.drift``. Each mutant is served by a fresh faithful mock behind
``DriftMiddleware`` and judged by both tools with the same phases, budget and seed.

Behaviour classes (``BEHAVIOUR_CLASSES``) are well-formed lies: each is derived from what the
spec promises at an operation (``x-list``, ``x-identity``, ``x-timing``, ``x-lifecycle``) and
breaks only that (a list that ignores its filter or its paging, a run read back in another
state after it ended, a cancel or delete acknowledged and not carried out, a negative duration,
a byte-order mark, a key twice, NaN, an empty body), some of them through a request rewrite.

A mutant is *detected* when it turns the night red: the run exits 1 with a new breaking finding
that the clean run did not have (as ``conformance run`` fails a nightly job); it is *located* when
one of those breaking findings names the mutated operation and location. A mutant that only
yields an assumption, a convention or additive drift (none of which fails a night) is counted
apart and listed by name with what it yielded. `st run` has no notion of a known quirk nor of a
finding's class, so it is credited as before: a check failure at the mutated operation that it
did not report on the clean mock.

    .venv/bin/python bench/detection.py [--apis kognitos ...] [--max-examples 1] [--phases examples]
        [--only shape|behaviour]
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
from urllib.parse import parse_qsl, urlencode

import httpx
import jsonpointer
from common import target
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.contract.model import Operation, Spec
from conformance.contract.parameters import parameters
from conformance.contract.specs import load_spec
from conformance.engine.runner import RunOptions, run
from conformance.judge.behaviour import pointer_get, timed_objects
from conformance.judge.context import location_of as wildcard_location
from conformance.mocks import MockServer, create_mock
from conformance.mocks.drift import (
    Drift,
    DriftMiddleware,
    Mutation,
    Rewrite,
    add_field,
    answer,
    drop_query,
    duplicate_item,
    duplicate_key,
    empty_body,
    prefix_bom,
    regress,
    remove_field,
    rename_field,
    reroute,
    set_content_type,
    set_status,
    set_value,
    wrap_body,
)
from conformance.vendors.registry import get_api, resolve_apis

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
#: Well-formed lies: every member has the right type, the behaviour is wrong. Derived from what the
#: spec says each operation promises (``x-list``, ``x-identity``, ``x-timing``, ``x-lifecycle``).
BEHAVIOUR_CLASSES = (
    "filter ignored",
    "limit ignored",
    "paging ignored",
    "item listed twice",
    "total miscounted",
    "another resource's id",
    "terminal state left",
    "cancel not carried out",
    "delete not carried out",
    "retry answers the retried run",
    "negative duration",
    "duration in another unit",
    "end before start",
    "byte-order mark",
    "duplicate key",
    "NaN or Infinity",
    "empty body",
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
    #: conformance: the night turned red (exit 1, new breaking drift); st: a new failure at the operation
    detected: bool
    located: bool
    findings: list[str] = field(default_factory=list)
    #: How the located findings were graded: breaking, additive (new drift), assumption or convention.
    grades: Counter[str] = field(default_factory=Counter)
    #: The run's exit code (conformance run): 0 green, 1 red, 2 errors.
    exit_code: int = 0


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


def exchanges_by_operation(spec: Spec, exchanges: list[Exchange]) -> dict[str, list[Exchange]]:
    by_operation: dict[str, list[Exchange]] = defaultdict(list)
    for exchange in exchanges:
        relative = exchange.path[len(spec.base_path) :]
        found = spec.find_operation(exchange.method, relative)
        if found:
            by_operation[found[0].id].append(exchange)
    return by_operation


def derive_mutants(spec: Spec, exchanges: list[Exchange], not_found: Any) -> tuple[list[Mutant], list[str]]:
    """Mutants for every operation and class, and why a class could not apply to an operation."""
    by_operation = exchanges_by_operation(spec, exchanges)
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


# --- behaviour mutants --------------------------------------------------------------------


def keep_query(*names: str) -> Rewrite:
    """The server sees only these query parameters: an opaque cursor in its ``next`` link is lost."""

    def rewrite(scope: Scope) -> Scope:
        query = [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"), True) if k in names]
        return {**scope, "query_string": urlencode(query).encode("latin-1")}

    return rewrite


def to_operation(spec: Spec, source: Operation, target: Operation, renames: dict[str, str]) -> Rewrite:
    """A request of ``source`` answered by ``target`` (a GET of the same run): a command the server
    acknowledges without carrying it out."""
    parts = re.split(r"(\{[^}]+\})", source.path)
    pattern = (
        "^"
        + re.escape(spec.base_path)
        + "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part) for part in parts)
        + "$"
    )
    names = {renames.get(name, name): name for name in re.findall(r"\{([^}]+)\}", source.path)}
    replacement = spec.base_path + re.sub(
        r"\{([^}]+)\}", lambda m: f"\\g<{names.get(m.group(1), m.group(1))}>", target.path
    )
    return reroute(target.method, pattern, replacement)


def another_id(value: Any) -> Any:
    """An id of the same shape that names something else (its last character changed)."""
    if not isinstance(value, str) or not value:
        return value
    return value[:-1] + ("1" if value[-1] != "1" else "2")


def nested(pointer: str, value: Any) -> dict[str, Any]:
    """``{"accepted": true}`` from ``/accepted``: the smallest body with ``value`` at ``pointer``."""
    body: Any = value
    for token in reversed(pointer.lstrip("/").split("/")):
        body = {token: body}
    return body


def timed(
    spec: Spec, exchanges: list[Exchange], operation: Operation, *needs: str
) -> Iterator[tuple[str, str]]:
    """``(pointer, location)`` prefixes of recorded objects whose schema has ``x-timing`` and which
    hold a positive duration and each of ``needs`` (``started``, ``finished``)."""
    for exchange in exchanges:
        pointer = body_schema_pointer(spec, operation, exchange.status, exchange.media_type.split(";")[0])
        if pointer is None:
            continue
        body = json.loads(exchange.body)
        for path, obj, timing in timed_objects(spec, {"$ref": f"#{pointer}"}, body):
            duration = pointer_get(obj, timing.get("duration"))
            if not isinstance(duration, int | float) or isinstance(duration, bool) or duration <= 0:
                continue
            if all(pointer_get(obj, timing.get(need)) for need in needs):
                yield pointer_of(path), wildcard_location(path), timing


def first_member(body: Any, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The path of the first member of the first object in ``body``."""
    if isinstance(body, dict) and body:
        return (*path, next(iter(body)))
    if isinstance(body, list) and body:
        return first_member(body[0], (*path, 0))
    return None


def first_number(body: Any) -> tuple[Any, ...] | None:
    for path, value in leaves(body):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return path
    return None


def behaviour_mutant(
    spec: Spec, operation: Operation, drift_class: str, seen: list[Exchange]
) -> tuple[str, Drift, set[tuple[str, str]]] | None:
    """The mutant of ``drift_class`` at ``operation``, or ``None`` where the spec promises nothing
    of the kind there (or the clean traffic has nothing to mutate)."""
    op, regex, method = operation.id, operation_regex(spec, operation), operation.method
    plan = spec.lifecycle.plan if spec.lifecycle else {}
    listing = operation.listing
    success = [e for e in seen if 200 <= e.status < 300 and "json" in e.media_type and e.body]
    status = (success[0].status,) if success else (200,)
    known = parameters(spec, op)
    if drift_class == "filter ignored" and listing:
        optional = [f for f in listing.filters if f.parameter in known and not known[f.parameter].required]
        if optional:
            names = [f.parameter for f in optional]
            drift = Drift(method, regex, request=drop_query(*names))
            return (
                f"{', '.join(names)} ignored",
                drift,
                {(op, listing.item_location(f.field)) for f in optional},
            )
    if drift_class == "limit ignored" and listing and listing.limit:
        return (
            f"{listing.limit} ignored",
            Drift(method, regex, request=drop_query(listing.limit)),
            {(op, listing.items)},
        )
    if drift_class == "paging ignored" and listing and listing.paging:
        paging = listing.paging
        if paging.parameter:
            rewrite, what = drop_query(paging.parameter), f"{paging.parameter} ignored"
        else:
            rewrite, what = keep_query(*known), f"the {paging.source} link's own query ignored"
        return what, Drift(method, regex, request=rewrite), {(op, listing.item_location(listing.id))}
    if drift_class == "item listed twice" and listing and success:
        drift = Drift(method, regex, duplicate_item(listing.items), status)
        return "the first item listed again", drift, {(op, listing.item_location(listing.id))}
    if drift_class == "total miscounted" and listing and listing.total:
        drift = Drift(method, regex, set_value(listing.total, lambda t: t + 1 if isinstance(t, int) else t))
        return f"{listing.total} + 1", drift, {(op, listing.total)}
    if drift_class == "another resource's id" and success:
        for name, pointer in operation.identity.items():
            drift = Drift(method, regex, set_value(pointer, another_id), status)
            return f"{pointer} names another {name}", drift, {(op, pointer)}
    poll = plan.get("poll") or {}
    if drift_class == "terminal state left" and op == poll.get("operation"):
        lifecycle = spec.lifecycle
        back = (lifecycle.running or lifecycle.initial)[0]
        run_id = operation.identity.get(poll["run_id"], "/id")
        drift = Drift(method, regex, regress(poll["state"], set(lifecycle.terminal), back, run_id))
        return f"an ended run read as {back}", drift, {(op, poll["state"])}
    poll_operation = spec.operations.get(poll.get("operation", ""))
    for step, cls in (("cancel", "cancel not carried out"), ("delete", "delete not carried out")):
        command = plan.get(step) or {}
        if drift_class == cls and op == command.get("operation") and poll_operation is not None:
            return command_mutant(spec, operation, poll_operation, step, command, poll, success)
    start = plan.get("start") or {}
    if (
        drift_class == "retry answers the retried run"
        and op == start.get("operation")
        and start.get("new_run")
        and poll_operation is not None
    ):
        rewrite = to_operation(spec, operation, poll_operation, {start.get("run_id", ""): poll["run_id"]})
        return "answers the retried run", Drift(method, regex, request=rewrite), {(op, start.get("id", ""))}
    if drift_class in ("negative duration", "duration in another unit", "end before start"):
        needs = ("started", "finished") if drift_class != "negative duration" else ()
        for pointer, where, timing in timed(spec, success, operation, *needs):
            if drift_class == "negative duration":
                member, change = timing["duration"], lambda d: -abs(d) if isinstance(d, int | float) else d
            elif drift_class == "duration in another unit":
                member, change = timing["duration"], lambda d: d * 1000 if isinstance(d, int | float) else d
            else:
                member, change = timing["finished"], lambda v: v and "2000-01-01T00:00:00Z"
            drift = Drift(method, regex, set_value(pointer + member, change), status)
            return f"{where}{member} changed", drift, {(op, where + member)}
        return None
    if not success:
        return None
    body = json.loads(success[0].body)
    if drift_class == "byte-order mark":
        return "EF BB BF first", Drift(method, regex, prefix_bom(), status), {(op, "")}
    if drift_class == "empty body":
        return "no body", Drift(method, regex, empty_body(), status), {(op, "")}
    if drift_class == "duplicate key" and (path := first_member(body)):
        drift = Drift(method, regex, duplicate_key(pointer_of(path), "duplicate"), status)
        return f"{location_of(path)} twice", drift, {(op, location_of(path))}
    if drift_class == "NaN or Infinity" and (path := first_number(body)):
        drift = Drift(method, regex, set_value(pointer_of(path), float("nan")), status)
        return f"{location_of(path)} = NaN", drift, {(op, location_of(path))}
    return None


def command_mutant(
    spec: Spec,
    operation: Operation,
    poll_operation: Operation,
    step: str,
    command: dict[str, Any],
    poll: dict[str, Any],
    success: list[Exchange],
) -> tuple[str, Drift, set[tuple[str, str]]] | None:
    """A cancel or delete the server acknowledges as the documents say, and never carries out:
    the request reaches the run's GET instead."""
    op, regex, method = operation.id, operation_regex(spec, operation), operation.method
    rewrite = to_operation(spec, operation, poll_operation, {command["run_id"]: poll["run_id"]})
    if step == "cancel":
        accepted = command.get("accepted")
        mutation = answer(200, nested(accepted, True)) if accepted else None
        return (
            "answered, not carried out",
            Drift(method, regex, mutation, request=rewrite),
            {(op, poll["state"])},
        )
    answered = next((json.loads(e.body) for e in success), None)
    if answered is None:
        return None
    run_id = poll_operation.identity.get(poll["run_id"], "/id")
    mine = operation.identity.get(command["run_id"], "/id").lstrip("/")

    def deleted(status: int, body: Any) -> tuple[int, Any]:
        return 200, {**answered, mine: pointer_get(body, run_id)}

    lists = {
        (other.id, listing.item_location(listing.id))
        for other in spec.operations.values()
        if (listing := other.listing) is not None
    }
    drift = Drift(method, regex, deleted, request=rewrite)
    return "answered, not carried out", drift, {(op, "status"), *lists}


def derive_behaviour_mutants(spec: Spec, exchanges: list[Exchange]) -> tuple[list[Mutant], list[str]]:
    by_operation = exchanges_by_operation(spec, exchanges)
    mutants: list[Mutant] = []
    skipped: list[str] = []
    for operation in spec.operations.values():
        for drift_class in BEHAVIOUR_CLASSES:
            found = behaviour_mutant(spec, operation, drift_class, by_operation.get(operation.id, []))
            if found is None:
                skipped.append(f"{spec.api.name} {operation.id}: {drift_class}")
                continue
            description, drift, locations = found
            mutants.append(Mutant(spec.api.name, operation.id, drift_class, description, drift, locations))
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


Reported = tuple[str, str, str, str]


def conformance_new(api: str, base_url: str, budget: Budget) -> tuple[int, set[Reported]]:
    """The run's exit code, and ``(operation, location, kind, grade)`` of every finding it reports
    beside the known quirks: new drift (its severity, ``breaking`` or ``additive``), a
    contradicted assumption of the spec (``assumption``) or an HTTP convention (``convention``)."""
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
    result = run(options)
    return result.exit_code, {
        (
            f.operation,
            f.location,
            f.kind,
            str(f.severity) if f.classification == "new" else str(f.classification),
        )
        for f in result.findings
        if f.classification in ("new", "assumption", "convention")
    }


def conformance_verdict(exit_code: int, found: set[Reported], mutant: Mutant) -> Verdict:
    """Detected: red (exit 1) with new breaking drift; located: that drift at the mutation."""
    breaking = [f for f in found if f[3] == "breaking"]
    located = [f for f in found if (f[0], f[1]) in mutant.locations]
    return Verdict(
        exit_code == 1 and bool(breaking),
        exit_code == 1 and any((f[0], f[1]) in mutant.locations for f in breaking),
        sorted(" ".join(f) for f in found),
        Counter(grade for *_, grade in located),
        exit_code,
    )


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
    clean_new: set[Reported]
    clean_exit: int
    clean_st: set[tuple[str, str]]
    mutants: list[Mutant]
    skipped: list[str]
    conformance: list[Verdict]
    st: list[Verdict]
    #: behaviour classes the spec promises nothing of at an operation (no x-list, x-timing, ...)
    #: or whose clean traffic has nothing to change
    not_promised: list[str] = field(default_factory=list)


def not_found_body(base_url: str) -> Any:
    """What the mock answers on a path it does not serve: a removed route answers the same."""
    response = httpx.get(f"{base_url}/no-such-route", timeout=10)
    return response.json()


def judge_api(api: str, budget: Budget, with_st: bool, only: str | None = None) -> ApiOutcome:
    spec = load_spec(api)
    with tempfile.TemporaryDirectory() as scratch, Served(api, []) as clean:
        clean_exit, clean_new = conformance_new(api, clean.server.base_url, budget)
        clean.recorder.recording = False
        mutants, skipped = derive_mutants(
            spec, clean.recorder.exchanges, not_found_body(clean.server.base_url)
        )
        behaviour, not_promised = derive_behaviour_mutants(spec, clean.recorder.exchanges)
        mutants = {"shape": mutants, "behaviour": behaviour}.get(only or "", mutants + behaviour)
        clean_st = st_failures(api, clean.server.base_url, budget, Path(scratch)) if with_st else set()
    conformance_verdicts, st_verdicts = [], []
    for mutant in mutants:
        with Served(api, [mutant.drift]) as served:
            served.recorder.recording = False
            exit_code, found = conformance_new(api, served.server.base_url, budget)
        conformance_verdicts.append(conformance_verdict(exit_code, found - clean_new, mutant))
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
    return ApiOutcome(
        api,
        clean_new,
        clean_exit,
        clean_st,
        mutants,
        skipped,
        conformance_verdicts,
        st_verdicts,
        not_promised,
    )


def rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def yielded(verdict: Verdict) -> str:
    """What a run reported beside the clean run's findings, by grade."""
    by_grade: dict[str, list[str]] = defaultdict(list)
    for finding in verdict.findings:
        *where, grade = finding.split(" ")
        by_grade[grade].append(" ".join(where))
    return "; ".join(f"{grade}: {', '.join(found)}" for grade, found in sorted(by_grade.items())) or "nothing"


def mark(verdict: Verdict) -> str:
    if verdict.exit_code == 2:
        return "ERROR"
    if verdict.detected:
        return "ok" if verdict.located else "UNLOCATED"
    return "NOT RED" if verdict.findings else "MISSED"


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
            tally["reported"] += not verdict.detected and bool(verdict.findings)
            grades[mutant.drift_class].update(verdict.grades)
            if with_st:
                tally["st"] += outcome.st[index].detected
            if verbose or not verdict.located:
                print(
                    f"  {mark(verdict):9} {mutant.api} {mutant.operation} [{mutant.drift_class}] "
                    f"{mutant.description} -> exit {verdict.exit_code}, {yielded(verdict)}"
                )
    print(
        "\nred: the night exits 1 with new breaking drift the clean night lacked; located: that drift"
        "\nnames the mutated operation and location; not red: reported only as assumption, convention"
        "\nor additive drift (listed above, NOT RED), which fails no night"
        + (
            "; st run failed: st has no classes\nof finding, so any check failure at the mutated "
            "operation that the clean run lacked counts"
            if with_st
            else ""
        )
    )
    header = f"{'class':32} {'mutants':>7}  {'red (detected)':>16}  {'located':>16}  {'not red':>7}"
    print(header + (f"  {'st run failed':>16}" if with_st else "") + "  graded (located findings)")

    def row(title: str, tally: Counter[str], graded: str = "") -> str:
        line = (
            f"{title:32} {tally['mutants']:>7}  {rate(tally['detected'], tally['mutants']):>16}"
            f"  {rate(tally['located'], tally['detected']):>16}  {tally['reported']:>7}"
        )
        return line + (f"  {rate(tally['st'], tally['mutants']):>16}" if with_st else "") + f"  {graded}"

    totals: Counter[str] = Counter()
    for title, classes in (("shapes", CLASSES), ("behaviour", BEHAVIOUR_CLASSES)):
        subtotal: Counter[str] = Counter()
        for drift_class in classes:
            tally = per_class.get(drift_class, Counter())
            subtotal.update(tally)
            graded = ", ".join(f"{grade} {count}" for grade, count in sorted(grades[drift_class].items()))
            print(row(drift_class, tally, graded).rstrip())
        totals.update(subtotal)
        print(row("all " + title, subtotal).rstrip() + "\n")
    print(row("all", totals).rstrip())
    print()
    targets(outcomes, per_class, totals, with_st)
    for outcome in outcomes:
        reported = Counter(grade for *_, grade in outcome.clean_new)
        print(
            f"{outcome.api}: the faithful mock's night: exit {outcome.clean_exit}"
            f" ({'green' if outcome.clean_exit == 0 else 'FALSE ALARM'}); beside the known quirks "
            + (", ".join(f"{grade} {count}" for grade, count in sorted(reported.items())) or "nothing")
            + (f"; st run failures: {len(outcome.clean_st)}" if with_st else "")
        )
        for finding in sorted(outcome.clean_new):
            if verbose or finding[3] == "breaking":
                print(f"    {' '.join(finding)}")
        if verbose:
            for failure in sorted(outcome.clean_st):
                print(f"    st: {' '.join(failure)}")
    skipped = [s for outcome in outcomes for s in outcome.skipped]
    print(f"\nno contract-visible mutation of this class in the clean traffic ({len(skipped)}):")
    for line in skipped:
        print(f"    {line}")
    not_promised = [s for outcome in outcomes for s in outcome.not_promised]
    print(
        f"\nbehaviour the spec does not promise at the operation, or nothing to change ({len(not_promised)})"
    )
    if verbose:
        for line in not_promised:
            print(f"    {line}")


def targets(
    outcomes: list[ApiOutcome], per_class: dict[str, Counter[str]], totals: Counter[str], with_st: bool
) -> None:
    """The ``target |`` lines ``bench/results.py`` makes the table of detection targets from."""
    if not totals["mutants"]:
        return
    families = [
        title
        for title, classes in (("shape", CLASSES), ("behaviour", BEHAVIOUR_CLASSES))
        if any(per_class.get(c, Counter())["mutants"] for c in classes)
    ]
    family = " and ".join(families) + " classes"
    tried = [c for c, tally in per_class.items() if tally["mutants"]]
    full = [c for c in tried if per_class[c]["detected"] == per_class[c]["mutants"]]
    short = ", ".join(
        f"{c} {per_class[c]['detected']}/{per_class[c]['mutants']}" for c in tried if c not in full
    )
    target(
        f"mocks' mutants turning the night red, {family}",
        f"{rate(totals['detected'], totals['mutants'])}; {len(full)} of {len(tried)} classes at 100%"
        + (f", short: {short}" if short else "")
        + (f"; st run {rate(totals['st'], totals['mutants'])}" if with_st else ""),
        "100% in every class",
        len(full) == len(tried),
    )
    target(
        f"mocks' red mutants located, {family}",
        rate(totals["located"], totals["detected"]),
        "100%",
        totals["located"] == totals["detected"],
    )
    alarms = [o.api for o in outcomes if o.clean_exit != 0]
    target(
        f"false alarms on the faithful mocks ({family} run)",
        f"{len(alarms)} of {len(outcomes)} nights" + (f" ({', '.join(alarms)})" if alarms else ""),
        "0",
        not alarms,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apis", nargs="*", default=[])
    parser.add_argument("--phases", default="examples")
    parser.add_argument("--max-examples", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-st", action="store_true", help="judge with conformance run only")
    parser.add_argument("--verbose", action="store_true", help="every mutant and every st failure")
    parser.add_argument("--only", choices=["shape", "behaviour"], help="one family of classes")
    args = parser.parse_args()
    budget = Budget(tuple(args.phases.split(",")), args.max_examples, args.seed)
    started = time.perf_counter()
    outcomes = [judge_api(api.name, budget, not args.no_st, args.only) for api in resolve_apis(args.apis)]
    print(
        f"phases {args.phases}, max-examples {args.max_examples}, seed {args.seed}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    report(outcomes, not args.no_st, args.verbose)


if __name__ == "__main__":
    main()
