"""Quick real-HTTP checks of the independent Kognitos Runs server and of every planted break."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ... import loopback
from .breaks import BREAKS
from .serving import Served, serve

RUN_FIELDS = {"agent_id", "created_at", "file_ids", "id", "name", "outputs", "process_id", "stage", "status"}
STEP = 0.05


def client(served: Served) -> httpx.Client:
    """A client configured the way the documents say: base URL plus the ``x-api-key`` header."""
    return loopback.Client(base_url=served.base_url, headers={"x-api-key": served.credentials["token"]})


def list_runs(http: httpx.Client, served: Served, **params: Any) -> httpx.Response:
    """``GET /runs`` for the seeded process and agent."""
    return http.get("/runs", params={"process_id": served.process_id, "agent_id": served.agent_id, **params})


def start_run(http: httpx.Client, served: Served, **extra: Any) -> httpx.Response:
    """``POST /runs`` of the seeded process."""
    body = {
        "agent_id": served.agent_id,
        "process_id": served.process_id,
        "name": "Process invoice 42",
        "stage": "Published",
        **extra,
    }
    return http.post("/runs", json=body)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One unbroken server for the happy-path tests."""
    with serve(step_seconds=STEP) as running:
        yield running


@pytest.fixture()
def http(served: Served) -> Iterator[httpx.Client]:
    """Authorised client of the unbroken server."""
    with client(served) as session:
        yield session


def test_list_pages_through_every_run_once(served: Served, http: httpx.Client) -> None:
    """Small pages chain through continuation tokens, newest first, ending with a null token."""
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        response = list_runs(http, served, limit=5, **({"continuation_token": token} if token else {}))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"continuation_token", "items"}
        assert len(body["items"]) <= 5 and all(set(item) == RUN_FIELDS for item in body["items"])
        seen += [item["id"] for item in body["items"]]
        pages, token = pages + 1, body["continuation_token"]
        if token is None:
            break
    assert pages >= 3 and len(seen) == len(set(seen)) >= 12
    assert seen[0] == served.created_run_id
    default = list_runs(http, served).json()
    assert len(default["items"]) == 10 and default["continuation_token"]


def test_list_filters_and_refusals(served: Served, http: httpx.Client) -> None:
    """Stage filters, the limit is bounded, bad tokens and missing parameters are refused."""
    drafts = list_runs(http, served, stage="Draft", limit=100).json()["items"]
    assert drafts and {item["stage"] for item in drafts} == {"Draft"}
    assert list_runs(http, served, limit=101).status_code == 422
    assert list_runs(http, served, continuation_token="not-a-token").status_code == 400
    assert http.get("/runs", params={"agent_id": served.agent_id}).status_code == 422
    other = http.get("/runs", params={"process_id": served.second_process_id, "agent_id": served.agent_id})
    assert {item["process_id"] for item in other.json()["items"]} == {served.second_process_id}


def test_get_seeded_runs(served: Served, http: httpx.Client) -> None:
    """Seeded runs exist in every status, with outputs only on the completed one."""
    statuses = {}
    seeded = (served.completed_run_id, served.failed_run_id, served.running_run_id, served.created_run_id)
    for run_id in seeded:
        body = http.get(f"/runs/{run_id}").json()
        assert set(body) == RUN_FIELDS and body["id"] == run_id
        statuses[body["status"]] = body["outputs"]
    assert set(statuses) == {"Created", "Running", "Completed", "Failed"}
    assert statuses["Completed"] and statuses["Failed"] is None
    missing = http.get("/runs/nosuchrun")
    assert missing.status_code == 404 and set(missing.json()) == {"message", "status_code", "details"}


def wait_for(http: httpx.Client, run_id: str, done: set[str]) -> list[str]:
    """Poll a run until it reaches one of ``done`` (bounded), returning the statuses seen."""
    seen: list[str] = []
    deadline = time.monotonic() + 2
    while not seen or seen[-1] not in done:
        assert time.monotonic() < deadline, seen
        seen.append(http.get(f"/runs/{run_id}").json()["status"])
        time.sleep(STEP / 3)
    return seen


def test_started_run_progresses(served: Served, http: httpx.Client) -> None:
    """A started run is Created, then Running, then Completed (or Failed when asked to)."""
    response = start_run(http, served, file_ids=["b4fznghynbdemslfd5k044fgd"])
    assert response.status_code == 201 and response.json()["status"] == "Created"
    seen = wait_for(http, response.json()["id"], {"Completed"})
    assert "Running" in seen and http.get(f"/runs/{response.json()['id']}").json()["outputs"]
    failing = start_run(http, served, inputs=[{"name": "simulate_failure", "value": True}]).json()
    assert wait_for(http, failing["id"], {"Completed", "Failed"})[-1] == "Failed"
    assert start_run(http, served, stage="draft").status_code == 422
    assert start_run(http, served, process_id="unknownprocess").status_code == 404


