"""The HTML report: escaping of server data, the verdict, history, and ``conformance report``."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from conformance.cli.main import main
from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.results.history import HISTORY_FILE, read_history, summary_line
from conformance.results.publish import render_report, write_report
from conformance.vendors.registry import APIS

#: What a hostile or broken server might send back; it must show as text and run nothing.
PLANTED = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def _operations(*specs: tuple[str, str, int, int, int]) -> list[dict[str, Any]]:
    return [
        {
            "operation": op,
            "label": label,
            "cases": cases,
            "known": known,
            "assumption": 0,
            "new": new,
            "breaking": new,
            "additive": 0,
        }
        for op, label, cases, known, new in specs
    ]


def _api(name: str, title: str, score: float, operations: list[dict[str, Any]]) -> dict[str, Any]:
    cases = sum(op["cases"] for op in operations)
    known = min(cases, 9 * sum(op["known"] for op in operations))
    breaking = min(cases - known, 3 * sum(op["new"] for op in operations))
    return {
        "api": name,
        "title": title,
        "base_url": f"http://127.0.0.1:8{len(name)}00/{name}",
        "mock_mode": "faithful",
        "operations_total": len(operations),
        "operations_covered": sum(1 for op in operations if op["cases"]),
        "cases": sum(op["cases"] for op in operations),
        "checks": 11 * sum(op["cases"] for op in operations),
        "known": sum(op["known"] for op in operations),
        "assumption": 0,
        "new": sum(op["new"] for op in operations),
        "breaking": sum(op["new"] for op in operations),
        "additive": 0,
        "responses": {
            "conforming": cases - known - breaking,
            "known": known,
            "assumption": 0,
            "additive": 0,
            "breaking": breaking,
        },
        "score": score,
        "errors": [],
        "duration_s": 1.5,
        "operations": operations,
    }


def _finding(api: str, operation: str, classification: str, **fields: Any) -> dict[str, Any]:
    finding = {
        "api": api,
        "operation": operation,
        "status_code": 200,
        "location": "/status",
        "kind": "enum-casing",
        "expected": ["queued", "running", "completed"],
        "observed": "Completed",
        "classification": classification,
        "severity": "breaking",
        "assumption": None,
        "quirk": None,
        "doc": None,
        "quirk_summary": None,
        "citations": [],
        "message": "'Completed' is not one of the documented values",
        "count": 3,
        "request": f"curl -X GET -H 'Authorization: [REDACTED]' http://127.0.0.1:8000/{api}/runs/r1",
        "source": "contract",
    }
    finding.update(fields)
    if classification == "new" and "citations" not in fields:  # as ``classify`` cites new drift
        finding["citations"] = [c.to_dict() for c in load_catalogue(api).sections(operation)]
    return finding


def _cite(title: str, url: str, section: str) -> dict[str, str]:
    return {"title": title, "url": url, "section": section}


def report_document() -> dict[str, Any]:
    """A results document as ``conformance run`` writes it: four APIs, drift in two of them."""
    apis = [
        _api(
            "solvexia",
            "SolveXia Process Run APIs",
            100.0,
            _operations(
                ("startProcessRun", "POST /processes/{id}/runs", 40, 1, 0),
                ("getProcessRun", "GET /runs/{runId}", 31, 0, 0),
            ),
        ),
        _api(
            "robocorp",
            "Robocorp Control Room ProcessRunApi",
            91.4,
            _operations(
                ("startProcessRun", "POST /processes/{process_id}/process-runs", 52, 0, 1),
                ("getProcessRun", "GET /process-runs/{id}", 28, 1, 1),
                ("stopProcessRun", "POST /process-runs/{id}/stop", 0, 0, 0),
            ),
        ),
        _api(
            "kognitos",
            "Kognitos REST API v2 - Runs",
            96.2,
            _operations(
                ("listRuns", "GET /runs", 44, 1, 0),
                ("startRun", "POST /runs", 94, 0, 0),
                ("getRun", "GET /runs/{run_id}", 18, 1, 1),
            ),
        ),
        _api(
            "automation_runs",
            "Automation Runs API",
            100.0,
            _operations(("createRun", "POST /runs", 30, 0, 0), ("getRun", "GET /runs/{id}", 22, 0, 0)),
        ),
    ]
    findings = [
        _finding(
            "solvexia",
            "startProcessRun",
            "known",
            location="/processRunId",
            kind="field-name-alias",
            expected="processRunId",
            observed="processRunID",
            quirk="SX-004",
            doc="Process Run APIs § Start process run / Response; Process Run schemas § Casing",
            quirk_summary="The start example names the run id processRunID; the schema says processRunId",
            citations=[
                _cite(
                    "Process Run APIs",
                    "https://docs.example.com/solvexia/runs",
                    "Start process run / Response",
                ),
                _cite("Process Run schemas", "https://docs.example.com/solvexia/schemas", "Casing"),
            ],
            message="field processRunId arrives as processRunID",
        ),
        _finding(
            "robocorp",
            "startProcessRun",
            "new",
            location="/error/message",
            kind="type-mismatch",
            expected={"type": "string"},
            observed=PLANTED,
            message=f"server said {PLANTED}",
            request=f"curl -X POST -H 'Authorization: [REDACTED]' -d '{PLANTED}' http://127.0.0.1/ws/p",
        ),
        _finding(
            "robocorp",
            "getProcessRun",
            "new",
            kind="missing-field",
            location="/state",
            expected="state",
            observed=None,
            message="required field 'state' is missing",
        ),
        _finding(
            "robocorp",
            "getProcessRun",
            "known",
            kind="timestamp-without-offset",
            location="/started_at",
            expected="date-time",
            observed="2026-01-02T03:04:05",
            message="timestamp '2026-01-02T03:04:05' has no UTC offset",
            quirk="RC-002",
            doc="ProcessRunApi § Process run / started_at",
            quirk_summary="started_at examples carry no UTC offset",
            citations=[
                _cite("ProcessRunApi", "https://docs.example.com/robocorp", "Process run / started_at")
            ],
        ),
        _finding(
            "kognitos",
            "getRun",
            "known",
            kind="timestamp-without-offset",
            location="/created_at",
            expected="date-time",
            observed="2026-11-24T02:01:40",
            message="timestamp '2026-11-24T02:01:40' has no UTC offset",
            quirk="KG-001",
            doc="Runs § Get Run / Responses / 200 / created_at",
            quirk_summary="created_at examples carry no UTC offset",
            citations=[
                _cite("Runs", "https://docs.example.com/kognitos", "Get Run / Responses / 200 / created_at")
            ],
        ),
        _finding(
            "kognitos",
            "listRuns",
            "known",
            kind="enum-casing",
            location="/items/*/status",
            expected="Created",
            observed="created",
            message="'created' is 'Created' re-cased",
            quirk="KG-003",
            doc="Runs § Get Run / Responses / 200 / status",
            quirk_summary="status is cased Created in the example and created in list items",
            citations=[
                _cite("Runs", "https://docs.example.com/kognitos", "Get Run / Responses / 200 / status")
            ],
        ),
        _finding(
            "kognitos",
            "getRun",
            "new",
            kind="undocumented-status",
            status_code=429,
            location="status",
            expected=["200", "404"],
            observed=429,
            message="status 429 is not documented for GET /runs/{run_id} (documented: 200, 404)",
        ),
    ]
    return {
        "version": 3,
        "tool": "conformance 0.1.0",
        "started_at": "2026-11-24T02:00:00+00:00",
        "finished_at": "2026-11-24T02:03:12+00:00",
        "duration_s": 192.0,
        "strict": False,
        "fail_on": "breaking",
        "exit_code": 1,
        "summary": {
            "cases": sum(api["cases"] for api in apis),
            "checks": sum(api["checks"] for api in apis),
            "known": sum(1 for f in findings if f["classification"] == "known"),
            "assumption": 0,
            "new": sum(1 for f in findings if f["classification"] == "new"),
            "breaking": sum(1 for f in findings if f["classification"] == "new"),
            "additive": 0,
            "errors": 0,
            "complete": True,
            "apis": len(apis),
        },
        "errors": [],
        "apis": apis,
        "findings": findings,
    }


def clean_document() -> dict[str, Any]:
    """The same run with every new finding gone: what a quiet night looks like."""
    document = copy.deepcopy(report_document())
    document["findings"] = [f for f in document["findings"] if f["classification"] == "known"]
    for api in document["apis"]:
        api["new"] = api["breaking"] = 0
        api["score"] = 100.0
        for operation in api["operations"]:
            operation["new"] = operation["breaking"] = 0
    document["summary"]["new"] = document["summary"]["breaking"] = 0
    document["exit_code"] = 0
    document["finished_at"] = "2026-11-25T02:03:12+00:00"
    return document


def _verdict(html: str) -> str:
    match = re.search(r'data-verdict="(\w+)"[^>]*>.*?<h1>(.*?)</h1>', html, re.S)
    assert match, "no verdict banner"
    return f"{match[1]}: {match[2]}"


def test_server_text_is_escaped_everywhere() -> None:
    html = render_report(report_document(), [])
    assert "<script>window.__pwned" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert len(re.findall(r"<script\b", html)) == 1, "only the report's own script tag"


def test_page_forbids_network_loads_and_unsigned_scripts() -> None:
    html = render_report(report_document(), [])
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy and "default-src 'none'" in policy[1]
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", policy[1])
    assert nonce and f'<script nonce="{nonce[1]}">' in html
    assert not re.search(r'src="(?:https?:)?//', html), "nothing is loaded from elsewhere"
    for link in re.findall(r"<(\w+) [^>]*href=\"(?:https?:)?//[^>]*>", html):
        assert link == "a", "only links a reader follows point elsewhere"
    assert html.count('rel="noopener noreferrer"') == len(re.findall(r'href="https://', html))


def test_verdict_names_the_drifted_apis_and_says_when_nothing_drifted() -> None:
    assert _verdict(render_report(report_document(), [])) == "drift: Breaking drift in robocorp, kognitos"
    assert _verdict(render_report(clean_document(), [])) == "clean: No new drift"


def test_incomplete_run_is_not_shown_as_clean() -> None:
    document = clean_document()
    document["exit_code"] = 2
    document["errors"] = ["robocorp: server unreachable at http://127.0.0.1:9/"]
    html = render_report(document, [])
    assert _verdict(html) == "error: Run incomplete: 1 error"
    assert "server unreachable at http://127.0.0.1:9/" in html


def test_findings_are_grouped_by_api_with_new_drift_first() -> None:
    html = render_report(report_document(), [])
    rows = re.findall(r'data-finding data-api="(\w+)" data-classification="(\w+)"', html)
    assert rows == [
        ("robocorp", "new"),
        ("robocorp", "new"),
        ("robocorp", "known"),
        ("kognitos", "new"),
        ("kognitos", "known"),
        ("kognitos", "known"),
        ("solvexia", "known"),
    ]


def test_known_findings_cite_their_catalogue_entry_and_every_finding_has_its_curl() -> None:
    html = render_report(report_document(), [])
    assert '<span class="quirk__id">SX-004</span> The start example names the run id processRunID' in html
    link = '<a href="https://docs.example.com/solvexia/runs" rel="noopener noreferrer" target="_blank">'
    assert f"{link}<cite>Process Run APIs</cite></a> § Start process run / Response" in html
    assert "<cite>Process Run schemas</cite></a> § Casing" in html
    assert html.count("Authorization: [REDACTED]") == len(report_document()["findings"])


def test_each_run_appends_one_history_line_and_the_trend_appears_from_the_second(tmp_path: Path) -> None:
    first, second = report_document(), clean_document()
    report = write_report(first, tmp_path)
    assert report == tmp_path / "index.html"
    assert "<polyline" not in report.read_text()
    first_line = (tmp_path / HISTORY_FILE).read_text()

    write_report(second, tmp_path)
    lines = (tmp_path / HISTORY_FILE).read_text().splitlines()
    assert len(lines) == 2
    assert lines[0] + "\n" == first_line
    assert json.loads(lines[1])["apis"]["robocorp"] == {
        "score": 100.0,
        "known": 1,
        "new": 0,
        "target": "faithful mock",
    }
    assert report.read_text().count("<g data-series=") == len(second["apis"])


def test_a_damaged_history_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    write_report(report_document(), tmp_path)
    with (tmp_path / HISTORY_FILE).open("a") as stream:
        stream.write('{"finished_at": "2026-11-24T0\n')
    write_report(clean_document(), tmp_path)
    assert [entry["exit_code"] for entry in read_history(tmp_path)] == [1, 0]


def test_report_command_rerenders_without_touching_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(report_document(), tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(clean_document()))
    history = (tmp_path / HISTORY_FILE).read_text()
    out = tmp_path / "elsewhere"

    assert main(["report", str(tmp_path / "results.json"), "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    assert _verdict(html) == "clean: No new drift"
    assert "<polyline" in html, "the trend comes from the results file's history"
    assert (tmp_path / HISTORY_FILE).read_text() == history
    assert capsys.readouterr().out == f"report written to {out / 'index.html'}\n"

    assert main(["report", str(tmp_path / "results.json")]) == 0
    assert (tmp_path / "index.html").read_text().count("No new drift") >= 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such results file"),
        ("{not json", "invalid JSON at line 1 column 2"),
        ("[1, 2]", "not a conformance results document: expected a JSON object"),
        ('{"version": 3}', "not a conformance results document: no 'finished_at' field"),
    ],
    ids=["missing", "invalid-json", "not-an-object", "not-results"],
)
def test_report_command_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("conformance: error: ") and message in err
    assert not (tmp_path / "index.html").exists()


def test_results_from_another_schema_version_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = report_document()
    document["version"] = 99
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document))
    assert main(["report", str(path)]) == 2
    assert "schema version 99 is not supported" in capsys.readouterr().err


def test_adjusted_checks_show_their_reason_escaped() -> None:
    document = report_document()
    document["apis"][0]["adjusted_checks"] = {"missing_required_header": "documents 403 <script>x()</script>"}
    html = render_report(document, [])
    assert 'data-adjusted-check="missing_required_header"' in html
    assert "documents 403 &lt;script&gt;x()&lt;/script&gt;" in html
    assert html.count("data-adjusted-check=") == 1


@pytest.mark.parametrize("api", list(APIS))
def test_every_catalogued_quirk_shows_its_summary_and_links_its_public_pages(api: str) -> None:
    """Each entry of the bundled catalogue, as a known finding: its summary, and a link to every
    page it cites, by the https URL the catalogue keeps (never a path outside the repository)."""
    quirks = load_catalogue(api).quirks
    document = report_document()
    document["findings"] = [
        _finding(
            api,
            quirk.operations[0] if quirk.operations else "-",
            "known",
            quirk=quirk.id,
            quirk_summary=quirk.summary,
            doc=quirk.citation,
            citations=[citation.to_dict() for citation in quirk.citations],
        )
        for quirk in quirks
    ]
    html = render_report(document, [])
    for quirk in quirks:
        assert f'<span class="quirk__id">{quirk.id}</span> {escape(quirk.summary)}' in html, quirk.id
        for citation in quirk.citations:
            assert citation.url.startswith("https://"), quirk.id
            anchor = f'<a href="{escape(citation.url)}" rel="noopener noreferrer" target="_blank">'
            assert f"{anchor}<cite>{escape(citation.title)}</cite></a> § {escape(citation.section)}" in html
    assert "seeds/" not in html and "vendor-notes/" not in html


def test_new_drift_links_the_section_of_the_vendors_page_it_contradicts() -> None:
    html = render_report(report_document(), [])
    kognitos = load_catalogue("kognitos").documents["runs"]
    anchor = f'<a href="{kognitos.url}" rel="noopener noreferrer" target="_blank">'
    assert f"Contradicts {anchor}<cite>{escape(kognitos.title)}</cite></a> § Get Run</p>" in html


def test_an_assumption_links_the_line_of_the_spec_that_makes_it() -> None:
    """No document states an assumption: its source is the spec, by file, line and JSON pointer,
    the statement inside the finding's operation first; a status only RFC 9110 implies points at
    the operation's responses."""
    spec = load_spec("kognitos")
    reason, pointers = next((r, p) for r, p in spec.assumptions().items() if len(p) > 1)
    operation = next(op for op in spec.operations.values() if any(p.startswith(op.pointer) for p in pointers))
    document = report_document()
    document["findings"] = [
        _finding("kognitos", operation.id, "assumption", assumption=reason),
        _finding("kognitos", "getRun", "assumption", assumption="RFC 9110 says what 404 means"),
    ]
    links = re.findall(
        r'Assumed in the spec at <a href="([^"]+)" data-spec-line>'
        r'<code>specs/kognitos\.yaml:(\d+)</code></a> <code class="pointer">([^<]+)</code>',
        render_report(document, []),
    )
    lines = spec.source.read_text().splitlines()
    assert [pointer for *_, pointer in links] == [
        next(p for p in pointers if p.startswith(operation.pointer + "/")),
        f"{spec.operations['getRun'].pointer}/responses",
    ]
    for url, line, pointer in links:
        assert url == spec.source.resolve().as_uri()
        key = pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        assert lines[int(line) - 1].strip().startswith((f"{key}:", f'"{key}":')), (line, pointer)


