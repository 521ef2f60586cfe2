"""A wildly wrong server still gives a readable verdict: findings that differ only in a member name
or a value are grouped, an explanation names the deepest real cause, and a rename is claimed
only on evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.contract.model import Spec
from conformance.judge.registry import check_response
from conformance.mocks import MockServer, create_mock
from conformance.mocks.drift import Drift, DriftMiddleware, add_random_members
from conformance.vendors.registry import APIS

from ..inprocess import InProcess

TOKEN = "grouping-token-0b7e"
ANY = "<any extra member>"


@pytest.fixture(scope="module")
def inventive() -> Iterator[str]:
    """The kognitos mock with two random members added to every object of every 2xx answer."""
    mock = create_mock("kognitos", "strict", TOKEN)
    drifts = [Drift(method, ".", add_random_members(2, seed=7), (200, 201)) for method in ("GET", "POST")]
    with MockServer(DriftMiddleware(mock.app(), drifts), mock.spec.base_path) as server:
        yield server.base_url


def test_random_members_everywhere_read_as_a_handful_of_groups(
    inventive: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``conformance run`` in this process: what it finds and prints is tested, not its process."""
    completed = InProcess(monkeypatch, capsys)(
        "run", "kognitos", "--base-url", inventive, "--token", TOKEN, "--phases", "examples,coverage",
        "--max-examples", "5", "--seed", "1", "--poll-interval", "0.05", "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr  # additive drift only
    findings = json.loads((tmp_path / "results.json").read_text())["findings"]
    groups = {(f["operation"], f["status_code"], f["location"]): f for f in findings}
    # outputs are objects of undeclared members: nothing in them is extra
    assert set(groups) == {
        ("listRuns", 200, f"/{ANY}"),
        ("listRuns", 200, f"/items/*/{ANY}"),
        ("startRun", 201, f"/{ANY}"),
        ("getRun", 200, f"/{ANY}"),
    }
    for (operation, _, _), finding in groups.items():
        assert finding["kind"] == "extra-field" and finding["severity"] == "additive"
        # the page documents no answer of a start: its 201 body is the spec's assumption
        assert finding["classification"] == ("assumption" if operation == "startRun" else "new")
        # every member the server invented is a new name: one occurrence per distinct name
        assert finding["group"]["distinct"] == finding["count"] >= 2
        assert len(finding["group"]["values"]) == min(finding["count"], 10) == len(finding["observed"])
        assert finding["request"]
    lines = [line for line in completed.stdout.splitlines() if line.startswith(("new ", "assumption "))]
    assert len(lines) == len(groups) and len(completed.stdout.splitlines()) < 20, completed.stdout
    html = (tmp_path / "index.html").read_text()
    assert html.count("A group of findings that differ only in one part") == len(groups)


def _spec(details: dict[str, Any], run: dict[str, Any]) -> Spec:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/runs": {
                "get": {
                    "operationId": "getRun",
                    "responses": {
                        "200": {
                            "description": "run",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}},
                        },
                        "404": {
                            "description": "error",
                            "content": {"application/json": {"schema": details}},
                        },
                    },
                }
            }
        },
        "components": {"schemas": {"Run": run}},
    }
    return Spec(APIS["kognitos"], document, Path("inline.yaml"))


RUN = {
    "type": "object",
    "required": ["name", "durationSeconds"],
    "properties": {"name": {"type": "string"}, "durationSeconds": {"type": ["number", "null"]}},
}
ERROR = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "details": {
            "anyOf": [
                {"type": "array", "items": {"type": "object", "properties": {"loc": {"type": "string"}}}},
                {"type": "null"},
            ]
        },
    },
}


def explain(status: int, body: Any) -> list[tuple[str, str]]:
    spec = _spec(ERROR, RUN)
    deviations = check_response(
        spec,
        spec.operations["getRun"],
        status,
        {"content-type": "application/json"},
        json.dumps(body).encode(),
    )
    return sorted((d.kind, d.location) for d in deviations)


def test_extra_members_inside_details_are_reported_there_not_as_a_null_details() -> None:
    body = {"message": "no such run", "details": [{"loc": "id", "hint": "x", "trace": "y"}]}
    assert explain(404, body) == [("extra-field", "/details/*/hint"), ("extra-field", "/details/*/trace")]


def test_a_rename_is_claimed_only_on_evidence() -> None:
    # a random member beside a missing field is not a rename: names alike only by chance
    assert explain(200, {"amet80": "x", "durationSeconds": 1}) == [
        ("extra-field", "/amet80"),
        ("missing-field", "/name"),
    ]
    # a re-cased or shortened name of the same type is a rename
    assert explain(200, {"name": "x", "duration_seconds": 1}) == [("field-name-alias", "/durationSeconds")]
    assert explain(200, {"name": "x", "durationSec": 1.5}) == [("field-name-alias", "/durationSeconds")]
    # ... but not when the value is of a type the documented field does not allow
    assert explain(200, {"name": "x", "durationSec": "soon"}) == [
        ("extra-field", "/durationSec"),
        ("missing-field", "/durationSeconds"),
    ]
