"""The Kognitos runs mock over real HTTP: operations, lifecycle, auth, bad input, conformance."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import httpx
import pytest

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.mocks import Mode

from .. import loopback
from . import serving
from .serving import Served
from .serving import serve as serve_mock

API = "kognitos"
EXAMPLE_ID = "b4fznghynbdemslfd5k044fgd"
OTHER_FILE_ID = "9nvx1hdm9bd74rp585oe81t5i"
PROCESS = {"process_id": EXAMPLE_ID, "agent_id": EXAMPLE_ID}
START_BODY = {**PROCESS, "name": "Process invoice 42", "stage": "Draft"}
TOKEN = "conformance-demo"
MAX_POLLS = 10


@contextmanager
def serve(mode: Mode) -> Iterator[Served]:
    with serve_mock(API, mode, TOKEN, {"x-api-key": TOKEN}) as served:
        yield served


@pytest.fixture(params=list(Mode), ids=str)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serve(request.param) as served:
        yield served


def start(served: Served, **overrides: Any) -> dict[str, Any]:
    response = served.client.post("/runs", json={**START_BODY, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def poll_to_terminal(served: Served, run_id: str) -> list[str]:
    """Statuses seen by polling getRun until the run is terminal (each poll advances one state)."""
    terminal = set(served.mock.spec.document["x-lifecycle"]["terminal"])
    seen: list[str] = []
    for _ in range(MAX_POLLS):
        response = served.client.get(f"/runs/{run_id}")
        assert response.status_code == 200, response.text
        seen.append(response.json()["status"])
        if seen[-1] in terminal:
            return seen
    raise AssertionError(f"run {run_id} still {seen[-1]} after {MAX_POLLS} polls")


def assert_error(response: httpx.Response, status: int, *, detail_loc: list[str] | None = None) -> None:
    """The fragment's ErrorModel, with the given status echoed in the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "status_code", "details"}
    assert body["status_code"] == status
    assert isinstance(body["message"], str) and body["message"]
    if detail_loc is None:
        assert body["details"] is None
    else:
        assert detail_loc in [detail["loc"] for detail in body["details"]]


# -- spec and catalogue -----------------------------------------------------------------


def test_spec_loads_with_the_three_operations_under_v2() -> None:
    spec = load_spec(API)
    assert spec.base_path == "/v2"
    assert set(spec.operations) == {"listRuns", "startRun", "getRun"}
    lifecycle = spec.document["x-lifecycle"]
    assert "cancel" not in lifecycle, "Kognitos documents no way to cancel a run"
    assert lifecycle["start"]["operation"] == "startRun"
    assert lifecycle["poll"] == {
        "operation": "getRun",
        "parameters": {},
        "run_id": "run_id",
        "state": "/status",
    }


def test_catalogue_loads_and_only_the_offsetless_timestamp_is_reproduced() -> None:
    catalogue = load_catalogue(API)
    assert [quirk.id for quirk in catalogue.quirks] == [f"KG-{n:03d}" for n in range(1, 12)]
    assert {quirk.id for quirk in catalogue.quirks if quirk.reproduced} == {"KG-001"}


# -- happy paths ------------------------------------------------------------------------


def test_get_run_returns_the_documented_example(served: Served) -> None:
    response = served.client.get(f"/runs/{EXAMPLE_ID}")
    assert response.status_code == 200
    run = response.json()
    assert run == {
        "agent_id": EXAMPLE_ID,
        "created_at": "2021-01-01T12:00:00" if served.faithful else "2021-01-01T12:00:00.000Z",
        "file_ids": [EXAMPLE_ID, OTHER_FILE_ID],
        "id": EXAMPLE_ID,
        "name": "Process invoice",
        "outputs": [{"name": "total_items", "value": 42}, {"name": "customer_id", "value": OTHER_FILE_ID}],
        "process_id": EXAMPLE_ID,
        "stage": "Draft",
        "status": "Completed",
    }


def test_start_run_answers_201_with_a_created_run(served: Served) -> None:
    run = start(served, file_ids=[OTHER_FILE_ID], inputs=[{"name": "order_id", "value": EXAMPLE_ID}])
    assert run["status"] == "Created"
    assert run["outputs"] is None
    assert run["file_ids"] == [OTHER_FILE_ID]
    assert {k: run[k] for k in START_BODY} == START_BODY
    assert run["id"] != EXAMPLE_ID and len(run["id"]) <= 26 and run["id"].isalnum()
    # The start response is undocumented (KG-005), so even faithful mode keeps the offset.
    assert run["created_at"].endswith("Z")


