"""The data that flows from checks to reports: deviations, and findings built from them.

A *deviation* is one observed difference between a response and the spec, explained
(``field-name-alias``, ``enum-casing``, ...). A *finding* is a deviation after
classification against the catalogue, merged with its identical twins.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Classification = Literal["known", "new"]

#: Kinds whose observed value varies from call to call; they are compared by shape.
SHAPED_KINDS = frozenset({"timestamp-without-offset", "invalid-timestamp"})
#: Kinds compared by the JSON type of the observed value rather than the value.
TYPED_KINDS = frozenset({"type-mismatch"})


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def signature(kind: str, value: Any) -> str:
    """The part of a value that must match exactly for a deviation to be a known quirk.

    Timestamps are compared by shape (every digit becomes ``9``), so a server that keeps
    the documented offset-less format is known on every call, while one that switches to
    another format is new. Type mismatches are compared by the observed JSON type.
    """
    if kind in SHAPED_KINDS and isinstance(value, str):
        return re.sub(r"\d", "9", value)
    if kind in TYPED_KINDS:
        return json_type(value)
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Deviation:
    """One explained difference between what a server did and what the spec says."""

    api: str
    operation: str
    status_code: int | None
    location: str
    kind: str
    expected: Any
    observed: Any
    message: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        """Identity used to merge identical deviations seen in different cases."""
        return (
            self.api,
            self.operation,
            str(self.status_code),
            self.location,
            self.kind,
            signature(self.kind, self.expected),
            signature(self.kind, self.observed),
        )


@dataclass
class Finding:
    """A classified deviation, merged across cases, ready for reports."""

    api: str
    operation: str
    status_code: int | None
    location: str
    kind: str
    expected: Any
    observed: Any
    classification: Classification
    quirk: str | None
    doc: str | None
    message: str = ""
    count: int = 1
    request: str | None = None
    source: str = "check"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["extra"]:
            del data["extra"]
        return data
