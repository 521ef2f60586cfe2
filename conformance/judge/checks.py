"""Response checks: compare one response with the spec and explain every difference.

Each check is a small function, listed in ``judge.registry``; it receives the response in
context and yields ``Deviation`` objects whose ``kind`` says *what kind* of difference it
is (a renamed field, a re-cased enum value, an offset-less timestamp, ...), so that the
classifier can match them exactly against the catalogue.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jsonpointer
from jsonschema.exceptions import ValidationError, best_match

from conformance.bounds import MAX_BODY_BYTES, MAX_JSON_DEPTH, JsonRejected, json_depth, parse_number
from conformance.contract.catalogue import Exchange
from conformance.contract.extensions import assumption_of, schema_assumption
from conformance.contract.model import Operation, Spec
from conformance.findings import Deviation
from conformance.kinds import BODY_TOO_LARGE, json_type

_OFFSETLESS_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


@dataclass
class ResponseContext:
    """A response as the checks see it: decoded once, shared by every check."""

    spec: Spec
    operation: Operation
    status_code: int
    headers: Mapping[str, str]
    body: bytes
    max_body_bytes: int = MAX_BODY_BYTES
    #: The request's path and query parameters as sent, where the caller knows them (a run,
    #: not a replay): the behaviour checks compare the answer with what was asked.
    params: Mapping[str, Any] | None = None
    #: The request body as sent (decoded JSON or its text), where the caller knows it: a catalogue
    #: entry may document the answer to one kind of request only (a cancel, not a start).
    request_body: Any = None

    @cached_property
    def response_key(self) -> str | None:
        return self.operation.response_key(self.status_code)

    @cached_property
    def response_pointer(self) -> str | None:
        """JSON pointer to the documented response object (following one ``$ref``)."""
        if self.response_key is None:
            return None
        raw = self.operation.definition["responses"][self.response_key]
        if isinstance(raw, dict) and "$ref" in raw:
            return raw["$ref"].lstrip("#")
        return f"{self.operation.pointer}/responses/{self.response_key}"

    @cached_property
    def documented(self) -> dict[str, Any]:
        if self.response_key is None:
            return {}
        return self.spec.resolve(self.operation.definition["responses"][self.response_key])

    @cached_property
    def media_type(self) -> str | None:
        value = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        return value.split(";")[0].strip().lower() if value else None

    @cached_property
    def parsed(self) -> StrictJson:
        """The body read as strict JSON (RFC 8259), with what only a lenient reader would accept."""
        return parse_strict(self.body)

    @property
    def instance(self) -> Any:
        """The decoded body, or ``NOT_JSON``."""
        return self.parsed.value

    @cached_property
    def body_key(self) -> tuple[Any, ...]:
        """What a body-only check's verdict depends on (``by_body``): the body by its digest."""
        digest = hashlib.blake2b(self.body, digest_size=16).digest()
        return (self.spec, self.operation.id, self.status_code, self.media_type, self.max_body_bytes, digest)

    @cached_property
    def assumption(self) -> str | None:
        """Why the spec documents this response, when no vendor document does."""
        return assumption_of(self.documented)

    def deviation(
        self,
        location: str,
        kind: str,
        expected: Any,
        observed: Any,
        message: str,
        assumption: str | None = None,
    ) -> Deviation:
        return Deviation(
            api=self.spec.api.name,
            operation=self.operation.id,
            status_code=self.status_code,
            location=location,
            kind=kind,
            expected=expected,
            observed=observed,
            message=message,
            assumption=assumption or self.assumption,
        )


class Judgement(list[Deviation]):
    """The deviations of one response, with the response itself: a session counts which
    catalogued places it showed, so a quirk that stopped appearing is noticed."""

    def __init__(self, deviations: Iterable[Deviation], context: ResponseContext) -> None:
        super().__init__(deviations)
        self.context = context

    @property
    def status_code(self) -> int:
        return self.context.status_code

    @property
    def body(self) -> Any:
        """The decoded body, or ``NOT_JSON`` (a body over the limit is not read)."""
        ctx = self.context
        return NOT_JSON if len(ctx.body) > ctx.max_body_bytes else ctx.instance

    @property
    def exchange(self) -> Exchange:
        """The request body sent and the body answered, for the catalogue's conditions."""
        return Exchange(self.context.request_body, self.body)


Check = Callable[[ResponseContext], Iterable[Deviation]]


