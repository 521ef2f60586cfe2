"""What changed since last night, between two ``results.json``: findings that appeared,
disappeared or changed their count or class, quirks newly resolved, operations newly failing
or recovering, and observed behaviour that changed (``results.changes``). The console,
``--json``, the report's first section and the job summary all read one ``Comparison``.
Nothing here loads the test engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.findings import FailPolicy
from conformance.results.changes import ProfileChange, Thresholds, profile_changes
from conformance.results.identity import finding_identity, quirk_identity, target_of
from conformance.results.verdict import policy_of


@dataclass(frozen=True)
class FindingChange:
    """One finding that is not as it was: ``appeared``, ``disappeared``, ``count`` or ``class``."""

    change: str
    target: str
    operation: str
    status_code: int | None
    location: str
    kind: str
    #: ``new breaking``, ``new additive``, ``assumption``, ``convention`` or ``known``, before and after.
    old_class: str | None
    new_class: str | None
    old_count: int
    new_count: int
    quirk: str | None
    message: str


@dataclass(frozen=True)
class OperationChange:
    target: str
    operation: str
    #: the findings that fail it now (newly failing) or failed it before (recovering)
    failing: int


@dataclass(frozen=True)
class ResolvedQuirk:
    target: str
    quirk: str
    citation: str
    responses: int


@dataclass
class Comparison:
    old_finished_at: str
    new_finished_at: str
    findings: list[FindingChange] = field(default_factory=list)
    #: Targets checked in only one of the two: their findings are not counted as changes.
    targets_added: list[str] = field(default_factory=list)
    targets_missing: list[str] = field(default_factory=list)
    resolved: list[ResolvedQuirk] = field(default_factory=list)
    failing: list[OperationChange] = field(default_factory=list)
    recovering: list[OperationChange] = field(default_factory=list)
    #: Observed behaviour that changed (class ``changed``, never drift).
    changes: list[ProfileChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.findings or self.resolved or self.failing or self.recovering or self.changes)

    @property
    def exit_code(self) -> int:
        """1 when a change of observed behaviour fails the night (``--fail-on changed``), else 0."""
        return 1 if any(change.fails for change in self.changes) else 0

    def counts(self) -> dict[str, int]:
        changes = [change.change for change in self.findings]
        return {
            "appeared": changes.count("appeared"),
            "disappeared": changes.count("disappeared"),
            "changed": changes.count("count") + changes.count("class"),
            "resolved": len(self.resolved),
            "failing": len(self.failing),
            "recovering": len(self.recovering),
            "behaviour": len(self.changes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_finished_at": self.old_finished_at,
            "new_finished_at": self.new_finished_at,
            "counts": self.counts(),
            "findings": [asdict(change) for change in self.findings],
            "targets_added": self.targets_added,
            "targets_missing": self.targets_missing,
            "resolved": [asdict(quirk) for quirk in self.resolved],
            "failing": [asdict(operation) for operation in self.failing],
            "recovering": [asdict(operation) for operation in self.recovering],
            "changes": [asdict(change) for change in self.changes],
        }


def finding_class(finding: dict[str, Any]) -> str:
    if finding["classification"] == "new":
        return f"new {finding['severity']}"
    return str(finding["classification"])


def _exercised(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (target_of(api), operation["operation"])
        for api in document["apis"]
        for operation in api["operations"]
        if operation["cases"]
    }


def paired_findings(
    old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """The findings of ``old`` and ``new`` paired by ``finding_identity`` (``None``: not in that
    one), where both exercised the operation at that target: a shard or ``--exclude-operation``
    that left it out fixes nothing, and a target checked once has nothing to compare with.
    ``compare`` and ``diff`` of two results files both read these pairs."""
    both = _exercised(old) & _exercised(new)
    before = {finding_identity(f): f for f in old["findings"] if (target_of(f), f["operation"]) in both}
    after = {finding_identity(f): f for f in new["findings"] if (target_of(f), f["operation"]) in both}
    return [(before.get(key), after.get(key)) for key in dict.fromkeys([*after, *before])]


def compare(
    old: dict[str, Any],
    new: dict[str, Any],
    limits: Thresholds | None = None,
    policy: FailPolicy | None = None,
) -> Comparison:
    """What ``new`` shows that ``old`` did not, and the reverse, by target (``paired_findings``);
    changes of observed behaviour judged stable by ``limits``, failing the night by ``policy``
    (default: the rule ``new`` was run under)."""
    comparison = Comparison(old["finished_at"], new["finished_at"])
    comparison.changes = profile_changes(old, new, limits or Thresholds(), policy or policy_of(new))
    old_targets = [target_of(api) for api in old["apis"]]
    new_targets = [target_of(api) for api in new["apis"]]
    comparison.targets_added = [target for target in new_targets if target not in old_targets]
    comparison.targets_missing = [target for target in old_targets if target not in new_targets]
    for was, now in paired_findings(old, new):
        shown = now or was
        assert shown is not None
        if was is None:
            change = "appeared"
        elif now is None:
            change = "disappeared"
        elif finding_class(was) != finding_class(now):
            change = "class"
        elif was["count"] != now["count"]:
            change = "count"
        else:
            continue
        comparison.findings.append(
            FindingChange(
                change,
                target_of(shown),
                shown["operation"],
                shown["status_code"],
                shown["location"],
                shown["kind"],
                finding_class(was) if was else None,
                finding_class(now) if now else None,
                was["count"] if was else 0,
                now["count"] if now else 0,
                shown["quirk"],
                shown["message"],
            )
        )
    resolved_before = {
        quirk_identity(api, quirk) for api in old["apis"] for quirk in api.get("resolved_quirks", [])
    }
    for api in new["apis"]:
        for quirk in api.get("resolved_quirks", []):
            if quirk_identity(api, quirk) not in resolved_before:
                comparison.resolved.append(
                    ResolvedQuirk(target_of(api), quirk["quirk"], quirk["citation"], quirk["responses"])
                )
    comparison.failing, comparison.recovering = _failing_and_recovering(old, new)
    return comparison


def _failing_and_recovering(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[list[OperationChange], list[OperationChange]]:
    """Operations that fail in ``new`` and did not in ``old``, and those that failed and, exercised
    again, no longer do. An operation fails by the findings that fail it under each document's own
    rule (its ``fail_on``)."""
    old_policy, new_policy = policy_of(old), policy_of(new)
    operations_before = {
        (target_of(api), operation["operation"]): old_policy.failing(operation)
        for api in old["apis"]
        for operation in api["operations"]
    }
    failing_now: list[OperationChange] = []
    recovering: list[OperationChange] = []
    for api in new["apis"]:
        for operation in api["operations"]:
            key = (target_of(api), operation["operation"])
            failing, failed = new_policy.failing(operation), operations_before.get(key, 0)
            if failing and not failed:
                failing_now.append(OperationChange(*key, failing))
            elif failed and not failing and operation["cases"]:
                recovering.append(OperationChange(*key, failed))
    return failing_now, recovering


def change_line(change: FindingChange) -> str:
    """One finding change in words, for the console, the report and the job summary."""
    where = f"{change.target} {change.operation} {change.location or '(body)'} {change.kind}"
    if change.change == "appeared":
        return f"appeared: {where} ({change.new_class}, seen {change.new_count} times)"
    if change.change == "disappeared":
        return f"disappeared: {where} (was {change.old_class}, seen {change.old_count} times)"
    if change.change == "class":
        return f"changed: {where} {change.old_class} → {change.new_class}"
    return f"changed: {where} seen {change.old_count} → {change.new_count} times"
