"""``junit.xml`` for CI dashboards, drawn from a results document: one testsuite per target,
one testcase per operation and check, failed by the findings the document's ``--fail-on`` fails.
It is well-formed XML: no character XML 1.0 cannot hold (controls, U+FFFE, U+FFFF) reaches it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from conformance.bounds import printable
from conformance.findings import FailPolicy, Finding
from conformance.kinds import Classification
from conformance.results.identity import target_of
from conformance.results.verdict import policy_of

#: What XML 1.0 cannot hold, even as a character reference (its ``Char`` production): what
#: ``printable`` leaves of it are the noncharacters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str, *, lines: bool = False) -> str:
    """``text`` printable (``bounds.printable``), and with nothing left that XML cannot hold."""
    return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", printable(text, lines=lines))


def junit_document(document: dict[str, Any]) -> str:
    """One testsuite per target, one testcase per operation and check; what the document's
    ``--fail-on`` fails (new breaking drift by default, a convention only when asked) fails the case.
    A quirk the vendor seems to have fixed is a testcase too, failed under ``--fail-on ...,resolved``.

    It is drawn from the results document, so a merged or re-read run gets the same file. Every
    testcase and testsuite has a ``time``, and the root the totals. The checks of an operation
    judge the same responses together, so an API's time is shared among its testcases by the
    responses each operation had (equally among its checks)."""
    policy = policy_of(document)
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for data in document["findings"]:
        by_target[target_of(data)].append(Finding.from_dict(data))
    suites = ET.Element("testsuites", name="conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for api in document["apis"]:
        counts = _testsuite(suites, api, by_target[target_of(api)], policy)
        for key, count in counts.items():
            totals[key] += count
    for key, count in totals.items():
        suites.set(key, str(count))
    suites.set("time", f"{document.get('duration_s', 0.0):.3f}")
    for element in suites.iter():  # XML 1.0 cannot hold most control characters, even escaped
        element.text = element.text and _xml_text(element.text, lines=True)
        for key, value in element.attrib.items():
            element.set(key, _xml_text(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _testsuite(
    suites: ET.Element, api: dict[str, Any], findings: list[Finding], policy: FailPolicy
) -> dict[str, int]:
    """One target's testsuite under ``suites``: a testcase per operation and check, one per quirk
    the vendor seems to have fixed, one per error of the run; its tests, failures and errors."""
    name = target_of(api)
    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_case[(finding.operation, finding.source)].append(finding)
    checks = sorted(set(api.get("check_counts", {})) | {source for _, source in by_case})
    suite = ET.SubElement(suites, "testsuite", name=name)
    tests = failures = 0
    seconds = _case_seconds(api, len(checks))
    for operation in api["operations"]:
        for check in checks:
            found = by_case.get((operation["operation"], check), [])
            testcase = ET.SubElement(
                suite,
                "testcase",
                classname=f"{name}.{operation['operation']}",
                name=check,
                time=f"{seconds[operation['operation']]:.3f}",
            )
            tests += 1
            failures += _judge_case(testcase, found, policy)
    for quirk in api.get("resolved_quirks", []):
        testcase = ET.SubElement(suite, "testcase", classname=f"{name}.catalogue", name=quirk["quirk"])
        text = (
            f"resolved? {quirk['quirk']} did not appear in {quirk['responses']} responses "
            f"({quirk['citation']})"
        )
        tests += 1
        if policy.fails_resolved:
            failures += 1
            ET.SubElement(testcase, "failure", message=text, type="resolved")
        else:
            ET.SubElement(testcase, "system-out").text = text
    for error in api["errors"]:
        testcase = ET.SubElement(suite, "testcase", classname=name, name="run", time="0.000")
        ET.SubElement(testcase, "error", message=error)
        tests += 1
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(api["errors"])))
    suite.set("time", f"{api.get('duration_s', 0.0):.3f}")
    return {"tests": tests, "failures": failures, "errors": len(api["errors"])}


def _case_seconds(api: dict[str, Any], checks: int) -> dict[str, float]:
    """Seconds for each testcase of an operation: the API's time shared by responses judged."""
    cases = {operation["operation"]: operation["cases"] for operation in api["operations"]}
    total = sum(cases.values())
    if not total:  # nothing judged: the time is shared equally
        cases, total = dict.fromkeys(cases, 1), len(cases)
    share = api.get("duration_s", 0.0) / total / max(checks, 1) if total else 0.0
    return {operation: share * count for operation, count in cases.items()}


def _judge_case(testcase: ET.Element, found: list[Finding], policy: FailPolicy) -> bool:
    """Fail ``testcase`` by the findings ``policy`` fails, and list the rest in its output; whether
    it failed. Its failure's type is ``convention`` when only departures from HTTP conventions
    fail it (``--fail-on convention``), so a dashboard never calls them drift."""
    failing = [f for f in found if policy.fails(f)]
    passing = [f for f in found if not policy.fails(f)]
    if failing:
        only_conventions = all(f.classification is Classification.CONVENTION for f in failing)
        failure = ET.SubElement(
            testcase,
            "failure",
            message=failing[0].title + (f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""),
            type=str(Classification.CONVENTION) if only_conventions else "drift",
        )
        failure.text = "\n".join(_failing_line(f) for f in failing)
    if passing:
        ET.SubElement(testcase, "system-out").text = "\n".join(_passing_line(f) for f in passing)
    return bool(failing)


def _failing_line(finding: Finding) -> str:
    """A finding that fails the run, as the testcase's failure lists it."""
    if finding.classification is Classification.CONVENTION:
        return _convention_line(finding)
    return f"{finding.kind} at {finding.location or '(body)'}: {finding.message}"


def _convention_line(finding: Finding) -> str:
    """A departure from an HTTP convention, failing or not, with the public text it rests on."""
    where = f"{finding.kind} at {finding.location or '(body)'}"
    rests_on = f"HTTP convention, not in the documents: {finding.assumption}"
    return f"convention: {where}: {finding.message} ({rests_on})"


def _passing_line(finding: Finding) -> str:
    """A finding that does not fail the run, as the testcase's output lists it."""
    where = f"{finding.kind} at {finding.location or '(body)'}"
    if finding.classification is Classification.KNOWN:
        return f"known quirk {finding.quirk}: {where}"
    if finding.classification is Classification.ASSUMPTION:
        return f"assumption: {where}: {finding.message} (the spec assumed: {finding.assumption})"
    if finding.classification is Classification.CONVENTION:
        return _convention_line(finding)
    return f"new {finding.severity} drift: {where}: {finding.message}"