def test_list_runs_returns_the_process_runs_newest_first(served: Served) -> None:
    first, second = start(served), start(served, stage="Published")
    response = served.client.get("/runs", params=PROCESS)
    assert response.status_code == 200
    body = response.json()
    assert body["continuation_token"] is None
    assert [item["id"] for item in body["items"]] == [second["id"], first["id"], EXAMPLE_ID]
    seeded = body["items"][-1]["created_at"]
    assert seeded == ("2021-01-01T12:00:00" if served.faithful else "2021-01-01T12:00:00.000Z")


def test_list_runs_filters_by_stage(served: Served) -> None:
    published = start(served, stage="Published")
    drafts = served.client.get("/runs", params={**PROCESS, "stage": "Draft"}).json()["items"]
    only_published = served.client.get("/runs", params={**PROCESS, "stage": "Published"}).json()["items"]
    assert published["id"] not in [item["id"] for item in drafts]
    assert [item["id"] for item in only_published] == [published["id"]]
    assert len(served.client.get("/runs", params={**PROCESS, "stage": "null"}).json()["items"]) == 2


def test_list_runs_pages_with_continuation_tokens(served: Served) -> None:
    started = [start(served)["id"] for _ in range(4)]
    expected = [*reversed(started), EXAMPLE_ID]
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {**PROCESS, "limit": 2}
        if token is not None:
            params["continuation_token"] = token
        body = served.client.get("/runs", params=params).json()
        pages += 1
        seen += [item["id"] for item in body["items"]]
        token = body["continuation_token"]
        if token is None:
            break
        # A run started between pages lands on page one and never shifts the later pages.
        start(served)
    assert pages == 3
    assert seen == expected


@pytest.mark.parametrize(("limit", "count"), [(None, 10), ("null", 10), (3, 3), (1, 1)])
def test_list_runs_limit_defaults_to_ten(served: Served, limit: Any, count: int) -> None:
    for _ in range(11):
        start(served)
    params = dict(PROCESS) if limit is None else {**PROCESS, "limit": limit}
    body = served.client.get("/runs", params=params).json()
    assert len(body["items"]) == count
    assert body["continuation_token"] is not None


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_refused_as_the_spec_assumes(served: Served, limit: int) -> None:
    response = served.client.get("/runs", params={**PROCESS, "limit": limit})
    assert response.status_code == 422


# -- lifecycle --------------------------------------------------------------------------


def test_a_started_run_walks_created_running_completed(served: Served) -> None:
    run = start(served, file_ids=[EXAMPLE_ID, OTHER_FILE_ID])
    statuses = poll_to_terminal(served, run["id"])
    assert statuses == ["Created", "Running", "Completed"]
    lifecycle = served.mock.lifecycle
    for before, after in pairwise(statuses):
        assert lifecycle.allows(before, after), f"{before} -> {after} is not a documented transition"
    finished = served.client.get(f"/runs/{run['id']}").json()
    assert finished["status"] == "Completed"
    assert finished["outputs"]


def test_a_run_given_an_unknown_file_fails(served: Served) -> None:
    run = start(served, file_ids=["nosuchfile"])
    assert poll_to_terminal(served, run["id"]) == ["Created", "Running", "Failed"]
    assert served.client.get(f"/runs/{run['id']}").json()["outputs"] is None


def test_the_clock_drives_a_run_without_polls(served: Served) -> None:
    run = start(served)
    served.clock.advance(30)
    assert served.client.get(f"/runs/{run['id']}").json()["status"] == "Completed"
    assert served.mock.runs[run["id"]].history == ["Created", "Running", "Completed"]


def test_x_lifecycle_drives_a_run_to_a_terminal_state(served: Served) -> None:
    """Follow the spec's start/poll recipe the way a conformance runner will."""
    lifecycle = served.mock.spec.document["x-lifecycle"]
    started = served.client.post("/runs", json=lifecycle["start"]["body"])
    assert started.status_code == 201
    run_id = started.json()[lifecycle["start"]["id"].lstrip("/")]
    poll = lifecycle["poll"]
    assert poll["run_id"] == "run_id"
    states: list[str] = []
    for _ in range(MAX_POLLS):
        body = served.client.get(f"/runs/{run_id}", params=poll["parameters"]).json()
        states.append(body[poll["state"].lstrip("/")])
        if states[-1] in lifecycle["terminal"]:
            break
    assert states[0] in lifecycle["initial"]
    assert states[-1] in lifecycle["terminal"]
    assert all(after in lifecycle["transitions"].get(before, []) for before, after in pairwise(states))


