"""The Robocorp process-run mock over real HTTP: operations, lifecycle, auth, bad input, conformance."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import httpx
import pytest

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.engine.lifecycle import run_lifecycle
from conformance.judge.behaviour import parse_timestamp
from conformance.kinds import kind_of
from conformance.mocks import Mode
from conformance.vendors.registry import get_api

from .. import loopback
from . import serving

API = "robocorp"
TOKEN = "conformance-demo"
AUTH = {"Authorization": f"RC-WSKEY {TOKEN}"}
WS = "/workspaces/workspace_id_example"
RUN = "process_run_id_example"  # completed, started by api, one output
USER_RUN = "process_run_id_example_user"  # completed, started by a user
UNRESOLVED_RUN = "process_run_id_example_unresolved"  # unresolved, started by schedule
START = f"{WS}/processes/process_id_example/process-runs"
START_QS = f"{WS}/processes/process_id_example/process-runs-integrations"
STOP_AS_UNRESOLVED = {"set_remaining_work_items_as_done": False, "terminate_ongoing_activity_runs": True}
STOP_AS_COMPLETED = {"set_remaining_work_items_as_done": True, "terminate_ongoing_activity_runs": False}
MAX_POLLS = 10


class Served(serving.Served):
    def start(self, body: Any = None) -> str:
        response = self.client.post(START, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["started"] is True
        return response.json()["id"]

    def get(self, run_id: str) -> dict[str, Any]:
        response = self.client.get(f"{WS}/process-runs/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def poll_to_terminal(self, run_id: str) -> tuple[list[str], dict[str, Any]]:
        """States seen (consecutive duplicates merged) and the final resource."""
        seen: list[str] = []
        for _ in range(MAX_POLLS):
            run = self.get(run_id)
            if not seen or seen[-1] != run["state"]:
                seen.append(run["state"])
            if run["state"] in ("completed", "unresolved"):
                return seen, run
        raise AssertionError(f"run {run_id} did not finish within {MAX_POLLS} polls: {seen}")


@contextmanager
def serve(mode: Mode) -> Iterator[Served]:
    with serving.serve(API, mode, TOKEN, AUTH, Served, timeout=10) as served:
        yield served


@pytest.fixture(params=list(Mode), ids=str)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serve(request.param) as served:
        yield served


@pytest.fixture
def faithful() -> Iterator[Served]:
    with serve(Mode.FAITHFUL) as served:
        yield served


@pytest.fixture
def strict() -> Iterator[Served]:
    with serve(Mode.STRICT) as served:
        yield served


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def allowed(before: str, after: str) -> bool:
    transitions = load_spec(API).document["x-lifecycle"]["transitions"]
    return after in transitions[before]


# -- artefacts ----------------------------------------------------------------------------
def test_spec_loads_with_the_seven_operations_and_a_runnable_lifecycle() -> None:
    spec = load_spec(API)
    assert spec.base_path == "/api/v1"
    assert set(spec.operations) == {
        "listProcessRuns",
        "startProcessRun",
        "startProcessRunQsAuth",
        "getProcessRun",
        "deleteProcessRun",
        "stopProcessRun",
        "listProcessRunOutputs",
    }
    plan = spec.document["x-lifecycle"]
    for step in ("start", "poll", "cancel"):
        assert plan[step]["operation"] in spec.operations
    assert spec.operations["startProcessRunQsAuth"].definition["security"] == []


def test_every_operation_records_the_permission_the_vendor_document_requires() -> None:
    permissions = {op.id: op.definition["x-permissions"] for op in load_spec(API).operations.values()}
    assert permissions == {
        "listProcessRuns": ["Processes.read_runs"],
        "startProcessRun": ["Processes.trigger_processes"],
        "startProcessRunQsAuth": ["Processes.trigger_processes"],
        "getProcessRun": ["Processes.read_processes"],
        "deleteProcessRun": ["Processes.read_runs"],  # a read permission for a delete (RC-016)
        "stopProcessRun": ["Processes.trigger_processes"],
        "listProcessRunOutputs": ["Processes.read_work_items"],
    }


def judged(operation_id: str, status: int, body: Any) -> list[tuple[str, str, bool]]:
    return serving.judged(API, operation_id, status, body)


OUTPUT = {
    "id": "output-1",
    "created_at": "2024-05-02T09:01:02.500Z",
    "process": {"id": "process_id_example"},
    "process_run": {"id": RUN},
    "payload": None,
    "files": [{"id": "file-1", "size": 2048, "name": "invoice.pdf"}],
}


def outputs(**changes: Any) -> dict[str, Any]:
    return {"next": None, "has_more": False, "data": [{**OUTPUT, **changes}]}


def test_objects_are_open_and_only_the_vendor_documents_requirements_are_required() -> None:
    assert judged("listProcessRunOutputs", 200, outputs()) == []
    # an output's process requires only its id; members the vendor does not declare are additive
    named = {"id": "process_id_example", "name": "Process example"}
    assert judged("listProcessRunOutputs", 200, outputs(process=named)) == [
        ("extra-field", "/data/*/process/name", False)
    ]
    assert judged("listProcessRunOutputs", 200, outputs(process={})) == [
        ("missing-field", "/data/*/process/id", False)
    ]
    # a work-item file requires id, size and name
    assert judged("listProcessRunOutputs", 200, outputs(files=[{"id": "f", "name": "a.pdf"}])) == [
        ("missing-field", "/data/*/files/*/size", False)
    ]
    error = {"error": {"code": "forbidden", "message": "no", "request_id": "r-1"}}
    assert judged("getProcessRun", 403, error) == [("extra-field", "/error/request_id", False)]
    # the 400 of a list operation is this suite's assumption (RC-014): its shape is not drift
    assert judged("listProcessRuns", 400, {"message": "bad state"}) == [
        ("extra-field", "/message", True),
        ("missing-field", "/error", True),
    ]


def test_catalogue_loads_with_cited_entries() -> None:
    catalogue = load_catalogue(API)
    assert [quirk.id for quirk in catalogue.quirks] == [f"RC-{n:03d}" for n in range(1, 21)]
    assert all(quirk.citations for quirk in catalogue.quirks)
    # Robocorp's responses match their schemas: every entry lives in the documents only.
    assert [quirk.id for quirk in catalogue.quirks if kind_of(quirk.kind).observable] == []
    assert not any(quirk.reproduced for quirk in catalogue.quirks)


# -- happy paths --------------------------------------------------------------------------
def test_list_returns_seeded_runs_newest_first(served: Served) -> None:
    response = served.client.get(f"{WS}/process-runs")
    assert response.status_code == 200
    body = response.json()
    assert [run["id"] for run in body["data"]] == [UNRESOLVED_RUN, USER_RUN, RUN]
    assert body["has_more"] is False and body["next"] is None
    assert "access-control-allow-origin" not in response.headers


def test_list_filters_by_state_and_process(served: Served) -> None:
    completed = served.client.get(f"{WS}/process-runs", params={"state": "completed"}).json()
    assert [run["id"] for run in completed["data"]] == [USER_RUN, RUN]
    other = served.client.get(f"{WS}/process-runs", params={"process_id": "another_process"}).json()
    assert other["data"] == []


def test_list_pages_follow_next_and_truncate_a_fractional_limit(served: Served) -> None:
    first = served.client.get(f"{WS}/process-runs", params={"limit": 2.7}).json()
    assert [run["id"] for run in first["data"]] == [UNRESOLVED_RUN, USER_RUN]
    assert first["has_more"] is True
    second = served.client.get(first["next"]).json()
    assert [run["id"] for run in second["data"]] == [RUN]
    assert second["has_more"] is False and second["next"] is None


def test_get_returns_the_seeded_example_run(served: Served) -> None:
    run = served.get(RUN)
    assert run["state"] == "completed"
    assert run["process"] == {"id": "process_id_example", "name": "Process example"}
    assert run["started_by"] == {"type": "api", "details": None}
    started, ended = parse_timestamp(run["started_at"]), parse_timestamp(run["ended_at"])
    assert started is not None and ended is not None
    assert run["duration"] == pytest.approx((ended - started).total_seconds())
    user = served.get(USER_RUN)["started_by"]
    assert user["type"] == "user" and set(user["details"]) == {"id", "first_name", "last_name"}


def test_outputs_of_the_example_run(served: Served) -> None:
    response = served.client.get(f"{WS}/process-runs/{RUN}/outputs")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    outputs = response.json()["data"]
    assert [output["payload"] for output in outputs] == [{"invoice_id": "INV-1001"}]
    assert outputs[0]["process"] == {"id": "process_id_example"}  # the vendor's reference: id only
    assert outputs[0]["process_run"] == {"id": RUN} and outputs[0]["files"] == []
    unresolved = served.client.get(f"{WS}/process-runs/{UNRESOLVED_RUN}/outputs").json()
    assert unresolved["data"] == []


def test_start_answers_with_the_id_and_the_cors_header(served: Served) -> None:
    response = served.client.post(START)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    run = served.get(response.json()["id"])
    assert run["state"] == "new" and run["started_at"] is None and run["duration"] is None


def test_start_accepts_a_null_body_as_no_work_items(served: Served) -> None:
    response = served.client.post(START, content=b"null", headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["started"] is True
    served.poll_to_terminal(response.json()["id"])
    outputs = served.client.get(f"{WS}/process-runs/{response.json()['id']}/outputs").json()["data"]
    assert [output["payload"] for output in outputs] == [None]


def test_start_accepts_members_the_vendor_does_not_declare(served: Served) -> None:
    run_id = served.start({"type": "with_payloads", "payloads": [1], "priority": "high"})
    served.poll_to_terminal(run_id)
    assert [
        o["payload"] for o in served.client.get(f"{WS}/process-runs/{run_id}/outputs").json()["data"]
    ] == [1]


def test_start_with_payloads_gives_one_output_per_payload(served: Served) -> None:
    payloads = [{"invoice_id": "INV-1"}, [1, 2], None]
    run_id = served.start({"type": "with_payloads", "payloads": payloads})
    served.poll_to_terminal(run_id)
    outputs = served.client.get(f"{WS}/process-runs/{run_id}/outputs").json()["data"]
    assert [output["payload"] for output in outputs] == payloads


def test_start_with_inputs_takes_the_queue_then_finds_it_empty(served: Served) -> None:
    run_id = served.start({"type": "with_inputs"})
    served.poll_to_terminal(run_id)
    outputs = served.client.get(f"{WS}/process-runs/{run_id}/outputs").json()["data"]
    assert [output["payload"] for output in outputs] == [{"invoice_id": "INV-1003"}]
    again = served.client.post(START, json={"type": "with_inputs"})
    assert again.status_code == 200 and again.json() == {"started": False}


def test_start_with_work_item_ids_and_a_callback(served: Served) -> None:
    callback = {"url": "https://hooks.example.com/rc", "secret": "s3cret", "callback_events": ["completed"]}
    run_id = served.start({"type": "with_work_item_ids", "work_item_ids": ["a", "b"], "callback": callback})
    served.poll_to_terminal(run_id)
    assert len(served.client.get(f"{WS}/process-runs/{run_id}/outputs").json()["data"]) == 2


def test_integrations_start_takes_the_token_and_the_whole_body(served: Served) -> None:
    payload = {"event": "task_completed", "task_id": "1200000000000000"}
    response = loopback.post(served.base_url + START_QS, params={"token": TOKEN}, json=payload)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    run_id = response.json()["id"]
    served.poll_to_terminal(run_id)
    outputs = served.client.get(f"{WS}/process-runs/{run_id}/outputs").json()["data"]
    assert [output["payload"] for output in outputs] == [payload]


def test_integrations_start_echoes_the_asana_handshake(served: Served) -> None:
    response = loopback.post(
        served.base_url + START_QS,
        params={"token": TOKEN, "with_handshake": "asana"},
        headers={"X-Hook-Secret": "b537207f20cbfa02357cf448134da559"},
        json={},
    )
    assert response.status_code == 200
    assert response.headers["x-hook-secret"] == "b537207f20cbfa02357cf448134da559"


# -- lifecycle ----------------------------------------------------------------------------
def test_started_run_walks_new_in_progress_completed(served: Served) -> None:
    run_id = served.start()
    seen, run = served.poll_to_terminal(run_id)
    path = ["new", "in_progress", "completed"]
    assert len(seen) > 1 and seen == path[path.index(seen[0]) :]  # a slow machine may skip "new"
    assert all(allowed(before, after) for before, after in pairwise(seen))
    started, ended = parse_timestamp(run["started_at"]), parse_timestamp(run["ended_at"])
    assert started is not None and ended is not None and ended >= started
    assert run["duration"] == pytest.approx((ended - started).total_seconds(), abs=0.002)


def test_advancing_the_clock_finishes_a_run_without_polling(served: Served) -> None:
    run_id = served.start()
    served.clock.advance(30)
    assert served.get(run_id)["state"] == "completed"


@pytest.mark.parametrize(
    ("stop_body", "final"), [(STOP_AS_UNRESOLVED, "unresolved"), (STOP_AS_COMPLETED, "completed")]
)
def test_stop_goes_through_stopping(served: Served, stop_body: dict[str, bool], final: str) -> None:
    run_id = served.start()
    stopped = served.client.post(f"{WS}/process-runs/{run_id}/stop", json={**stop_body, "reason": "test"})
    assert stopped.status_code == 200 and stopped.json() == {"accepted": True}
    assert "access-control-allow-origin" not in stopped.headers
    again = served.client.post(f"{WS}/process-runs/{run_id}/stop", json=stop_body)
    assert again.status_code == 200 and again.json() == {"accepted": False}
    seen, _ = served.poll_to_terminal(run_id)
    assert seen[-1] == final and set(seen) <= {"stopping", final}
    assert all(allowed(before, after) for before, after in pairwise(seen))


def test_stopping_a_finished_run_is_a_bad_request(served: Served) -> None:
    response = served.client.post(f"{WS}/process-runs/{RUN}/stop", json=STOP_AS_UNRESOLVED)
    assert "completed" in assert_error(response, 400, "bad_request")["message"]


def test_delete_a_finished_run(served: Served) -> None:
    response = served.client.delete(f"{WS}/process-runs/{UNRESOLVED_RUN}")
    assert response.status_code == 200
    assert response.json() == {"id": UNRESOLVED_RUN, "deleted": True}
    assert response.headers["access-control-allow-origin"] == "*"
    assert_error(served.client.get(f"{WS}/process-runs/{UNRESOLVED_RUN}"), 404, "not_found")
    assert_error(served.client.delete(f"{WS}/process-runs/{UNRESOLVED_RUN}"), 404, "not_found")


def test_deleting_an_unfinished_run_is_a_conflict(served: Served) -> None:
    run_id = served.start()
    assert_error(served.client.delete(f"{WS}/process-runs/{run_id}"), 409, "conflict")
    served.poll_to_terminal(run_id)
    assert served.client.delete(f"{WS}/process-runs/{run_id}").status_code == 200


def test_the_lifecycle_runner_finds_nothing_to_report(served: Served) -> None:
    steps = list(run_lifecycle(get_api(API), load_spec(API), served.base_url, TOKEN))
    assert [operation.id for operation, _, _ in steps][:2] == ["startProcessRun", "getProcessRun"]
    assert "stopProcessRun" in [operation.id for operation, _, _ in steps]
    assert [deviation for _, deviations, _ in steps for deviation in deviations] == []


# -- auth ---------------------------------------------------------------------------------
HEADER_AUTH_CALLS = [
    ("GET", f"{WS}/process-runs", None),
    ("POST", START, None),
    ("GET", f"{WS}/process-runs/{RUN}", None),
    ("DELETE", f"{WS}/process-runs/{RUN}", None),
    ("POST", f"{WS}/process-runs/{RUN}/stop", STOP_AS_UNRESOLVED),
    ("GET", f"{WS}/process-runs/{RUN}/outputs", None),
]
BAD_CREDENTIALS = {
    "missing": {},
    "wrong key": {"Authorization": "RC-WSKEY not-the-key"},
    "bearer prefix": {"Authorization": f"Bearer {TOKEN}"},
    "bare key": {"Authorization": TOKEN},
}


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=str)
@pytest.mark.parametrize(("method", "path", "body"), HEADER_AUTH_CALLS, ids=lambda v: str(v)[:40])
def test_bad_credentials_are_forbidden(
    served: Served, method: str, path: str, body: Any, credentials: str
) -> None:
    response = loopback.request(
        method, served.base_url + path, headers=BAD_CREDENTIALS[credentials], json=body, timeout=10
    )
    assert_error(response, 403, "forbidden")
    assert served.get(RUN)["id"] == RUN  # nothing was deleted or stopped


@pytest.mark.parametrize(("method", "path", "body"), HEADER_AUTH_CALLS, ids=lambda v: str(v)[:40])
def test_a_key_is_forbidden_in_another_workspace(served: Served, method: str, path: str, body: Any) -> None:
    other = path.replace("workspace_id_example", "another_workspace")
    assert_error(served.client.request(method, other, json=body), 403, "forbidden")


@pytest.mark.parametrize(
    "params",
    [{}, {"token": "not-the-key"}, {"token": TOKEN, "with_handshake": "github"}],
    ids=["missing token", "wrong token", "unknown handshake"],
)
def test_integrations_start_refuses_with_400(served: Served, params: dict[str, str]) -> None:
    response = loopback.post(served.base_url + START_QS, params=params, json={"a": 1})
    assert_error(response, 400, "bad_request")


def test_integrations_start_ignores_the_header_and_checks_the_workspace(served: Served) -> None:
    header_only = loopback.post(served.base_url + START_QS, headers=AUTH, json={"a": 1})
    assert "token" in assert_error(header_only, 400, "bad_request")["message"]
    elsewhere = START_QS.replace("workspace_id_example", "another_workspace")
    assert_error(
        loopback.post(served.base_url + elsewhere, params={"token": TOKEN}, json={}), 400, "bad_request"
    )


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{WS}/process-runs/no-such-run"),
        ("DELETE", f"{WS}/process-runs/no-such-run"),
        ("POST", f"{WS}/process-runs/no-such-run/stop"),
        ("GET", f"{WS}/process-runs/no-such-run/outputs"),
    ],
)
def test_unknown_process_run_is_not_found(served: Served, method: str, path: str) -> None:
    body = STOP_AS_UNRESOLVED if path.endswith("/stop") else None
    assert (
        "no-such-run"
        in assert_error(served.client.request(method, path, json=body), 404, "not_found")["message"]
    )


@pytest.mark.parametrize("params", [{"state": "running"}, {"state": "COMPLETED"}, {"limit": "ten"}], ids=str)
def test_list_rejects_invalid_filters(served: Served, params: dict[str, str]) -> None:
    error = assert_error(served.client.get(f"{WS}/process-runs", params=params), 400, "bad_request")
    assert next(iter(params)) in error["message"]


@pytest.mark.parametrize("limit", ["1e999", "-1e999", "0", "-3"])
def test_list_survives_limits_out_of_range(served: Served, limit: str) -> None:
    response = served.client.get(f"{WS}/process-runs", params={"limit": limit})
    assert response.status_code == 200
    assert len(response.json()["data"]) == (3 if limit == "1e999" else 1)


@pytest.mark.parametrize(
    "raw", [b"[1e999]", b"[" * 150 + b"]" * 150], ids=["number overflows", "nested too deep"]
)
def test_payloads_that_cannot_be_served_back_are_rejected(served: Served, raw: bytes) -> None:
    json_header = {"Content-Type": "application/json"}
    body = b'{"type": "with_payloads", "payloads": ' + raw + b"}"
    assert_error(served.client.post(START, content=body, headers=json_header), 400, "bad_request")
    qs = loopback.post(served.base_url + START_QS, params={"token": TOKEN}, content=raw, headers=json_header)
    assert_error(qs, 400, "bad_request")


def test_outputs_reject_a_non_numeric_limit(served: Served) -> None:
    response = served.client.get(f"{WS}/process-runs/{RUN}/outputs", params={"limit": "all"})
    assert "limit" in assert_error(response, 400, "bad_request")["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "with_payloads"},
        {"type": "with_work_item_ids", "work_item_ids": "a"},
        {"type": "with_everything"},
        {"callback": {"url": "https://hooks.example.com/rc"}},
        {"callback": {"url": "https://h.example.com", "secret": "s", "callback_events": ["failed"]}},
        ["with_inputs"],
    ],
    ids=["payloads missing", "ids not an array", "unknown type", "callback incomplete", "bad event", "array"],
)
def test_start_rejects_bodies_outside_the_variants(served: Served, body: Any) -> None:
    assert_error(served.client.post(START, json=body), 400, "bad_request")
    assert len(served.client.get(f"{WS}/process-runs").json()["data"]) == 3


def test_start_rejects_malformed_json_and_an_unknown_process(served: Served) -> None:
    malformed = served.client.post(START, content=b'{"type": ', headers={"Content-Type": "application/json"})
    assert "JSON" in assert_error(malformed, 400, "bad_request")["message"]
    unknown = served.client.post(f"{WS}/processes/no-such-process/process-runs")
    assert "no-such-process" in assert_error(unknown, 400, "bad_request")["message"]


def test_starting_a_disabled_process_is_a_conflict(served: Served) -> None:
    path = f"{WS}/processes/process_id_example_disabled/process-runs"
    assert_error(served.client.post(path), 409, "conflict")
    qs_path = f"{WS}/processes/process_id_example_disabled/process-runs-integrations"
    assert_error(
        loopback.post(served.base_url + qs_path, params={"token": TOKEN}, json={}), 400, "bad_request"
    )


@pytest.mark.parametrize(
    "body",
    [None, {}, {"set_remaining_work_items_as_done": False}, {**STOP_AS_UNRESOLVED, "reason": 7}, "stop"],
    ids=["no body", "empty", "one flag", "reason not a string", "string"],
)
def test_stop_requires_both_flags(served: Served, body: Any) -> None:
    run_id = served.start()
    assert_error(served.client.post(f"{WS}/process-runs/{run_id}/stop", json=body), 400, "bad_request")
    assert served.get(run_id)["state"] != "stopping"


def test_integrations_start_requires_a_json_body(served: Served) -> None:
    empty = loopback.post(served.base_url + START_QS, params={"token": TOKEN})
    assert_error(empty, 400, "bad_request")
    null = loopback.post(
        served.base_url + START_QS,
        params={"token": TOKEN},
        content=b"null",
        headers={"Content-Type": "application/json"},
    )
    assert_error(null, 400, "bad_request")  # anyValidJson has no null, unlike the start body
    broken = loopback.post(
        served.base_url + START_QS,
        params={"token": TOKEN},
        content=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert_error(broken, 400, "bad_request")


# -- the stale outputs path (RC-002) --------------------------------------------------------
def test_faithful_mock_also_serves_the_documented_outputs_path(faithful: Served) -> None:
    stale = load_catalogue(API).by_id["RC-002"]
    assert stale.locations == ("path:/workspaces/{workspace_id}/outputs",)
    legacy = faithful.client.get(f"{WS}/outputs", params={"process_run_id": RUN, "limit": 1})
    contract = faithful.client.get(f"{WS}/process-runs/{RUN}/outputs", params={"limit": 1})
    assert legacy.status_code == 200 and legacy.json() == contract.json()
    assert_error(faithful.client.get(f"{WS}/outputs"), 400, "bad_request")
    assert_error(faithful.client.get(f"{WS}/outputs", params={"process_run_id": "nope"}), 404, "not_found")
    assert_error(
        loopback.get(faithful.base_url + f"{WS}/outputs", params={"process_run_id": RUN}), 403, "forbidden"
    )


def test_strict_mock_serves_only_the_contract_outputs_path(strict: Served) -> None:
    assert strict.client.get(f"{WS}/outputs", params={"process_run_id": RUN}).status_code == 404


# -- conformance ----------------------------------------------------------------------------
#: Documented (operation, status) pairs the exercise below cannot provoke: nothing a delete can
#: send is malformed.
UNANSWERED = frozenset({("deleteProcessRun", 400)})


def exercise_every_operation(served: Served) -> list[tuple[str, httpx.Response]]:
    """Every operation's answers (success and each error status it uses), tagged with its operationId."""
    client, unauthenticated = served.client, loopback.Client(base_url=served.base_url, timeout=10)
    run_id = served.start()
    exchanges = [  # first the answers that need the fresh run unfinished
        ("deleteProcessRun", client.delete(f"{WS}/process-runs/{run_id}")),
        ("stopProcessRun", client.post(f"{WS}/process-runs/{run_id}/stop", json=STOP_AS_COMPLETED)),
        ("stopProcessRun", client.post(f"{WS}/process-runs/{run_id}/stop", json=STOP_AS_COMPLETED)),
        ("getProcessRun", client.get(f"{WS}/process-runs/{run_id}")),
        ("stopProcessRun", client.post(f"{WS}/process-runs/{run_id}/stop", json={})),
        ("stopProcessRun", client.post(f"{WS}/process-runs/nope/stop", json=STOP_AS_COMPLETED)),
        ("stopProcessRun", unauthenticated.post(f"{WS}/process-runs/{run_id}/stop", json=STOP_AS_COMPLETED)),
        ("listProcessRuns", client.get(f"{WS}/process-runs", params={"limit": 1})),
        ("listProcessRuns", client.get(f"{WS}/process-runs", params={"state": "bogus"})),
        ("listProcessRuns", unauthenticated.get(f"{WS}/process-runs")),
        ("startProcessRun", client.post(START, json={"type": "with_inputs"})),
        ("startProcessRun", client.post(START, json={"type": "with_inputs"})),
        ("startProcessRun", client.post(START, json={"type": "nope"})),
        ("startProcessRun", client.post(f"{WS}/processes/process_id_example_disabled/process-runs")),
        ("startProcessRun", unauthenticated.post(START)),
        ("startProcessRunQsAuth", unauthenticated.post(START_QS, params={"token": TOKEN}, json=[1])),
        ("startProcessRunQsAuth", unauthenticated.post(START_QS, params={"token": "x"}, json=[1])),
        ("getProcessRun", client.get(f"{WS}/process-runs/{USER_RUN}")),
        ("getProcessRun", client.get(f"{WS}/process-runs/nope")),
        ("getProcessRun", unauthenticated.get(f"{WS}/process-runs/{RUN}")),
    ]
    served.poll_to_terminal(run_id)
    exchanges += [
        ("stopProcessRun", client.post(f"{WS}/process-runs/{run_id}/stop", json=STOP_AS_COMPLETED)),
        ("listProcessRunOutputs", client.get(f"{WS}/process-runs/{RUN}/outputs", params={"limit": 5})),
        ("listProcessRunOutputs", client.get(f"{WS}/process-runs/{RUN}/outputs", params={"limit": "x"})),
        ("listProcessRunOutputs", client.get(f"{WS}/process-runs/nope/outputs")),
        ("listProcessRunOutputs", unauthenticated.get(f"{WS}/process-runs/{RUN}/outputs")),
        ("deleteProcessRun", client.delete(f"{WS}/process-runs/{run_id}")),
        ("deleteProcessRun", client.delete(f"{WS}/process-runs/{run_id}")),
        ("deleteProcessRun", unauthenticated.delete(f"{WS}/process-runs/{RUN}")),
    ]
    unauthenticated.close()
    return exchanges