def status_code_documented(ctx: ResponseContext) -> Iterator[Deviation]:
    if ctx.status_code >= 500:
        yield ctx.deviation(
            "status",
            "server-error",
            "a response that is not a server error",
            ctx.status_code,
            f"the server failed with {ctx.status_code} on {ctx.operation.label}",
        )
    elif ctx.response_key is None and ctx.status_code != 429:
        # an undocumented 429 is the server asking a client to slow down, not a broken contract
        documented = ctx.operation.documented_statuses
        yield ctx.deviation(
            "status",
            "undocumented-status",
            documented,
            ctx.status_code,
            f"status {ctx.status_code} is not documented for {ctx.operation.label} (documented: "
            f"{', '.join(documented)})",
            ctx.operation.status_assumption or _unsaid_status(ctx),
        )


def _unsaid_status(ctx: ResponseContext) -> str | None:
    """Why an undocumented refusal contradicts no document: which status a refused credential
    gets, and what an id the server never issued gets, are things no page of these APIs says,
    so HTTP's own answers (RFC 9110) are assumed rather than held against the server."""
    if ctx.status_code in (401, 403) and ctx.spec.secured(ctx.operation):
        return (
            "No document of the API says which status a missing or refused credential gets; RFC 9110 "
            "allows 401 (section 15.5.2) or 403 (section 15.5.4), so either is assumed."
        )
    names = re.findall(r"\{([^}]+)\}", ctx.operation.path)
    if ctx.status_code == 404 and names:
        return (
            f"No document of the API says what a request naming an unknown {', '.join(names)} gets; "
            "404 (RFC 9110 section 15.5.5) is assumed for an id the server did not issue."
        )
    return None


def _media_matches(declared: str, actual: str) -> bool:
    if declared in (actual, "*/*"):
        return True
    major, _, minor = declared.partition("/")
    return minor == "*" and actual.startswith(f"{major}/")


def content_type_documented(ctx: ResponseContext) -> Iterator[Deviation]:
    declared = sorted(ctx.documented.get("content") or {})
    if not declared or not ctx.body:
        return
    if ctx.media_type is None or not any(_media_matches(d, ctx.media_type) for d in declared):
        yield ctx.deviation(
            "header:content-type",
            "content-type",
            declared,
            ctx.media_type,
            f"content type {ctx.media_type or '(none)'} is not documented ({', '.join(declared)})",
        )


def required_headers_present(ctx: ResponseContext) -> Iterator[Deviation]:
    present = {name.lower() for name in ctx.headers}
    for name, header in (ctx.documented.get("headers") or {}).items():
        header = ctx.spec.resolve(header)
        if header.get("required") and name.lower() not in present:
            yield ctx.deviation(
                f"header:{name.lower()}", "missing-header", name, None, f"required header {name} is missing"
            )


#: How many responses' deviations a body-only check remembers: traffic repeats bodies (a run
#: polled until it ends, a page listed again), and explaining one against its schema takes a
#: millisecond. Beyond it the memory starts afresh.
REMEMBERED_BODIES = 4096


def by_body(function: Check) -> Check:
    """Remember what ``function`` found in a response, for a check that reads nothing of it but
    the operation, status, media type and body: the same body again gets the same deviations."""
    memory: dict[tuple[Any, ...], tuple[Deviation, ...]] = {}

    @functools.wraps(function)
    def remembered(ctx: ResponseContext) -> tuple[Deviation, ...]:
        found = memory.get(ctx.body_key)
        if found is None:
            found = tuple(function(ctx))
            if len(memory) >= REMEMBERED_BODIES:
                memory.clear()
            memory[ctx.body_key] = found
        return found

    return remembered


@by_body
def body_matches_schema(ctx: ResponseContext) -> Iterator[Deviation]:
    content = ctx.documented.get("content") or {}
    media = next((d for d in sorted(content) if ctx.media_type and _media_matches(d, ctx.media_type)), None)
    if media is None or "json" not in media or "schema" not in content[media]:
        return
    if len(ctx.body) > ctx.max_body_bytes:
        yield ctx.deviation(
            "",
            BODY_TOO_LARGE,
            f"at most {ctx.max_body_bytes} bytes",
            f"more than {ctx.max_body_bytes} bytes",
            f"the body ({len(ctx.body)} bytes) is larger than the limit; it was not read",
        )
        return
    if not ctx.body:
        return  # the empty-body check reports it
    yield from _explain_body(ctx, media)


