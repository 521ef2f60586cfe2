"""What the specs say beyond OpenAPI, in their extensions: a run's lifecycle, what a list
promises, which resource an answer is about, and where a spec assumes what no document says.

``x-lifecycle`` (top level)
    A run's states and transitions, and the operations that start, poll and cancel it.
``x-list`` (on a list operation)
    ``items`` (pointer to the array, ``""`` for a bare array), ``id`` (pointer inside an item),
    ``limit`` (the page-size parameter), ``filters`` (``[{parameter, field}]``: the items must
    have ``field`` equal to the parameter's value), ``paging`` (``{offset: <parameter>}``,
    ``{token: <parameter>, from: <pointer>}`` or ``{next: <pointer to the next page's URL>}``)
    and ``total`` (pointer to a count of every match). Any part may carry ``x-assumption``.
``x-identity`` (on an operation)
    ``{<path parameter>: <pointer>}``: a 2xx body is about the resource the path names.
``x-assumption`` (anywhere)
    Why the spec says what no document says: a deviation from it contradicts the assumption.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.bounds import printable
from conformance.errors import SpecError
from conformance.validation import errors


def assumption_of(node: Any) -> str | None:
    """The reason a spec node gives for saying what no document says (its ``x-assumption``)."""
    reason = node.get("x-assumption") if isinstance(node, dict) else None
    return str(reason) if reason else None


def schema_assumption(schema: Any, schema_path: Iterable[Any]) -> str | None:
    """The first ``x-assumption`` on the way from ``schema`` down ``schema_path``: an assumed
    node covers everything below it."""
    node = schema
    for part in (None, *schema_path):
        if part is not None:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and part < len(node)
            ):
                node = node[part]
            else:
                return None
        reason = assumption_of(node)
        if reason:
            return reason
    return None


# -- x-lifecycle -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lifecycle:
    """A run's documented states and transitions, from the spec's ``x-lifecycle`` extension.

    Mocks walk runs through it; the lifecycle checks judge observed states against it (case
    aside: a re-cased state is the contract check's finding, not a transition's).
    """

    field: str
    initial: tuple[str, ...]
    running: tuple[str, ...]
    terminal: tuple[str, ...]
    transitions: dict[str, list[str]]
    plan: dict[str, Any]

    @classmethod
    def from_extension(cls, raw: dict[str, Any]) -> Lifecycle:
        return cls(
            raw["field"],
            tuple(raw["initial"]),
            tuple(raw.get("running", ())),
            tuple(raw["terminal"]),
            raw["transitions"],
            raw,
        )

    def allows(self, before: str, after: str) -> bool:
        """A direct, documented step (or no change at all)."""
        return before == after or after in self.transitions.get(before, [])

    def reachable(self, source: str, target: str) -> bool:
        """Whether documented steps lead from ``source`` to ``target``, ignoring case (polls sample)."""
        folded = {k.lower(): [v.lower() for v in vs] for k, vs in self.transitions.items()}
        frontier, seen = [source.lower()], {source.lower()}
        while frontier:
            state = frontier.pop()
            if state == target.lower():
                return True
            for following in folded.get(state, []):
                if following not in seen:
                    seen.add(following)
                    frontier.append(following)
        return False

    def is_terminal(self, state: str) -> bool:
        return state.lower() in {s.lower() for s in self.terminal}

    def is_initial(self, state: str) -> bool:
        return state.lower() in {s.lower() for s in self.initial}


_STATES = {"type": "array", "items": {"type": "string"}}
_STEP = {
    "type": "object",
    "required": ["operation"],
    "properties": {
        "operation": {"type": "string"},
        "parameters": {"type": "object"},
        "run_id": {"type": "string"},
        "id": {"type": "string", "pattern": "^(/|$)"},
        "state": {"type": "string", "pattern": "^(/|$)"},
        "find": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["operation", "id"],
                "properties": {
                    "operation": {"type": "string"},
                    "parameters": {"type": "object"},
                    "id": {"type": "string", "pattern": "^(/|$)"},
                },
            },
        },
    },
}
#: ``x-lifecycle``, as the lifecycle checks and the mocks read it.
LIFECYCLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["field", "initial", "terminal", "transitions", "start", "poll"],
    "properties": {
        "field": {"type": "string"},
        "initial": {**_STATES, "minItems": 1},
        "running": _STATES,
        "terminal": _STATES,
        "transitions": {"type": "object", "additionalProperties": _STATES},
        "start": _STEP,
        "poll": {**_STEP, "required": ["operation", "run_id", "state"]},
        "cancel": {**_STEP, "required": ["operation", "run_id"]},
        "timestamps": {"type": "object", "additionalProperties": {"type": "string"}},
        "assumptions": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def check_lifecycle(raw: Any, operation_ids: set[str], path: Path) -> None:
    """``x-lifecycle``, when present, has the shape the lifecycle reads, and names operations the
    spec has (``operation_ids``); anything else is one ``SpecError`` line naming the place."""
    if raw is None:
        return
    found = errors(LIFECYCLE_SCHEMA, raw)
    if found:
        from jsonschema.exceptions import best_match

        error = best_match(found)
        where = "/".join(str(part) for part in error.absolute_path)
        rule = f"{error.validator} {printable(str(error.validator_value))[:80]}"
        raise SpecError(f"{path}: invalid x-lifecycle at /{printable(where)[:200]}: breaks the {rule} rule")
    steps = [raw[s] for s in ("start", "poll", "cancel") if s in raw] + list(raw["start"].get("find", []))
    for step in steps:
        if step["operation"] not in operation_ids:
            shown = printable(step["operation"])[:100]
            raise SpecError(f"{path}: invalid x-lifecycle: no operation {shown!r} in the spec")


# -- x-list and x-identity -------------------------------------------------------------------------
@dataclass(frozen=True)
class Filter:
    parameter: str
    field: str
    assumption: str | None = None


@dataclass(frozen=True)
class Paging:
    """How the next page is asked for: an ``offset``, a continuation ``token``, or a ``next`` URL."""

    style: str
    parameter: str | None = None
    source: str | None = None
    assumption: str | None = None

    @classmethod
    def from_extension(cls, raw: dict[str, Any]) -> Paging:
        style = next(key for key in ("offset", "token", "next") if key in raw)
        return cls(
            style,
            raw.get(style) if style != "next" else None,
            raw.get("from") if style == "token" else raw.get("next") if style == "next" else None,
            assumption_of(raw),
        )


@dataclass(frozen=True)
class ListSpec:
    """One list operation's promises (its ``x-list``)."""

    operation: str
    items: str
    id: str
    limit: str | None
    filters: tuple[Filter, ...]
    paging: Paging | None
    total: str | None
    assumption: str | None

    @classmethod
    def from_extension(cls, operation_id: str, raw: dict[str, Any]) -> ListSpec:
        paging = raw.get("paging") or None
        return cls(
            operation_id,
            raw.get("items", ""),
            raw.get("id", "/id"),
            raw.get("limit"),
            tuple(Filter(f["parameter"], f["field"], assumption_of(f)) for f in raw.get("filters", [])),
            Paging.from_extension(paging) if paging else None,
            raw.get("total"),
            assumption_of(raw),
        )

    @property
    def items_location(self) -> str:
        return f"{self.items}/*"

    def item_location(self, pointer: str) -> str:
        return f"{self.items}/*{pointer}"


def identity_of(raw: dict[str, Any] | None) -> dict[str, str]:
    """``{path parameter: pointer}`` of an ``x-identity`` (its own ``x-`` keys aside)."""
    return {k: v for k, v in (raw or {}).items() if not k.startswith("x-")}
