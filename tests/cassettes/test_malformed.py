"""Bad cassettes: one line naming the file (and interaction), never a traceback; the rest is judged."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes.cassette import write_cassette
from conformance.cassettes.replay import replay
from conformance.cli.main import main

URI = "https://app.solvexia.com/api/v1/processruns/pr-114278/runstatus"
GOOD_BODY = {"id": "pr-114278", "dateStarted": None, "dateFinished": None, "runDurationInSeconds": None}


def _interaction(
    uri: str = URI, body: Any = None, headers: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "request": {"method": "GET", "uri": uri, "body": None, "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": headers or {"Content-Type": ["application/json"]},
            "body": {"string": json.dumps({**GOOD_BODY, "status": "Scheduled"}) if body is None else body},
        },
    }


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    write_cassette(path, [_interaction()])
    return path


def _replay_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, *paths: Path) -> tuple[int, str, dict]:
    code = main(["replay", *map(str, paths), "--report-dir", str(tmp_path / "report")])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err, json.loads((tmp_path / "report" / "results.json").read_text())


def test_invalid_yaml_is_one_line_and_other_files_are_judged(
    tmp_path: Path, good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "solvexia-broken.yaml"
    bad.write_text("interactions:\n- request: {method: GET\n")
    code, _, document = _replay_cli(capsys, tmp_path, bad, good)
    assert code == 2
    (error,) = document["errors"]
    assert error.startswith(f"solvexia: {bad}: invalid YAML") and "\n" not in error
    assert document["summary"]["cases"] == 1  # good.yaml was still judged


def test_a_file_no_api_can_own_is_reported_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "night.yaml"
    bad.write_bytes(b"\xff\xfe binary")
    code, output, document = _replay_cli(capsys, tmp_path, bad)
    assert code == 2 and f"{bad}: not a text file" in output
    assert document["summary"]["complete"] is False


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"request": {"uri": URI}, "response": {}}, "interaction 1: missing request.method"),
        ({"request": {"method": "GET", "uri": URI}}, "interaction 1: missing response"),
        (
            {
                "request": {"method": "GET", "uri": URI},
                "response": {"status": {"code": "teapot"}, "body": {"string": ""}},
            },
            "interaction 1: response.status.code 'teapot' is not an HTTP status code",
        ),
        (
            _interaction(uri="https://evil.example/api/v1/processruns/x"),
            "interaction 1: unknown host 'evil.example'",
        ),
        (
            _interaction(uri="https://app.solvexia.com/api/v9/nothing"),
            "interaction 1: GET /api/v9/nothing is no",
        ),
        (
            _interaction(body="H4sIAAAA", headers={"Content-Encoding": ["gzip"]}),
            "interaction 1: body declared gzip but cannot be decompressed",
        ),
    ],
)
def test_a_bad_interaction_is_an_error_naming_it(tmp_path: Path, good: Path, raw: Any, problem: str) -> None:
    bad = tmp_path / "solvexia" / "night.yaml"
    write_cassette(bad, [raw])
    result, _ = replay([bad, good])
    (error,) = result.errors
    assert f"{bad}: {problem}" in error
    assert result.results[0].cases == 1 and result.exit_code == 2


def test_not_a_cassette_at_all(tmp_path: Path) -> None:
    path = tmp_path / "solvexia.yaml"
    path.write_text("- just a list\n")
    result, _ = replay([path])
    assert result.errors == [
        f"solvexia: {path}: not a vcrpy cassette (no 'interactions' list at the top level)"
    ]


def test_gzip_body_is_decoded_and_judged(tmp_path: Path) -> None:
    body = gzip.compress(json.dumps({**GOOD_BODY, "status": "Scheduled"}).encode())
    path = tmp_path / "zipped.yaml"
    write_cassette(path, [_interaction(body=body, headers={"Content-Type": ["application/json"]})])
    assert "!!binary" in path.read_text()
    result, _ = replay([path])
    assert result.exit_code == 0 and result.results[0].cases == 1 and not result.findings


@pytest.mark.parametrize("body", [b"\x89PNG\r\n\x1a\n\x00\x00", "<html>maintenance</html>"])
def test_binary_or_non_json_body_is_an_invalid_json_finding(tmp_path: Path, body: bytes | str) -> None:
    path = tmp_path / "odd.yaml"
    write_cassette(path, [_interaction(body=body)])
    result, _ = replay([path])
    (finding,) = result.findings
    assert finding.kind == "invalid-json" and finding.classification == "new"
    assert result.exit_code == 1


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nowhere.yaml"), "--report-dir", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"conformance: error: {tmp_path / 'nowhere.yaml'}: no such file or directory"
    )


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "observed"),
    [
        (500, {"Content-Type": ["text/plain"]}, "Internal Server Error", "server-error", 500),
        (503, {"Content-Type": ["application/json"]}, '{"error": "down"}', "server-error", 503),
        (200, {"Content-Type": ["text/html"]}, "<h1>Bad gateway</h1>", "content-type", "text/html"),
        (200, None, '{"id": "pr-114278", "status": "Sched', "invalid-json", "truncated JSON"),
        (200, None, b'{"id": "pr-\xff\xfe"}', "invalid-json", "not UTF-8"),
        (302, {"Location": [URI]}, "", "undocumented-status", 302),
    ],
    ids=["500", "503 JSON", "HTML page with 200", "truncated JSON", "invalid UTF-8", "redirect"],
)
def test_a_recorded_fault_is_a_finding_of_its_kind(
    tmp_path: Path, status: int, headers: dict | None, body: str | bytes, kind: str, observed: object
) -> None:
    raw = _interaction(body=body, headers=headers)
    raw["response"]["status"]["code"] = status
    path = tmp_path / "faults.yaml"
    write_cassette(path, [raw, _interaction()])
    result, _ = replay([path])
    (finding,) = [f for f in result.findings if f.kind == kind]
    assert finding.observed == observed
    assert finding.operation == "getProcessRunStatus" and finding.request
    assert result.results[0].cases == 2 and result.exit_code == 1


def test_a_body_over_the_limit_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "large.yaml"
    write_cassette(path, [_interaction(body="[" + " " * (2 * 1024 * 1024) + "]"), _interaction()])
    code = main(["replay", str(path), "--max-body-mb", "1", "--report-dir", str(tmp_path / "report")])
    assert code == 1 and "Traceback" not in "".join(capsys.readouterr())
    document = json.loads((tmp_path / "report" / "results.json").read_text())
    ((finding),) = document["findings"]
    assert finding["kind"] == "body-too-large" and finding["observed"] == "more than 1048576 bytes"
    assert document["summary"]["cases"] == 2
