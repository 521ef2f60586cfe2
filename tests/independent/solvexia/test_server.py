"""Quick checks over real HTTP: the documented operations, credentials, run lifecycle, breaks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ... import loopback
from .breaks import BREAKS
from .serving import Served, serve

STEP = 0.05
RUN_STATUS_KEYS = ["id", "dateStarted", "dateFinished", "runDurationInSeconds", "status"]
STEP_STATUS_KEYS = [*RUN_STATUS_KEYS, "completionMessage"]


def client(served: Served, token: str | None = None) -> httpx.Client:
    """An httpx client on the base URL, with the ready bearer token unless told otherwise."""
    return loopback.Client(
        base_url=served.base_url,
        timeout=5.0,
        headers={"Authorization": f"Bearer {token or served.credentials['token']}"},
    )


def wait_for(read: Callable[[], str], wanted: str, limit: float = 2.0) -> str:
    """Poll ``read`` until it gives ``wanted`` or ``limit`` seconds pass; the last value read."""
    deadline = time.monotonic() + limit
    value = read()
    while value != wanted and time.monotonic() < deadline:
        time.sleep(STEP / 2)
        value = read()
    return value


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(step_seconds=STEP) as s:
        yield s


def test_token_endpoint_issues_a_usable_bearer_token(served: Served) -> None:
    creds = {k: served.credentials[k] for k in ("client_id", "client_secret")}
    answer = loopback.post(served.token_url, json={**creds, "grant_type": "client_credentials"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], float | int)
    with client(served, body["access_token"]) as c:
        assert c.get(f"/v1/processruns/{served.process_run_id}").status_code == 200
    form = loopback.post(served.token_url, data={**creds, "grant_type": "client_credentials"})
    assert form.status_code == 200


def test_credentials_are_enforced(served: Served) -> None:
    bad = loopback.post(
        served.token_url,
        json={
            "client_id": served.credentials["client_id"],
            "client_secret": "wrong",
            "grant_type": "client_credentials",
        },
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"
    assert set(bad.json()) >= {"message", "supportId"}
    path = f"{served.base_url}/v1/processruns/{served.process_run_id}"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        answer = loopback.get(path, headers=headers)
        assert answer.status_code == 403 and set(answer.json()) == {"message", "supportId"}


def test_read_operations_answer_as_documented(served: Served) -> None:
    with client(served) as c:
        run = c.get(f"/v1/processruns/{served.process_run_id}").json()
        assert run["id"] == served.process_run_id and run["process"] == served.process_id
        assert all(isinstance(v, str) for v in run.values()) and "runButtonName" not in run
        for run_id, status in [
            (served.finished_run_id, "Finished"),
            (served.cancelled_run_id, "Cancelled"),
            (served.timed_out_run_id, "TimedOut"),
            (served.running_run_id, "Running"),
            (served.process_run_id, "NotStarted"),
        ]:
            body = c.get(f"/v1/processRuns/{run_id}/runstatus").json()
            assert list(body) == RUN_STATUS_KEYS and body["status"] == status
        steps = c.get(f"/v1/processruns/{served.finished_run_id}/steps").json()
        assert [s["id"] for s in steps] == [
            served.data_step_id,
            served.second_data_step_id,
            served.disabled_step_id,
        ]
        assert {"id", "name", "isEnabled", "orderedName", "stepOrder"} <= set(steps[0])
        step = c.get(f"/v1/processruns/{served.finished_run_id}/steps/{served.action_step_id}/runstatus")
        assert list(step.json()) == STEP_STATUS_KEYS and step.json()["status"] == "Success"
        missing = c.get("/v1/processruns/pr-does-not-exist")
        assert missing.status_code == 404 and set(missing.json()) == {"message", "supportId"}
        assert c.get(f"/v1/processruns/{served.finished_run_id}/steps/as-0/runstatus").status_code == 404


def test_a_started_run_progresses_to_finished() -> None:
    # its own server, with steps long enough that a poll on a busy machine still sees Running
    with serve(step_seconds=0.25) as served, client(served) as c:
        started = c.post(f"/v1/processruns/{served.process_run_id}/start").json()
        assert started["status"] == "Scheduled" and started["dateStarted"] is None
        assert c.post(f"/v1/processruns/{served.process_run_id}/start").status_code == 400

        def status() -> str:
            return c.get(f"/v1/processruns/{served.process_run_id}/runstatus").json()["status"]

        assert wait_for(status, "Running", limit=5) == "Running"
        assert wait_for(status, "Finished", limit=15) == "Finished"
        step = c.get(f"/v1/processruns/{served.process_run_id}/steps/{served.disabled_step_id}/runstatus")
        assert step.json()["status"] == "Skipped"


def test_cancel_and_restart_from_a_step(served: Served) -> None:
    with client(served) as c:
        run = served.running_run_id
        cancelled = c.post(f"/v1/processruns/{run}/cancel").json()
        assert cancelled["status"] == "Cancelled" and cancelled["dateFinished"] is not None
        time.sleep(2 * STEP)
        assert c.get(f"/v1/processruns/{run}/runstatus").json()["status"] == "Cancelled"
        step = c.get(f"/v1/processruns/{run}/steps/{served.action_step_id}/runstatus").json()
        assert step["status"] == "Cancelled"
        assert c.post(f"/v1/processruns/{served.finished_run_id}/cancel").status_code == 400
        restarted = c.post(
            f"/v1/processruns/{served.cancelled_run_id}/steps/{served.action_step_id}/restartfromhere"
        ).json()
        assert restarted["status"] == "Running"
        assert restarted["completionMessage"] == "step is currently running"
        assert c.get(f"/v1/processruns/{served.cancelled_run_id}/runstatus").json()["status"] == "Running"


def test_deprecated_requests_endpoint_starts_and_cancels(served: Served) -> None:
    with client(served) as c:
        run = served.timed_out_run_id
        started = c.post("/v1/requests", json={"request": "ProcessRun_StartRq", "processRunId": run})
        assert started.status_code == 200 and started.json()["status"] == "Scheduled"
        cancelled = c.post("/v1/requests", json={"request": "ProcessRun_CancelRq", "processRunId": run})
        assert cancelled.json()["status"] == "Cancelled"
        assert c.post("/v1/requests", json={"request": "startRun", "processRunId": run}).status_code == 400
        assert c.post("/v1/requests", json={"request": "ProcessRun_StartRq"}).status_code == 400


def _get(c: httpx.Client, path: str) -> Any:
    return c.get(path).json()


def _cancel_then_read(c: httpx.Client, s: Served) -> tuple[str, str]:
    said = c.post(f"/v1/processruns/{s.running_run_id}/cancel").json()["status"]
    time.sleep(2 * STEP)
    return said, _get(c, f"/v1/processruns/{s.running_run_id}/runstatus")["status"]


def _expires_in_type(c: httpx.Client, s: Served) -> str:
    creds = {k: s.credentials[k] for k in ("client_id", "client_secret")}
    answer = loopback.post(s.token_url, json={**creds, "grant_type": "client_credentials"})
    return type(answer.json()["expires_in"]).__name__


def _finished(c: httpx.Client, s: Served) -> Any:
    return _get(c, f"/v1/processruns/{s.finished_run_id}/runstatus")


# What each break changes, read the same way from an unbroken and a broken server.
PROBES: dict[str, Callable[[httpx.Client, Served], Any]] = {
    "process_run_field_renamed": lambda c, s: sorted(_get(c, f"/v1/processruns/{s.process_run_id}")),
    "run_duration_as_string": lambda c, s: _finished(c, s)["runDurationInSeconds"],
    "start_drops_date_finished": lambda c, s: sorted(
        c.post(f"/v1/processruns/{s.process_run_id}/start").json()
    ),
    "run_status_recased": lambda c, s: _finished(c, s)["status"],
    "cancel_status_respelled": _cancel_then_read,
    "cancel_does_nothing": _cancel_then_read,
    "finished_run_reverts": lambda c, s: _finished(c, s)["status"],
    "steps_server_error": lambda c, s: c.get(f"/v1/processruns/{s.process_run_id}/steps").status_code,
    "steps_duplicated": lambda c, s: [x["id"] for x in _get(c, f"/v1/processruns/{s.process_run_id}/steps")],
    "unknown_run_found": lambda c, s: c.get("/v1/processruns/pr-does-not-exist").status_code,
    "error_drops_support_id": lambda c, s: sorted(_get(c, "/v1/processruns/pr-does-not-exist")),
    "token_expires_in_string": _expires_in_type,
    "step_status_drops_completion_message": lambda c, s: sorted(
        _get(c, f"/v1/processruns/{s.process_run_id}/steps/{s.data_step_id}/runstatus")
    ),
}


def test_every_break_has_a_probe() -> None:
    assert set(PROBES) == set(BREAKS)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_break_changes_behaviour(name: str) -> None:
    observed = []
    for breaks in ((), (name,)):
        with serve(breaks=breaks, step_seconds=STEP) as s, client(s) as c:
            observed.append(PROBES[name](c, s))
    assert observed[0] != observed[1], f"{name} looks the same as the unbroken server: {observed[0]!r}"
