"""Behaviour a well-formed response can hide, judged one response at a time.

A list that ignores its filter or its limit, a page that lists an item twice, a run read by
id that is another run, a negative duration: every member has the right type, so no schema
check sees it. What each operation promises is read from small spec extensions, never from
vendor names in code: ``x-list`` and ``x-identity`` (``contract.extensions``), and

``x-timing`` (on a schema object)
    ``started``, ``finished``, ``duration`` (member pointers) and ``unit`` (``seconds`` or
    ``milliseconds``): no negative duration, no end before the start, and a duration that
    agrees with its timestamps. ``x-assumption`` beside them says the documents do not.

The checks here are listed in ``judge.registry`` and see the request's parameters
(``ResponseContext.params``) where the caller knows them; ``listing.py`` pages through lists
and ``lifecycle.py`` follows runs for what takes more than one response.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import jsonpointer

from conformance.contract.catalogue import pointer_steps
from conformance.contract.extensions import assumption_of
from conformance.contract.model import Spec
from conformance.contract.parameters import Parameter, coerce, parameters
from conformance.findings import Deviation
from conformance.judge.context import ResponseContext, by_body, location_of

DURATION_TOLERANCE = 1.0
UNITS = {"seconds": 1.0, "milliseconds": 1000.0}


def pointer_get(document: Any, pointer: str | None) -> Any:
    """Resolve a JSON pointer (``""`` is the document itself); ``None`` where any step is missing.
    Steps through objects are taken here (a replay resolves a few pointers per body); an array
    or any other value on the way is left to ``jsonpointer``, whose rules they follow."""
    if pointer is None:
        return None
    if pointer == "":
        return document
    try:
        names = pointer_steps(pointer)
    except jsonpointer.JsonPointerException:
        return None
    node = document
    for name in names:
        if type(node) is not dict:
            return _resolved(document, pointer)
        if name not in node:
            return None
        node = node[name]
    return node


def _resolved(document: Any, pointer: str) -> Any:
    try:
        return jsonpointer.resolve_pointer(document, pointer, None)
    except jsonpointer.JsonPointerException:
        return None


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an ISO timestamp; offset-less ones are read as UTC (their own quirk is reported elsewhere)."""
    if not isinstance(value, str) or not value:
        return None
    return _remembered_timestamp(value) if len(value) <= 64 else _read_timestamp(value)


@functools.lru_cache(maxsize=4096)
def _remembered_timestamp(value: str) -> datetime | None:
    """A short one is remembered: a run's bodies repeat their timestamps (a run polled until it ends)."""
    return _read_timestamp(value)


def _read_timestamp(value: str) -> datetime | None:
    text = value.replace("Z", "+00:00")
    if "." in text:  # Python accepts at most 6 fraction digits; some vendors send 7
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits) :]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def same_id(asked: Any, answered: Any, parameter: Parameter | None) -> bool:
    """Whether an id in a body is the one asked for: equal, or the same UUID where the parameter
    is a UUID (``497F6ECA-...`` names the run whose id is ``497f6eca-...``)."""
    if str(asked) == str(answered):
        return True
    if parameter is not None and parameter.format == "uuid":
        try:
            return uuid.UUID(str(asked)) == uuid.UUID(str(answered))
        except ValueError:
            return False
    return False


# -- the checks ------------------------------------------------------------------------------------
def _is_success(ctx: ResponseContext) -> bool:
    return 200 <= ctx.status_code < 300 and ctx.parsed.error is None and ctx.body != b""


def _asked(ctx: ResponseContext, name: str) -> Any:
    """The value a parameter was sent with, when it is one its schema accepts (a deliberately
    invalid request that a server answers 2xx is another check's finding)."""
    if not ctx.params or name not in ctx.params or ctx.params[name] is None:
        return None
    value = ctx.params[name]
    if isinstance(value, list):
        if len(value) != 1:
            return None
        value = value[0]
    parameter = parameters(ctx.spec, ctx.operation.id).get(name)
    if parameter is None or not parameter.accepts(value):
        return None
    return value


def describe(params: Mapping[str, Any] | None, names: list[str]) -> str:
    """``limit=2, status=failed``: the parameters that matter to a finding, as they were sent."""
    return ", ".join(f"{name}={params[name]}" for name in names if params and params.get(name) is not None)


def list_honours_its_parameters(ctx: ResponseContext) -> Iterator[Deviation]:
    """A page has at most ``limit`` items, each matching every filter, none listed twice."""
    listing = ctx.operation.listing
    if listing is None or not _is_success(ctx):
        return
    items = pointer_get(ctx.instance, listing.items)
    if not isinstance(items, list):
        return
    limit = _asked(ctx, listing.limit) if listing.limit else None
    limit = coerce(limit, {"type": "number"}) if limit is not None else None
    if isinstance(limit, int | float) and math.isfinite(limit) and limit >= 1 and len(items) > limit:
        yield ctx.deviation(
            listing.items,
            "limit-exceeded",
            f"at most {limit:g} items",
            len(items),
            f"`limit={limit:g}` returned {len(items)} items",
            listing.assumption,
        )
    for rule in listing.filters:
        wanted = _asked(ctx, rule.parameter)
        if wanted is None:
            continue
        for item in items:
            value = pointer_get(item, rule.field)
            if value is not None and str(value) == str(wanted):
                continue
            item_id = pointer_get(item, listing.id)
            yield ctx.deviation(
                listing.item_location(rule.field),
                "filter-ignored",
                wanted,
                value,
                f"`{rule.parameter}={wanted}` returned item `{item_id}` with {rule.field.lstrip('/')} "
                f"`{value}`",
                rule.assumption or listing.assumption,
            )
            break
    seen: set[str] = set()
    for item in items:
        item_id = pointer_get(item, listing.id)
        if item_id is None or isinstance(item_id, dict | list):
            continue
        key = str(item_id)
        if key in seen:
            asked = describe(ctx.params, [listing.limit or "", *(f.parameter for f in listing.filters)])
            yield ctx.deviation(
                listing.item_location(listing.id),
                "duplicate-item",
                "each item once",
                item_id,
                f"item `{item_id}` is listed twice on one page" + (f" ({asked})" if asked else ""),
                listing.assumption,
            )
            break
        seen.add(key)