def test_a_citation_that_is_not_https_is_shown_as_text_not_linked() -> None:
    document = report_document()
    document["findings"][0]["citations"] = [_cite("Evil <b>page</b>", "javascript:alert(1)", "§ 1")]
    html = render_report(document, [])
    assert "javascript:" not in html
    assert "<cite>Evil &lt;b&gt;page&lt;/b&gt;</cite> § § 1" in html


def _bar(html: str, api: str) -> dict[str, int]:
    match = re.search(rf'data-score-bar="{api}">(.*?)</g>', html, re.S)
    assert match, f"no score bar for {api}"
    return {
        name: int(count) for name, count in re.findall(r'data-outcome="(\w+)" data-count="(\d+)"', match[1])
    }


def test_the_score_bar_stacks_every_outcome_so_quirks_do_not_read_as_conforming() -> None:
    document = report_document()
    solvexia = document["apis"][0]
    solvexia["responses"] = {"conforming": 0, "known": 60, "assumption": 11, "additive": 0, "breaking": 0}
    html = render_report(document, [])
    assert solvexia["score"] == 100.0, "the score alone would read as all good"
    assert _bar(html, "solvexia") == {"known": 60, "assumption": 11}
    assert re.search(r'data-conforming="solvexia"><span>0\.0</span>%<small>conforming</small>', html)
    assert '71 responses, <span data-drifted="solvexia">0</span> with new drift' in html
    assert _bar(html, "robocorp") == {"conforming": 65, "known": 9, "breaking": 6}
    for name in ("conforming", "known", "assumption", "additive", "breaking"):
        assert f'<span class="chart__key outcome--{name}"></span>{name}</li>' in html


