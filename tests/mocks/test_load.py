"""The four mocks under concurrent load, over real HTTP on loopback.

Many clients at once drive mixed lifecycle requests (start, poll, list, cancel or stop,
retry or restart, delete) against each mock served by uvicorn. Afterwards: no 5xx, every
started run listed (or fetchable) exactly once, every accepted move found in the mock's
run histories, and every history made only of the transitions its spec allows.

``CONFORMANCE_LOAD_CLIENTS`` and ``CONFORMANCE_LOAD_REQUESTS`` set the load (default 200
clients x 10 requests per mock; the issue's full figure is 200 x 50). Every client stops
after its requests and the whole load after ``LOAD_TIMEOUT`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import httpx
import pytest

from conformance.mocks import MockServer, create_mock
from conformance.mocks.base import VendorMock
from conformance.mocks.runs import Run
from conformance.vendors.registry import get_api

from .. import loopback

CLIENTS = int(os.environ.get("CONFORMANCE_LOAD_CLIENTS", "200"))
REQUESTS_PER_CLIENT = int(os.environ.get("CONFORMANCE_LOAD_REQUESTS", "10"))
#: Seconds the load against one mock may take before the test fails instead of hanging.
LOAD_TIMEOUT = float(os.environ.get("CONFORMANCE_LOAD_TIMEOUT", "120"))
TOKEN = "load-test-token"


class RunLedger(dict[str, Run]):
    """A mock's run store that remembers every run ever stored under an id, in order, so that
    runs replaced (SolveXia's starts and restarts) or deleted (Robocorp) are still judged."""

    def __init__(self, runs: dict[str, Run]) -> None:
        super().__init__(runs)
        self.stored: dict[str, list[Run]] = {run_id: [run] for run_id, run in runs.items()}
        self.seeded = frozenset(runs)
        self.seed_lengths = {run_id: len(run.history) for run_id, run in runs.items()}

    def __setitem__(self, run_id: str, run: Run) -> None:
        super().__setitem__(run_id, run)
        self.stored.setdefault(run_id, []).append(run)

    def history(self, run_id: str) -> list[str]:
        """Every state the id's runs went through, a replacing run's states after the replaced one's."""
        return [state for run in self.stored[run_id] for state in run.history]

    def created(self) -> list[Run]:
        """The runs stored after the seed (a start or restart of a fixed id counts each time)."""
        return [
            run
            for run_id, runs in self.stored.items()
            for run in (runs[1:] if run_id in self.seeded else runs)
        ]

    def entered(self, state: str) -> int:
        """How many times any run entered ``state`` after the seed."""
        seeded_states = sum(
            self.stored[run_id][0].history[: self.seed_lengths[run_id]].count(state) for run_id in self.seeded
        )
        return sum(run.history.count(state) for runs in self.stored.values() for run in runs) - seeded_states


class ClientDone(Exception):
    """A client has sent all its requests."""


@dataclass
class Tally:
    """What all clients of one mock saw: statuses, 5xx answers, started ids and accepted moves."""

    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    deleted: set[str] = field(default_factory=set)

    @property
    def requests(self) -> int:
        return self.statuses.total()


class Client:
    """One simulated client: its own connection, a request budget and a seeded random choice."""

    def __init__(self, http: httpx.AsyncClient, tally: Tally, budget: int, seed: int) -> None:
        self.http, self.tally, self.budget = http, tally, budget
        self.random = random.Random(seed)

    async def send(self, method: str, url: str, **options: Any) -> httpx.Response:
        if self.budget <= 0:
            raise ClientDone
        self.budget -= 1
        response = await self.http.request(method, url, **options)
        self.tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.tally.server_errors.append(
                f"{method} {url} -> {response.status_code}: {response.text[:200]}"
            )
        return response


Scenario = Callable[[Client], Awaitable[None]]


# -- scenarios: one client's mixed lifecycle requests, repeated until its budget is spent ------
KOGNITOS_PROCESS = {"agent_id": "b4fznghynbdemslfd5k044fgd", "process_id": "b4fznghynbdemslfd5k044fgd"}


async def kognitos(client: Client) -> None:
    """Start a run (some read an unknown file and fail), poll it, list the process's runs."""
    while True:
        files = ["b4fznghynbdemslfd5k044fgd"] + (["unknown-file"] if client.random.random() < 0.3 else [])
        body = {**KOGNITOS_PROCESS, "name": "load", "stage": "Draft", "file_ids": files}
        started = await client.send("POST", "/runs", json=body)
        if started.status_code == 201:
            client.tally.started.append(started.json()["id"])
            for _ in range(client.random.randint(1, 4)):
                await client.send("GET", f"/runs/{started.json()['id']}")
        await client.send("GET", "/runs", params={**KOGNITOS_PROCESS, "limit": 20})


ROBOCORP_WS = "/workspaces/workspace_id_example"
ROBOCORP_PROCESS = f"{ROBOCORP_WS}/processes/process_id_example"


async def robocorp(client: Client) -> None:
    """Start (header or query-string key), poll, stop some, delete finished ones, list, outputs."""
    while True:
        if client.random.random() < 0.2:
            started = await client.send(
                "POST",
                f"{ROBOCORP_PROCESS}/process-runs-integrations",
                params={"token": TOKEN},
                json={"n": 1},
            )
        else:
            body = client.random.choice([None, {"type": "with_payloads", "payloads": [{"n": 1}, {"n": 2}]}])
            started = await client.send("POST", f"{ROBOCORP_PROCESS}/process-runs", json=body)
        if started.status_code != 200 or not started.json().get("started"):
            continue
        run_id = started.json()["id"]
        client.tally.started.append(run_id)
        run_url = f"{ROBOCORP_WS}/process-runs/{run_id}"
        if client.random.random() < 0.5:
            stop = {"set_remaining_work_items_as_done": client.random.random() < 0.5}
            stopped = await client.send(
                "POST", f"{run_url}/stop", json={**stop, "terminate_ongoing_activity_runs": True}
            )
            if stopped.status_code == 200 and stopped.json()["accepted"]:
                client.tally.accepted["stopping"] += 1
        for _ in range(client.random.randint(1, 3)):
            await client.send("GET", run_url)
        await client.send("GET", f"{run_url}/outputs")
        if client.random.random() < 0.3:
            deleted = await client.send("DELETE", run_url)
            if deleted.status_code == 200:
                client.tally.deleted.add(run_id)
        await client.send("GET", f"{ROBOCORP_WS}/process-runs", params={"limit": 20})


AUTOMATION_RETRYABLE = ["9b2e7d4a-1f3c-4e8b-a6d5-3c7f0e2b1a94", "e7d3b9a1-4c2f-4a8e-b5d6-0f1c3e9a2b78"]


async def automation_runs(client: Client) -> None:
    """Retry a failed or cancelled run (the API's start), poll it, cancel some, read steps, list."""
    retryable = list(AUTOMATION_RETRYABLE)
    while True:
        source = client.random.choice(retryable)
        mode = client.random.choice(["full", "from_failed"])
        started = await client.send("POST", f"/automation-runs/{source}/retry", json={"mode": mode})
        if started.status_code != 200:
            continue
        run_id = started.json()["id"]
        client.tally.started.append(run_id)
        if client.random.random() < 0.5:
            cancelled = await client.send("POST", f"/automation-runs/{run_id}/cancel")
            if cancelled.status_code == 200:
                client.tally.accepted["cancelled"] += 1
                retryable.append(run_id)
        for _ in range(client.random.randint(1, 3)):
            await client.send("GET", f"/automation-runs/{run_id}")
        await client.send("GET", f"/automation-runs/{run_id}/steps")
        await client.send("GET", f"/automation-runs/{run_id}/events")
        await client.send("GET", "/automation-runs", params={"limit": 20})


SOLVEXIA_STEPS = {"pr-114278": ["ds-114279", "ds-114278", "as-20682"], "pr-263": []}


async def solvexia(client: Client) -> None:
    """Everyone races for the same two runs: start, poll, cancel, restart from a step, read steps."""
    while True:
        run_id = client.random.choice(list(SOLVEXIA_STEPS))
        run_url = f"/v1/processruns/{run_id}"
        if client.random.random() < 0.2:
            request = client.random.choice(["ProcessRun_StartRq", "ProcessRun_CancelRq"])
            response = await client.send(
                "POST", "/v1/requests", json={"request": request, "processRunId": run_id}
            )
            move = "start" if request == "ProcessRun_StartRq" else "cancel"
        else:
            move = client.random.choice(["start", "cancel", "restart"])
            steps = SOLVEXIA_STEPS[run_id]
            if move == "restart" and steps:
                url = f"{run_url}/steps/{client.random.choice(steps)}/restartfromhere"
            else:
                move = "start" if move == "restart" else move
                url = f"{run_url}/{move}"
            response = await client.send("POST", url)
        if response.status_code == 200:
            client.tally.accepted[move] += 1
            if move != "cancel":  # a start or a restart stores a new run under the id
                client.tally.started.append(run_id)
        await client.send("GET", f"{run_url}/runstatus")
        await client.send("GET", f"{run_url}/steps")
        if SOLVEXIA_STEPS[run_id]:
            await client.send("GET", f"{run_url}/steps/{SOLVEXIA_STEPS[run_id][0]}/runstatus")


# -- listings after the load: every run once ----------------------------------------------------
async def list_kognitos(http: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {**KOGNITOS_PROCESS, "limit": 100}
    while True:
        page = (await http.get("/runs", params=params)).raise_for_status().json()
        ids += [run["id"] for run in page["items"]]
        if page["continuation_token"] is None:
            return ids
        params["continuation_token"] = page["continuation_token"]


async def list_robocorp(http: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    page = (await http.get(f"{ROBOCORP_WS}/process-runs", params={"limit": 100})).raise_for_status().json()
    ids += [run["id"] for run in page["data"]]
    while page["next"] is not None:  # an absolute URL with the mock's opaque cursor
        page = (await http.get(page["next"])).raise_for_status().json()
        ids += [run["id"] for run in page["data"]]
    return ids


async def fetch_solvexia(http: httpx.AsyncClient) -> list[str]:
    """SolveXia has no listing: its runs are the fixed ids, each of which must still answer."""
    return [
        run_id
        for run_id in SOLVEXIA_STEPS
        if (await http.get(f"/v1/processruns/{run_id}/runstatus")).status_code == 200
    ]


async def list_automation_runs(http: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    while True:
        query = {"limit": 100, "offset": len(ids)}
        page = (await http.get("/automation-runs", params=query)).raise_for_status().json()
        ids += [run["id"] for run in page["items"]]
        if len(ids) >= page["total"] or not page["items"]:
            return ids


@dataclass(frozen=True)
class LoadPlan:
    scenario: Scenario
    #: The ids of every run the mock holds, through its listing.
    listing: Callable[[httpx.AsyncClient], Awaitable[list[str]]]
    #: The state each accepted move (by the tally's name) enters; checked against the histories.
    moves: dict[str, str]
    #: Runs keep fixed ids (SolveXia starts and restarts existing runs) instead of minting new ones.
    fixed_ids: bool = False


PLANS = {
    "kognitos": LoadPlan(kognitos, list_kognitos, {}),
    "robocorp": LoadPlan(robocorp, list_robocorp, {"stopping": "stopping"}),
    "automation_runs": LoadPlan(automation_runs, list_automation_runs, {"cancelled": "cancelled"}),
    "solvexia": LoadPlan(solvexia, fetch_solvexia, {"start": "Scheduled", "cancel": "Cancelled"}, True),
}


async def drive(base_url: str, api: str, plan: LoadPlan) -> tuple[Tally, list[str]]:
    """Run every client, each on its own connection, to the end of its budget; then list the runs."""
    tally = Tally()
    headers = get_api(api).auth_headers(TOKEN)
    options: dict[str, Any] = {
        "base_url": base_url,
        "headers": headers,
        "timeout": 60,
        "verify": loopback.tls(),
    }

    async def one(number: int) -> None:
        async with httpx.AsyncClient(**options) as http:
            with contextlib.suppress(ClientDone):
                await plan.scenario(Client(http, tally, REQUESTS_PER_CLIENT, seed=number))

    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(CLIENTS))), LOAD_TIMEOUT)
    async with httpx.AsyncClient(**options) as http:
        listing = await plan.listing(http)
    return tally, listing


Loaded = tuple[VendorMock, RunLedger, Tally, list[str]]


@pytest.fixture(scope="module", params=list(PLANS))
def loaded(request: pytest.FixtureRequest) -> Iterator[Loaded]:
    """A faithful mock after the load, with its run ledger, the clients' tally and its listing."""
    api = request.param
    mock = create_mock(api, "faithful", TOKEN)
    ledger = mock.runs = RunLedger(mock.runs)
    with MockServer(mock.app(), mock.spec.base_path) as server:
        tally, listing = asyncio.run(drive(server.base_url, api, PLANS[api]))
    yield mock, ledger, tally, listing


def test_load_gets_no_server_error_and_loses_no_run(loaded: Loaded) -> None:
    mock, ledger, tally, listing = loaded
    assert tally.requests == CLIENTS * REQUESTS_PER_CLIENT
    assert tally.server_errors == []
    assert len(ledger.created()) == len(tally.started), "runs stored and runs started differ"
    plan = PLANS[mock.name]
    if not plan.fixed_ids:
        assert len(tally.started) == len(set(tally.started)), "a run id was handed out twice"
        assert set(tally.started) == set(ledger.stored) - ledger.seeded
    assert len(listing) == len(set(listing)), "a run is listed twice"
    assert set(listing) == (ledger.seeded | set(tally.started)) - tally.deleted
    assert not tally.deleted & set(mock.runs)
    for move, state in plan.moves.items():
        assert ledger.entered(state) == tally.accepted[move], f"accepted {move}s and the histories differ"


def test_load_leaves_only_documented_transitions(loaded: Loaded) -> None:
    mock, ledger, _, _ = loaded
    lifecycle = mock.spec.lifecycle
    assert lifecycle is not None
    for run_id in ledger.stored:
        history = ledger.history(run_id)
        if run_id not in ledger.seeded:
            assert lifecycle.is_initial(history[0]), f"{run_id} began {history[0]}"
        bad = [(a, b) for a, b in pairwise(history) if not lifecycle.allows(a, b)]
        assert bad == [], f"{run_id}: {history}"
