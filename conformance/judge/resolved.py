"""Catalogued quirks the vendor may have fixed: without this, a fixed quirk is silently absent
and the catalogue goes stale.

A response-side quirk (an entry whose own kind shows in traffic) is *resolved?* in a run when
its operation was exercised, responses it could apply to (its status, the request it documents:
a cancel, not a start, of one operation that answers both) showed the place it lives in (the
field, the object, the status), and it never appeared. When its operation was not exercised, or
no such response showed that place, it is *not checked*: absence there says nothing. Entries
that live in the documents and only may show in traffic (an example a server might copy) are
never resolved: a server that does not copy a placeholder example fixes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from conformance.contract.catalogue import Catalogue, Exchange, Quirk, nodes, pointer_steps
from conformance.findings import Finding
from conformance.kinds import Evidence, kind_of

#: Why a quirk was not checked.
NOT_SELECTED = "its operations were not selected"
NOT_EXERCISED = "its operations got no response"
NOT_SEEN = "no response showed where it lives"


class Counted(Protocol):
    cases: int


@dataclass(frozen=True)
class QuirkCheck:
    """A response-side quirk that did not appear in a run: resolved (``responses`` showed its
    place without it) or not checked (``reason``)."""

    quirk: str
    summary: str
    citation: str
    operations: tuple[str, ...]
    responses: int = 0
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["operations"] = list(self.operations)
        return data


def response_side(quirk: Quirk) -> bool:
    return kind_of(quirk.kind).observable


def _operations(quirk: Quirk) -> tuple[str, ...]:
    return tuple(dict.fromkeys(op for manifest in quirk.observable for op in manifest.operations))


def location_seen(kind: str, location: str, instance: Any) -> bool:
    """Whether a response's decoded body shows the place ``location`` names, as the kind's
    ``Evidence`` asks; statuses, headers and paths are shown by any response."""
    if location and not location.startswith("/"):
        return True
    parts = list(pointer_steps(location)) if location else []
    evidence = kind_of(kind).evidence
    if evidence is Evidence.OBJECT:
        return bool(parts) and any(isinstance(node, dict) for node in nodes(instance, parts[:-1]))
    found = nodes(instance, parts)
    if evidence is Evidence.MEMBER:
        return bool(found)
    return any(node is not None for node in found)


class QuirkSightings:
    """Per API, while it runs: how many responses showed each response-side quirk's place."""

    def __init__(self, catalogue: Catalogue | None) -> None:
        self.catalogue = catalogue
        self.seen: Counter[str] = Counter()
        self._by_operation: dict[str, list[Quirk]] = {}
        for quirk in catalogue.quirks if catalogue else ():
            if response_side(quirk):
                for operation in _operations(quirk):
                    self._by_operation.setdefault(operation, []).append(quirk)

    def observe(self, operation: str, status_code: int, exchange: Exchange) -> None:
        """Count one response of ``operation``: its decoded JSON body (or not JSON) and the request
        body sent (a quirk of one kind of request needs it)."""
        body = exchange.response
        for quirk in self._by_operation.get(operation, ()):
            if quirk.status_codes and status_code not in quirk.status_codes:
                continue
            if any(
                location_seen(manifest.kind, location, body)
                for manifest in quirk.observable
                if operation in manifest.operations and manifest.when.applies(exchange)
                for location in manifest.locations
            ):
                self.seen[quirk.id] += 1

    def verdicts(
        self, findings: Iterable[Finding], stats: Mapping[str, Counted]
    ) -> tuple[list[QuirkCheck], list[QuirkCheck]]:
        """The quirks that did not appear: resolved, and not checked (with why)."""
        appeared = {finding.quirk for finding in findings if finding.quirk}
        resolved, unchecked = [], []
        for quirk in self.catalogue.quirks if self.catalogue else ():
            if not response_side(quirk) or quirk.id in appeared:
                continue
            operations = _operations(quirk)
            check = QuirkCheck(quirk.id, quirk.summary, quirk.citation, operations)
            if not any(op in stats for op in operations):
                unchecked.append(replace(check, reason=NOT_SELECTED))
            elif not any(stats[op].cases for op in operations if op in stats):
                unchecked.append(replace(check, reason=NOT_EXERCISED))
            elif not self.seen[quirk.id]:
                unchecked.append(replace(check, reason=NOT_SEEN))
            else:
                resolved.append(replace(check, responses=self.seen[quirk.id]))
        return resolved, unchecked
