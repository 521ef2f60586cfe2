"""The independent Automation runs service works over real HTTP."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from .app import EXAMPLE_RUN_ID, create_app
from ..serving import serve

TOKEN = "test-token-123"
STEP = 0.15


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(create_app(TOKEN, step_seconds=STEP)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": TOKEN}, timeout=5) as http:
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
    with httpx.Client(base_url=base_url, timeout=5) as anonymous:
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
    with httpx.Client(base_url=base_url, timeout=5, **carrier) as http:  # type: ignore[arg-type]
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
