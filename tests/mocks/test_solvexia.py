"""The SolveXia process runs mock over real HTTP: operations, lifecycle, auth, bad input, conformance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest

from conformance.behaviour import parse_timestamp
from conformance.catalogue import load_catalogue
from conformance.checks import check_response
from conformance.findings import Deviation
from conformance.mocks import Mode
from conformance.specs import load_spec

from . import serving

API = "solvexia"
TOKEN = "conformance-demo"
RUN = "pr-114278"  # the run of most examples, seeded Cancelled
RUNNING_RUN = "pr-263"  # the cancel example's run, seeded Running
ACTION_STEP = "as-20682"  # the step run status example's step, seeded Cancelled
DATA_STEPS = ["ds-114279", "ds-114278"]
MAX_POLLS = 10
START_RQ = {"request": "ProcessRun_StartRq", "processRunId": RUN}
CANCEL_RQ = {"request": "ProcessRun_CancelRq", "processRunId": RUN}
#: One request per operation, against seeded objects: (operationId, method, path, JSON body).
REQUESTS: list[tuple[str, str, str, Any]] = [
    ("getProcessRun", "GET", f"/v1/processruns/{RUN}", None),
    ("startProcessRun", "POST", f"/v1/processruns/{RUN}/start", None),
    ("cancelProcessRun", "POST", f"/v1/processruns/{RUN}/cancel", None),
    ("processRunRequest", "POST", "/v1/requests", START_RQ),
    ("getProcessRunStatus", "GET", f"/v1/processruns/{RUN}/runstatus", None),
    ("listProcessRunSteps", "GET", f"/v1/processruns/{RUN}/steps", None),
    ("getStepRunStatus", "GET", f"/v1/processruns/{RUN}/steps/{ACTION_STEP}/runstatus", None),
    ("restartStepFromHere", "POST", f"/v1/processruns/{RUN}/steps/{ACTION_STEP}/restartfromhere", None),
]


class Served(serving.Served):
    @property
    def duration_key(self) -> str:
        """Where cancel and step answers carry the duration: the examples' name or the schema's."""
        return "runDurationInSec" if self.faithful else "runDurationInSeconds"


def serve(mode: Mode) -> Iterator[Served]:
    with serving.serve(API, mode, TOKEN, {"Authorization": f"Bearer {TOKEN}"}, Served) as served:
        yield served


@pytest.fixture(params=list(Mode), ids=str)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    yield from serve(request.param)


@pytest.fixture
def faithful() -> Iterator[Served]:
    yield from serve(Mode.FAITHFUL)


@pytest.fixture
def strict() -> Iterator[Served]:
    yield from serve(Mode.STRICT)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def assert_error(response: httpx.Response, status: int, fragment: str = "") -> None:
    """The vendor's general error object: exactly a message and a support id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "supportId"}
    assert isinstance(body["supportId"], str) and body["supportId"]
    assert fragment.lower() in body["message"].lower()


def run_status(served: Served, run_id: str = RUN) -> dict[str, Any]:
    return ok(served.client.get(f"/v1/processruns/{run_id}/runstatus"))


def poll_to_terminal(served: Served, run_id: str = RUN) -> list[dict[str, Any]]:
    """Run statuses seen by polling until the run is terminal (each poll advances one state)."""
    terminal = set(served.mock.spec.document["x-lifecycle"]["terminal"])
    seen: list[dict[str, Any]] = []
    for _ in range(MAX_POLLS):
        seen.append(run_status(served, run_id))
        if seen[-1]["status"] in terminal:
            return seen
    raise AssertionError(f"run {run_id} still {seen[-1]['status']} after {MAX_POLLS} polls")


def assert_allowed(served: Served, states: list[str]) -> None:
    for before, after in pairwise(states):
        assert served.mock.lifecycle.allows(before, after), f"{before} -> {after} is not documented"


def moment(value: str) -> datetime:
    parsed = parse_timestamp(value)
    assert parsed is not None, value
    return parsed