def test_credentials_enforced(served: Served) -> None:
    """Each operation refuses a missing or wrong ``x-api-key`` with 401 and an ErrorModel."""
    for headers in ({}, {"x-api-key": "wrong"}):
        with loopback.Client(base_url=served.base_url, headers=headers) as anonymous:
            answers = [
                list_runs(anonymous, served),
                start_run(anonymous, served),
                anonymous.get(f"/runs/{served.completed_run_id}"),
            ]
            for answer in answers:
                assert answer.status_code == 401 and answer.json()["status_code"] == 401


def _page_two(http: httpx.Client, served: Served) -> list[str]:
    token = list_runs(http, served, limit=3).json()["continuation_token"]
    return [item["id"] for item in list_runs(http, served, limit=3, continuation_token=token).json()["items"]]


def _new_run_id_length(http: httpx.Client, served: Served) -> int:
    run_id = start_run(http, served).json()["id"]
    return len(http.get(f"/runs/{run_id}").json()["id"])


def _values(http: httpx.Client, served: Served, field: str, **params: Any) -> set[str]:
    return {item[field] for item in list_runs(http, served, **params).json()["items"]}


def _repeats(http: httpx.Client, served: Served) -> int:
    ids = [item["id"] for item in list_runs(http, served).json()["items"]]
    return len(ids) - len(set(ids))


def _anonymous_status(_: httpx.Client, served: Served) -> int:
    with loopback.Client(base_url=served.base_url) as anonymous:
        return list_runs(anonymous, served).status_code


def _completed(http: httpx.Client, served: Served) -> httpx.Response:
    return http.get(f"/runs/{served.completed_run_id}")


PROBES: dict[str, Callable[[httpx.Client, Served], object]] = {
    "rename_created_at": lambda h, s: sorted(_completed(h, s).json()),
    "file_ids_as_string": lambda h, s: type(_completed(h, s).json()["file_ids"]).__name__,
    "error_status_code_as_string": lambda h, s: h.get("/runs/nosuchrun").json()["status_code"],
    "list_drops_agent_id": lambda h, s: sorted(list_runs(h, s).json()["items"][0]),
    "last_page_omits_continuation_token": lambda h, s: sorted(list_runs(h, s, limit=100).json()),
    "stage_lowercase": lambda h, s: _completed(h, s).json()["stage"],
    "stage_filter_ignored": lambda h, s: _values(h, s, "stage", stage="Draft"),
    "limit_ignored": lambda h, s: len(list_runs(h, s, limit=2).json()["items"]),
    "process_filter_ignored": lambda h, s: _values(h, s, "process_id", limit=100),
    "continuation_token_ignored": _page_two,
    "duplicate_items": _repeats,
    "get_run_500": lambda h, s: _completed(h, s).status_code,
    "auth_not_enforced": _anonymous_status,
    "long_run_ids": _new_run_id_length,
}


def test_every_break_has_a_probe() -> None:
    """No planted break goes unchecked."""
    assert set(PROBES) == set(BREAKS)


@pytest.fixture(scope="module")
def broken_servers() -> Iterator[dict[str, Served]]:
    """One server per break, started one by one but stopped in parallel (uvicorn takes ~0.2 s to stop)."""
    ready: queue.Queue[Served | BaseException] = queue.Queue()
    done = threading.Event()

    def hold(name: str) -> None:
        try:
            with serve(breaks=[name], step_seconds=STEP) as running:
                ready.put(running)
                done.wait()
        except BaseException as exc:  # handed to the fixture instead of dying silently in the thread
            ready.put(exc)

    threads: list[threading.Thread] = []
    servers: dict[str, Served] = {}
    try:
        for name in BREAKS:  # one at a time: building Litestar apps concurrently is not thread-safe
            threads.append(threading.Thread(target=hold, args=(name,), daemon=True))
            threads[-1].start()
            started = ready.get(timeout=15)
            if isinstance(started, BaseException):
                raise started
            servers[name] = started
        yield servers
    finally:
        done.set()
        for thread in threads:
            thread.join(10)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_break_changes_behaviour(name: str, served: Served, broken_servers: dict[str, Served]) -> None:
    """The same probe sees something different on the broken server than on the unbroken one."""
    broken = broken_servers[name]
    with client(served) as clean, client(broken) as bent:
        assert PROBES[name](bent, broken) != PROBES[name](clean, served)
