"""``conformance run automation_runs`` against a server it was not built with: the FastAPI service
in this folder, written from the vendor page without reading the suite's spec or mock.

Every finding is accounted for here: new drift only where the service really contradicts the
vendor page (none, as written), and each assumption with the page's silence that makes it one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.engine.runner import RunOptions, RunResult, run
from conformance.mocks.drift import Drift, DriftMiddleware, set_value

from .automation_runs.app import create_app
from .serving import serve

TOKEN = "independent-service-token"
OPTIONS = {"max_examples": 5, "seed": 1, "lifecycle_timeout": 30.0, "poll_interval": 0.05}

#: (operation, kind) of every finding the service may produce, and why it is not drift.
ASSUMPTIONS = {
    ("retryAutomationRun", "positive_data_acceptance"): (
        "the service requires a retry body ({} suffices); the page marks no body member required and "
        "does not say whether the body itself may be left out, so the spec's optional body is an "
        "assumption (x-assumption on the retry requestBody)"
    ),
}


def _judge(app: object) -> RunResult:
    with serve(app) as base_url:
        return run(RunOptions(apis=["automation_runs"], base_url=base_url, token=TOKEN, **OPTIONS))


@pytest.fixture(scope="module")
def faithful_to_the_page() -> Iterator[RunResult]:
    yield _judge(create_app(TOKEN, step_seconds=0.2))


def test_an_independent_fastapi_service_written_from_the_page_has_no_new_drift(
    faithful_to_the_page: RunResult,
) -> None:
    result = faithful_to_the_page
    new = [
        (f.operation, f.kind, f.location, f.observed) for f in result.findings if f.classification == "new"
    ]
    assert new == [], "each new finding must be a real contradiction of the vendor page"
    assert result.exit_code == 0 and not result.errors
    for finding in result.findings:
        assert finding.classification in ("assumption", "known")
        if finding.classification == "assumption":
            assert (finding.operation, finding.kind) in ASSUMPTIONS, finding
            assert finding.assumption
            if finding.kind == "positive_data_acceptance":
                assert "whether the body may be left out" in finding.assumption
    [api] = result.results
    assert api.cases > 100 and len(api.covered) == len(api.operations)
    # the lifecycle found a failed run of the service's own, retried it and followed it to the end
    assert api.checks["lifecycle"] > 3


def test_a_real_contradiction_of_the_page_is_new_breaking_drift() -> None:
    """The page types ``versionNumber`` as an integer; a service that sends it as a string breaks clients."""
    retyped = Drift("GET", r"/automation-runs/[^/]+$", set_value("/versionNumber", str))
    result = _judge(DriftMiddleware(create_app(TOKEN, step_seconds=0.2), [retyped]))
    new = {
        (f.operation, f.kind, f.location, f.severity) for f in result.findings if f.classification == "new"
    }
    assert new == {("getAutomationRun", "type-mismatch", "/versionNumber", "breaking")}
    assert result.exit_code == 1