# -- auth -------------------------------------------------------------------------------

REQUESTS = [
    ("GET", "/runs", PROCESS, None),
    ("POST", "/runs", None, START_BODY),
    ("GET", f"/runs/{EXAMPLE_ID}", None, None),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), REQUESTS, ids=["list", "start", "get"])
@pytest.mark.parametrize("key", [None, "not-the-key", ""], ids=["missing", "wrong", "empty"])
def test_requests_without_the_api_key_get_401(
    served: Served, method: str, path: str, params: Any, body: Any, key: str | None
) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = loopback.request(method, served.base_url + path, params=params, json=body, headers=headers)
    assert_error(response, 401)
    assert len(served.mock.runs) == 1, "a rejected start must not create a run"


def test_the_key_is_only_accepted_in_the_x_api_key_header(served: Served) -> None:
    response = loopback.get(
        f"{served.base_url}/runs/{EXAMPLE_ID}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert_error(response, 401)


# -- bad input --------------------------------------------------------------------------


def test_unknown_run_is_404(served: Served) -> None:
    assert_error(served.client.get("/runs/nosuchrun"), 404)


@pytest.mark.parametrize(
    "process", [{"process_id": "nosuchprocess", "agent_id": EXAMPLE_ID}, {**PROCESS, "agent_id": "other"}]
)
def test_unknown_process_is_404_for_list_and_start(served: Served, process: dict[str, str]) -> None:
    assert_error(served.client.get("/runs", params=process), 404)
    assert_error(served.client.post("/runs", json={**START_BODY, **process}), 404)


def test_a_continuation_token_outside_the_listing_is_404(served: Served) -> None:
    for _ in range(2):
        start(served)
    token = served.client.get("/runs", params={**PROCESS, "limit": 1}).json()["continuation_token"]
    assert token is not None
    assert served.client.get("/runs", params={**PROCESS, "continuation_token": token}).status_code == 200
    # The token points at a Draft run, which a Published-only listing does not contain.
    elsewhere = {**PROCESS, "stage": "Published", "continuation_token": token}
    assert_error(served.client.get("/runs", params=elsewhere), 404)
    assert_error(served.client.get("/runs", params={**PROCESS, "continuation_token": "not-a-token"}), 404)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"agent_id": EXAMPLE_ID}, ["query", "process_id"]),
        ({"process_id": EXAMPLE_ID}, ["query", "agent_id"]),
        ({**PROCESS, "limit": "ten"}, ["query", "limit"]),
        ({**PROCESS, "limit": 101}, ["query", "limit"]),
        ({**PROCESS, "limit": "2.5"}, ["query", "limit"]),
        ({**PROCESS, "stage": "draft"}, ["query", "stage"]),
    ],
    ids=["no-process", "no-agent", "limit-text", "limit-over-100", "limit-float", "stage-cased"],
)
def test_invalid_list_queries_are_422(served: Served, params: dict[str, Any], loc: list[str]) -> None:
    assert_error(served.client.get("/runs", params=params), 422, detail_loc=loc)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({k: v for k, v in START_BODY.items() if k != "name"}, ["body", "name"]),
        ({**START_BODY, "name": 42}, ["body", "name"]),
        ({**START_BODY, "name": ""}, ["body", "name"]),
        ({**START_BODY, "stage": "Live"}, ["body", "stage"]),
        ({**START_BODY, "agent_id": "a" * 27}, ["body", "agent_id"]),
        ({**START_BODY, "process_id": "has space"}, ["body", "process_id"]),
        ({**START_BODY, "file_ids": "b4fznghynbdemslfd5k044fgd"}, ["body", "file_ids"]),
        ([START_BODY], ["body"]),
    ],
    ids=[
        "no-name",
        "name-int",
        "name-empty",
        "stage",
        "id-long",
        "id-pattern",
        "files-str",
        "array",
    ],
)
def test_invalid_start_bodies_are_422(served: Served, body: Any, loc: list[str]) -> None:
    assert_error(served.client.post("/runs", json=body), 422, detail_loc=loc)
    assert len(served.mock.runs) == 1


