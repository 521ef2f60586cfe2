"""A departure from an HTTP convention that no vendor document states (``convention``) shows in
every output beside the assumptions, in its own words and colour, never as drift; it fails only
with ``--fail-on convention``; and a results file written before the class existed still reads."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.cli.console import print_summary
from conformance.cli.main import main
from conformance.cli.step_summary import markdown
from conformance.findings import OUTCOMES
from conformance.kinds import kind_of
from conformance.results.document import check_results
from conformance.results.junit import junit_document
from conformance.results.publish import render_report

#: The public text the convention rests on, as ``classify`` records it in the finding.
RESTS_ON = str(kind_of("unsupported_method").rests_on)
BASE_URL = "http://127.0.0.1:8800/kognitos"


def _finding(operation: str, classification: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "api": "kognitos",
        "target": "kognitos",
        "operation": operation,
        "status_code": 200,
        "location": "",
        "kind": kind,
        "expected": None,
        "observed": None,
        "classification": classification,
        "severity": "breaking",
        "quirk": None,
        "doc": None,
        "message": "",
        "count": 1,
        "request": f"curl -X GET {BASE_URL}/runs/r1",
        "source": "check",
        "assumption": None,
        "quirk_summary": None,
        "citations": [],
    } | fields


def convention_document(fail_on: str = "breaking") -> dict[str, Any]:
    """Kognitos checked against its faithful mock: ``TRACE /runs/{run_id}`` answered 405 without
    an ``Allow`` header (a convention), a refused token's status the spec assumed, and KG-001."""
    findings = [
        _finding(
            "getRun",
            "convention",
            "unsupported_method",
            status_code=405,
            expected="405 with an Allow header",
            observed="405 without Allow",
            message="TRACE /runs/{run_id} was answered 405 without an Allow header",
            request=f"curl -X TRACE {BASE_URL}/runs/r1",
            source="unsupported_method",
            assumption=RESTS_ON,
            count=2,
        ),
        _finding(
            "listRuns",
            "assumption",
            "undocumented-status",
            status_code=403,
            location="status",
            expected=[401],
            observed=403,
            message="a refused token was answered 403",
            assumption="No page says which status a refused token gets; the spec assumes 401",
        ),
        _finding(
            "getRun",
            "known",
            "timestamp-without-offset",
            location="/created_at",
            expected="date-time",
            observed="2026-11-24T02:01:40",
            message="timestamp '2026-11-24T02:01:40' has no UTC offset",
            quirk="KG-001",
            doc="Runs § Get Run / Responses / 200 / created_at",
        ),
    ]
    counts = {"known": 1, "convention": 1, "assumption": 1, "new": 0, "breaking": 0, "additive": 0}
    operations = [
        {
            "operation": operation,
            "label": label,
            "cases": cases,
            "responses": dict.fromkeys(OUTCOMES, 0) | {"conforming": cases - 1, outcome: 1},
            **dict.fromkeys(counts, 0),
            outcome: 1,
            **({"known": 1} if operation == "getRun" else {}),
        }
        for operation, label, cases, outcome in (
            ("getRun", "GET /runs/{run_id}", 10, "convention"),
            ("listRuns", "GET /runs", 5, "assumption"),
        )
    ]
    api = {
        "api": "kognitos",
        "target": "kognitos",
        "title": "Kognitos REST API v2 - Runs",
        "base_url": BASE_URL,
        "mock_mode": "faithful",
        "operations_total": 2,
        "operations_covered": 2,
        "cases": 15,
        "checks": 30,
        **counts,
        "responses": {
            "conforming": 13,
            "known": 0,
            "convention": 1,
            "assumption": 1,
            "additive": 0,
            "breaking": 0,
        },
        "score": 100.0,
        "errors": [],
        "duration_s": 1.0,
        "check_counts": {"check": 15, "unsupported_method": 15},
        "operations": operations,
    }
    document = {
        "version": 3,
        "tool": "conformance 0.1.0",
        "started_at": "2026-11-24T02:00:00+00:00",
        "finished_at": "2026-11-24T02:01:00+00:00",
        "duration_s": 60.0,
        "strict": False,
        "fail_on": fail_on,
        "exit_code": 1 if "convention" in fail_on else 0,
        "seed": 3,
        "summary": {
            "cases": 15,
            "checks": 30,
            **counts,
            "errors": 0,
            "complete": True,
            "apis": 1,
            "resolved": 0,
        },
        "errors": [],
        "apis": [api],
        "findings": findings,
    }
    check_results(document)
    return document


def older_document() -> dict[str, Any]:
    """The same night as a results file written before ``convention`` existed: no such counts,
    no such outcome, and the TRACE finding not yet judged."""
    document = copy.deepcopy(convention_document())
    document["findings"] = [f for f in document["findings"] if f["classification"] != "convention"]
    del document["summary"]["convention"]
    for entry in [*document["apis"], *document["apis"][0]["operations"]]:
        del entry["convention"]
        conventions = entry["responses"].pop("convention")
        entry["responses"]["conforming"] += conventions
    check_results(document)
    return document


def _finding_rows(html: str, classification: str) -> list[str]:
    return re.findall(
        rf'<tbody class="finding[^"]*"[^>]*data-classification="{classification}".*?</tbody>', html, re.S
    )


