"""The Automation Runs mock over real HTTP: every operation, the run lifecycle, auth, bad input,
and conformance of both modes to the spec and the catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import httpx
import pytest

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.engine.lifecycle import LifecycleDriver
from conformance.judge.behaviour import pointer_get
from conformance.judge.registry import check_response
from conformance.kinds import kind_of
from conformance.mocks.automation_runs import (
    CANCELLED_RUN_ID,
    COMPLETED_RUN_ID,
    FAILED_RUN_ID,
    PENDING_RUN_ID,
    RUNNING_RUN_ID,
)
from conformance.vendors.registry import get_api

from .. import loopback
from . import serving
from .serving import Served
from .serving import serve as serve_mock

API = "automation_runs"
TOKEN = "conformance-demo"
AUTH = {"X-API-Key": TOKEN}
MODES = ["faithful", "strict"]
UNKNOWN_RUN_ID = "00000000-0000-4000-8000-000000000000"
SPEC = load_spec(API)
LIFECYCLE = SPEC.document["x-lifecycle"]


def serve(mode: str) -> AbstractContextManager[Served]:
    return serve_mock(API, mode, TOKEN, AUTH)


@pytest.fixture(params=MODES)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serve(request.param) as session:
        yield session


@pytest.fixture
def strict() -> Iterator[Served]:
    with serve("strict") as session:
        yield session


def timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def no_error(mode: str) -> dict[str, Any] | None:
    """What a run or step without an error carries: the page's {} (faithful) or the contract's null."""
    return {} if mode == "faithful" else None


def allowed(before: str, after: str) -> bool:
    return after in LIFECYCLE["transitions"][before]


def assert_validation_error(response: httpx.Response, loc: list[str]) -> None:
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert {"loc", "msg", "type"} == set(detail[0])
    assert detail[0]["loc"] == loc


# -- spec and catalogue ----------------------------------------------------------------------
def test_spec_declares_the_six_operations_and_a_complete_lifecycle_plan() -> None:
    assert set(SPEC.operations) == {
        "listAutomationRuns",
        "getAutomationRun",
        "cancelAutomationRun",
        "streamAutomationRunEvents",
        "retryAutomationRun",
        "getAutomationRunSteps",
    }
    assert SPEC.base_path == "/api/v1"
    assert {"start", "poll", "cancel"} <= set(LIFECYCLE)
    # the run's timestamps are described where its schema is, and judged on every answer
    assert set(SPEC.document["components"]["schemas"]["AutomationRun"]["x-timing"]) >= {
        "started",
        "finished",
        "duration",
        "unit",
    }
    for state in LIFECYCLE["terminal"]:
        assert LIFECYCLE["transitions"][state] == []


def test_catalogue_loads_with_runtime_kinds_for_every_reproduced_entry() -> None:
    catalogue = load_catalogue(API)
    assert [quirk.id for quirk in catalogue.quirks] == [f"AR-{n:03d}" for n in range(1, 20)]
    reproduced = [quirk for quirk in catalogue.quirks if quirk.reproduced]
    # AR-015 (the events answered as application/json null) is no deviation any more: the spec
    # accepts what the page documents, so the entry lives in the documents only.
    assert {quirk.id for quirk in reproduced} == {"AR-009", "AR-010"}
    assert all(kind_of(quirk.kind).observable for quirk in reproduced)


def run_body(**changes: Any) -> bytes:
    """A run as the strict mock renders the page's example run, with ``changes`` applied."""
    run = {
        "automationId": "a",
        "automationVersionId": "v",
        "completedAt": None,
        "concurrencyKey": None,
        "createdAt": "2019-08-24T14:15:22Z",
        "durationSeconds": None,
        "error": None,
        "externalJobId": None,
        "id": PENDING_RUN_ID,
        "orchestratorType": "local",
        "startedAt": None,
        "status": "pending",
        "tenantId": "t",
        "triggerSourceId": None,
        "triggerSourceType": "user",
        "triggerType": "manual",
        "updatedAt": "2019-08-24T14:15:22Z",
        "versionNumber": 0,
    }
    for name, value in changes.items():
        if value is None:
            run.pop(name)
        else:
            run[name] = value
    return json.dumps(run).encode()


def judged(status: int, body: bytes, media_type: str = "application/json") -> list[tuple[str, str, bool]]:
    """(kind, location, assumed?) of each deviation of a getAutomationRun answer."""
    return serving.judged(API, "getAutomationRun", status, body, media_type)