def test_a_start_body_member_the_page_does_not_list_is_accepted(served: Served) -> None:
    """Neither the page nor its fragment closes the body, so an extra member is no error."""
    run = start(served, priority="high")
    assert run["status"] == "Created" and "priority" not in run


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"name": "x"'], ids=["empty", "malformed", "cut"])
def test_missing_or_malformed_json_is_422(served: Served, content: bytes) -> None:
    response = served.client.post("/runs", content=content, headers={"content-type": "application/json"})
    assert_error(response, 422, detail_loc=["body"])


# -- conformance --------------------------------------------------------------------------


#: Documented (operation, status) pairs the exercise below cannot provoke.
UNANSWERED: frozenset[tuple[str, int]] = frozenset()


def exercise_every_operation(served: Served) -> list[tuple[str, httpx.Response]]:
    """One response per operation outcome the mock can give: every success and every error status."""
    client = served.client
    run = start(served)
    unauthenticated = loopback.Client(base_url=served.base_url)
    responses = [
        ("listRuns", client.get("/runs", params=PROCESS)),
        ("listRuns", client.get("/runs", params={**PROCESS, "limit": 1})),
        ("listRuns", unauthenticated.get("/runs", params=PROCESS)),
        ("listRuns", client.get("/runs", params={**PROCESS, "agent_id": "other"})),
        ("listRuns", client.get("/runs", params={**PROCESS, "limit": 500})),
        ("startRun", client.post("/runs", json=START_BODY)),
        ("startRun", client.post("/runs", headers={"x-api-key": "wrong"}, json=START_BODY)),
        ("startRun", client.post("/runs", json={**START_BODY, "process_id": "nosuchprocess"})),
        ("startRun", client.post("/runs", json={**START_BODY, "stage": "Live"})),
        ("getRun", client.get(f"/runs/{EXAMPLE_ID}")),
        ("getRun", unauthenticated.get(f"/runs/{EXAMPLE_ID}")),
        ("getRun", client.get("/runs/nosuchrun")),
    ]
    responses += [("getRun", client.get(f"/runs/{run['id']}")) for _ in range(3)]
    unauthenticated.close()
    return responses


def judged(operation_id: str, status: int, body: Any) -> list[tuple[str, str, bool]]:
    return serving.judged(API, operation_id, status, body)


RUN = {
    "agent_id": EXAMPLE_ID,
    "created_at": "2021-01-01T12:00:00Z",
    "id": EXAMPLE_ID,
    "name": "Process invoice",
    "process_id": EXAMPLE_ID,
    "stage": "Draft",
    "status": "Created",
}


def test_what_the_page_leaves_open_is_an_assumption_and_what_it_states_is_not() -> None:
    assert judged("getRun", 200, RUN) == []
    # no error response and no start response is documented: statuses and shapes are assumed
    assert judged("getRun", 403, {"message": "Forbidden"}) == [("undocumented-status", "status", True)]
    assert judged("getRun", 401, {"error": "no key"}) == [
        ("extra-field", "/error", True),
        ("missing-field", "/details", True),
        ("missing-field", "/message", True),
        ("missing-field", "/status_code", True),
    ]
    assert judged("startRun", 200, RUN) == [("undocumented-status", "status", True)]
    assert judged("startRun", 201, {**RUN, "id": 7}) == [("type-mismatch", "/id", True)]
    # run status values are not listed; their casing is assumed
    assert judged("getRun", 200, {**RUN, "status": "in_progress"}) == [
        ("constraint-violation", "/status", True)
    ]
    assert judged("getRun", 200, {**RUN, "outputs": [42]}) == [("type-mismatch", "/outputs/*", True)]
    # what the page states stays drift: required members, the stage enum, bounds, open objects
    assert judged("getRun", 200, {k: v for k, v in RUN.items() if k != "stage"}) == [
        ("missing-field", "/stage", False)
    ]
    assert judged("getRun", 200, {**RUN, "stage": "Live"}) == [("unknown-enum-value", "/stage", False)]
    assert judged("getRun", 200, {**RUN, "name": ""}) == [("constraint-violation", "/name", False)]
    assert judged("getRun", 200, {**RUN, "priority": 1}) == [("extra-field", "/priority", False)]


def test_an_empty_limit_is_rejected_every_time_as_the_spec_says(served: Served) -> None:
    """``limit=`` is the empty string, not null: schemathesis sends it as negative data and the mock
    must reject it on every call (the page's explicit ``null`` stays null)."""
    for _ in range(3):
        response = served.client.get("/runs", params={**PROCESS, "limit": ""})
        assert response.status_code == 422
        assert response.json()["details"]
