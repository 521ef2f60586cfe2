"""Deliberate drift behind a faithful mock is reported as new, at the right operation and location,
while the documented quirks around it stay known."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from conformance.engine.runner import RunOptions, run
from conformance.findings import FailPolicy
from conformance.mocks import MockServer, create_mock
from conformance.mocks.drift import (
    Drift,
    DriftMiddleware,
    add_field,
    answer,
    remove_field,
    rename_field,
    set_content_type,
    set_status,
    set_value,
    wrap_body,
)

TOKEN = "drift-test-token"
GET_RUN = r"/v2/runs/[^/]+$"

CASES = {
    "renamed field": (
        Drift("GET", GET_RUN, rename_field("/process_id", "processId")),
        ("getRun", "/process_id", "field-name-alias", "process_id", "processId"),
    ),
    "re-cased enum value": (
        Drift("GET", GET_RUN, set_value("/stage", str.upper)),
        ("getRun", "/stage", "enum-casing", "Draft", "DRAFT"),
    ),
    "removed required field": (
        Drift("GET", GET_RUN, remove_field("/agent_id")),
        ("getRun", "/agent_id", "missing-field", "agent_id", None),
    ),
    "wrong type": (
        Drift("GET", GET_RUN, set_value("/name", 42)),
        ("getRun", "/name", "type-mismatch", ["string"], 42),
    ),
    "undocumented extra field": (
        Drift("GET", GET_RUN, add_field("/debug_trace_id", "abc")),
        ("getRun", "/debug_trace_id", "extra-field", None, "debug_trace_id"),
    ),
    "changed content type": (
        Drift("GET", GET_RUN, set_content_type("text/plain")),
        ("getRun", "header:content-type", "content-type", ["application/json"], "text/plain"),
    ),
    "documented path answering 404": (
        Drift("GET", GET_RUN, answer(404, {"message": "Run not found", "status_code": 404, "details": None})),
        ("getRun", "status", "lost-run", "2xx", 404),
    ),
    "authentication not enforced": (
        Drift("GET", GET_RUN, set_status(200), statuses=(401,)),
        ("getRun", "status", "auth-not-enforced", "401 or 403", 200),
    ),
}
#: Kognitos documents no error response and no status but 200 (KG-006): its spec marks them
#: x-assumption, so these changes are tested where the documents state them (Robocorp).
GET_PROCESS_RUN = r"/api/v1/workspaces/[^/]+/process-runs/[^/]+$"
DOCUMENTED_STATUSES = {
    "reshaped error body": (
        Drift("GET", GET_PROCESS_RUN, wrap_body("error"), statuses=(403,)),
        ("getProcessRun", "/error/code", "missing-field", "code", None),
    ),
    "undocumented status code": (
        Drift("GET", GET_PROCESS_RUN, set_status(203)),
        ("getProcessRun", "status", "undocumented-status", ["200", "403", "404"], 203),
    ),
}
#: The same changes where the spec had to assume what no document says: reported, not failing.
ASSUMED = {
    "reshaped error body of a status the page does not show": (
        Drift("GET", GET_RUN, wrap_body("error"), statuses=(401,)),
        ("getRun", "/error", "extra-field"),
    ),
    "status code the page does not show": (
        Drift("GET", GET_RUN, set_status(203)),
        ("getRun", "status", "undocumented-status"),
    ),
}


@pytest.fixture
def drifted(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(api, base URL) of a faithful mock behind the drift; a bare Drift drifts Kognitos."""
    api, drift = request.param if isinstance(request.param, tuple) else ("kognitos", request.param)
    mock = create_mock(api, "faithful", TOKEN)
    with MockServer(DriftMiddleware(mock.app(), [drift]), mock.spec.base_path) as server:
        yield api, server.base_url


