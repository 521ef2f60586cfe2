"""The session is the one door of a run's findings: a judged response counts once, as its worst
finding, whichever check found it; what a run did not select is not judged; and a phase that the
selection leaves nothing to walk is left out with its reason, not failed."""

from __future__ import annotations

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.engine.runner import RunOptions, run
from conformance.engine.session import ApiSession
from conformance.findings import Deviation
from conformance.judge.registry import check_response
from conformance.redact import Redactor

RUN = b'{"id": "r1", "agent_id": "a", "process_id": "p", "stage": "Draft", "status": "Completed"}'


def session(operations: tuple[str, ...] | None = None) -> ApiSession:
    spec = load_spec("kognitos")
    return ApiSession(spec, load_catalogue("kognitos"), Redactor([]), operations=operations)


def ignored_auth(operation: str) -> Deviation:
    return Deviation("kognitos", operation, 200, "status", "ignored_auth", "401 or 403", 200)


def test_a_check_that_finds_more_in_a_counted_response_makes_it_count_as_its_worst() -> None:
    judged = session()
    get_run = judged.spec.operations["getRun"]
    headers = {"content-type": "application/json"}
    answer = check_response(judged.spec, get_run, 200, headers, RUN)
    judged.record(get_run, answer, "curl getRun", "contract", case="case-1")
    assert judged.stats["getRun"].cases == 1
    judged.record(get_run, [ignored_auth("getRun")], "curl getRun", "ignored_auth", case="case-1")
    stats = judged.stats["getRun"]
    assert stats.cases == 1 and stats.outcomes["breaking"] == 1 and sum(stats.outcomes.values()) == 1
    # a response only a standard check judged (an undocumented method's probe) is a case of its own
    judged.record(get_run, [ignored_auth("getRun")], "curl getRun", "ignored_auth", case="case-2")
    assert judged.stats["getRun"].cases == 2 and judged.stats["getRun"].outcomes["breaking"] == 2
    result = judged.result("http://127.0.0.1", None, [], 0.1)
    assert result.score < 100 and result.responses["breaking"] == 2


def test_a_check_that_passes_counts_as_a_check_and_no_case() -> None:
    judged = session()
    judged.count_check("ignored_auth")
    assert judged.checks["ignored_auth"] == 1 and judged.stats["getRun"].cases == 0


def test_an_operation_the_run_did_not_select_is_not_judged() -> None:
    judged = session(("listRuns",))
    get_run = judged.spec.operations["getRun"]
    judged.record(get_run, [ignored_auth("getRun")], "curl", "lifecycle")
    assert len(judged.findings) == 0 and "getRun" not in judged.stats


def test_a_shard_that_leaves_no_link_skips_the_stateful_phase_with_its_reason() -> None:
    result = run(
        RunOptions(apis=["kognitos"], include_operations=("getRun",), phases=("examples", "stateful"), seed=1)
    )
    [api] = result.results
    assert result.exit_code == 0 and not result.errors
    assert "no link joins the operations selected" in api.adjusted_checks["stateful"]
