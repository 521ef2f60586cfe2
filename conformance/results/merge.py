"""Many ``results.json`` made whole again: the shards of a CI matrix, one vendor per job, or the
same API checked against several targets (staging and production), as one results document.

Entries of one API at one target (the same base URL, or the same kind of embedded mock) are
one target: their operations, counts and findings add up, so shards of a run merge into the run
they split. The same API at different targets stays apart, each named ``<api> @ <where>``, so
the report and its history keep a line per target. Scores are recomputed from the responses
that conformed. Nothing here loads the test engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from conformance import __version__
from conformance.errors import UsageError
from conformance.findings import BREAKING, OUTCOMES, FailPolicy, Finding, tally
from conformance.judge.resolved import NOT_EXERCISED, NOT_SEEN, NOT_SELECTED
from conformance.results.document import SCHEMA_VERSION
from conformance.results.identity import finding_identity, target_of
from conformance.results.verdict import exit_code_of

#: Of two reasons a quirk was not checked, the one that says more of what the run did.
_REASON_RANK = {NOT_SEEN: 0, NOT_EXERCISED: 1, NOT_SELECTED: 2}


def _where(api: dict[str, Any]) -> str:
    return f"{api['mock_mode']} mock" if api["mock_mode"] else str(api["base_url"])


def merge_documents(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One results document of ``documents`` (as ``load_results`` read them)."""
    rules = sorted({document["fail_on"] for document in documents})
    if len(rules) > 1:
        raise UsageError(f"the results were judged under different --fail-on rules ({', '.join(rules)})")
    policy = FailPolicy.recorded(rules[0]) if rules else BREAKING
    # Each finding is read once, in one pass per target: merging stays linear in the findings
    # (two 35 MB files merged in seconds, where a filter per target and per operation took minutes).
    targets = [
        (name, entries, _merge_findings(name, findings)) for name, entries, findings in _targets(documents)
    ]
    merged_findings = [finding for _, _, findings in targets for finding in findings]
    judged = {name: [Finding.from_dict(finding) for finding in findings] for name, _, findings in targets}
    apis = [_merge_api(name, entries, findings, judged[name]) for name, entries, findings in targets]
    errors = [error for document in documents for error in document["errors"]]
    complete = all(document["summary"].get("complete", True) for document in documents)
    started = min(
        (document.get("started_at") or document["finished_at"] for document in documents), default=""
    )
    finished = max((document["finished_at"] for document in documents), default="")
    seeds = {document.get("seed") for document in documents}
    judged_by = [document.get("versions") for document in documents]
    merged = {
        "version": SCHEMA_VERSION,
        "tool": f"conformance {__version__}",
        "started_at": started,
        "finished_at": finished,
        "duration_s": _seconds_between(started, finished),
        "strict": policy.strict,
        "fail_on": str(policy),
        "exit_code": None,  # the whole document's (exit_code_of), below
        "seed": seeds.pop() if len(seeds) == 1 else None,
        # the versions when every document names the same ones: else no one judged them all
        **(
            {"versions": judged_by[0]}
            if judged_by[0] and judged_by.count(judged_by[0]) == len(judged_by)
            else {}
        ),
        "summary": {
            "cases": sum(api["cases"] for api in apis),
            "checks": sum(api["checks"] for api in apis),
            **tally(finding for findings in judged.values() for finding in findings),
            "errors": len(errors),
            "complete": complete,
            "apis": len(apis),
            "skipped": sum(document["summary"].get("skipped", 0) for document in documents),
            "resolved": sum(len(api["resolved_quirks"]) for api in apis),
        },
        "errors": errors,
        "apis": apis,
        "findings": merged_findings,
    }
    return merged | {"exit_code": exit_code_of(merged, [f for findings in judged.values() for f in findings])}


def _targets(
    documents: list[dict[str, Any]],
) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each target of ``documents`` (an API at one place: ``_where``), in the order first seen, with
    its API entries and its findings; named by its API alone, or ``<api> @ <where>`` where the
    documents checked that API at more than one place."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    findings: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for document in documents:
        by_target = {target_of(api): (api["api"], _where(api)) for api in document["apis"]}
        for api in document["apis"]:
            groups.setdefault((api["api"], _where(api)), []).append(api)
        for finding in document["findings"]:
            identity = by_target.get(target_of(finding), (finding["api"], "?"))
            findings.setdefault(identity, []).append(finding)
    places = Counter(api for api, _ in groups)
    return [
        (api if places[api] == 1 else f"{api} @ {where}", entries, findings.get((api, where), []))
        for (api, where), entries in groups.items()
    ]


def _seconds_between(started: str, finished: str) -> float:
    try:
        return max(
            0.0,
            round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 2),
        )
    except (TypeError, ValueError):
        return 0.0