def _explain_body(ctx: ResponseContext, media: str) -> Iterator[Deviation]:
    """Every way a read body departs from the schema documented for ``media``."""
    parsed = ctx.parsed
    if parsed.error is not None:
        problem = _json_problem(ctx.body, parsed.error)
        yield ctx.deviation(
            "", "invalid-json", "JSON", problem, f"the body ({len(ctx.body)} bytes) is {problem}"
        )
        return
    yield from _lenient_json(ctx, parsed)
    instance = parsed.value
    pointer = f"{ctx.response_pointer}/content/{jsonpointer.escape(media)}/schema"
    # The Rust validator vouches for what conforms; only what it does not accept is explained.
    liberties = bool(parsed.duplicates or parsed.non_finite)
    conforms, closed = (False, False) if liberties else ctx.spec.accepts(pointer, instance)
    if conforms and closed:
        return
    validator = ctx.spec.validator(pointer)
    errors = [] if conforms else [_leaf(error) for error in validator.iter_errors(instance)]
    if not closed:
        # Members an open object allows but does not declare: additive drift, paired with missing
        # fields so that a rename on an open object is still a rename.
        undeclared = ctx.spec.validator(pointer, closed=True).iter_errors(instance)
        errors += [error for error in map(_leaf, undeclared) if error.validator == "additionalProperties"]
    yield from explain_errors(ctx, errors, validator.schema)


def body_present(ctx: ResponseContext) -> Iterator[Deviation]:
    """A response the documents give a body must have one: an empty body is not "no content"."""
    content = ctx.documented.get("content") or {}
    if ctx.body or not any("schema" in media for media in content.values()):
        return
    yield ctx.deviation(
        "",
        "empty-body",
        sorted(content),
        "",
        f"status {ctx.status_code} of {ctx.operation.label} came with an empty body; the documents "
        f"give it one ({', '.join(sorted(content))})",
    )


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()
_BOM = b"\xef\xbb\xbf"


class _NonFinite(float):
    """``NaN``, ``Infinity`` or ``-Infinity`` as Python reads them, remembering its spelling."""

    spelling: str


class _DuplicatedKeys(dict[str, Any]):
    """An object in which some keys came more than once (the last value won, as in most readers)."""

    duplicated: list[str]


@dataclass
class StrictJson:
    """A body read as RFC 8259 JSON: its value, or why it is not JSON, and what a lenient reader
    accepts but the RFC does not (a leading byte-order mark, repeated keys, NaN and Infinity)."""

    value: Any = NOT_JSON
    error: ValueError | None = None
    bom: bool = False
    #: (JSON pointer of the object, key) for every key that came twice
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    #: (JSON pointer, spelling) for every NaN, Infinity and -Infinity
    non_finite: list[tuple[str, str]] = field(default_factory=list)


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(items)
    if len(obj) == len(items):
        return obj
    _READING.liberty = True
    marked = _DuplicatedKeys(obj)
    counts = Counter(key for key, _ in items)
    marked.duplicated = [key for key, count in counts.items() if count > 1]
    return marked


def _constant(name: str) -> float:
    _READING.liberty = True
    value = _NonFinite(name.replace("Infinity", "inf"))
    value.spelling = name
    return value


#: One decoder for every body (``json.loads`` with hooks builds a new one per call, which costs
#: more than the parsing); whether the body being read took a liberty is per thread.
_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=parse_number)
_READING = threading.local()


