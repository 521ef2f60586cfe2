"""Machine-readable output: ``results.json`` for tools and ``junit.xml`` for CI dashboards.

Files are written atomically (a temporary file in the same directory, then a rename), so
an interrupted run never leaves a half-written report over a good one.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from . import __version__
from .errors import UsageError
from .findings import Finding, tally
from .kinds import Classification
from .model import ApiResult, RunResult

SCHEMA_VERSION = 2


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step; on failure the old file is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_writable(directory: Path) -> None:
    """Fail early, before any work, when the report directory cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write reports to {directory}: {exc.strerror or exc}") from None


def results_document(result: RunResult) -> dict[str, Any]:
    findings = result.findings
    apis = []
    for api in result.results:
        apis.append(
            {
                "api": api.api,
                "title": api.title,
                "base_url": api.base_url,
                "mock_mode": api.mock_mode,
                "operations_total": len(api.operations),
                "operations_covered": len(api.covered),
                "cases": api.cases,
                "checks": sum(api.checks.values()),
                **api.counts(),
                "score": api.score,
                "errors": api.errors,
                "adjusted_checks": api.adjusted_checks,
                "duration_s": round(api.duration, 2),
                "operations": [
                    {
                        "operation": op.id,
                        "label": op.label,
                        "cases": api.stats[op.id].cases,
                        **api.counts(op.id),
                    }
                    for op in api.operations.values()
                ],
            }
        )
    return {
        "version": SCHEMA_VERSION,
        "tool": f"conformance {__version__}",
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "duration_s": round((result.finished_at - result.started_at).total_seconds(), 2),
        "strict": result.fail_on == "strict",
        "fail_on": result.fail_on,
        "exit_code": result.exit_code,
        "seed": result.seed,
        "options": result.options,
        "summary": {
            "cases": sum(api.cases for api in result.results),
            "checks": sum(sum(api.checks.values()) for api in result.results),
            **tally(findings),
            "errors": len(result.errors),
            "complete": result.complete,
            "apis": len(result.results),
            "skipped": result.skipped,
        },
        "errors": result.errors,
        "apis": apis,
        "findings": [finding.to_dict() for finding in findings],
    }


def junit_document(result: RunResult) -> str:
    """One testsuite per API, one testcase per operation and check; new drift fails the case.

    Every testcase and testsuite has a ``time``, and the root the totals. The checks of an
    operation judge the same responses together, so an API's time is shared among its testcases
    by the responses each operation had (equally among its checks)."""
    suites = ET.Element("testsuites", name="conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for api in result.results:
        by_case: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for finding in api.findings:
            by_case[(finding.operation, finding.source)].append(finding)
        checks = sorted(set(api.checks) | {source for _, source in by_case})
        suite = ET.SubElement(suites, "testsuite", name=api.api)
        tests = failures = 0
        seconds = _case_seconds(api, len(checks))
        for operation in api.operations.values():
            for check in checks:
                found = by_case.get((operation.id, check), [])
                testcase = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"{api.api}.{operation.id}",
                    name=check,
                    time=f"{seconds[operation.id]:.3f}",
                )
                tests += 1
                drift = [f for f in found if f.fails(result.fail_on)]
                if drift:
                    failures += 1
                    failure = ET.SubElement(
                        testcase, "failure", message=f"{len(drift)} deviation(s)", type="drift"
                    )
                    failure.text = "\n".join(
                        f"{f.kind} at {f.location or '(body)'}: {f.message}" for f in drift
                    )
                passing = [f for f in found if not f.fails(result.fail_on)]
                if passing:
                    out = ET.SubElement(testcase, "system-out")
                    out.text = "\n".join(_passing_line(f) for f in passing)
        for error in api.errors:
            testcase = ET.SubElement(suite, "testcase", classname=api.api, name="run", time="0.000")
            ET.SubElement(testcase, "error", message=error)
            tests += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(len(api.errors)))
        suite.set("time", f"{api.duration:.3f}")
        for key, count in (("tests", tests), ("failures", failures), ("errors", len(api.errors))):
            totals[key] += count
    for key, count in totals.items():
        suites.set(key, str(count))
    suites.set("time", f"{(result.finished_at - result.started_at).total_seconds():.3f}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _case_seconds(api: ApiResult, checks: int) -> dict[str, float]:
    """Seconds for each testcase of an operation: the API's time shared by responses judged."""
    cases = {operation: api.stats[operation].cases for operation in api.operations}
    total = sum(cases.values())
    if not total:  # nothing judged: the time is shared equally
        cases, total = dict.fromkeys(cases, 1), len(cases)
    share = api.duration / total / max(checks, 1) if total else 0.0
    return {operation: share * count for operation, count in cases.items()}


def _passing_line(finding: Finding) -> str:
    """A finding that does not fail the run, as the testcase's output lists it."""
    where = f"{finding.kind} at {finding.location or '(body)'}"
    if finding.classification is Classification.KNOWN:
        return f"known quirk {finding.quirk}: {where}"
    if finding.classification is Classification.ASSUMPTION:
        return f"assumption: {where}: {finding.message} (the spec assumed: {finding.assumption})"
    return f"new {finding.severity} drift: {where}: {finding.message}"


def write_results(result: RunResult, directory: Path) -> dict[str, Any]:
    document = results_document(result)
    write_atomic(directory / "results.json", json.dumps(document, indent=2, default=str) + "\n")
    write_atomic(directory / "junit.xml", junit_document(result))
    return document
