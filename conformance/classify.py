"""Sorting deviations into known quirks, assumptions and new drift, and merging identical ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .catalogue import Catalogue
from .findings import Deviation, Finding
from .kinds import Classification


def classify(deviation: Deviation, catalogue: Catalogue | None, *, source: str = "check") -> Finding:
    """A finding for ``deviation``: ``known`` only when a catalogue entry matches it exactly,
    ``assumption`` when it contradicts only what the spec assumed where the documents are silent."""
    quirk = catalogue.match(deviation) if catalogue else None
    if quirk:
        classification = Classification.KNOWN
    elif deviation.assumption:
        classification = Classification.ASSUMPTION
    else:
        classification = Classification.NEW
    return Finding(
        api=deviation.api,
        operation=deviation.operation,
        status_code=deviation.status_code,
        location=deviation.location,
        kind=deviation.kind,
        expected=deviation.expected,
        observed=deviation.observed,
        classification=classification,
        severity=deviation.severity,
        quirk=quirk.id if quirk else None,
        doc=quirk.citation if quirk else None,
        message=deviation.message,
        source=source,
        assumption=deviation.assumption if classification is Classification.ASSUMPTION else None,
    )


class FindingSet:
    """Findings keyed by deviation identity: the first case's request is kept, the rest counted."""

    def __init__(self, catalogue: Catalogue | None) -> None:
        self.catalogue = catalogue
        self._findings: dict[tuple[str, ...], Finding] = {}

    def add(self, deviation: Deviation, request: str | None = None, *, source: str = "check") -> Finding:
        finding = self._findings.get(deviation.key)
        if finding is None:
            finding = classify(deviation, self.catalogue, source=source)
            finding.request = request
            self._findings[deviation.key] = finding
        else:
            finding.count += 1
        return finding

    def extend(
        self, deviations: Iterable[Deviation], request: str | None = None, *, source: str = "check"
    ) -> None:
        for deviation in deviations:
            self.add(deviation, request, source=source)

    def __iter__(self) -> Iterator[Finding]:
        return iter(sorted(self._findings.values(), key=_order))

    def __len__(self) -> int:
        return len(self._findings)


_RANK = {Classification.NEW: 0, Classification.ASSUMPTION: 1, Classification.KNOWN: 2}


def _order(finding: Finding) -> tuple[str | int, ...]:
    return (finding.api, _RANK[finding.classification], finding.operation, finding.location, finding.kind)