# -- spec and catalogue ----------------------------------------------------------------------
def test_spec_loads_with_every_operation_and_a_drivable_lifecycle() -> None:
    spec = load_spec(API)
    assert set(spec.operations) == {operation for operation, *_ in REQUESTS}
    assert spec.base_path == "/api"
    assert spec.operations["processRunRequest"].definition["deprecated"] is True
    plan = spec.document["x-lifecycle"]
    for role in ("start", "poll", "cancel"):
        assert plan[role]["operation"] in spec.operations
    states = set(spec.resolve({"$ref": "#/components/schemas/ProcessRunStatusType"})["enum"])
    assert set(plan["transitions"]) == states
    assert {s for targets in plan["transitions"].values() for s in targets} <= states


def test_catalogue_loads_and_names_only_documented_operations() -> None:
    catalogue = load_catalogue(API)
    operations = set(load_spec(API).operations)
    assert len(catalogue.quirks) == 37
    for quirk in catalogue.quirks:
        assert set(quirk.operations) <= operations, quirk.id
        if quirk.reproduced:
            assert quirk.observable, f"{quirk.id} is marked reproduced but cannot be seen in traffic"


# -- happy paths -----------------------------------------------------------------------------
def test_get_process_run_answers_the_documented_run(served: Served) -> None:
    body = ok(served.client.get(f"/v1/processruns/{RUN}"))
    assert body["name"] == "processapitest : run #1"
    assert body["process"] == "p-114273"
    assert body["lastModifiedBy"] == "usa.john.adams"
    expected = "2020-06-15T02:24:14.2700000" if served.faithful else "2020-06-15T02:24:14.270Z"
    assert body["dateCreated"] == body["dateModified"] == expected


def test_start_schedules_the_run(served: Served) -> None:
    body = ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    assert body == {
        "id": RUN,
        "dateStarted": None,
        "dateFinished": None,
        "runDurationInSeconds": None,
        "status": "Scheduled",
    }


def test_run_status_of_the_seeded_cancelled_run(served: Served) -> None:
    body = run_status(served)
    assert body["status"] == "Cancelled"
    assert body["runDurationInSeconds"] == 932
    if served.faithful:
        assert (body["dateStarted"], body["dateFinished"]) == (
            "2025-02-05T22:40:19.923",
            "2025-02-05T22:55:51.923",
        )
    else:
        assert (body["dateStarted"], body["dateFinished"]) == (
            "2025-02-05T22:40:19.923Z",
            "2025-02-05T22:55:51.923Z",
        )


def test_steps_list_holds_the_data_steps_in_order(served: Served) -> None:
    steps = ok(served.client.get(f"/v1/processruns/{RUN}/steps"))
    assert [step["id"] for step in steps] == DATA_STEPS
    order_key = "stepOrder" if served.faithful else "orderedName"
    assert [step[order_key] for step in steps] == ["1.1", "1.2"]
    assert all(set(step) == {"id", "name", "isEnabled", order_key} for step in steps)
    assert ok(served.client.get(f"/v1/processruns/{RUNNING_RUN}/steps")) == []


def test_step_run_status_of_the_seeded_cancelled_step(served: Served) -> None:
    body = ok(served.client.get(f"/v1/processruns/{RUN}/steps/{ACTION_STEP}/runstatus"))
    assert body[served.duration_key] == 2
    assert body["completionMessage"] == ""
    if served.faithful:
        assert (body["status"], body["dateStarted"], body["dateFinished"]) == (
            "cancelled",
            "2025-01-13T03:51:03.27Z",
            None,
        )
    else:
        assert (body["status"], body["dateStarted"], body["dateFinished"]) == (
            "Cancelled",
            "2025-01-13T03:51:03.270Z",
            "2025-01-13T03:51:05.270Z",
        )


def test_faithful_paths_ignore_case_as_the_run_status_heading_spells_them(served: Served) -> None:
    response = served.client.get(f"/v1/processRuns/{RUN}/runstatus")
    if served.faithful:
        assert ok(response)["id"] == RUN
    else:
        assert response.status_code == 404


