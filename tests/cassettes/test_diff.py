"""``conformance diff``: last night's recording against tonight's, deliberately altered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.cassettes.diff import diff
from conformance.cli.main import main


def _altered(source: Path, target: Path, change: Any) -> Path:
    interactions = parse_document(source)["interactions"]
    for interaction in interactions:
        change(interaction)
    write_cassette(target, interactions)
    return target


def test_identical_recordings_have_no_changes(mock_cassettes: Path) -> None:
    outcome = diff(mock_cassettes / "solvexia.yaml", mock_cassettes / "solvexia.yaml")
    assert outcome.changes == [] and outcome.exit_code == 0


def test_altered_recording_reports_each_change_classified(mock_cassettes: Path, tmp_path: Path) -> None:
    def drift(interaction: dict[str, Any]) -> None:
        response = interaction["response"]
        if "/runstatus" not in interaction["request"]["uri"] or response["status"]["code"] != 200:
            return
        body = json.loads(response["body"]["string"])
        body["status"] = "Paused"  # an enum value the contract does not know
        body["runDurationInSeconds"] = str(body.get("runDurationInSeconds"))  # number -> string
        body["queuePosition"] = 3  # a field appeared
        del body["dateFinished"]  # a required field vanished
        response["body"]["string"] = json.dumps(body)

    new = _altered(mock_cassettes / "solvexia.yaml", tmp_path / "tonight.yaml", drift)
    outcome = diff(mock_cassettes / "solvexia.yaml", new)
    seen = {(c.operation, c.what, c.location): c.classification for c in outcome.changes}
    # a field that appeared is additive drift: reported, but it cannot break a client
    assert seen[("getProcessRunStatus", "field-appeared", "/queuePosition")] == "additive"
    assert seen[("getProcessRunStatus", "field-vanished", "/dateFinished")] == "new"
    assert seen[("getProcessRunStatus", "type-changed", "/runDurationInSeconds")] == "new"
    assert seen[("getProcessRunStatus", "enum-value-seen", "/status")] == "new"
    assert outcome.exit_code == 1
    assert main(["diff", str(mock_cassettes / "solvexia.yaml"), str(new), "--report-dir", str(tmp_path)]) == 1
    assert json.loads((tmp_path / "diff.json").read_text())["exit_code"] == 1


def test_new_status_and_content_type_are_reported(mock_cassettes: Path, tmp_path: Path) -> None:
    def outage(interaction: dict[str, Any]) -> None:
        if interaction["request"]["uri"].endswith("/steps"):
            interaction["response"]["status"] = {"code": 503, "message": "Service Unavailable"}
            interaction["response"]["headers"] = {"content-type": ["text/html"]}
            interaction["response"]["body"]["string"] = "<html>down</html>"

    new = _altered(mock_cassettes / "solvexia.yaml", tmp_path / "tonight.yaml", outage)
    changes = {
        (c.what, c.status_code): c.classification for c in diff(mock_cassettes / "solvexia.yaml", new).changes
    }
    assert changes[("status-appeared", 503)] == "new"
    assert ("status-vanished", 200) in changes


def test_a_catalogued_quirk_appearing_is_known(mock_cassettes: Path, tmp_path: Path) -> None:
    """Tonight the server sends the documented runDurationInSec alias (SX-009): known, not drift."""

    def alias(interaction: dict[str, Any]) -> None:
        if "/steps/" in interaction["request"]["uri"] and interaction["response"]["status"]["code"] == 200:
            body = json.loads(interaction["response"]["body"]["string"])
            if "runDurationInSeconds" in body:
                body["runDurationInSec"] = body.pop("runDurationInSeconds")
                interaction["response"]["body"]["string"] = json.dumps(body)

    old = _altered(mock_cassettes / "solvexia.yaml", tmp_path / "old.yaml", lambda _: None)
    outcome = diff(old, _altered(old, tmp_path / "new.yaml", alias))
    # the mock already answers with the alias: then nothing changed; otherwise the change is known
    assert all(change.classification == "known" for change in outcome.changes)
    assert outcome.exit_code == 0


def test_results_files_are_compared_by_findings(mock_cassettes: Path, tmp_path: Path) -> None:
    assert (
        main(["replay", str(mock_cassettes / "automation_runs.yaml"), "--report-dir", str(tmp_path / "a")])
        == 0
    )
    document = json.loads((tmp_path / "a" / "results.json").read_text())
    document["findings"].append({**document["findings"][0], "location": "/surprise", "classification": "new"})
    (tmp_path / "b.json").write_text(json.dumps(document))
    outcome = diff(tmp_path / "a" / "results.json", tmp_path / "b.json")
    assert [(c.what, c.location, c.classification) for c in outcome.changes] == [
        ("finding-appeared", "/surprise", "new")
    ]
    assert outcome.exit_code == 1


def test_different_apis_or_mixed_inputs_are_usage_errors(mock_cassettes: Path, tmp_path: Path) -> None:
    assert main(["diff", str(mock_cassettes / "solvexia.yaml"), str(mock_cassettes / "kognitos.yaml")]) == 2
    (tmp_path / "results.json").write_text('{"findings": []}')
    assert main(["diff", str(mock_cassettes / "solvexia.yaml"), str(tmp_path / "results.json")]) == 2