def test_the_report_counts_conventions_and_badges_them_in_their_own_colour_never_as_drift() -> None:
    html = render_report(convention_document(), [])
    assert re.search(r"<dt>convention</dt><dd>1</dd>", html)
    assert 'class="outcome--convention" data-outcome="convention" data-count="1"' in html
    assert '<span class="chart__key outcome--convention"></span>convention' in html
    assert '<option value="convention">departs from an HTTP convention</option>' in html
    assert "1 assumption · 1 convention · 1 known" in html  # the API's group line in the findings
    [row] = _finding_rows(html, "convention")
    assert '<span class="pill pill--convention">convention</span>' in row
    assert f"An HTTP convention, not in the documents: {RESTS_ON}" in row
    assert "drift" not in row.lower() and "the spec assumed" not in row
    assert re.search(r'data-verdict="clean"', html) and "<h1>No new drift</h1>" in html
    # its own colour: every outcome of the bar has one, and no two share it
    colours = dict(re.findall(r"\.outcome--(\w+) \{ fill: ([^;]+);", html))
    assert sorted(colours) == sorted(OUTCOMES) and len(set(colours.values())) == len(OUTCOMES)
    assert (
        f".finding--convention .diff div:last-child pre {{ border-left-color: {colours['convention']}; }}"
        in html
    )


def test_the_findings_list_conventions_after_assumptions_and_before_known_quirks() -> None:
    html = render_report(convention_document(), [])
    order = re.findall(r'data-finding data-api="kognitos" data-classification="(\w+)"', html)
    assert order == ["assumption", "convention", "known"]


def test_junit_fails_no_testcase_for_a_convention_unless_asked(tmp_path: Path) -> None:
    def testcase(document: dict[str, Any]) -> ET.Element:
        root = ET.fromstring(junit_document(document))
        [case] = [
            c
            for c in root.iter("testcase")
            if c.get("name") == "unsupported_method" and "getRun" in c.get("classname", "")
        ]
        return case

    passing = testcase(convention_document())
    assert passing.find("failure") is None
    assert passing.findtext("system-out", "").startswith("convention: unsupported_method at (body): TRACE")
    assert f"(HTTP convention, not in the documents: {RESTS_ON})" in passing.findtext("system-out", "")
    assert ET.fromstring(junit_document(convention_document())).get("failures") == "0"

    failing = testcase(convention_document("breaking,convention"))
    failure = failing.find("failure")
    assert failure is not None and failure.get("type") == "convention"
    assert (failure.text or "").startswith("convention: unsupported_method at (body):")
    assert ET.fromstring(junit_document(convention_document("breaking,convention"))).get("failures") == "1"


def test_the_console_lists_conventions_like_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(convention_document(), "reports/latest")
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "API" in line and "score" in line)
    assert re.search(r"known\s+\S?\s*convention\s+\S?\s*assumption", header), header
    words = " ".join(out.split())
    assert (
        "convention kognitos getRun (body): unsupported_method — TRACE /runs/{run_id} was answered 405 "
        f"without an Allow header (HTTP convention, not in the documents: {RESTS_ON})"
    ) in words
    assert "new breaking kognitos getRun (body): unsupported_method" not in words
    assert "no new drift: 15 cases, 1 known, 1 convention, 1 assumption, 0 new" in words


def test_the_console_says_a_night_failed_on_conventions_not_on_drift(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_summary(convention_document("breaking,convention"), "reports/latest")
    words = " ".join(capsys.readouterr().out.split())
    assert "1 departure from HTTP conventions (--fail-on breaking,convention): 15 cases" in words
    assert "NEW DRIFT" not in words
    html = render_report(convention_document("breaking,convention"), [])
    assert "<h1>HTTP conventions not followed in kognitos</h1>" in html


def test_the_job_summary_counts_conventions_beside_assumptions_never_as_new() -> None:
    text = markdown(convention_document(), "reports/latest")
    assert text.startswith("### conformance: no new drift\n")
    assert "0 new (0 breaking, 0 additive) · 1 known · 1 convention · 1 assumption · 0 errors" in text
    header = next(line for line in text.splitlines() if line.startswith("| API |"))
    row = next(line for line in text.splitlines() if line.startswith("| kognitos |"))
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    cells = {key.strip(): value.strip() for key, value in cells.items()}
    assert (cells["new"], cells["known"], cells["convention"], cells["assumption"]) == ("0", "1", "1", "1")
    assert "#### New findings" not in text


def test_an_older_results_file_without_conventions_renders_merges_and_compares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(older_document()))
    new.write_text(json.dumps(convention_document()))

    assert main(["report", str(old), "--out", str(tmp_path / "again")]) == 0
    html = (tmp_path / "again" / "index.html").read_text()
    assert re.search(r"<dt>convention</dt><dd>0</dd>", html) and 'data-outcome="convention"' not in html

    assert main(["report", str(old), str(new), "--out", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "results.json").read_text())
    check_results(merged)
    [api] = merged["apis"]
    assert merged["summary"]["convention"] == api["convention"] == 1
    assert api["responses"]["convention"] == 1 and api["cases"] == 30
    assert "convention" in (tmp_path / "merged" / "index.html").read_text()
    capsys.readouterr()

    assert main(["compare", str(old), str(new)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "appeared: kognitos getRun (body) unsupported_method (convention, seen 2 times)" in out