# -- lifecycle -------------------------------------------------------------------------------
def test_started_run_walks_to_finished_through_documented_states(served: Served) -> None:
    first = ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    seen = poll_to_terminal(served)
    states = ["Cancelled", first["status"], *(body["status"] for body in seen)]
    assert list(dict.fromkeys(states)) == ["Cancelled", "Scheduled", "Running", "Finished"]
    assert_allowed(served, states)
    finished = seen[-1]
    started_at, finished_at = moment(finished["dateStarted"]), moment(finished["dateFinished"])
    assert finished_at >= started_at
    assert finished["runDurationInSeconds"] == pytest.approx(
        (finished_at - started_at).total_seconds(), abs=0.01
    )
    assert all(body["dateStarted"] is None for body in seen if body["status"] == "Scheduled")


def test_clock_drives_a_run_to_finished_without_polling_each_state(served: Served) -> None:
    ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    served.clock.advance(60)
    body = run_status(served)
    assert body["status"] == "Finished"
    assert served.mock.runs[RUN].history == ["Scheduled", "Running", "Finished"]


def test_steps_follow_their_run(served: Served) -> None:
    ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    step_url = f"/v1/processruns/{RUN}/steps/{DATA_STEPS[0]}/runstatus"
    assert ok(served.client.get(step_url))["status"] == "Scheduled"
    poll_to_terminal(served)
    step = ok(served.client.get(step_url))
    assert step["status"] == "Success"
    assert moment(step["dateFinished"]) >= moment(step["dateStarted"])


def test_start_and_restart_rerun_data_steps_but_leave_the_other_step(served: Served) -> None:
    step_url = f"/v1/processruns/{RUN}/steps/{{}}/runstatus"
    ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    poll_to_terminal(served)
    assert [ok(served.client.get(step_url.format(step)))["status"] for step in DATA_STEPS] == ["Success"] * 2
    first_finished = ok(served.client.get(step_url.format(DATA_STEPS[0])))["dateFinished"]
    ok(served.client.post(f"/v1/processruns/{RUN}/steps/{DATA_STEPS[1]}/restartfromhere"))
    assert ok(served.client.get(step_url.format(DATA_STEPS[1])))["status"] == "Running"
    first = ok(served.client.get(step_url.format(DATA_STEPS[0])))
    assert (first["status"], first["dateFinished"]) == ("Success", first_finished)  # before the restart point
    cancelled = "cancelled" if served.faithful else "Cancelled"
    assert ok(served.client.get(step_url.format(ACTION_STEP)))["status"] == cancelled


def test_cancel_a_scheduled_run(served: Served) -> None:
    ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    body = ok(served.client.post(f"/v1/processruns/{RUN}/cancel"))
    assert body["status"] == "Cancelled"
    if served.faithful:
        assert list(body) == ["id", "dateFinished", "dateStarted", "runDurationInSec", "status"]
        assert (body["dateStarted"], body["dateFinished"]) == ("", None)
    else:
        assert body["dateStarted"] is None and body["runDurationInSeconds"] is None
        assert body["dateFinished"] is not None
    after = run_status(served)
    assert after["status"] == "Cancelled" and after["dateStarted"] is None
    assert_allowed(served, served.mock.runs[RUN].history)


def test_cancel_the_running_example_run(served: Served) -> None:
    body = ok(served.client.post(f"/v1/processruns/{RUNNING_RUN}/cancel"))
    assert (body["id"], body["status"]) == (RUNNING_RUN, "Cancelled")
    assert body[served.duration_key] >= 48
    after = run_status(served, RUNNING_RUN)
    assert after["status"] == "Cancelled"
    assert moment(after["dateFinished"]) > moment(after["dateStarted"])


def test_deprecated_requests_start_and_cancel(served: Served) -> None:
    started = ok(served.client.post("/v1/requests", json=START_RQ))
    assert (started["id"], started["status"]) == (RUN, "Scheduled")
    assert run_status(served)["status"] == "Scheduled"
    cancelled = ok(served.client.post("/v1/requests", json=CANCEL_RQ))
    assert (cancelled["id"], cancelled["status"]) == (RUN, "Cancelled")
    assert served.duration_key in cancelled
    history = served.mock.runs[RUN].history
    assert (history[0], history[-1]) == ("Scheduled", "Cancelled")
    assert_allowed(served, history)