@pytest.mark.parametrize(
    ("drifted", "expected"),
    [pytest.param(d, e, id=name) for name, (d, e) in CASES.items()]
    + [pytest.param(("robocorp", d), e, id=name) for name, (d, e) in DOCUMENTED_STATUSES.items()],
    indirect=["drifted"],
)
def test_drift_is_new_at_the_right_place(drifted: tuple[str, str], expected: tuple) -> None:
    operation, location, kind, contract, observed = expected
    api, base_url = drifted
    result = run(
        RunOptions(
            apis=[api], base_url=base_url, token=TOKEN, phases=("examples",), seed=1, poll_interval=0.05
        )
    )
    new = [f for f in result.findings if f.classification == "new"]
    matching = [f for f in new if (f.operation, f.location, f.kind) == (operation, location, kind)]
    seen = [(f.operation, f.location, f.kind) for f in new]
    assert matching, f"expected a new {kind} at {operation} {location}, got {seen}"
    # An undeclared extra member cannot break a client written to the documents: it is additive
    # drift; everything else is breaking, and only breaking new drift fails the run by default.
    assert matching[0].severity == ("additive" if kind == "extra-field" else "breaking")
    assert result.exit_code == (1 if any(f.severity == "breaking" for f in new) else 0)
    assert matching[0].observed == observed
    if contract is not None:
        assert matching[0].expected == contract
    assert matching[0].quirk is None and matching[0].request
    assert TOKEN not in matching[0].request
    if api == "kognitos":
        # the documented offset-less timestamp is still recognised as the known quirk it is
        assert any(f.classification == "known" and f.quirk == "KG-001" for f in result.findings)


@pytest.mark.parametrize(
    ("drifted", "expected"),
    [pytest.param(d, e, id=name) for name, (d, e) in ASSUMED.items()],
    indirect=["drifted"],
)
def test_drift_from_what_only_the_spec_assumed_is_an_assumption(
    drifted: tuple[str, str], expected: tuple[str, str, str]
) -> None:
    """Kognitos' page documents no error response and no status but 200: a change there
    contradicts only the spec's x-assumption, so it is reported as such and fails nothing."""
    api, base_url = drifted
    result = run(
        RunOptions(
            apis=[api], base_url=base_url, token=TOKEN, phases=("examples",), seed=1, poll_interval=0.05
        )
    )
    matching = [f for f in result.findings if (f.operation, f.location, f.kind) == expected]
    assert matching, [(f.operation, f.location, f.kind, f.classification) for f in result.findings]
    assert all(f.classification == "assumption" and f.assumption for f in matching)
    assert [f for f in result.findings if f.classification == "new"] == []
    assert result.exit_code == 0


def test_an_undeclared_extra_member_alone_fails_a_run_only_under_fail_on_any() -> None:
    drift = Drift("GET", GET_RUN, add_field("/debug_trace_id", "abc"))
    mock = create_mock("kognitos", "faithful", TOKEN)
    with MockServer(DriftMiddleware(mock.app(), [drift]), mock.spec.base_path) as server:
        options = {
            "apis": ["kognitos"],
            "base_url": server.base_url,
            "token": TOKEN,
            "seed": 1,
            "poll_interval": 0.05,
        }
        default = run(RunOptions(phases=("examples",), **options))
        strict = run(RunOptions(phases=("examples",), fail_on=FailPolicy.parse("any"), **options))
    assert [f.kind for f in default.findings if f.classification == "new"] == ["extra-field"]
    assert (default.exit_code, strict.exit_code) == (0, 1)


@pytest.mark.parametrize(
    ("api", "method", "path", "operation"),
    [
        ("automation_runs", "GET", r"/automation-runs/[^/]+/steps$", "getAutomationRunSteps"),
        ("automation_runs", "POST", r"/automation-runs/[^/]+/cancel$", "cancelAutomationRun"),
        ("robocorp", "GET", r"/process-runs/[^/]+/outputs$", "listProcessRunOutputs"),
    ],
)
def test_a_documented_404_for_a_run_the_api_just_returned_is_a_lost_run(
    api: str, method: str, path: str, operation: str
) -> None:
    mock = create_mock(api, "faithful", TOKEN)
    not_found = mock.error(404, "not found")
    drift = Drift(method, path, answer(404, json.loads(not_found.body)), statuses=(200,))
    with MockServer(DriftMiddleware(mock.app(), [drift]), mock.spec.base_path) as server:
        result = run(
            RunOptions(
                apis=[api],
                base_url=server.base_url,
                token=TOKEN,
                phases=("examples",),
                seed=1,
                poll_interval=0.05,
            )
        )
    lost = [f for f in result.findings if f.kind == "lost-run"]
    assert [(f.operation, f.location, f.observed, f.classification) for f in lost] == [
        (operation, "status", 404, "new")
    ]
    assert result.exit_code == 1
