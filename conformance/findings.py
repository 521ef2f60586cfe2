"""The data that flows from checks to reports: deviations, and findings built from them.

A *deviation* is one observed difference between a response and the spec, explained
(``field-name-alias``, ``enum-casing``, ...). A *finding* is a deviation after
classification against the catalogue and the spec's assumptions, merged with its
identical twins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .kinds import Classification, Severity, kind_of, signature

if TYPE_CHECKING:
    from .specs import Operation


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
    #: Why the spec says what it says here, when no document does (its ``x-assumption``).
    assumption: str | None = None

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

    @property
    def severity(self) -> Severity:
        return kind_of(self.kind).severity


class Step(NamedTuple):
    """One judged exchange of a lifecycle or a list walk: the operation called, what was wrong
    with its answer, and the request as curl lines (for the finding that reproduces it)."""

    operation: Operation
    deviations: list[Deviation]
    request: str


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
    severity: Severity
    quirk: str | None
    doc: str | None
    message: str = ""
    count: int = 1
    request: str | None = None
    source: str = "check"
    #: The spec's reason for the statement this finding contradicts, when it is an assumption.
    assumption: str | None = None
    #: When the finding stands for many that differ only in a varying part (member names,
    #: values): ``{"distinct": N, "values": [the first few]}``; its location is then a pattern.
    group: dict[str, Any] | None = None
    #: For a known finding: its catalogue entry's summary and the public pages it cites
    #: (``title``, ``url``, ``section``), so a report read later needs no catalogue.
    quirk_summary: str | None = None
    citations: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classification"] = str(self.classification)
        data["severity"] = str(self.severity)
        return data

    def fails(self, fail_on: str) -> bool:
        """Whether this finding fails a run under ``--fail-on`` (``strict``: any deviation)."""
        if fail_on == "strict":
            return True
        if self.classification is not Classification.NEW:
            return False
        return fail_on == "any" or self.severity is Severity.BREAKING


def tally(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts every report shows: by classification, and new drift by severity."""
    counts = {str(c): 0 for c in Classification} | {str(s): 0 for s in Severity}
    for finding in findings:
        counts[str(finding.classification)] += 1
        if finding.classification is Classification.NEW:
            counts[str(finding.severity)] += 1
    return counts


#: What one judged response counts as, best first: the score's stacked bar shows all five, so
#: a run whose responses are all catalogued quirks does not read as all conforming.
OUTCOMES = ("conforming", "known", "assumption", "additive", "breaking")


def outcome(findings: Iterable[Finding]) -> str:
    """A response's outcome: its worst finding (new drift by severity), ``conforming`` if none."""
    worst = 0
    for finding in findings:
        name = finding.severity if finding.classification is Classification.NEW else finding.classification
        worst = max(worst, OUTCOMES.index(str(name)))
    return OUTCOMES[worst]