def test_restart_from_a_step_runs_the_run_again(served: Served) -> None:
    body = ok(served.client.post(f"/v1/processruns/{RUN}/steps/{ACTION_STEP}/restartfromhere"))
    assert (body["id"], body["status"], body["dateFinished"]) == (ACTION_STEP, "Running", None)
    assert body["completionMessage"] == "step is currently running"
    assert not body["dateStarted"].startswith("2025-01-13")
    seen = poll_to_terminal(served)
    states = ["Cancelled", *(status["status"] for status in seen)]
    assert list(dict.fromkeys(states)) == ["Cancelled", "Running", "Finished"]
    assert_allowed(served, states)
    step = ok(served.client.get(f"/v1/processruns/{RUN}/steps/{ACTION_STEP}/runstatus"))
    assert step["status"] == "Success"


# -- auth ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer t\u00f6ken".encode("latin-1")},
    ],
    ids=["missing", "wrong-token", "wrong-scheme", "non-ascii"],
)
@pytest.mark.parametrize(("operation", "method", "path", "body"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_bad_credentials_are_forbidden(
    served: Served, headers: dict[str, Any], operation: str, method: str, path: str, body: Any
) -> None:
    with httpx.Client(base_url=served.base_url, headers=headers) as anonymous:
        response = anonymous.request(method, path, json=body)
    assert_error(response, 403, "credentials")
    assert run_status(served)["status"] == "Cancelled"  # nothing was started or restarted


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/processruns/pr-0", None),
        ("POST", "/v1/processruns/pr-0/start", None),
        ("POST", "/v1/processruns/pr-0/cancel", None),
        ("POST", "/v1/requests", {"request": "ProcessRun_StartRq", "processRunId": "pr-0"}),
        ("GET", "/v1/processruns/pr-0/runstatus", None),
        ("GET", "/v1/processruns/pr-0/steps", None),
        ("GET", "/v1/processruns/pr-0/steps/as-20682/runstatus", None),
        ("POST", "/v1/processruns/pr-0/steps/as-20682/restartfromhere", None),
    ],
)
def test_unknown_run_is_not_found(served: Served, method: str, path: str, body: Any) -> None:
    assert_error(served.client.request(method, path, json=body), 404, "pr-0")


@pytest.mark.parametrize("action", ["runstatus", "restartfromhere"])
def test_unknown_step_is_not_found(served: Served, action: str) -> None:
    method = "GET" if action == "runstatus" else "POST"
    response = served.client.request(method, f"/v1/processruns/{RUNNING_RUN}/steps/{ACTION_STEP}/{action}")
    assert_error(response, 404, ACTION_STEP)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"request": "ProcessRun_StartRq", "processRunId": ', "not valid JSON"),
        (b'{"request": "ProcessRun_StartRq"}', "processRunId"),
        (b'{"request": "ProcessRun_StartRq", "processRunId": 114278}', "not of type"),
        (b'{"request": "startRun", "processRunId": "pr-114278"}', "startRun"),
        (b"", "required"),
    ],
    ids=["malformed-json", "missing-run-id", "wrong-type", "2020-04-literal", "no-body"],
)
def test_malformed_deprecated_requests_are_bad_requests(
    served: Served, content: bytes, fragment: str
) -> None:
    response = served.client.post(
        "/v1/requests", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, fragment)
    assert run_status(served)["status"] == "Cancelled"


def test_a_deprecated_request_with_a_member_the_schema_does_not_list_is_served(served: Served) -> None:
    """A TypeScript type does not close an object: the Process Run Request's members suffice."""
    status = ok(served.client.post("/v1/requests", json={**START_RQ, "extra": 1}))
    assert status["status"] == "Scheduled"


def test_body_on_an_endpoint_that_takes_none_is_a_bad_request(served: Served) -> None:
    response = served.client.post(f"/v1/processruns/{RUN}/start", json={"processRunId": RUN})
    assert_error(response, 400, "must be empty")
    assert run_status(served)["status"] == "Cancelled"


def test_cancelling_a_run_that_is_not_running_is_a_bad_request(served: Served) -> None:
    assert_error(served.client.post(f"/v1/processruns/{RUN}/cancel"), 400, "Cancelled")
    assert_error(served.client.post("/v1/requests", json=CANCEL_RQ), 400, "Cancelled")
    ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    poll_to_terminal(served)
    assert_error(served.client.post(f"/v1/processruns/{RUN}/cancel"), 400, "Finished")


