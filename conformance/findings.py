"""The data that flows from checks to reports: deviations, and findings built from them.

A *deviation* is one observed difference between a response and the spec, explained
(``field-name-alias``, ``enum-casing``, ...). A *finding* is a deviation after
classification against the catalogue and the spec's assumptions, merged with its
identical twins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.errors import UsageError
from conformance.kinds import Classification, Severity, kind_of, signature

if TYPE_CHECKING:
    pass

#: The words of ``--fail-on``: the new drift that fails a run (``breaking`` or ``any``), and
#: ``resolved``: a catalogued quirk the vendor seems to have fixed fails it too.
FAIL_ON = ("breaking", "any", "resolved")


def fail_policy(text: str) -> str:
    """``--fail-on`` as the run records it: comma-separated words of ``FAIL_ON``, the drift word
    first (``breaking`` when only ``resolved`` is given); anything else is a one-line error."""
    words = [word.strip() for word in str(text).split(",") if word.strip()]
    unknown = [word for word in words if word not in FAIL_ON]
    if not words or unknown:
        raise UsageError(f"--fail-on takes {', '.join(FAIL_ON)} (comma-separated), not {text!r}")
    drift = [word for word in words if word != "resolved"]
    if len(set(drift)) > 1:
        raise UsageError("--fail-on takes one of breaking and any, not both")
    return ",".join([drift[0] if drift else "breaking", *(["resolved"] if "resolved" in words else [])])


def drift_rule(fail_on: str) -> str:
    """The part of a fail rule that decides which new drift fails: ``strict``, ``any`` or ``breaking``."""
    return fail_on.split(",", 1)[0]


def resolved_fails(fail_on: str) -> bool:
    """Whether a quirk the vendor seems to have fixed fails a run under ``fail_on``."""
    return "resolved" in fail_on.split(",")


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

    def __post_init__(self) -> None:
        kind_of(self.kind)  # a misspelled kind fails here, where it is named

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
        rule = drift_rule(fail_on)
        if rule == "strict":
            return True
        if self.classification is not Classification.NEW:
            return False
        return rule == "any" or self.severity is Severity.BREAKING

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """A finding as ``results.json`` holds it (merging and comparing read them back)."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(
            **fields
            | {
                "classification": Classification(data["classification"]),
                "severity": Severity(data["severity"]),
            }
        )


def tally(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts every report shows: by classification, and new drift by severity."""
    counts = {str(c): 0 for c in Classification} | {str(s): 0 for s in Severity}
    for finding in findings:
        counts[str(finding.classification)] += 1
        if finding.classification is Classification.NEW:
            counts[str(finding.severity)] += 1
    return counts


#: What one judged response counts as, best first: the score's stacked bar shows all six, so
#: a run whose responses are all catalogued quirks does not read as all conforming.
OUTCOMES = ("conforming", "known", "convention", "assumption", "additive", "breaking")


def outcome(findings: Iterable[Finding]) -> str:
    """A response's outcome: its worst finding (new drift by severity), ``conforming`` if none."""
    worst = 0
    for finding in findings:
        name = finding.severity if finding.classification is Classification.NEW else finding.classification
        worst = max(worst, OUTCOMES.index(str(name)))
    return OUTCOMES[worst]
