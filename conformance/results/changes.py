"""What the vendor changed within what its documents allow, night to night: two runs' behaviour
profiles (``results.profile``) compared. A value never seen before (and whether it differs from a
known one only by case), a value that vanished, a string's new shape, an optional member present
less often, a JSON type newly seen, a status newly answered, a slower p95. Each is class
``changed``, never drift: ``--fail-on changed`` (or ``changed:values``, ...) makes it fail a night.

Only stable evidence is reported (``Thresholds``): enough answers on both nights, and a difference
the other night would have shown many times over had it behaved so then. A clean server checked
on two nights with different seeds shows no change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from conformance.errors import UsageError
from conformance.findings import FailPolicy
from conformance.results.identity import target_of


@dataclass(frozen=True)
class Thresholds:
    """When a difference between two profiles is stable evidence (``[profile]`` in conformance.toml)."""

    #: Answers (or values at a place) both nights must have before anything there is compared.
    min_responses: int = 20
    #: A value, type, shape or status new tonight is reported only when last night, at tonight's
    #: rate, would have shown it at least this many times (and a vanished one likewise tonight).
    min_expected: float = 8.0
    #: A member's presence must have been at least this share last night ...
    presence_was: float = 0.95
    #: ... and fallen by at least this share (0.2: 20 points, from 100 % to 80 % or less).
    presence_drop: float = 0.2
    #: p95 latency (and the median with it: a loaded machine slows only a few answers) must have
    #: grown by this factor ...
    latency_factor: float = 2.0
    #: ... and by at least this many milliseconds (loopback p95s of a few ms double on a busy machine).
    latency_floor_ms: float = 50.0

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> Thresholds:
        """The ``[profile]`` table (keys spelled with dashes); a wrong key or value is one line."""
        names = {f.name.replace("_", "-"): f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in names:
                raise UsageError(f"{where}: unknown setting {key!r} in [profile] (one of {', '.join(names)})")
            number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            if number is None or not math.isfinite(number) or number < 0:
                raise UsageError(f"{where}: [profile] {key} = {value!r} is not a number of at least 0")
            name = names[key].name
            values[name] = int(number) if isinstance(getattr(cls, name), int) else float(number)
        return cls(**values)


@dataclass(frozen=True)
class ProfileChange:
    """One change of observed behaviour at an operation (and a status and place of its bodies)."""

    #: What ``--fail-on changed:<aspect>`` names: values, shapes, presence, types, statuses, latency.
    aspect: str
    #: new-value, vanished-value, new-shape, presence-fell, new-type, new-status, slower.
    change: str
    target: str
    operation: str
    status: str | None
    location: str | None
    old: Any
    new: Any
    message: str
    #: Whether it fails the night under the rule it was compared with.
    fails: bool = False


def _share(count: float, total: float) -> str:
    return f"{100 * count / total:.0f} %" if total else "0 %"


def _new_keys(
    before: Mapping[str, int], after: Mapping[str, int], seen_before: int, seen_after: int, limits: Thresholds
) -> Iterator[tuple[str, int]]:
    """Keys only ``after`` has, that ``before`` would have shown at least ``min_expected`` times at
    ``after``'s rate."""
    if min(seen_before, seen_after) < max(1, limits.min_responses):
        return
    for key, count in after.items():
        if key not in before and key != "other" and seen_before * count / seen_after >= limits.min_expected:
            yield key, count


def _case_twin(value: str, known: Mapping[str, int]) -> str | None:
    return next((other for other in known if other.casefold() == value.casefold()), None)


#: A change found at one place: its aspect, what changed, the old and new side, and its words.
Found = tuple[str, str, Any, Any, str]


def _place_changes(was: dict[str, Any], now: dict[str, Any], limits: Thresholds) -> Iterator[Found]:
    """Values, shapes and types of one place of one status's bodies: (aspect, change, old, new, message)."""
    for kind, count in _new_keys(was["types"], now["types"], was["seen"], now["seen"], limits):
        yield "types", "new-type", sorted(was["types"]), kind, f"new type {kind} in {count} of {now['seen']}"
    strings_was, strings_now = was["types"].get("string", 0), now["types"].get("string", 0)
    old_shapes, new_shapes = was.get("shapes") or {}, now.get("shapes") or {}
    for shape, count in _new_keys(old_shapes, new_shapes, strings_was, strings_now, limits):
        if shape == "word" and "token" in old_shapes:
            # no new shape: an id drawn from letters and digits has no digit now and then (a Kognitos
            # id of 25 base-36 characters one time in 3,400, of 8 characters one time in 14), and a
            # list read again repeats it past min_expected. A word that is a value (short and
            # enum-like, unlike such an id) is still compared below, as a new value.
            continue
        before = ", ".join(sorted(old_shapes)) or "no string"
        yield (
            "shapes",
            "new-shape",
            sorted(old_shapes),
            shape,
            (f"strings shaped {shape} in {count} of {strings_now} (before: {before})"),
        )
    old_values, new_values = was.get("values", {}), now.get("values", {})
    if old_values is None or new_values is None:
        return  # an open set of values on either night: nothing enum-like to compare
    echoes = {**was.get("echoed", {}), **now.get("echoed", {})}  # what the client sent either night
    old_values = {value: count for value, count in old_values.items() if value not in echoes}
    new_values = {value: count for value, count in new_values.items() if value not in echoes}
    for value, count in _new_keys(old_values, new_values, strings_was, strings_now, limits):
        twin = _case_twin(value, old_values)
        how = f", differs from {twin!r} only by case" if twin else ""
        yield "values", "new-value", twin, value, f"new value {value!r} in {count} of {strings_now}{how}"
    for value, count in _new_keys(new_values, old_values, strings_now, strings_was, limits):
        yield (
            "values",
            "vanished-value",
            value,
            None,
            (f"value {value!r} vanished (was {count} of {strings_was}; none of {strings_now} now)"),
        )