def test_starting_or_restarting_an_active_run_is_a_bad_request(served: Served) -> None:
    assert_error(served.client.post(f"/v1/processruns/{RUNNING_RUN}/start"), 400, "is Running")
    assert_error(served.client.post("/v1/requests", json={**START_RQ, "processRunId": RUNNING_RUN}), 400)
    ok(served.client.post(f"/v1/processruns/{RUN}/start"))
    assert_error(served.client.post(f"/v1/processruns/{RUN}/start"), 400, "cannot be started")
    restart = f"/v1/processruns/{RUN}/steps/{DATA_STEPS[0]}/restartfromhere"
    assert_error(served.client.post(restart), 400, "before restarting")
    assert served.mock.runs[RUN].history[0] == "Scheduled"  # the same run, neither restarted nor started anew
    assert run_status(served, RUNNING_RUN)["status"] == "Running"


# -- conformance -----------------------------------------------------------------------------
def exercise_every_operation(served: Served) -> list[tuple[str, httpx.Response]]:
    """Happy paths and documented errors of every operation, the way a client meets them."""
    client = served.client
    run, step = f"/v1/processruns/{RUN}", f"/v1/processruns/{RUN}/steps/{ACTION_STEP}"
    running = f"/v1/processruns/{RUNNING_RUN}"
    calls: list[tuple[str, str, str, Any]] = [
        ("getProcessRun", "GET", run, None),
        ("getProcessRunStatus", "GET", f"{run}/runstatus", None),  # the seeded, dated run
        ("listProcessRunSteps", "GET", f"{run}/steps", None),
        ("getStepRunStatus", "GET", f"{step}/runstatus", None),  # the seeded cancelled step
        ("cancelProcessRun", "POST", f"{run}/cancel", None),  # 400: already cancelled
        ("startProcessRun", "POST", f"{running}/start", None),  # 400: running
        ("cancelProcessRun", "POST", f"{running}/cancel", None),  # a run that had started
        ("getProcessRunStatus", "GET", f"{running}/runstatus", None),
        ("startProcessRun", "POST", f"{run}/start", None),
        ("cancelProcessRun", "POST", f"{run}/cancel", None),  # a run that never started
        ("getProcessRunStatus", "GET", f"{run}/runstatus", None),
        ("processRunRequest", "POST", "/v1/requests", START_RQ),
        ("processRunRequest", "POST", "/v1/requests", CANCEL_RQ),
        ("processRunRequest", "POST", "/v1/requests", {"request": "ProcessRun_StartRq"}),  # 400
        ("processRunRequest", "POST", "/v1/requests", {**START_RQ, "processRunId": "pr-0"}),  # 404
        ("restartStepFromHere", "POST", f"{step}/restartfromhere", None),
        ("getStepRunStatus", "GET", f"{step}/runstatus", None),
        ("getProcessRunStatus", "GET", f"{run}/runstatus", None),
        ("getStepRunStatus", "GET", f"/v1/processruns/{RUN}/steps/as-0/runstatus", None),  # 404
        ("getProcessRun", "GET", "/v1/processruns/pr-0", None),  # 404
        ("listProcessRunSteps", "GET", "/v1/processruns/pr-0/steps", None),  # 404
    ]
    answers = [
        (operation, client.request(method, path, json=body)) for operation, method, path, body in calls
    ]
    with httpx.Client(base_url=served.base_url) as anonymous:
        answers += [(operation, anonymous.request(m, p, json=b)) for operation, m, p, b in REQUESTS]
    return answers


def deviations_of(served: Served) -> list[Deviation]:
    spec = served.mock.spec
    answers = exercise_every_operation(served)
    statuses = {(operation, response.status_code) for operation, response in answers}
    assert {operation for operation, status in statuses if status == 200} == set(spec.operations)
    assert {status for _, status in statuses} == {200, 400, 403, 404}
    return [
        deviation
        for operation, response in answers
        for deviation in check_response(
            spec, spec.operations[operation], response.status_code, response.headers, response.content
        )
    ]


def judged(operation_id: str, status: int, body: Any) -> list[tuple[str, str, bool]]:
    """(kind, location, assumed?) of each deviation of an answer of ``operation_id``."""
    spec = load_spec(API)
    content = json.dumps(body).encode()
    deviations = check_response(
        spec, spec.operations[operation_id], status, {"content-type": "application/json"}, content
    )
    return sorted((d.kind, d.location, d.assumption is not None) for d in deviations)