def answer_is_about_what_was_asked(ctx: ResponseContext) -> Iterator[Deviation]:
    """A resource read (or acted on) by id is that resource: its id field equals the id in the path."""
    if not ctx.params or not _is_success(ctx):
        return  # without the question (a replay) there is nothing to compare the answer with
    for name, pointer in ctx.operation.identity.items():
        asked = _asked(ctx, name)
        answered = pointer_get(ctx.instance, pointer)
        if asked is None or answered is None:
            continue
        if not same_id(asked, answered, parameters(ctx.spec, ctx.operation.id).get(name)):
            yield ctx.deviation(
                pointer,
                "identity-mismatch",
                asked,
                answered,
                f"{ctx.operation.label} with {name} `{asked}` answered about `{answered}`",
                assumption_of(ctx.operation.definition.get("x-identity")),
            )


@by_body
def durations_are_physical(ctx: ResponseContext) -> Iterator[Deviation]:
    """Every object whose schema carries ``x-timing``: no negative duration, no end before the
    start, and a duration that agrees with its timestamps in the documented unit."""
    if not _is_success(ctx) or ctx.media_type is None or "json" not in ctx.media_type:
        return
    content = ctx.documented.get("content") or {}
    schema = next((m.get("schema") for k, m in sorted(content.items()) if "json" in k), None)
    if schema is None:
        return
    for path, body, timing in timed_objects(ctx.spec, schema, ctx.instance):
        yield from judge_timing(ctx, location_of(path), body, timing)


def timed_objects(
    spec: Spec, schema: Any, instance: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]]:
    """``(path, object, x-timing)`` for every object of ``instance`` whose schema has ``x-timing``."""
    seen: set[tuple[Any, ...]] = set()
    for found in _walk(spec, schema, instance, path, 0):
        if found[0] not in seen:
            seen.add(found[0])
            yield found


def _walk(
    spec: Spec, schema: Any, instance: Any, path: tuple[Any, ...], depth: int
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]]:
    reach = spec.reach(schema, "x-timing")  # only the members, items and branches that lead to one
    if reach is None or depth > 32:
        return
    if isinstance(instance, dict):
        if reach.here:
            yield path, instance, reach.schema["x-timing"]
        for name, sub in reach.members:
            if name in instance:
                yield from _walk(spec, sub, instance[name], (*path, name), depth + 1)
    if isinstance(instance, list) and reach.items is not None:
        for index, item in enumerate(instance):
            yield from _walk(spec, reach.items, item, (*path, index), depth + 1)
    for branch in reach.branches:
        yield from _walk(spec, branch, instance, path, depth + 1)


def judge_timing(
    ctx: ResponseContext, where: str, body: dict[str, Any], timing: dict[str, Any]
) -> Iterator[Deviation]:
    """A negative duration or an end before the start contradicts the names the documents give
    (a duration, a start, an end); only the reading of what they measure, which a duration that
    disagrees with its timestamps rests on, can be an assumption (``x-timing.x-assumption``)."""
    reason = assumption_of(timing)
    unit = timing.get("unit", "seconds")
    duration_at, started_at, finished_at = (
        str(timing.get(k) or "") for k in ("duration", "started", "finished")
    )
    duration = pointer_get(body, duration_at)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration):
        duration = None
    if duration is not None and duration < 0:
        yield ctx.deviation(
            f"{where}{duration_at}",
            "negative-duration",
            "a duration >= 0",
            duration,
            f"{duration_at.lstrip('/')} is {duration:g} {unit}",
        )
    started = parse_timestamp(pointer_get(body, started_at))
    finished = parse_timestamp(pointer_get(body, finished_at))
    if started is None or finished is None:
        return
    if finished < started:
        yield ctx.deviation(
            f"{where}{finished_at}",
            "timestamp-order",
            f"not before {started.isoformat()}",
            finished.isoformat(),
            f"{finished_at.lstrip('/')} {finished.isoformat()} is before {started_at.lstrip('/')} "
            f"{started.isoformat()}",
        )
        return
    actual = (finished - started).total_seconds() * UNITS.get(unit, 1.0)
    tolerance = max(DURATION_TOLERANCE * UNITS.get(unit, 1.0), 0.01 * actual)
    if duration is not None and duration >= 0 and abs(duration - actual) > tolerance:
        yield ctx.deviation(
            f"{where}{duration_at}",
            "duration-mismatch",
            round(actual, 3),
            duration,
            f"{duration_at.lstrip('/')} is {duration:g} {unit}; its timestamps are {actual:g} {unit} apart",
            reason,
        )
