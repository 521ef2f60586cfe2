"""The independent Automation runs service works over real HTTP, and every planted break shows."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ... import loopback
from .breaks import BREAKS
from .serving import TOKEN, Served, serve
from .store import DEFAULT_IDS, EXAMPLE_RUN_ID

STEP = 0.1


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(step_seconds=STEP) as unbroken:
        yield unbroken


@pytest.fixture
def base_url(served: Served) -> str:
    return served.base_url


def connect(served: Served) -> httpx.Client:
    """A client that presents the server's credential in the X-API-Key header."""
    token = served.credentials["token"]
    return loopback.Client(base_url=served.base_url, headers={"X-API-Key": token}, timeout=5)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with connect(served) as http:
        yield http


def runs_with(client: httpx.Client, status: str) -> list[dict[str, Any]]:
    response = client.get("/automation-runs", params={"status": status})
    assert response.status_code == 200
    return response.json()["items"]


def wait_for(fetch: Callable[[], dict[str, Any]], wanted: str, timeout: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = fetch()
        if run["status"] == wanted or time.monotonic() > deadline:
            return run
        time.sleep(0.01)


def test_credentials_are_required(base_url: str) -> None:
    with loopback.Client(base_url=base_url, timeout=5) as anonymous:
        missing = anonymous.get("/automation-runs")
        assert missing.status_code == 401
        assert missing.json() == {"detail": "Not authenticated"}
        wrong = anonymous.get("/automation-runs", headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401
        assert anonymous.get("/automation-runs", params={"limit": 5000}).status_code == 401


@pytest.mark.parametrize(
    "carrier",
    [
        {"headers": {"authorization": f"Bearer {TOKEN}"}},
        {"headers": {"X-API-Key": TOKEN}},
        {"cookies": {"vai_token": TOKEN}},
    ],
    ids=["bearer", "x-api-key", "cookie"],
)
def test_each_carrier_is_accepted(base_url: str, carrier: dict[str, dict[str, str]]) -> None:
    with loopback.Client(base_url=base_url, timeout=5, **carrier) as http:  # type: ignore[arg-type]
        assert http.get(f"/automation-runs/{EXAMPLE_RUN_ID}").status_code == 200


def test_list_filters_by_status_and_limits(client: httpx.Client) -> None:
    everything = client.get("/automation-runs").json()
    assert everything["total"] >= 4 and len(everything["items"]) == everything["total"]
    first = client.get("/automation-runs", params={"limit": 1, "offset": 1}).json()
    assert first["total"] == everything["total"]
    assert [run["id"] for run in first["items"]] == [everything["items"][1]["id"]]
    failed = client.get("/automation-runs", params={"status": "failed"}).json()
    assert failed["total"] >= 1
    assert {run["status"] for run in failed["items"]} == {"failed"}


def test_get_run_and_unknowns(client: httpx.Client) -> None:
    run = client.get(f"/automation-runs/{EXAMPLE_RUN_ID}").json()
    assert run["id"] == EXAMPLE_RUN_ID
    assert {"automationId", "createdAt", "orchestratorType", "triggerType", "versionNumber"} <= set(run)
    unknown = client.get("/automation-runs/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    assert client.get("/automation-runs/not-a-uuid").status_code == 422


def test_example_run_reaches_completed(client: httpx.Client) -> None:
    run = wait_for(lambda: client.get(f"/automation-runs/{EXAMPLE_RUN_ID}").json(), "completed")
    assert run["status"] == "completed"
    assert run["startedAt"] <= run["completedAt"] and run["durationSeconds"] > 0
    steps = client.get(f"/automation-runs/{EXAMPLE_RUN_ID}/steps").json()
    assert steps["automationRunId"] == EXAMPLE_RUN_ID
    assert steps["completedCount"] == len(steps["steps"]) == 4
    assert all(step["result"] is not None for step in steps["steps"])


def test_retry_then_cancel_a_running_run(client: httpx.Client) -> None:
    failed = runs_with(client, "failed")[0]
    retried = client.post(f"/automation-runs/{failed['id']}/retry", json={})
    assert retried.status_code == 200
    new = retried.json()
    assert new["id"] != failed["id"] and new["status"] == "pending"
    carried = client.get(f"/automation-runs/{new['id']}/steps").json()
    assert carried["completedCount"] == 2 and carried["pendingCount"] == 2

    running = wait_for(lambda: client.get(f"/automation-runs/{new['id']}").json(), "running")
    assert running["status"] == "running"
    cancelled = client.post(f"/automation-runs/{new['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["completedAt"]
    assert client.post(f"/automation-runs/{new['id']}/cancel").status_code == 409

    again = client.post(f"/automation-runs/{new['id']}/retry", json={"mode": "full"}).json()
    assert again["status"] == "pending"
    assert client.get(f"/automation-runs/{again['id']}/steps").json()["pendingCount"] == 4


def test_retry_from_step_needs_a_step_key(client: httpx.Client) -> None:
    cancelled = runs_with(client, "cancelled")[-1]
    response = client.post(f"/automation-runs/{cancelled['id']}/retry", json={"mode": "from_step"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "value_error"
    bad = client.post(
        f"/automation-runs/{cancelled['id']}/retry", json={"mode": "from_step", "stepKey": "nope"}
    )
    assert bad.status_code == 400


def test_events_stream_until_terminal(client: httpx.Client) -> None:
    completed = runs_with(client, "completed")[-1]
    with client.stream("GET", f"/automation-runs/{completed['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert [json.loads(line[6:])["status"] for line in lines] == ["completed"]


def test_limit_above_1000_is_fastapi_422(client: httpx.Client) -> None:
    response = client.get("/automation-runs", params={"limit": 5000})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "less_than_equal" and error["loc"] == ["query", "limit"]
    assert error["ctx"] == {"le": 1000} and error["input"] == "5000" and "msg" in error


def test_ids_are_settable_and_the_long_run_can_be_cancelled() -> None:
    ids = {"tenant_id": "tenant-b", "running_run_id": "11111111-2222-4333-8444-555555555555"}
    with serve(step_seconds=STEP, **ids) as other, connect(other) as http:
        assert other.ids.tenant_id == "tenant-b" and other.ids.example_run_id == DEFAULT_IDS.example_run_id
        assert {run["tenantId"] for run in http.get("/automation-runs").json()["items"]} == {"tenant-b"}
        path = f"/automation-runs/{ids['running_run_id']}"
        assert http.get(path).json()["status"] == "running"
        assert http.post(f"{path}/cancel").json()["status"] == "cancelled"


# --------------------------------------------------------------------------- planted breaks
# Each probe looks at its break's location and returns what it saw; runs it touches are its own.

Probe = Callable[[httpx.Client, Served], object]


def _fresh_run(http: httpx.Client, served: Served) -> str:
    """A new pending run of the server's own (a retry of the seeded failed run)."""
    return str(http.post(f"/automation-runs/{served.ids.failed_run_id}/retry", json={}).json()["id"])


def _cancel_and_wait(http: httpx.Client, served: Served) -> tuple[str, str]:
    """What a cancel answers, and what the run is two steps later (a run that goes on has moved)."""
    run_id = _fresh_run(http, served)
    answered = http.post(f"/automation-runs/{run_id}/cancel")
    assert answered.status_code == 200
    time.sleep(2 * STEP)
    return answered.json()["status"], http.get(f"/automation-runs/{run_id}").json()["status"]


def _after_completion(http: httpx.Client, served: Served) -> str:
    """The example run's status two steps after it was first seen completed."""
    path = f"/automation-runs/{served.ids.example_run_id}"
    assert wait_for(lambda: http.get(path).json(), "completed", timeout=10 * STEP)["status"] == "completed"
    time.sleep(2 * STEP)
    return str(http.get(path).json()["status"])


def _page_ids(http: httpx.Client, **params: int) -> list[str]:
    return [run["id"] for run in http.get("/automation-runs", params=params).json()["items"]]


PROBES: dict[str, Probe] = {
    "run-field-snake-case": lambda http, s: sorted(
        http.get(f"/automation-runs/{s.ids.example_run_id}").json()
    ),
    "step-field-snake-case": lambda http, s: sorted(
        http.get(f"/automation-runs/{s.ids.completed_run_id}/steps").json()["steps"][0]
    ),
    "total-as-string": lambda http, s: type(http.get("/automation-runs").json()["total"]).__name__,
    "cancel-drops-updated-at": lambda http, s: sorted(
        http.post(f"/automation-runs/{_fresh_run(http, s)}/cancel").json()
    ),
    "status-upper-case": lambda http, s: http.post(
        f"/automation-runs/{s.ids.failed_run_id}/retry", json={}
    ).json()["status"],
    "offset-ignored": lambda http, s: _page_ids(http, limit=1, offset=1) == _page_ids(http, limit=1),
    "limit-range-ignored": lambda http, s: http.get("/automation-runs", params={"limit": 5000}).status_code,
    "list-duplicates-items": lambda http, s: len(set(ids := _page_ids(http))) == len(ids),
    "cancel-is-a-no-op": _cancel_and_wait,
    "completed-run-reopens": _after_completion,
    "steps-server-error": lambda http, s: (
        http.get(f"/automation-runs/{s.ids.example_run_id}/steps").status_code
    ),
    "cookie-ignored": lambda http, s: (
        loopback.get(
            f"{s.base_url}/automation-runs", cookies={"vai_token": s.credentials["token"]}
        ).status_code
    ),
    "validation-error-shape": lambda http, s: (
        type(http.get("/automation-runs/not-a-uuid").json()["detail"]).__name__
    ),
}


def test_every_break_has_a_probe_and_a_documented_place() -> None:
    assert PROBES.keys() == BREAKS.keys() and len(BREAKS) >= 9
    for planted in BREAKS.values():
        assert planted.location == "status" or planted.location.startswith("/")
        assert (
            planted.operation.split(" ")[0] in ("GET", "POST")
            and "/api/v1/automation-runs" in planted.operation
        )


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_break_really_changes_behaviour(name: str, served: Served) -> None:
    probe = PROBES[name]
    with serve(breaks=[name], step_seconds=STEP) as broken, connect(broken) as http:
        seen_broken = probe(http, broken)
    with connect(served) as http:
        seen_unbroken = probe(http, served)
    assert seen_broken != seen_unbroken, f"{name}: {BREAKS[name].description}"