def test_what_the_page_leaves_open_is_an_assumption_and_what_it_shows_is_not() -> None:
    assert judged(200, run_body()) == []
    # statuses, required members, the run status set and the uuid format: no document states them
    assert judged(403, b'{"detail": "Forbidden"}') == [("undocumented-status", "status", True)]
    assert judged(200, run_body(status="queued")) == [("unknown-enum-value", "/status", True)]
    assert judged(200, run_body(tenantId=None)) == [("missing-field", "/tenantId", True)]
    assert judged(200, run_body(id="run-1")) == [("constraint-violation", "/id", True)]
    assert judged(404, b'{"detail": {"reason": "gone"}}') == [("type-mismatch", "/detail", True)]
    # types and formats the page's example shows, and its validation error, are the contract
    assert judged(200, run_body(versionNumber="3")) == [("type-mismatch", "/versionNumber", False)]
    assert judged(200, run_body(createdAt="yesterday")) == [("invalid-timestamp", "/createdAt", False)]
    assert judged(422, b'{"detail": [{"loc": ["path"], "msg": "x"}]}') == [
        ("missing-field", "/detail/*/type", False)
    ]
    # open objects: an undeclared member is additive drift, never an error in itself
    assert judged(200, run_body(traceId="t-1")) == [("extra-field", "/traceId", False)]
    # FastAPI/pydantic v2 validation errors carry input, ctx and url besides loc, msg and type
    pydantic = {"loc": ["query", "limit"], "msg": "m", "type": "less_than_equal", "input": "2000"}
    pydantic |= {"ctx": {"le": 1000}, "url": "https://errors.pydantic.dev/2/v/less_than_equal"}
    assert judged(422, json.dumps({"detail": [pydantic]}).encode()) == []


def test_stream_run_events_accepts_the_documented_json_and_an_event_stream() -> None:
    operation = SPEC.operations["streamAutomationRunEvents"]
    for media_type, body in [("application/json", b"null"), ("text/event-stream", b"event: status\n\n")]:
        assert check_response(SPEC, operation, 200, {"content-type": media_type}, body) == []


# -- happy paths ---------------------------------------------------------------------------
def test_list_returns_every_seeded_run_newest_first(served: Served) -> None:
    body = served.client.get("/automation-runs").json()
    assert body["total"] == 5
    assert [run["id"] for run in body["items"]] == [
        CANCELLED_RUN_ID,
        COMPLETED_RUN_ID,
        FAILED_RUN_ID,
        RUNNING_RUN_ID,
        PENDING_RUN_ID,
    ]