STATUS = {
    "id": RUN,
    "dateStarted": "2025-02-05T22:40:19.923Z",
    "dateFinished": None,
    "runDurationInSeconds": 12,
    "status": "Running",
}


def test_what_the_schema_pages_leave_open_is_an_assumption_and_what_they_state_is_not() -> None:
    assert judged("getProcessRunStatus", 200, STATUS) == []
    # dates are typed plain string: reading them as RFC 3339 is the spec's assumption
    assert judged("getProcessRunStatus", 200, {**STATUS, "dateStarted": "05/02/2025 22:40"}) == [
        ("invalid-timestamp", "/dateStarted", True)
    ]
    # no documented bound on a duration, so no schema constraint; but a run cannot last less than
    # nothing: a behaviour finding. The objects are open (extra members are additive)
    assert judged("getProcessRunStatus", 200, {**STATUS, "runDurationInSeconds": -1}) == [
        ("negative-duration", "/runDurationInSeconds", False)
    ]
    assert judged("getProcessRunStatus", 200, {**STATUS, "queue": "eu"}) == [("extra-field", "/queue", False)]
    # what the pages state stays drift: the status enum, the members, the error object
    assert judged("getProcessRunStatus", 200, {**STATUS, "status": "Paused"}) == [
        ("unknown-enum-value", "/status", False)
    ]
    assert judged("getProcessRunStatus", 404, {"message": "gone"}) == [("missing-field", "/supportId", False)]


def test_strict_mode_answers_exactly_the_contract(strict: Served) -> None:
    assert deviations_of(strict) == []


def test_faithful_mode_reproduces_every_catalogued_response_quirk_and_nothing_else(faithful: Served) -> None:
    catalogue = load_catalogue(API)
    deviations = deviations_of(faithful)
    unknown = [d for d in deviations if catalogue.match(d) is None]
    assert unknown == []
    matched = {quirk.id for d in deviations if (quirk := catalogue.match(d)) is not None}
    reproduced = {quirk.id for quirk in catalogue.quirks if quirk.reproduced}
    assert reproduced == matched


# -- the vendor's own SDK --------------------------------------------------------------------
def test_vendor_sdk_drives_the_faithful_mock(faithful: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk_api = pytest.importorskip("solvexia_sdk.api", reason="the vendor SDK solvexia-sdk is not installed")
    processrun = pytest.importorskip("solvexia_sdk.processrun.processrun")
    # The SDK keeps its endpoint and credentials as module globals, set by solvexiaClient at login.
    monkeypatch.setattr(sdk_api, "base_url", f"{faithful.base_url}/v1/", raising=False)
    monkeypatch.setattr(sdk_api, "access_token", {"Authorization": f"Bearer {TOKEN}"}, raising=False)
    run = processrun.processRuns(RUN)

    assert run.get_process_run()["dateCreated"] == "2020-06-15T02:24:14.2700000"
    started = sdk_api.api_post("requests", START_RQ)
    assert (started.status_code, started.json()["status"]) == (200, "Scheduled")
    assert run.get_process_run_status()["status"] == "Scheduled"
    cancelled = sdk_api.api_post("requests", CANCEL_RQ)
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert list(body) == ["id", "dateFinished", "dateStarted", "runDurationInSec", "status"]
    assert (body["id"], body["dateFinished"], body["dateStarted"], body["status"]) == (
        RUN,
        None,
        "",
        "Cancelled",
    )
    assert run.get_process_run_status()["status"] == "Cancelled"
    assert run.start_process_run()["status"] == "Scheduled"
    assert run.cancel_process_run()["status"] == "Cancelled"
    assert [step["stepOrder"] for step in run.get_process_run_data_steps_list()] == ["1.1", "1.2"]
    assert run.get_process_run_step_runstatus(ACTION_STEP)["status"] == "cancelled"
    assert run.restart_process_run_from_step(ACTION_STEP)["status"] == "Running"
    with pytest.raises(SystemExit):  # the SDK exits on any non-200, here the vendor's 400
        run.start_process_run()