def test_an_api_with_no_response_judged_shows_no_percentage() -> None:
    document = report_document()
    api = document["apis"][3]
    api["cases"], api["score"] = 0, 0.0
    api["responses"] = dict.fromkeys(api["responses"], 0)
    html = render_report(document, [])
    assert _bar(html, "automation_runs") == {}
    assert 'data-conforming="automation_runs"><span>—</span><small>no response judged</small>' in html


def test_a_mock_target_is_named_not_shown_by_its_ephemeral_address() -> None:
    """A mock's loopback port changes every run and is gone after it; a real target keeps its URL."""
    document = report_document()
    document["apis"][1].update(mock_mode=None, base_url="https://cloud.example.com/api/v1")
    targets = re.search(r'<ul class="targets">(.*?)</ul>', render_report(document, []), re.S)
    assert targets
    assert "127.0.0.1" not in targets[1]
    assert "<li><b>solvexia</b> embedded faithful mock</li>" in targets[1]
    assert "<li><b>robocorp</b> <code>https://cloud.example.com/api/v1</code></li>" in targets[1]


def test_history_lines_carry_the_target_without_its_credentials() -> None:
    document = report_document()
    robocorp = document["apis"][1]
    robocorp["mock_mode"] = None
    robocorp["base_url"] = "https://[REDACTED]@cloud.example.com/api/v1?token=[REDACTED]#x"
    targets = {name: api["target"] for name, api in summary_line(document)["apis"].items()}
    assert targets["robocorp"] == "https://cloud.example.com/api/v1"
    assert targets["solvexia"] == "faithful mock"


