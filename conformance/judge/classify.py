"""Sorting deviations into known quirks, assumptions and new drift, and merging identical ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from conformance.contract.catalogue import Catalogue, Exchange, Quirk
from conformance.findings import Deviation, Finding
from conformance.kinds import Basis, Classification, Compare, kind_of


def classify(
    deviation: Deviation,
    catalogue: Catalogue | None,
    *,
    source: str = "check",
    exchange: Exchange | None = None,
) -> Finding:
    """A finding for ``deviation``: ``known`` only when a catalogue entry matches it exactly (in
    ``exchange``, the request and response it was seen in, where the entry names conditions on them),
    ``convention`` when its kind rests on an HTTP convention no document of the API states,
    ``assumption`` when it contradicts only what the spec assumed where the documents are silent."""
    quirk = catalogue.match(deviation, exchange) if catalogue else None
    kind = kind_of(deviation.kind)
    if quirk:
        classification = Classification.KNOWN
    elif kind.basis is Basis.CONVENTION:
        classification = Classification.CONVENTION
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
        quirk_summary=quirk.summary if quirk else None,
        citations=_rests_on(deviation, quirk, classification, catalogue),
        message=deviation.message,
        source=source,
        assumption=deviation.assumption
        if classification is Classification.ASSUMPTION
        else kind.rests_on
        if classification is Classification.CONVENTION
        else None,
    )


def _rests_on(
    deviation: Deviation, quirk: Quirk | None, classification: Classification, catalogue: Catalogue | None
) -> list[dict[str, str]]:
    """The public pages a finding rests on, so a reader can check it against the source: a known
    one's catalogue citations, a convention's public text, and for new drift the vendor's section
    that documents the operation. An assumption has none (no document says it; reports point
    at the spec's statement instead)."""
    if quirk:
        return [citation.to_dict() for citation in quirk.citations]
    reference = kind_of(deviation.kind).reference
    if classification is Classification.CONVENTION and reference:
        title, section, url = reference
        return [{"title": title, "url": url, "section": section}]
    if classification is Classification.NEW and catalogue:
        return [citation.to_dict() for citation in catalogue.sections(deviation.operation)]
    return []


class FindingSet:
    """Findings keyed by deviation identity and the entry that explains it (one deviation can be
    known in a documented exchange and new in another): the first case's request is kept, the
    rest counted."""

    def __init__(self, catalogue: Catalogue | None) -> None:
        self.catalogue = catalogue
        self._findings: dict[tuple[str, ...], Finding] = {}

    def add(
        self,
        deviation: Deviation,
        request: str | None = None,
        *,
        source: str = "check",
        exchange: Exchange | None = None,
    ) -> Finding:
        quirk = self.catalogue.match(deviation, exchange) if self.catalogue else None
        key = (*deviation.key, quirk.id if quirk else "")
        finding = self._findings.get(key)
        if finding is None:
            finding = classify(deviation, self.catalogue, source=source, exchange=exchange)
            finding.request = request
            self._findings[key] = finding
        else:
            finding.count += 1
        return finding

    def detached(self) -> FindingSet:
        """These findings without the catalogue that classed them (to hand to another process)."""
        findings = FindingSet(None)
        findings._findings = self._findings
        return findings

    def absorb(self, other: FindingSet) -> None:
        """Merge the findings of ``other``, gathered after these: a finding both have keeps this
        set's first request and adds the counts."""
        for key, finding in other._findings.items():
            mine = self._findings.get(key)
            if mine is None:
                self._findings[key] = finding
            else:
                mine.count += finding.count

    def extend(
        self,
        deviations: Iterable[Deviation],
        request: str | None = None,
        *,
        source: str = "check",
        exchange: Exchange | None = None,
    ) -> None:
        for deviation in deviations:
            self.add(deviation, request, source=source, exchange=exchange)

    def __iter__(self) -> Iterator[Finding]:
        return iter(sorted(self._findings.values(), key=_order))

    def grouped(self) -> list[Finding]:
        """The findings, with those that differ only in a varying part gathered into groups."""
        return sorted(group_findings(self._findings.values()), key=_order)

    def __len__(self) -> int:
        return len(self._findings)


#: The location part that stands for whichever member a group gathered.
ANY_MEMBER = "<any extra member>"
#: A group keeps this many of its distinct values as samples (its counts stay exact).
GROUP_SAMPLES = 10


def group_findings(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per pattern: findings of one operation, status, kind and classification whose
    location differs only in the name of a member the server sent (an extra member), or that share a
    body location but not a value, become one finding with the pattern, the total count, the distinct
    values (the first ``GROUP_SAMPLES``) and the first one's reproducing request. A server that adds
    random members to every object then reads as a few lines, not a thousand. Known quirks stay
    one finding each: every one is a catalogue entry of its own."""
    buckets: dict[tuple[str, ...], list[Finding]] = {}
    kept: list[Finding] = []
    for finding in findings:
        if finding.classification is Classification.KNOWN or not finding.location.startswith("/"):
            kept.append(finding)  # statuses, headers and transport causes are few: each stays one
            continue
        location = finding.location
        if _member_seen(finding):
            location = f"{location.rsplit('/', 1)[0]}/{ANY_MEMBER}"
        identity = (finding.api, finding.operation, str(finding.status_code), finding.kind)
        buckets.setdefault((*identity, str(finding.classification), location), []).append(finding)
    for key, members in buckets.items():
        if len(members) == 1:
            kept.append(members[0])
            continue
        values = list(dict.fromkeys(_varying(member) for member in members))
        first = members[0]
        shown = ", ".join(str(value) for value in values[:3]) + (", ..." if len(values) > 3 else "")
        kept.append(
            replace(
                first,
                location=key[-1],
                observed=values[:GROUP_SAMPLES],
                count=sum(member.count for member in members),
                message=f"{len(values)} distinct: {shown} ({first.message})",
                group={"distinct": len(values), "values": values[:GROUP_SAMPLES]},
            )
        )
    return kept


def _member_seen(finding: Finding) -> bool:
    """A finding about a member the server sent (an extra one), named by the last location part:
    those vary with what the server invents. Missing members come from the spec and stay apart."""
    return kind_of(finding.kind).compare is Compare.LOCATION and finding.observed is not None


def _varying(finding: Finding) -> Any:
    """What differs between the members of a group: the member name, else the observed value."""
    return finding.location.rsplit("/", 1)[-1] if _member_seen(finding) else finding.observed


_RANK = {
    Classification.NEW: 0,
    Classification.ASSUMPTION: 1,
    Classification.CONVENTION: 2,
    Classification.KNOWN: 3,
}


def _order(finding: Finding) -> tuple[str | int, ...]:
    return (finding.api, _RANK[finding.classification], finding.operation, finding.location, finding.kind)
