"""Explaining JSON Schema errors: what kind of difference each one is.

``explain_errors`` turns a validator's raw errors into ``Deviation`` objects whose ``kind`` says
*what kind* of difference it is (a renamed field, a re-cased enum value, an offset-less timestamp,
...), so that the classifier can match them exactly against the catalogue; ``leaf`` picks, in an
``anyOf``/``oneOf``, the error of the branch the body meant.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.contract.extensions import schema_assumption
from conformance.findings import Deviation
from conformance.judge.context import ResponseContext, location_of
from conformance.kinds import json_type

if TYPE_CHECKING:  # jsonschema is loaded when a body is first explained
    from jsonschema.exceptions import ValidationError

_OFFSETLESS_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


_MEMBER_KEYWORDS = frozenset({"additionalProperties", "unevaluatedProperties"})


def leaf(error: ValidationError) -> ValidationError:
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
        from jsonschema.exceptions import best_match

        error = best_match(
            sub for errors in branches.values() if distance(errors) == closest for sub in errors
        )
    return error


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