def test_the_trend_draws_one_series_per_api_and_target_and_reads_old_lines(tmp_path: Path) -> None:
    """A night against the vendor is not joined to the mock nights' line; lines written before
    targets were recorded are still drawn, as their own series."""
    old = summary_line(report_document())
    for api in old["apis"].values():
        del api["target"]
    mock = clean_document()
    real = clean_document()
    real["finished_at"] = "2026-11-26T02:03:12+00:00"
    real["apis"][1].update(mock_mode=None, base_url="https://cloud.example.com/api/v1?token=[REDACTED]")
    (tmp_path / HISTORY_FILE).write_text(json.dumps(old) + "\n" + json.dumps(summary_line(mock)) + "\n")
    write_report(real, tmp_path)

    assert len(read_history(tmp_path)) == 3
    series = re.findall(r'<g data-series="([^"]+)"', (tmp_path / "index.html").read_text())
    names = [api["api"] for api in real["apis"]]
    assert series[:4] == [
        "solvexia · faithful mock",
        "robocorp · https://cloud.example.com/api/v1",
        "kognitos · faithful mock",
        "automation_runs · faithful mock",
    ]
    assert sorted(series[4:]) == sorted(
        ["robocorp · faithful mock", *(f"{name} · target not recorded" for name in names)]
    )


