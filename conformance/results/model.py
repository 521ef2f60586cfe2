"""The result model: what a run or a replay judged, per API, as results, reports and the
console read it. The engine fills it through its session; nothing here imports the engine or an
HTTP client, so re-rendering a report loads neither."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from conformance.contract.model import Operation
from conformance.findings import OUTCOMES, FailPolicy, Finding, tally
from conformance.judge.resolved import QuirkCheck


class ProgressHook(Protocol):
    """Called as APIs progress: the API, scenarios done and in all, and the phase it is in (a
    schemathesis phase, ``lifecycle``, or ``done`` once the API has finished)."""

    def __call__(self, api: str, done: int, total: int, phase: str | None = None) -> None: ...


@dataclass
class OperationStats:
    cases: int = 0
    #: Judged responses by outcome (``OUTCOMES``): what each counts as in the score's bar.
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class ApiResult:
    """What one API's run produced."""

    api: str
    title: str
    base_url: str
    mock_mode: str | None
    operations: dict[str, Operation]
    stats: dict[str, OperationStats]
    findings: list[Finding]
    checks: Counter[str]
    errors: list[str]
    duration: float
    #: schemathesis checks the spec adjusts, with the documented reason (``x-conformance.judge.checks``).
    adjusted_checks: dict[str, str] = field(default_factory=dict)
    #: Response-side quirks that did not appear: seen fixed, and not checked (``resolved``).
    resolved: list[QuirkCheck] = field(default_factory=list)
    unchecked: list[QuirkCheck] = field(default_factory=list)
    #: Per operation, what its answers showed (``results.profile``), as ``results.json`` keeps it.
    profile: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.stats.values())

    @property
    def covered(self) -> list[str]:
        return [op for op, s in self.stats.items() if s.cases]

    @property
    def score(self) -> float:
        """Share of responses without new drift: conforming, or deviating only in catalogued or
        assumed ways or from HTTP conventions (``responses`` says how many were which)."""
        cases, responses = self.cases, self.responses
        drifted = responses["additive"] + responses["breaking"]
        return round(100.0 * (cases - drifted) / cases, 1) if cases else 0.0

    @property
    def responses(self) -> dict[str, int]:
        """Judged responses by outcome, every one of ``OUTCOMES`` present; they add up to ``cases``."""
        return {name: sum(s.outcomes[name] for s in self.stats.values()) for name in OUTCOMES}

    def counts(self, operation: str | None = None) -> dict[str, int]:
        """Findings by classification and new drift by severity, of the API or one operation."""
        return tally(f for f in self.findings if operation is None or f.operation == operation)


@dataclass
class RunResult:
    """A whole run (or replay): every API's result, and the rule that decides its exit code."""

    #: What fails the run: any deviation (``--strict``), or what ``--fail-on`` names.
    fail_on: FailPolicy
    results: list[ApiResult]
    started_at: datetime
    finished_at: datetime
    complete: bool
    #: The seed the engine used (drawn when none was given), so that the run can be repeated.
    seed: int | None = None
    #: Every option the run or replay was given, credentials left out (``results.json``).
    options: dict[str, Any] = field(default_factory=dict)
    #: Recorded calls outside every contract that a replay skipped (``--skip-unknown``).
    skipped: int = 0

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.results for finding in result.findings]

    @property
    def errors(self) -> list[str]:
        return [f"{result.api}: {error}" for result in self.results for error in result.errors]

    @property
    def exit_code(self) -> int:
        return self.fail_on.exit_code(
            self.findings,
            resolved=sum(len(result.resolved) for result in self.results),
            errors=len(self.errors),
            complete=self.complete,
        )