def parse_strict(body: bytes) -> StrictJson:
    """Read ``body`` as UTF-8 JSON, noting every liberty a lenient reader would take with it.

    Python's reader, like most, skips a UTF-8 byte-order mark (and guesses UTF-16 or UTF-32),
    keeps the last of repeated keys and reads ``NaN``/``Infinity``: each of those is a finding
    here, because another client's reader rejects the body or reads another value.
    """
    result = StrictJson(bom=body.startswith(_BOM))
    raw = body[len(_BOM) :] if result.bom else body
    too_deep = JsonRejected(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if json_depth(raw) > MAX_JSON_DEPTH:
        result.error = too_deep
        return result
    _READING.liberty = False
    try:
        result.value = _STRICT.decode(raw.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError is one too
        result.error = error
        return result
    except RecursionError:  # a stack already deep when called; never a crash
        result.error = too_deep
        return result
    if _READING.liberty:
        _liberties(result.value, "", result)
    return result


def _liberties(node: Any, pointer: str, found: StrictJson) -> None:
    if isinstance(node, _DuplicatedKeys):
        found.duplicates += [(pointer, key) for key in node.duplicated]
    if isinstance(node, _NonFinite):
        found.non_finite.append((pointer, node.spelling))
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        _liberties(child, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}", found)


def _wildcard(pointer: str) -> str:
    """A pointer with array indices generalised to ``*`` (as ``location_of`` does)."""
    return re.sub(r"/\d+(?=/|$)", "/*", pointer)


def _lenient_json(ctx: ResponseContext, parsed: StrictJson) -> Iterator[Deviation]:
    if parsed.bom:
        yield ctx.deviation(
            "",
            "byte-order-mark",
            "UTF-8 without a byte-order mark",
            "EF BB BF",
            "the body starts with a UTF-8 byte-order mark, which JSON text must not (RFC 8259 §8.1); "
            "strict readers reject it",
        )
    for pointer, key in parsed.duplicates:
        yield ctx.deviation(
            _wildcard(f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"),
            "duplicate-key",
            "each key once",
            key,
            f"key {key!r} appears more than once in the object at {pointer or '/'}: readers disagree "
            "on which value wins (RFC 8259 §4)",
        )
    for pointer, spelling in parsed.non_finite:
        yield ctx.deviation(
            _wildcard(pointer),
            "non-finite-number",
            "a JSON number",
            spelling,
            f"{spelling} at {pointer or '/'} is not JSON (RFC 8259 §6); strict readers reject the body",
        )


def _json_problem(body: bytes, error: ValueError) -> str:
    """Why a body is not JSON, in words that stay the same from call to call (so findings merge)."""
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(error, JsonRejected):  # nested too deep, NaN: the bound's own words
        return error.problem
    cut_short = isinstance(error, json.JSONDecodeError) and (
        error.msg.startswith("Unterminated string") or error.pos >= len(error.doc.rstrip())
    )
    if cut_short and body.strip():
        return "truncated JSON"
    return "not JSON"


_MEMBER_KEYWORDS = frozenset({"additionalProperties", "unevaluatedProperties"})


def _leaf(error: ValidationError) -> ValidationError:
    """For ``anyOf``/``oneOf`` failures, descend into the branch the body comes closest to, then to
    its most relevant error: one wrong value in the intended branch must not be reported as a
    sibling branch's complaints about fields it never had. Closest means fewest errors other than
    undeclared members, then fewest errors: a body whose only fault is extra members inside an
    object belongs to that object's branch, not to a ``null`` beside it."""
    while error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)

        def distance(errors: list[ValidationError]) -> tuple[int, int]:
            return sum(1 for e in errors if e.validator not in _MEMBER_KEYWORDS), len(errors)

        closest = min(distance(errors) for errors in branches.values())
        error = best_match(
            sub for errors in branches.values() if distance(errors) == closest for sub in errors
        )
    return error


def location_of(path: Iterable[Any]) -> str:
    """A JSON pointer with array indices generalised to ``*`` so that items merge."""
    return "".join("/*" if isinstance(p, int) else "/" + jsonpointer.escape(str(p)) for p in path)


def explain_errors(
    ctx: ResponseContext, errors: list[ValidationError], schema: Any = None
) -> Iterator[Deviation]:
    """Turn raw JSON Schema errors into explained deviations, pairing renames; a deviation from a
    part of ``schema`` marked ``x-assumption`` carries the reason."""
    missing: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    assumed: dict[str, str | None] = {}
    #: The object at each location and its documented members, the evidence a rename needs.
    objects: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for error in errors:
        where = location_of(error.absolute_path)
        reason = schema_assumption(schema, error.absolute_schema_path) if schema is not None else None
        keyword: Any = error.validator_value
        schema_node: Any = error.schema
        if isinstance(error.instance, dict) and isinstance(schema_node, dict):
            objects.setdefault(where, (error.instance, schema_node.get("properties") or {}))
        if error.validator == "required" and isinstance(error.instance, dict):
            names = [n for n in keyword if n not in error.instance]
            missing.setdefault(where, []).extend(names)
            assumed[where] = assumed.get(where) or reason
        elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(
            error.instance, dict
        ):
            known = set((schema_node.get("properties") or {}).keys())
            patterns = [re.compile(p) for p in (schema_node.get("patternProperties") or {})]
            names = [n for n in error.instance if n not in known and not any(p.search(n) for p in patterns)]
            extra.setdefault(where, []).extend(names)
            assumed[where] = assumed.get(where) or reason
        else:
            yield _explain_value(ctx, error, where, reason)
    for where in sorted(set(missing) | set(extra)):
        instance, members = objects.get(where, ({}, {}))
        yield from _explain_fields(
            ctx, where, missing.get(where, []), extra.get(where, []), assumed[where], instance, members
        )


#: How alike two names must be for a missing and an extra member to be one renamed field. A random
#: member name (``amet80`` for ``name``) can reach 0.6 by chance; a real rename (re-cased,
#: shortened, ``_`` dropped) scores 0.8 or more.
RENAME_SIMILARITY = 0.8


def _similar(a: str, b: str) -> float:
    norm_a, norm_b = re.sub(r"[^a-z0-9]", "", a.lower()), re.sub(r"[^a-z0-9]", "", b.lower())
    short, long = sorted((norm_a, norm_b), key=len)
    if norm_a == norm_b or (len(short) >= 4 and 2 * len(short) >= len(long) and long.startswith(short)):
        return 1.0
    return difflib.SequenceMatcher(None, norm_a, norm_b).ratio()


def _fits(value: Any, schema: Any) -> bool:
    """Whether ``value`` is of a JSON type the documented member allows (no type stated: any)."""
    types = schema.get("type") if isinstance(schema, dict) else None
    if types is None:
        return True
    allowed = {types} if isinstance(types, str) else set(types)
    actual = json_type(value)
    return actual in allowed or (actual == "integer" and "number" in allowed)


def _explain_fields(
    ctx: ResponseContext,
    where: str,
    missing: list[str],
    extra: list[str],
    assumption: str | None,
    instance: dict[str, Any],
    members: dict[str, Any],
) -> Iterator[Deviation]:
    """Missing and extra members; a pair is a renamed field only on evidence: names alike well
    beyond chance, and the value seen of a type the documented member allows."""
    missing, extra = list(dict.fromkeys(missing)), list(dict.fromkeys(extra))
    pairs = sorted(((_similar(m, e), m, e) for m in missing for e in extra), reverse=True)
    for score, documented_name, seen_name in pairs:
        if score < RENAME_SIMILARITY or documented_name not in missing or seen_name not in extra:
            continue
        if seen_name in instance and not _fits(instance[seen_name], members.get(documented_name)):
            continue
        missing.remove(documented_name)
        extra.remove(seen_name)
        # no assumption: whatever the spec assumed of the member's presence, a rename contradicts
        # the name the documents give it
        yield ctx.deviation(
            f"{where}/{documented_name}",
            "field-name-alias",
            documented_name,
            seen_name,
            f"field {documented_name!r} arrives as {seen_name!r}",
        )
    for name in missing:
        yield ctx.deviation(
            f"{where}/{name}", "missing-field", name, None, f"required field {name!r} is missing", assumption
        )
    for name in extra:
        yield ctx.deviation(
            f"{where}/{name}", "extra-field", None, name, f"field {name!r} is not in the contract", assumption
        )


def _explain_value(
    ctx: ResponseContext, error: ValidationError, where: str, assumption: str | None
) -> Deviation:
    deviation = functools.partial(ctx.deviation, assumption=assumption)
    expected: Any = error.validator_value
    value, validator = error.instance, error.validator
    if validator in ("enum", "const"):
        members = expected if validator == "enum" else [expected]
        folded = [
            m for m in members if isinstance(m, str) and isinstance(value, str) and m.lower() == value.lower()
        ]
        if folded:
            return deviation(where, "enum-casing", folded[0], value, f"{value!r} is {folded[0]!r} re-cased")
        return deviation(where, "unknown-enum-value", members, value, f"{value!r} is not one of {members}")
    if validator == "type":
        types = expected if isinstance(expected, list) else [expected]
        if value is None:
            return deviation(
                where, "unexpected-null", types, None, f"null where the contract requires {types}"
            )
        if value == "":
            return deviation(
                where, "empty-string-for-null", None, "", 'empty string "" where a value or null belongs'
            )
        return deviation(
            where, "type-mismatch", types, value, f"{json_type(value)} where the contract requires {types}"
        )
    if validator == "format" and expected == "date-time":
        if value == "":
            return deviation(
                where, "empty-string-for-null", None, "", 'empty string "" where a timestamp or null belongs'
            )
        if isinstance(value, str) and _OFFSETLESS_TIMESTAMP.match(value):
            return deviation(
                where,
                "timestamp-without-offset",
                "date-time",
                value,
                f"timestamp {value!r} has no UTC offset",
            )
        return deviation(
            where, "invalid-timestamp", "date-time", value, f"{value!r} is not an RFC 3339 timestamp"
        )
    return deviation(
        where, "constraint-violation", f"{validator}: {expected}", value, error.message.splitlines()[0][:200]
    )