@pytest.mark.parametrize(
    ("later", "labels"),
    [
        ("2026-11-25T02:03:40+00:00", ["2026-11-25 02:03:12 UTC", "2026-11-25 02:03:40 UTC"]),
        ("2026-11-25T02:03:12.500000+00:00", ["run 1", "run 2"]),
    ],
)
def test_series_at_one_score_stay_apart_and_the_time_axis_never_repeats_a_label(
    later: str, labels: list[str]
) -> None:
    """Four APIs at 100% two runs in a row (``make demo`` twice in a minute) are four lines, each
    with its own look, and the axis tells the runs apart by the second, else by number."""
    first, second = clean_document(), clean_document()
    second["finished_at"] = later
    html = render_report(second, [summary_line(first)])
    series = re.findall(
        r'<g data-series="[^"]+" stroke="([^"]+)".*?<polyline points="([^"]+)" '
        r'class="chart__line" stroke-dasharray="([^"]+)"/>\s*<path d="M[^m]+(m[^M"]+)',
        html,
        re.S,
    )
    assert len(series) == 4
    heights = [{point.split(",")[1] for point in points.split()} for _, points, _, _ in series]
    assert all(len(height) == 1 for height in heights), "each line is flat"
    assert len({height.pop() for height in heights}) == 4, "and drawn apart from the others"
    for look in (0, 2, 3):  # colour, dash pattern, marker shape
        assert len({line[look] for line in series}) == 4
    assert re.findall(r'data-axis="x">([^<]+)<', html) == labels


def test_a_report_is_the_same_whatever_state_the_users_cache_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled templates are kept in the user's cache only to start sooner: an empty, a
    filled or an impossible cache (a file where its folder would be) gives the very same page."""
    cache, blocker = tmp_path / "cache", tmp_path / "blocker"
    blocker.write_text("not a directory\n")
    pages = []
    for home in (cache, cache, blocker):
        monkeypatch.setenv("XDG_CACHE_HOME", str(home))
        pages.append(re.sub(r"nonce(-|=\")[\w-]+", "nonce", render_report(report_document(), [])))
    assert len(set(pages)) == 1
    assert list((cache / "conformance" / "templates").iterdir())
