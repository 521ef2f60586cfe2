"""The verdict of a run, a replay or a merged report, and the catalogued quirks it found
resolved: one function of the results document, asking the document's own ``FailPolicy``, so
the console, the step summary, the report's banner and the exit code never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from conformance.findings import FailPolicy, Finding
from conformance.results.identity import target_of


def policy_of(document: dict[str, Any]) -> FailPolicy:
    """The rule the document was judged under (its ``fail_on``)."""
    return FailPolicy.recorded(document["fail_on"])


def exit_code_of(document: dict[str, Any], findings: Iterable[Finding] | None = None) -> int:
    """The exit code of the run (or the runs) the document holds, under its own rule: 2 when it
    has errors or is incomplete, 1 when a finding or a resolved quirk fails it, else 0
    (``findings``: the document's, already read, where the caller has them)."""
    return policy_of(document).exit_code(
        findings if findings is not None else (Finding.from_dict(f) for f in document["findings"]),
        resolved=sum(len(api.get("resolved_quirks", [])) for api in document["apis"]),
        errors=len(document["errors"]),
        complete=document["summary"].get("complete", True),
    )


@dataclass(frozen=True)
class Verdict:
    """What a reader must learn first: ``line`` for the console and the job summary, ``title``
    and ``detail`` for the report's banner, ``state`` (``error``, ``drift``, ``clean``) its colour."""

    exit_code: int
    line: str
    title: str
    detail: str

    @property
    def state(self) -> str:
        return ("clean", "drift", "error")[self.exit_code]


def verdict(document: dict[str, Any]) -> Verdict:
    policy, summary = policy_of(document), document["summary"]
    code = exit_code_of(document)
    detail = (
        f"{summary['breaking']} breaking · {summary['additive']} additive · "
        f"{summary['assumption']} assumption · {summary['convention']} convention · "
        f"{summary['known']} known · {summary['cases']} cases · exit code {code}"
    )

    def targets(picked: Callable[[dict[str, Any]], Any]) -> str:
        return ", ".join(target_of(api) for api in document["apis"] if picked(api))

    if code == 2:
        count = len(document["errors"])
        title = f"Run incomplete: {count} error{'s' if count != 1 else ''}"
        return Verdict(code, "could not run everything", title, detail)
    if code == 1 and policy.strict:  # any deviation fails it: say which, and whether any of them is new
        new = f"{summary['new']} new" if summary["new"] else "no new drift"
        known, conventions, assumed = summary["known"], summary["convention"], summary["assumption"]
        line = (
            f"strict run failed on {known} known, {conventions} convention and {assumed} assumption "
            f"deviations, {new}"
        )
        drifted = targets(lambda api: api["new"])
        title = (
            f"New drift in {drifted}"
            if drifted
            else f"Strict run failed on deviations in {targets(policy.failing)}"
        )
        return Verdict(code, line, title, detail)
    if code == 1 and policy.failing(_drift(summary)):
        drift = "Breaking drift" if policy.drift == "breaking" else "New drift"
        return Verdict(
            code, "NEW DRIFT", f"{drift} in {targets(lambda api: policy.failing(_drift(api)))}", detail
        )
    if code == 1 and policy.failing(summary):  # only departures from HTTP conventions fail it
        count = policy.failing(summary)
        line = f"{count} departure{'s' if count != 1 else ''} from HTTP conventions (--fail-on {policy})"
        return Verdict(code, line, f"HTTP conventions not followed in {targets(policy.failing)}", detail)
    if code == 1:  # it failed on quirks the vendor seems to have fixed
        line = f"{summary.get('resolved', 0)} catalogued quirks resolved? (--fail-on {policy})"
        title = f"Catalogued quirks resolved? in {targets(lambda api: api.get('resolved_quirks'))}"
        return Verdict(code, line, title, detail)
    if policy.strict:
        return Verdict(code, "no deviation (strict)", "No new drift", detail)
    if summary["new"]:
        additive = summary["additive"]
        line = f"no breaking drift ({additive} additive; they fail only with --fail-on any)"
        return Verdict(code, line, f"No breaking drift ({additive} additive)", detail)
    return Verdict(code, "no new drift", "No new drift", detail)


def _drift(counts: dict[str, Any]) -> dict[str, Any]:
    """``counts`` without its departures from HTTP conventions: they fail a run (``--fail-on
    convention``) but are never called drift."""
    return {name: count for name, count in counts.items() if name != "convention"}


def resolved_lines(document: dict[str, Any]) -> list[str]:
    """Catalogued quirks the vendor seems to have fixed, one line each (the catalogue's section)."""
    return [
        f"{target_of(api)} {quirk['quirk']}: not seen in {quirk['responses']} responses "
        f"of {', '.join(quirk['operations'])} ({quirk['citation']})"
        for api in document["apis"]
        for quirk in api.get("resolved_quirks", [])
    ]
