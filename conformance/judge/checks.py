"""The standard response checks: compare one response with the spec and explain every difference.

Each check is a small function, listed in ``judge.registry``; it receives the response in
context (``judge.context``) and yields ``Deviation`` objects: the status code, the content type,
the required headers, the body against its schema (read by ``judge.strict_json``, its schema
errors explained by ``judge.explain``) and a body where the documents give one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import jsonpointer

from conformance.findings import Deviation
from conformance.judge.context import Memory, ResponseContext, by_body
from conformance.judge.explain import explain_errors, leaf
from conformance.judge.strict_json import StrictJson, json_problem
from conformance.kinds import BODY_TOO_LARGE


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
    carrier = ctx.spec.api.query_carrier
    takes_credential = ctx.spec.secured(ctx.operation) or any(
        parameter.get("name") == carrier for parameter in ctx.spec.parameters(ctx.operation)
    )
    if ctx.status_code in (401, 403) and takes_credential:
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


@by_body
def body_matches_schema(ctx: ResponseContext) -> Iterator[Deviation]:
    content = ctx.documented.get("content") or {}
    media = next((d for d in sorted(content) if ctx.media_type and _media_matches(d, ctx.media_type)), None)
    if media is None or "json" not in media or "schema" not in content[media]:
        return
    limit = ctx.limits.body_bytes
    if len(ctx.body) > limit:
        yield ctx.deviation(
            "",
            BODY_TOO_LARGE,
            f"at most {limit} bytes",
            f"more than {limit} bytes",
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
        problem = json_problem(ctx.body, parsed.error)
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
    shape = None if liberties else ctx.spec.error_shape(pointer, instance)
    if shape is None:
        yield from _explain_schema_errors(ctx, pointer, instance, conforms, closed)
    else:
        # bodies that differ only where they conform (ids, timestamps) are explained once
        key = (ctx.spec, ctx.operation.id, ctx.status_code, pointer, shape)
        yield from _EXPLAINED.recall(
            key, lambda: tuple(_explain_schema_errors(ctx, pointer, instance, conforms, closed))
        )


#: Explanations by the Rust validators' error shape (``Spec.error_shape``).
_EXPLAINED: Memory[tuple[object, ...], tuple[Deviation, ...]] = Memory()


def _explain_schema_errors(
    ctx: ResponseContext, pointer: str, instance: object, conforms: bool, closed: bool
) -> Iterator[Deviation]:
    """The Python validator's errors, explained: a millisecond per body."""
    validator = ctx.spec.validator(pointer)
    errors = [] if conforms else [leaf(error) for error in validator.iter_errors(instance)]
    if not closed:
        # Members an open object allows but does not declare: additive drift, paired with missing
        # fields so that a rename on an open object is still a rename.
        undeclared = ctx.spec.validator(pointer, closed=True).iter_errors(instance)
        errors += [error for error in map(leaf, undeclared) if error.validator == "additionalProperties"]
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
