"""Quick checks over real HTTP: documented happy paths, credentials, run life, and every planted break."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ... import loopback
from .breaks import BREAKS
from .serving import Served, serve
from .store import STATES

RUN_FIELDS = {"id", "state", "created_at", "started_at", "ended_at", "process", "started_by", "duration"}


@pytest.fixture
def served() -> Iterator[Served]:
    with serve(step_seconds=0.1) as s:
        yield s


def client(s: Served) -> httpx.Client:
    return loopback.Client(base_url=s.base_url, headers={"Authorization": s.credentials["authorization"]})


def runs_path(s: Served, run_id: str = "") -> str:
    return f"/workspaces/{s.workspace_id}/process-runs" + (f"/{run_id}" if run_id else "")


def start_path(s: Served, process_id: str, integrations: bool = False) -> str:
    tail = "process-runs-integrations" if integrations else "process-runs"
    return f"/workspaces/{s.workspace_id}/processes/{process_id}/{tail}"


STOP_BODY = {"set_remaining_work_items_as_done": False, "terminate_ongoing_activity_runs": True}


def test_list_pages_filters_and_run_shape(served: Served) -> None:
    with client(served) as c:
        everything = c.get(runs_path(served)).json()
        assert everything["has_more"] is False and everything["next"] is None
        assert {r["state"] for r in everything["data"]} == set(STATES)
        for run in everything["data"]:
            assert set(run) == RUN_FIELDS and set(run["process"]) == {"id", "name"}
            assert run["started_by"]["type"] in {"api", "user", "schedule", "email"}
            assert (run["started_by"]["details"] is not None) == (run["started_by"]["type"] == "user")
        seen, url = [], runs_path(served) + "?limit=2"
        while url:
            body = c.get(url).json()
            assert len(body["data"]) <= 2 and body["has_more"] == (body["next"] is not None)
            seen += [r["id"] for r in body["data"]]
            url = body["next"]
        assert seen == [r["id"] for r in everything["data"]]
        completed = c.get(runs_path(served), params={"state": "completed"}).json()["data"]
        assert [r["id"] for r in completed] == [served.completed_run_id]
        failing = c.get(runs_path(served), params={"process_id": served.failing_process_id}).json()["data"]
        assert {r["id"] for r in failing} == {served.unresolved_run_id, served.new_run_id}
        assert c.get(runs_path(served), params={"state": "running"}).status_code == 400
        assert c.get(runs_path(served), params={"limit": "many"}).status_code == 400


def test_get_and_outputs(served: Served) -> None:
    with client(served) as c:
        run = c.get(runs_path(served, served.completed_run_id)).json()
        assert run["state"] == "completed" and isinstance(run["duration"], float)
        assert run["ended_at"].endswith("Z") and run["started_by"]["details"]["first_name"]
        missing = c.get(runs_path(served, "no-such-run"))
        assert missing.status_code == 404 and set(missing.json()["error"]) == {"code", "message"}
        nested = c.get(runs_path(served, served.completed_run_id) + "/outputs").json()
        flat = c.get(f"/workspaces/{served.workspace_id}/outputs").json()
        assert len(nested["data"]) == 2 and nested["data"] == flat["data"]
        assert nested["data"][0]["process_run"]["id"] == served.completed_run_id
        one = c.get(f"/workspaces/{served.workspace_id}/outputs", params={"limit": 1.7}).json()
        assert len(one["data"]) == 1 and one["has_more"] is True


def test_credentials_are_enforced(served: Served) -> None:
    key = served.credentials["api_key"]
    for headers in (
        {},
        {"Authorization": key},
        {"Authorization": f"Bearer {key}"},
        {"Authorization": "RC-WSKEY wrong"},
    ):
        r = loopback.get(served.base_url + runs_path(served), headers=headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    with client(served) as c:
        assert c.get("/workspaces/other-workspace/process-runs").status_code == 403
        path = start_path(served, served.process_id, integrations=True)
        assert c.post(path, json={"a": 1}).status_code == 400
        assert c.post(path, params={"token": "wrong"}, json={"a": 1}).status_code == 400


def test_start_variants(served: Served) -> None:
    with client(served) as c:
        path = start_path(served, served.process_id)
        assert c.post(path).json()["started"] is True
        assert c.post(path, json={"type": "with_payloads", "payloads": [{"x": 1}, 2]}).json()["started"]
        assert c.post(path, json={"type": "with_work_item_ids", "work_item_ids": ["w1"]}).json()["started"]
        assert c.post(path, json={"type": "with_inputs"}).json()["started"] is True
        assert c.post(path, json={"type": "with_inputs"}).json() == {"started": False}
        callback = {"url": "http://127.0.0.1:1/cb", "secret": "s", "callback_events": ["completed"]}
        assert c.post(path, json={"callback": callback}).status_code == 200
        assert c.post(path, json={"callback": {"url": "x"}}).status_code == 400
        assert c.post(path, json={"type": "with_everything"}).status_code == 400
        assert c.post(start_path(served, "no-such-process")).status_code == 400
        assert c.post(start_path(served, served.disabled_process_id)).status_code == 409


def test_run_progresses_and_stop_stops(served: Served) -> None:
    with client(served) as c:
        started = c.post(
            start_path(served, served.process_id), json={"type": "with_payloads", "payloads": [{"n": 1}]}
        ).json()
        states = []
        for _ in range(8):
            states.append(c.get(runs_path(served, started["id"])).json()["state"])
            time.sleep(served.step_seconds / 2)
        assert states[0] == "new" and "in_progress" in states and states[-1] == "completed"
        outputs = c.get(runs_path(served, started["id"]) + "/outputs").json()["data"]
        assert [o["payload"] for o in outputs] == [{"n": 1}]
        stop = runs_path(served, served.in_progress_run_id) + "/stop"
        assert c.post(stop, json={"reason": "no flags"}).status_code == 400
        assert c.post(stop, json=STOP_BODY).json() == {"accepted": True}
        assert c.get(runs_path(served, served.in_progress_run_id)).json()["state"] == "stopping"
        time.sleep(served.step_seconds * 1.5)
        assert c.get(runs_path(served, served.in_progress_run_id)).json()["state"] == "unresolved"
        done = runs_path(served, served.completed_run_id)
        assert c.post(done + "/stop", json=STOP_BODY).json() == {"accepted": False}
        assert c.post(runs_path(served, "nope") + "/stop", json=STOP_BODY).status_code == 404


def test_delete(served: Served) -> None:
    with client(served) as c:
        r = c.delete(runs_path(served, served.completed_run_id))
        assert r.json() == {"id": served.completed_run_id, "deleted": True}
        assert c.get(runs_path(served, served.completed_run_id)).status_code == 404
        assert c.delete(runs_path(served, served.completed_run_id)).status_code == 404
        assert c.delete(runs_path(served, served.in_progress_run_id)).status_code == 409


def test_integrations_start_and_asana_handshake(served: Served) -> None:
    path = start_path(served, served.process_id, integrations=True)
    token = {"token": served.credentials["token"]}
    with loopback.Client(base_url=served.base_url) as c:
        r = c.post(path, params=token, json=[1, "two"])
        assert r.status_code == 200 and r.json()["started"] is True and r.json()["id"]
        assert c.post(path, params=token).status_code == 400
        assert c.post(path, params={**token, "with_handshake": "slack"}, json={}).status_code == 400
        asana = {**token, "with_handshake": "asana"}
        shake = c.post(path, params=asana, headers={"X-Hook-Secret": "s3cret"})
        assert shake.status_code == 200 and shake.headers["X-Hook-Secret"] == "s3cret"
        event = json.dumps({"events": []}).encode()
        good = hmac.new(b"s3cret", event, hashlib.sha256).hexdigest()
        signed = {"X-Hook-Signature": good, "Content-Type": "application/json"}
        assert c.post(path, params=asana, content=event, headers=signed).json()["started"] is True
        forged = {**signed, "X-Hook-Signature": "0" * 64}
        assert c.post(path, params=asana, content=event, headers=forged).status_code == 400


def test_ids_are_settable() -> None:
    with serve(workspace_id="ws-1", api_key="k-1", completed_run_id="run-1") as s:
        r = loopback.get(
            f"{s.base_url}/workspaces/ws-1/process-runs/run-1", headers={"Authorization": "RC-WSKEY k-1"}
        )
        assert r.status_code == 200 and r.json()["state"] == "completed"


def _start_then(c: httpx.Client, s: Served, then: Callable[[str], Any]) -> Any:
    run_id = c.post(start_path(s, s.process_id)).json()["id"]
    return then(run_id)


def _stop_and_look(c: httpx.Client, s: Served, run_id: str) -> str:
    c.post(runs_path(s, run_id) + "/stop", json=STOP_BODY)
    time.sleep(s.step_seconds * 3)
    return str(c.get(runs_path(s, run_id)).json()["state"])


PROBES: dict[str, Callable[[httpx.Client, Served], Any]] = {
    "state_renamed": lambda c, s: "state" in c.get(runs_path(s, s.completed_run_id)).json(),
    "duration_as_string": lambda c, s: type(c.get(runs_path(s, s.completed_run_id)).json()["duration"]),
    "start_drops_id": lambda c, s: "id" in c.post(start_path(s, s.process_id)).json(),
    "state_recased": lambda c, s: c.get(runs_path(s)).json()["data"][0]["state"] in STATES,
    "state_filter_ignored": lambda c, s: {
        r["state"] for r in c.get(runs_path(s) + "?state=new").json()["data"]
    },
    "limit_ignored": lambda c, s: len(c.get(runs_path(s) + "?limit=2").json()["data"]),
    "stop_noop": lambda c, s: _start_then(c, s, lambda rid: _stop_and_look(c, s, rid)),
    "finished_run_resumes": lambda c, s: c.get(runs_path(s, s.completed_run_id)).json()["state"],
    "list_500": lambda c, s: c.get(runs_path(s)).status_code,
    "list_duplicates": lambda c, s: (
        len({r["id"] for r in c.get(runs_path(s)).json()["data"]}) == len(c.get(runs_path(s)).json()["data"])
    ),
    "error_body_flat": lambda c, s: "error" in c.get(runs_path(s, "no-such-run")).json(),
    "delete_noop": lambda c, s: (
        c.delete(runs_path(s, s.completed_run_id)),
        c.get(runs_path(s, s.completed_run_id)).status_code,
    )[1],
    "integrations_token_ignored": lambda c, s: (
        c.post(start_path(s, s.process_id, integrations=True), params={"token": "wrong"}, json={}).status_code
    ),
}


def test_every_break_has_a_probe() -> None:
    assert PROBES.keys() == BREAKS.keys() and len(BREAKS) >= 9


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_break_really_differs(name: str) -> None:
    with serve(step_seconds=0.05) as good, client(good) as c:
        expected = PROBES[name](c, good)
    with serve(step_seconds=0.05, breaks=[name]) as bad, client(bad) as c:
        assert PROBES[name](c, bad) != expected
