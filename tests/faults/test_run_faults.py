"""The fault matrix of ``conformance run``: one real misbehaving server on loopback per fault.

Kognitos' getRun misbehaves; listRuns and startRun keep answering through the real mock, so
each test also shows that the rest of the API is still judged and that a report is written.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.engine.runner import RunOptions, RunResult, run
from conformance.mocks import MockServer, create_mock
from conformance.results.document import write_results
from conformance.results.publish import write_report

from . import server as faults
from .server import Fault, FaultServer

TOKEN = "fault-test-token"
GET_RUN = r"/v2/runs/[^/]+$"
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockServer]:
    mock = create_mock("kognitos", "faithful", TOKEN)
    with MockServer(mock.app()) as server:
        yield server


def run_through(upstream: MockServer, fault_list: list[Fault], report_dir: Path) -> tuple[RunResult, dict]:
    with FaultServer(upstream.port, fault_list, "/v2") as front:
        options = RunOptions(
            apis=["kognitos"],
            base_url=front.base_url,
            token=TOKEN,
            phases=("examples",),
            max_examples=3,
            seed=1,
            request_timeout=TIMEOUT,
            poll_interval=0.05,
        )
        result = run(options)
    document = write_results(result, report_dir)
    write_report(document, report_dir)
    return result, document


#: fault -> (kind, observed) of the finding it must produce at getRun
MATRIX = {
    "connection reset": (faults.reset, "transport-error", "connection reset"),
    "read timeout": (faults.hang, "transport-error", "read timeout"),
    "very slow body": (faults.trickle(0.05), "transport-error", "response too slow"),
    "body shorter than its Content-Length": (faults.short_body, "transport-error", "incomplete body"),
    "redirect loop": (faults.redirect_loop, "transport-error", "redirect loop"),
    "500": (faults.server_error, "server-error", 500),
    "HTML error page with 200": (faults.html_page, "content-type", "text/html"),
    "truncated JSON": (faults.truncated_json, "invalid-json", "truncated JSON"),
    "invalid UTF-8": (faults.invalid_utf8, "invalid-json", "not UTF-8"),
    "50 MB body": (faults.HugeBody(), "body-too-large", "more than 10485760 bytes"),
}


@pytest.mark.parametrize(("action", "kind", "observed"), list(MATRIX.values()), ids=list(MATRIX))
def test_a_fault_is_a_finding_at_its_operation_and_the_rest_is_judged(
    upstream: MockServer, tmp_path: Path, action: faults.Action, kind: str, observed: object
) -> None:
    result, document = run_through(upstream, [Fault("GET", GET_RUN, action)], tmp_path)
    at_get_run = {(f.kind, f.observed) for f in result.findings if f.operation == "getRun"}
    assert (kind, observed) in at_get_run
    finding = next(f for f in result.findings if (f.kind, f.observed) == (kind, observed))
    assert finding.classification == "new" and finding.request and TOKEN not in finding.request
    assert result.errors == [] and result.complete
    assert result.exit_code == 1  # new drift, not "could not run"
    stats = result.results[0].stats
    assert stats["listRuns"].cases > 0 and stats["startRun"].cases > 0
    assert document["exit_code"] == 1 and (tmp_path / "index.html").is_file()
    assert json.loads((tmp_path / "results.json").read_text())["summary"]["new"] >= 1


def test_a_50_mb_body_is_not_read_past_the_limit(upstream: MockServer, tmp_path: Path) -> None:
    body = faults.HugeBody()
    result, _ = run_through(upstream, [Fault("GET", GET_RUN, body)], tmp_path)
    assert any(f.kind == "body-too-large" for f in result.findings)
    # what got out: the 10 MB the run reads, plus what the kernels buffer on loopback (about 6 MB
    # here, 36 MB at the most), never the whole; measured at the server, it does not depend on
    # what else this worker's process has held before, as its peak memory would
    assert body.sent and max(body.sent) < 40 * 2**20 < faults.HUGE_BYTES, body.sent
    assert result.results[0].duration < 30


def test_the_server_going_away_mid_run_is_a_finding(upstream: MockServer, tmp_path: Path) -> None:
    result, document = run_through(
        upstream, [Fault("GET", GET_RUN, faults.after(3, faults.vanish))], tmp_path
    )
    causes = {f.observed for f in result.findings if f.kind == "transport-error"}
    assert causes & {"connection refused", "connection reset"}, causes
    assert "connection refused" in causes  # the lifecycle checks meet the closed port
    assert result.exit_code == 1 and result.results[0].cases > 0
    assert document["summary"]["complete"] is True


def test_nothing_answered_is_exit_2_with_one_cause(upstream: MockServer, tmp_path: Path) -> None:
    # the reachability probe is answered; every request after it is reset
    result, document = run_through(upstream, [Fault("*", r".*", faults.after(1, faults.reset))], tmp_path)
    assert result.exit_code == 2
    (error,) = result.errors
    assert "no response from" in error and "could be judged" in error
    assert document["exit_code"] == 2 and (tmp_path / "results.json").is_file()


def test_connection_refused_before_the_run_is_exit_2_with_one_cause(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(
        RunOptions(apis=["kognitos"], base_url=f"http://127.0.0.1:{port}/v2", token=TOKEN, poll_interval=0.05)
    )
    document = write_results(result, tmp_path)
    assert result.exit_code == 2 and result.findings == []
    assert document["errors"] == [
        f"kognitos: cannot reach kognitos at http://127.0.0.1:{port}/v2: connection refused"
    ]


def test_one_unreachable_api_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With several APIs in one run, an API whose server is gone is an error of its own; the
    others are still judged and the report is written."""
    from contextlib import contextmanager

    from conformance.engine import runner
    from conformance.vendors.registry import APIS

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    robocorp = create_mock("robocorp", "faithful", TOKEN)
    with MockServer(robocorp.app(), robocorp.spec.base_path) as live:

        @contextmanager
        def two_targets(options: RunOptions) -> Iterator[list[runner.Target]]:
            yield [
                runner.Target(APIS["kognitos"], f"http://127.0.0.1:{dead}/v2", TOKEN, "faithful", options),
                runner.Target(APIS["robocorp"], live.base_url, TOKEN, "faithful", options),
            ]

        monkeypatch.setattr(runner, "targets", two_targets)
        result = run(RunOptions(apis=["kognitos", "robocorp"], phases=("examples",), seed=1))
    document = write_results(result, tmp_path)
    write_report(document, tmp_path)
    by_api = {api["api"]: api for api in document["apis"]}
    assert result.exit_code == 2
    assert by_api["kognitos"]["errors"] and by_api["kognitos"]["cases"] == 0
    assert by_api["robocorp"]["cases"] > 0 and by_api["robocorp"]["errors"] == []
    assert by_api["robocorp"]["operations_covered"] == by_api["robocorp"]["operations_total"]
    assert (tmp_path / "index.html").exists()