def _merge_findings(target: str, findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings of one target's parts, named by the merged target; one finding
    (``finding_identity``) seen in several parts is one, its counts added up."""
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for finding in findings:
        renamed = {**finding, "target": target}
        key = finding_identity(renamed)
        if key in merged:
            merged[key]["count"] += finding["count"]
        else:
            merged[key] = renamed
    return list(merged.values())


def _without_drift(api: dict[str, Any]) -> dict[str, int]:
    """Responses without new drift, per operation; a version 2 entry knows only its API's score,
    so its share is spread by cases."""
    if all("responses" in operation for operation in api["operations"]):
        return {
            operation["operation"]: operation["cases"]
            - operation["responses"]["additive"]
            - operation["responses"]["breaking"]
            for operation in api["operations"]
        }
    share = api["score"] / 100
    return {operation["operation"]: round(operation["cases"] * share) for operation in api["operations"]}


def _responses(operations: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Judged responses by outcome, summed; none when a part (a version 2 file) did not count them."""
    parts = list(operations)
    if not all("responses" in part for part in parts):
        return {}
    return {"responses": {name: sum(part["responses"][name] for part in parts) for name in OUTCOMES}}


def _profile(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The behaviour profile of an operation's parts: a shard's, or of parts checking it at one
    target, the one with the most answers (percentiles of response times do not add up)."""
    profiled = [part["profile"] for part in parts if part.get("profile")]
    if not profiled:
        return {}
    return {"profile": max(profiled, key=lambda profile: sum(profile["statuses"].values()))}


def _merge_api(
    target: str, entries: list[dict[str, Any]], findings: list[dict[str, Any]], judged: list[Finding]
) -> dict[str, Any]:
    """One target's entry: its parts' operations and counts added up; ``judged``: its ``findings``
    (merged) as ``Finding``s."""
    first = entries[0]
    parts: dict[str, list[dict[str, Any]]] = {}
    without_drift = 0
    for entry in entries:
        without_drift += sum(_without_drift(entry).values())
        for operation in entry["operations"]:
            parts.setdefault(operation["operation"], []).append(operation)
    operations = {
        name: {
            "operation": name,
            "label": same[0]["label"],
            "cases": sum(part["cases"] for part in same),
            **_responses(same),
            **_profile(same),
        }
        for name, same in parts.items()
    }
    by_operation: dict[str, list[Finding]] = {}
    for finding in judged:
        by_operation.setdefault(finding.operation, []).append(finding)
    for operation in operations.values():
        operation.update(tally(by_operation.get(operation["operation"], [])))
    cases = sum(operation["cases"] for operation in operations.values())
    check_counts: Counter[str] = Counter()
    for entry in entries:
        check_counts.update(entry.get("check_counts", {}))
    resolved, unchecked = _merge_quirks(entries, {f["quirk"] for f in findings if f["quirk"]})
    return {
        "api": first["api"],
        "target": target,
        "title": first["title"],
        "base_url": first["base_url"],
        "mock_mode": first["mock_mode"],
        "operations_total": len(operations),
        "operations_covered": sum(1 for operation in operations.values() if operation["cases"]),
        "cases": cases,
        "checks": sum(entry["checks"] for entry in entries),
        **tally(judged),
        **_responses(operations.values()),
        "score": round(100.0 * without_drift / cases, 1) if cases else 0.0,
        "errors": [error for entry in entries for error in entry["errors"]],
        "adjusted_checks": {k: v for entry in entries for k, v in entry.get("adjusted_checks", {}).items()},
        "duration_s": round(sum(entry.get("duration_s", 0.0) for entry in entries), 2),
        "check_counts": dict(sorted(check_counts.items())),
        "resolved_quirks": resolved,
        "unchecked_quirks": unchecked,
        "operations": list(operations.values()),
    }


def _merge_quirks(
    entries: list[dict[str, Any]], appeared: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A quirk that appeared in any part is known; else resolved where any part saw its place
    without it (responses added up); else not checked, for the most telling reason."""
    resolved: dict[str, dict[str, Any]] = {}
    unchecked: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for quirk in entry.get("resolved_quirks", []):
            if quirk["quirk"] in resolved:
                resolved[quirk["quirk"]]["responses"] += quirk["responses"]
            else:
                resolved[quirk["quirk"]] = dict(quirk)
        for quirk in entry.get("unchecked_quirks", []):
            known = unchecked.get(quirk["quirk"])
            rank = _REASON_RANK.get(quirk["reason"], len(_REASON_RANK))
            if known is None or rank < _REASON_RANK.get(known["reason"], len(_REASON_RANK)):
                unchecked[quirk["quirk"]] = dict(quirk)
    resolved = {quirk: data for quirk, data in resolved.items() if quirk not in appeared}
    return list(resolved.values()), [
        data for quirk, data in unchecked.items() if quirk not in appeared and quirk not in resolved
    ]