def test_list_filters_by_status_and_pages_with_limit_and_offset(served: Served) -> None:
    failed = served.client.get("/automation-runs", params={"status": "failed"}).json()
    assert failed["total"] == 1
    assert [run["id"] for run in failed["items"]] == [FAILED_RUN_ID]
    page = served.client.get("/automation-runs", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [run["id"] for run in page["items"]] == [COMPLETED_RUN_ID, FAILED_RUN_ID]


def test_get_run_returns_the_documented_example_run_as_pending(served: Served) -> None:
    response = served.client.get(f"/automation-runs/{PENDING_RUN_ID}")
    assert response.status_code == 200
    run = response.json()
    assert run["id"] == PENDING_RUN_ID
    assert run["status"] == "pending"
    assert run["createdAt"] == "2019-08-24T14:15:22.000Z"
    assert (run["startedAt"], run["completedAt"], run["durationSeconds"]) == (None, None, None)
    assert run["error"] == no_error(served.mode)


def test_get_run_of_a_failed_run_describes_the_failure(served: Served) -> None:
    run = served.client.get(f"/automation-runs/{FAILED_RUN_ID}").json()
    assert run["status"] == "failed"
    assert run["error"]["stepKey"] == "extract-totals"
    assert run["durationSeconds"] == pytest.approx(
        (timestamp(run["completedAt"]) - timestamp(run["startedAt"])).total_seconds()
    )


def test_steps_of_a_failed_run_are_counted_by_status(served: Served) -> None:
    body = served.client.get(f"/automation-runs/{FAILED_RUN_ID}/steps").json()
    assert body["automationRunId"] == FAILED_RUN_ID
    assert [step["status"] for step in body["steps"]] == ["completed", "failed", "pending"]
    counts = (body["completedCount"], body["failedCount"], body["pendingCount"], body["runningCount"])
    assert counts == (1, 1, 1, 0)
    completed, failed, pending = body["steps"]
    assert completed["result"] == {"invoices": 12}
    assert completed["error"] == no_error(served.mode)
    assert failed["error"]["type"] == "StepFailed"
    assert failed["result"] is None
    assert (pending["startedAt"], pending["actionRunId"], pending["result"]) == (None, None, None)
    assert failed["dependsOn"] == ["fetch-invoices"]


def test_steps_of_a_running_run_show_the_step_in_progress(served: Served) -> None:
    body = served.client.get(f"/automation-runs/{RUNNING_RUN_ID}/steps").json()
    assert [step["status"] for step in body["steps"]] == ["running", "pending", "pending"]
    assert body["runningCount"] == 1
    assert body["steps"][0]["completedAt"] is None


def parse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append(fields)
    return events


def test_strict_events_are_a_text_event_stream_of_status_changes(strict: Served) -> None:
    response = strict.client.get(f"/automation-runs/{FAILED_RUN_ID}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    assert [event["id"] for event in events] == ["1", "2", "3"]
    assert {event["event"] for event in events} == {"status"}
    data = [json.loads(event["data"]) for event in events]
    assert [item["status"] for item in data] == ["pending", "running", "failed"]
    assert {item["runId"] for item in data} == {FAILED_RUN_ID}
    run = strict.client.get(f"/automation-runs/{FAILED_RUN_ID}").json()
    assert [item["at"] for item in data] == [run["createdAt"], run["startedAt"], run["completedAt"]]


def test_faithful_events_answer_the_documented_json_null() -> None:
    with serve("faithful") as faithful:
        response = faithful.client.get(f"/automation-runs/{FAILED_RUN_ID}/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() is None


# -- lifecycle -----------------------------------------------------------------------------
def retry(served: Served, run_id: str = FAILED_RUN_ID, **body: Any) -> dict[str, Any]:
    response = served.client.post(f"/automation-runs/{run_id}/retry", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def poll_to_terminal(served: Served, run_id: str, limit: int = 10) -> list[str]:
    seen: list[str] = []
    for _ in range(limit):
        state = served.client.get(f"/automation-runs/{run_id}").json()["status"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in LIFECYCLE["terminal"]:
            return seen
    raise AssertionError(f"run {run_id} still {seen[-1]} after {limit} polls")


def test_retry_starts_a_new_pending_run_and_leaves_the_original_failed(served: Served) -> None:
    new = retry(served, mode="full")
    assert new["id"] != FAILED_RUN_ID
    assert new["status"] == "pending"
    assert (new["startedAt"], new["completedAt"]) == (None, None)
    original = served.client.get(f"/automation-runs/{FAILED_RUN_ID}")
    assert original.json()["status"] == "failed"
    assert served.client.get("/automation-runs").json()["total"] == 6


def test_a_retried_run_walks_pending_running_completed_one_state_per_poll(served: Served) -> None:
    run_id = retry(served)["id"]
    assert poll_to_terminal(served, run_id) == ["pending", "running", "completed"]
    run = served.client.get(f"/automation-runs/{run_id}").json()
    started, finished = timestamp(run["startedAt"]), timestamp(run["completedAt"])
    assert finished >= started
    assert run["durationSeconds"] == pytest.approx((finished - started).total_seconds(), abs=0.002)


def test_the_clock_drives_a_run_to_its_end_without_polling(served: Served) -> None:
    run_id = retry(served)["id"]
    served.clock.advance(5)
    run = served.client.get(f"/automation-runs/{run_id}").json()
    assert run["status"] == "completed"
    steps = served.client.get(f"/automation-runs/{run_id}/steps").json()
    assert steps["completedCount"] == 3


def test_cancel_a_pending_run(served: Served) -> None:
    response = served.client.post(f"/automation-runs/{PENDING_RUN_ID}/cancel")
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "cancelled"
    assert allowed("pending", "cancelled")
    assert timestamp(run["completedAt"]) >= timestamp(run["startedAt"])
    assert served.client.get(f"/automation-runs/{PENDING_RUN_ID}").json()["status"] == "cancelled"
    steps = served.client.get(f"/automation-runs/{PENDING_RUN_ID}/steps").json()
    assert steps["pendingCount"] == 3


def test_cancel_a_running_run_fails_the_step_in_progress(served: Served) -> None:
    run = served.client.post(f"/automation-runs/{RUNNING_RUN_ID}/cancel").json()
    assert run["status"] == "cancelled"
    assert allowed("running", "cancelled")
    steps = served.client.get(f"/automation-runs/{RUNNING_RUN_ID}/steps").json()
    assert [step["status"] for step in steps["steps"]] == ["failed", "pending", "pending"]
    assert steps["steps"][0]["error"]["type"] == "Cancelled"


def test_a_cancelled_retry_stays_cancelled(served: Served) -> None:
    run_id = retry(served)["id"]
    assert served.client.post(f"/automation-runs/{run_id}/cancel").json()["status"] == "cancelled"
    served.clock.advance(60)
    assert poll_to_terminal(served, run_id) == ["cancelled"]


@pytest.mark.parametrize("run_id", [COMPLETED_RUN_ID, FAILED_RUN_ID, CANCELLED_RUN_ID])
def test_cancel_of_a_finished_run_is_a_conflict(served: Served, run_id: str) -> None:
    before = served.client.get(f"/automation-runs/{run_id}").json()["status"]
    response = served.client.post(f"/automation-runs/{run_id}/cancel")
    assert response.status_code == 409
    assert before in response.json()["detail"]
    assert served.client.get(f"/automation-runs/{run_id}").json()["status"] == before


@pytest.mark.parametrize("run_id", [PENDING_RUN_ID, RUNNING_RUN_ID, COMPLETED_RUN_ID])
def test_retry_of_a_run_that_neither_failed_nor_was_cancelled_is_a_conflict(
    served: Served, run_id: str
) -> None:
    response = served.client.post(f"/automation-runs/{run_id}/retry", json={})
    assert response.status_code == 409
    assert isinstance(response.json()["detail"], str)
    assert served.client.get("/automation-runs").json()["total"] == 5


def reused_keys(served: Served, original_id: str, new_id: str) -> list[str]:
    """Keys of the new run's steps carried over unchanged from the original run."""
    served.clock.advance(5)
    before = served.client.get(f"/automation-runs/{original_id}/steps").json()["steps"]
    after = served.client.get(f"/automation-runs/{new_id}/steps").json()["steps"]
    return [old["key"] for old, new in zip(before, after, strict=True) if old == new]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["fetch-invoices"]),
        ({"mode": "from_failed"}, ["fetch-invoices"]),
        ({"mode": "from_step", "stepKey": "extract-totals"}, ["fetch-invoices"]),
        ({"mode": "from_step", "stepKey": "fetch-invoices"}, []),
        ({"mode": "full"}, []),
    ],
)
def test_retry_modes_reuse_the_completed_steps_before_the_restart_point(
    served: Served, body: dict[str, Any], expected: list[str]
) -> None:
    new_id = retry(served, FAILED_RUN_ID, **body)["id"]
    assert reused_keys(served, FAILED_RUN_ID, new_id) == expected


def test_retry_without_a_body_defaults_to_from_failed(served: Served) -> None:
    response = served.client.post(f"/automation-runs/{FAILED_RUN_ID}/retry")
    assert response.status_code == 200
    assert reused_keys(served, FAILED_RUN_ID, response.json()["id"]) == ["fetch-invoices"]


def test_a_cancelled_run_can_be_retried_to_completion(served: Served) -> None:
    run_id = retry(served, CANCELLED_RUN_ID)["id"]
    assert poll_to_terminal(served, run_id)[-1] == "completed"


def test_the_x_lifecycle_plan_drives_runs_to_their_end_and_to_cancellation(served: Served) -> None:
    """The runner's own driver follows the spec's plan; polling without sleeping advances the run."""
    driver = LifecycleDriver(get_api(API), SPEC, served.base_url, TOKEN, served.client)
    for plan in ("complete", "cancel"):
        items = list(driver.start())
        run_id = items[-1]
        assert isinstance(run_id, str), items
        if plan == "cancel":
            _, response, _ = driver.call(LIFECYCLE["cancel"], run_id)
            assert response is not None and response.status_code == 200
        seen: list[str] = []
        last: httpx.Response | None = None
        for _ in range(10):
            operation, last, _ = driver.call(LIFECYCLE["poll"], run_id)
            assert last is not None
            state = pointer_get(last.json(), LIFECYCLE["poll"]["state"])
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in LIFECYCLE["terminal"]:
                break
        assert seen[-1] == ("completed" if plan == "complete" else "cancelled")
        assert last is not None
        assert driver.judge_transitions(operation, seen) == []
        _, _, (_, deviations, _) = driver.call(LIFECYCLE["poll"], run_id)
        assert [d for d in deviations if d.kind in ("timestamp-order", "duration-mismatch")] == []


# -- auth ----------------------------------------------------------------------------------
AUTH_FAILURES = {
    "missing": {},
    "wrong api key": {"headers": {"X-API-Key": "wrong"}},
    "wrong bearer": {"headers": {"authorization": "Bearer wrong"}},
    "token without Bearer": {"headers": {"authorization": TOKEN}},
    "basic scheme": {"headers": {"authorization": f"Basic {TOKEN}"}},
    "wrong cookie": {"cookies": {"vai_token": "wrong"}},
}


@pytest.mark.parametrize("credentials", AUTH_FAILURES.values(), ids=AUTH_FAILURES.keys())
def test_requests_without_a_valid_credential_get_401_not_authenticated(
    served: Served, credentials: dict[str, dict[str, str]]
) -> None:
    with loopback.Client(base_url=served.base_url, **credentials) as anonymous:
        for method, path in [
            ("GET", "/automation-runs"),
            ("GET", f"/automation-runs/{PENDING_RUN_ID}"),
            ("POST", f"/automation-runs/{PENDING_RUN_ID}/cancel"),
            ("POST", f"/automation-runs/{FAILED_RUN_ID}/retry"),
        ]:
            response = anonymous.request(method, path)
            assert response.status_code == 401
            assert response.json() == {"detail": "Not authenticated"}
            assert response.headers["www-authenticate"] == "Bearer"
    assert served.client.get(f"/automation-runs/{PENDING_RUN_ID}").json()["status"] == "pending"


AUTH_SUCCESSES = {
    "api key": {"headers": {"X-API-Key": TOKEN}},
    "bearer": {"headers": {"authorization": f"Bearer {TOKEN}"}},
    "cookie": {"cookies": {"vai_token": TOKEN}},
    "one valid among wrong ones": {"headers": {"X-API-Key": "wrong", "authorization": f"Bearer {TOKEN}"}},
}


@pytest.mark.parametrize("credentials", AUTH_SUCCESSES.values(), ids=AUTH_SUCCESSES.keys())
def test_any_one_of_the_three_credentials_is_accepted(
    served: Served, credentials: dict[str, dict[str, str]]
) -> None:
    with loopback.Client(base_url=served.base_url, **credentials) as client:
        assert client.get("/automation-runs").status_code == 200


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", "/cancel"), ("GET", "/events"), ("POST", "/retry"), ("GET", "/steps")],
)
def test_an_unknown_run_is_404_and_a_malformed_id_is_422(served: Served, method: str, suffix: str) -> None:
    missing = served.client.request(method, f"/automation-runs/{UNKNOWN_RUN_ID}{suffix}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Automation run not found"}
    malformed = served.client.request(method, f"/automation-runs/not-a-uuid{suffix}")
    assert_validation_error(malformed, ["path", "run_id"])


def test_retry_from_a_step_the_run_does_not_have_is_404(served: Served) -> None:
    response = served.client.post(
        f"/automation-runs/{FAILED_RUN_ID}/retry", json={"mode": "from_step", "stepKey": "no-such-step"}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Step no-such-step not found in this automation run"}
    assert served.client.get("/automation-runs").json()["total"] == 5


def test_run_ids_are_matched_case_insensitively_like_uuids(served: Served) -> None:
    response = served.client.get(f"/automation-runs/{PENDING_RUN_ID.upper()}")
    assert response.status_code == 200
    assert response.json()["id"] == PENDING_RUN_ID


@pytest.mark.parametrize("limit", [0, -5])
def test_a_limit_below_one_is_accepted_and_answers_an_empty_page(served: Served, limit: int) -> None:
    """The page bounds limit only above (value <= 1000, AR-019), so the spec does too."""
    response = served.client.get("/automation-runs", params={"limit": limit})
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 5}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "Pending"}, "status"),
        ({"status": "done"}, "status"),
    ],
)
def test_invalid_list_parameters_are_422(served: Served, params: dict[str, Any], name: str) -> None:
    assert_validation_error(served.client.get("/automation-runs", params=params), ["query", name])