def _presence_changes(
    was: dict[str, Any], now: dict[str, Any], limits: Thresholds
) -> Iterator[tuple[str, float, float, str]]:
    """Members present less often than last night, against how often their object was seen."""
    for location, place in was.items():
        parent, _, name = location.rpartition("/")
        if not location or name == "*" or parent not in was or parent not in now:
            continue
        objects_was, objects_now = was[parent].get("objects", 0), now[parent].get("objects", 0)
        if min(objects_was, objects_now) < max(1, limits.min_responses):
            continue
        before = min(1.0, place["seen"] / objects_was)
        after = min(1.0, (now[location]["seen"] if location in now else 0) / objects_now)
        if before >= limits.presence_was and before - after >= limits.presence_drop - 1e-9:
            yield (
                location,
                round(before, 3),
                round(after, 3),
                (f"present in {after:.0%} of {objects_now} objects (was {before:.0%} of {objects_was})"),
            )


def operation_changes(
    target: str, operation: str, was: dict[str, Any], now: dict[str, Any], limits: Thresholds
) -> Iterator[ProfileChange]:
    """Every change between one operation's profiles of two nights."""
    responses_was, responses_now = sum(was["statuses"].values()), sum(now["statuses"].values())
    for status, count in _new_keys(was["statuses"], now["statuses"], responses_was, responses_now, limits):
        before = ", ".join(sorted(was["statuses"]))
        yield ProfileChange(
            "statuses", "new-status", target, operation, status, None, sorted(was["statuses"]), status,
            f"new status {status} in {count} of {responses_now} answers (before: {before})",
        )  # fmt: skip
    yield from _latency_change(target, operation, was.get("latency"), now.get("latency"), limits)
    for status, places in now["bodies"].items():
        before = was["bodies"].get(status)
        if before is None:
            continue
        for location, place in places.items():
            if location in before:
                for aspect, change, old, new, message in _place_changes(before[location], place, limits):
                    yield ProfileChange(
                        aspect, change, target, operation, status, location, old, new, message
                    )
        for location, old, new, message in _presence_changes(before, places, limits):
            yield ProfileChange(
                "presence", "presence-fell", target, operation, status, location, old, new, message
            )


def _latency_change(
    target: str, operation: str, was: dict[str, Any] | None, now: dict[str, Any] | None, limits: Thresholds
) -> Iterator[ProfileChange]:
    if not was or not now or min(was["responses"], now["responses"]) < limits.min_responses:
        return
    before, after = was["p95_ms"], now["p95_ms"]
    # the median too: a busy machine slows a few answers (the tail), a slower server all of them
    median = now["p50_ms"] >= limits.latency_factor * was["p50_ms"]
    if median and after >= limits.latency_factor * before and after - before >= limits.latency_floor_ms:
        factor = f"{after / before:.1f} times" if before else "from nothing"
        yield ProfileChange(
            "latency", "slower", target, operation, None, None, before, after,
            f"p95 {after:.0f} ms (was {before:.0f} ms, {factor}; p50 {now['p50_ms']:.0f} ms, was "
            f"{was['p50_ms']:.0f} ms) over {now['responses']} answers",
        )  # fmt: skip


def profile_changes(
    old: dict[str, Any], new: dict[str, Any], limits: Thresholds, policy: FailPolicy
) -> list[ProfileChange]:
    """Every change between the profiles of two results documents, by target and operation (an
    operation profiled on one night only has nothing to compare with); each marked whether
    ``policy`` fails the night for it."""
    before = {
        (target_of(api), operation["operation"]): operation["profile"]
        for api in old["apis"]
        for operation in api["operations"]
        if operation.get("profile")
    }
    changes = []
    for api in new["apis"]:
        for operation in api["operations"]:
            key = (target_of(api), operation["operation"])
            if key in before and operation.get("profile"):
                for change in operation_changes(*key, before[key], operation["profile"], limits):
                    changes.append(replace(change, fails=policy.fails_change(change.aspect)))
    return changes


def change_words(change: ProfileChange) -> str:
    """One change in words, for the console, the report and the job summary."""
    where = " ".join(part for part in (change.status, change.location or None) if part)
    at = f" {where}" if where else ""
    return f"changed ({change.aspect}): {change.target} {change.operation}{at}: {change.message}"
