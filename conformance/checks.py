"""Response checks: compare one response with the spec and explain every difference.

Each check is a small function registered with ``@check``; it receives the response in
context and yields ``Deviation`` objects whose ``kind`` says *what kind* of difference it
is (a renamed field, a re-cased enum value, an offset-less timestamp, ...), so that the
classifier can match them exactly against the catalogue.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonpointer
from jsonschema.exceptions import ValidationError, best_match

from .bounds import JsonRejected, loads_json
from .findings import Deviation
from .kinds import BODY_TOO_LARGE, json_type
from .specs import Operation, Spec, assumption_of, schema_assumption
from .transport import MAX_BODY_BYTES

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


Check = Callable[[ResponseContext], Iterable[Deviation]]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    """Register a response check; checks run in registration order."""
    CHECKS.append(function)
    return function


def check_response(
    spec: Spec,
    operation: Operation,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> list[Deviation]:
    """Run every registered check on one response; duplicates within the response are dropped."""
    ctx = ResponseContext(spec, operation, status_code, headers, body, max_body_bytes)
    seen: dict[tuple[str, ...], Deviation] = {}
    for function in CHECKS:
        for deviation in function(ctx):
            seen.setdefault(deviation.key, deviation)
    return list(seen.values())


@check
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
            ctx.operation.status_assumption,
        )


def _media_matches(declared: str, actual: str) -> bool:
    if declared in (actual, "*/*"):
        return True
    major, _, minor = declared.partition("/")
    return minor == "*" and actual.startswith(f"{major}/")


@check
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


@check
def required_headers_present(ctx: ResponseContext) -> Iterator[Deviation]:
    present = {name.lower() for name in ctx.headers}
    for name, header in (ctx.documented.get("headers") or {}).items():
        header = ctx.spec.resolve(header)
        if header.get("required") and name.lower() not in present:
            yield ctx.deviation(
                f"header:{name.lower()}", "missing-header", name, None, f"required header {name} is missing"
            )


@check
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
    try:
        instance = loads_json(ctx.body)
    except ValueError as error:
        problem = _json_problem(ctx.body, error)
        yield ctx.deviation(
            "", "invalid-json", "JSON", problem, f"the body ({len(ctx.body)} bytes) is {problem}"
        )
        return
    pointer = f"{ctx.response_pointer}/content/{jsonpointer.escape(media)}/schema"
    validator = ctx.spec.validator(pointer)
    errors = [_leaf(error) for error in validator.iter_errors(instance)]
    # Members an open object allows but does not declare: additive drift, paired with missing
    # fields so that a rename on an open object is still a rename.
    undeclared = (_leaf(error) for error in ctx.spec.validator(pointer, closed=True).iter_errors(instance))
    errors += [error for error in undeclared if error.validator == "additionalProperties"]
    yield from explain_errors(ctx, errors, validator.schema)


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


def _leaf(error: ValidationError) -> ValidationError:
    """For ``anyOf``/``oneOf`` failures, descend into the branch the body comes closest to (fewest
    errors), then to its most relevant error: one wrong value in the intended branch must not be
    reported as a sibling branch's complaints about fields it never had."""
    while error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fewest = min(len(errors) for errors in branches.values())
        error = best_match(sub for errors in branches.values() if len(errors) == fewest for sub in errors)
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
    for error in errors:
        where = location_of(error.absolute_path)
        reason = schema_assumption(schema, error.absolute_schema_path) if schema is not None else None
        keyword: Any = error.validator_value
        schema_node: Any = error.schema
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
        yield from _explain_fields(ctx, where, missing.get(where, []), extra.get(where, []), assumed[where])


def _similar(a: str, b: str) -> float:
    norm_a, norm_b = re.sub(r"[^a-z0-9]", "", a.lower()), re.sub(r"[^a-z0-9]", "", b.lower())
    if norm_a == norm_b or norm_a.startswith(norm_b) or norm_b.startswith(norm_a):
        return 1.0
    return difflib.SequenceMatcher(None, norm_a, norm_b).ratio()


def _explain_fields(
    ctx: ResponseContext, where: str, missing: list[str], extra: list[str], assumption: str | None
) -> Iterator[Deviation]:
    missing, extra = list(dict.fromkeys(missing)), list(dict.fromkeys(extra))
    pairs = sorted(((_similar(m, e), m, e) for m in missing for e in extra), reverse=True)
    for score, documented_name, seen_name in pairs:
        if score < 0.6 or documented_name not in missing or seen_name not in extra:
            continue
        missing.remove(documented_name)
        extra.remove(seen_name)
        yield ctx.deviation(
            f"{where}/{documented_name}",
            "field-name-alias",
            documented_name,
            seen_name,
            f"field {documented_name!r} arrives as {seen_name!r}",
            assumption,
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