def test_malformed_json_in_a_retry_is_422_json_invalid(served: Served) -> None:
    response = served.client.post(
        f"/automation-runs/{FAILED_RUN_ID}/retry",
        content=b'{"mode": "full"',
        headers={"Content-Type": "application/json"},
    )
    assert_validation_error(response, ["body"])
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"mode": 5}, ["body", "mode"]),
        ({"mode": "partial"}, ["body", "mode"]),
        ({"mode": "full", "stepKey": 7}, ["body", "stepKey"]),
        ({"mode": "from_step"}, ["body", "stepKey"]),
        (["full"], ["body"]),
    ],
)
def test_invalid_retry_bodies_are_422_and_start_nothing(served: Served, body: Any, loc: list[str]) -> None:
    response = served.client.post(f"/automation-runs/{FAILED_RUN_ID}/retry", json=body)
    assert_validation_error(response, loc)
    assert served.client.get("/automation-runs").json()["total"] == 5


def test_unknown_members_of_a_retry_body_are_ignored_as_pydantic_does(served: Served) -> None:
    new = retry(served, FAILED_RUN_ID, mode="full", restartAll=True)
    assert new["status"] == "pending"
    assert reused_keys(served, FAILED_RUN_ID, new["id"]) == []


def test_a_retry_body_fastapi_cannot_read_is_400(served: Served) -> None:
    response = served.client.post(
        f"/automation-runs/{FAILED_RUN_ID}/retry",
        content=b'{"mode": "\xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}
    assert served.client.get("/automation-runs").json()["total"] == 5


# -- conformance (judged in test_mocks_conform.py) ------------------------------------------
#: Documented (operation, status) pairs the exercise below cannot provoke.
UNANSWERED: frozenset[tuple[str, int]] = frozenset()


def exercise_every_operation(served: Served) -> list[tuple[str, httpx.Response]]:
    """Every operation's success and documented error answers, as (operationId, response)."""
    client = served.client
    new_run = retry(served)["id"]
    calls: list[tuple[str, str, str, dict[str, Any]]] = [
        ("listAutomationRuns", "GET", "/automation-runs", {}),
        ("listAutomationRuns", "GET", "/automation-runs", {"params": {"status": "failed", "limit": 1}}),
        ("listAutomationRuns", "GET", "/automation-runs", {"params": {"limit": 1001}}),
        ("retryAutomationRun", "POST", f"/automation-runs/{FAILED_RUN_ID}/retry", {"json": {}}),
        ("retryAutomationRun", "POST", f"/automation-runs/{COMPLETED_RUN_ID}/retry", {"json": {}}),
        ("retryAutomationRun", "POST", f"/automation-runs/{FAILED_RUN_ID}/retry", {"content": b"{"}),
        ("retryAutomationRun", "POST", f"/automation-runs/{FAILED_RUN_ID}/retry", {"content": b"\xff"}),
        ("cancelAutomationRun", "POST", f"/automation-runs/{RUNNING_RUN_ID}/cancel", {}),
        ("cancelAutomationRun", "POST", f"/automation-runs/{COMPLETED_RUN_ID}/cancel", {}),
    ]
    for run_id in (PENDING_RUN_ID, RUNNING_RUN_ID, FAILED_RUN_ID, COMPLETED_RUN_ID, new_run):
        calls += [
            ("getAutomationRun", "GET", f"/automation-runs/{run_id}", {}),
            ("getAutomationRunSteps", "GET", f"/automation-runs/{run_id}/steps", {}),
            ("streamAutomationRunEvents", "GET", f"/automation-runs/{run_id}/events", {}),
        ]
    for operation in SPEC.operations.values():
        path = operation.path.replace("{run_id}", PENDING_RUN_ID)
        calls.append((operation.id, operation.method.upper(), path, {"headers": {"X-API-Key": "wrong"}}))
        if "{run_id}" in operation.path:
            for run_id in (UNKNOWN_RUN_ID, "not-a-uuid"):
                calls.append(
                    (operation.id, operation.method.upper(), operation.path.replace("{run_id}", run_id), {})
                )
    return [
        (operation_id, client.request(method, path, **extra)) for operation_id, method, path, extra in calls
    ]
