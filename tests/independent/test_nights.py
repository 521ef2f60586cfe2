"""``conformance run --base-url`` against servers the suite was not built with: one per API, each
written from its vendor's documents alone (see each folder's README for the readings it chose).

A night against a server that keeps the documents is green, and every finding it still reports
is listed here with why it fails nothing. A night against the same server with one broken promise
planted is red, with new breaking drift at the operation and place of the break.
"""

from __future__ import annotations

import json
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from conformance.vendors.registry import get_api

from ..inprocess import InProcess
from .judging import Caught, breaking, night, served

APIS = ("solvexia", "robocorp", "kognitos", "automation_runs")
#: An HTTP convention no document of these APIs states (RFC 9110): reported, never drift.
UNSUPPORTED_METHOD = ("convention", "RFC 9110 section 15.5.6")
#: Every finding a night against a faithful server may report, by (operation, kind): its class and
#: words of the reason it carries (the spec's ``x-assumption``, or the convention it rests on).
UNSAID: dict[str, dict[tuple[str, str], tuple[str, str]]] = {
    "solvexia": {
        **{
            (operation, "timestamp-without-offset"): ("assumption", "that they are RFC 3339 timestamps")
            for operation in ("cancelProcessRun", "processRunRequest")
        },
        # the server answers a refused sign-in with SolveXia's {message, supportId} beside RFC 6749's
        # fields: the spec assumes RFC 6749's answer, as no page shows a failed token request
        ("requestToken", "extra-field"): ("assumption", "The OAuth page shows no failed token request"),
        # the server sends both of the documents' names of a step's order, stepOrder beside the
        # schema's orderedName: the example shows stepOrder instead of it (SX-008), not beside it,
        # so the extra member is additive drift (fails only --fail-on any)
        ("listProcessRunSteps", "extra-field"): ("new", ""),
        **{
            (operation, "unsupported_method"): UNSUPPORTED_METHOD
            for operation in (
                "cancelProcessRun",
                "getProcessRun",
                "getProcessRunStatus",
                "getStepRunStatus",
                "listProcessRunSteps",
                "processRunRequest",
                "requestToken",
                "restartStepFromHere",
                "startProcessRun",
            )
        },
    },
    "robocorp": {
        # the outputs' process and process_run references carry a name the documents do not list:
        # an extra member breaks no client written to them (additive, fails only --fail-on any)
        ("listProcessRunOutputs", "extra-field"): ("new", ""),
        **{
            (operation, "unsupported_method"): UNSUPPORTED_METHOD
            for operation in (
                "getProcessRun",
                "listProcessRunOutputs",
                "listProcessRuns",
                "startProcessRun",
                "startProcessRunQsAuth",
                "stopProcessRun",
            )
        },
    },
    "kognitos": {
        ("listRuns", "positive_data_acceptance"): ("assumption", "a limit of at least 1 is assumed"),
        ("startRun", "positive_data_acceptance"): ("assumption", "as its example shows, is assumed"),
        ("startRun", "undocumented-status"): ("assumption", "The page documents no error response"),
        ("getRun", "unsupported_method"): UNSUPPORTED_METHOD,
        ("startRun", "unsupported_method"): UNSUPPORTED_METHOD,
    },
    "automation_runs": {
        ("retryAutomationRun", "positive_data_acceptance"): (
            "assumption",
            "whether the body may be left out",
        ),
    },
}

#: A test's nights run each server four times faster than its own pace (a step every 0.05 s: runs
#: end within 0.5 s and read ended at 0.75 s), and give up a run a break keeps from ending at 1.55 s
#: (polled from 0.05 s doubling, for 3 s) instead of 6.35 s.
BRISK: dict[str, Any] = {"step_seconds": 0.05, "lifecycle_timeout": 3.0}
#: Every planted break that turns a night red, and where. The rest of each server's breaks are in
#: ``NOT_RED`` with the reason they do not.
CAUGHT: dict[tuple[str, str], Caught] = {
    # SolveXia (Flask + waitress, with its OAuth token endpoint: the night signs in)
    ("solvexia", "process_run_field_renamed"): Caught("getProcessRun", "/dateCreated", "missing-field"),
    ("solvexia", "run_duration_as_string"): Caught(
        "getProcessRunStatus", "/runDurationInSeconds", "type-mismatch"
    ),
    ("solvexia", "start_drops_date_finished"): Caught("startProcessRun", "/dateFinished", "missing-field"),
    ("solvexia", "run_status_recased"): Caught("getProcessRunStatus", "/status", "enum-casing"),
    ("solvexia", "cancel_status_respelled"): Caught("cancelProcessRun", "/status", "unknown-enum-value"),
    ("solvexia", "cancel_does_nothing"): Caught("cancelProcessRun", "/status", "cancel-ignored"),
    ("solvexia", "steps_server_error"): Caught("listProcessRunSteps", "status", "server-error"),
    ("solvexia", "steps_duplicated"): Caught("listProcessRunSteps", "/*/id", "duplicate-item"),
    ("solvexia", "error_drops_support_id"): Caught("getProcessRun", "/supportId", "missing-field"),
    ("solvexia", "token_expires_in_string"): Caught("requestToken", "/expires_in", "type-mismatch"),
    ("solvexia", "step_status_drops_completion_message"): Caught(
        "getStepRunStatus", "/completionMessage", "missing-field"
    ),
    # Robocorp (aiohttp)
    ("robocorp", "state_renamed"): Caught("getProcessRun", "/state", "missing-field"),
    ("robocorp", "duration_as_string"): Caught("getProcessRun", "/duration", "type-mismatch"),
    ("robocorp", "start_drops_id"): Caught("startProcessRun", "/id", "missing-field"),
    ("robocorp", "state_recased"): Caught("listProcessRuns", "/data/*/state", "enum-casing"),
    ("robocorp", "state_filter_ignored"): Caught("listProcessRuns", "/data/*/state", "filter-ignored"),
    ("robocorp", "limit_ignored"): Caught("listProcessRuns", "/data", "limit-exceeded"),
    ("robocorp", "stop_noop"): Caught("stopProcessRun", "/state", "cancel-ignored"),
    ("robocorp", "finished_run_resumes"): Caught("getProcessRun", "/state", "terminal-state-left"),
    ("robocorp", "list_500"): Caught("listProcessRuns", "status", "server-error"),
    ("robocorp", "list_duplicates"): Caught("listProcessRuns", "/data/*/id", "duplicate-item"),
    ("robocorp", "error_body_flat"): Caught("getProcessRun", "/error", "missing-field"),
    ("robocorp", "delete_noop"): Caught("deleteProcessRun", "status", "delete-ignored"),
    ("robocorp", "integrations_token_ignored"): Caught(
        "startProcessRunQsAuth", "status", "auth-not-enforced"
    ),
    # Kognitos (Litestar + msgspec)
    ("kognitos", "rename_created_at"): Caught("getRun", "/created_at", "field-name-alias"),
    ("kognitos", "file_ids_as_string"): Caught("getRun", "/file_ids", "type-mismatch"),
    ("kognitos", "list_drops_agent_id"): Caught("listRuns", "/items/*/agent_id", "filter-ignored"),
    ("kognitos", "last_page_omits_continuation_token"): Caught(
        "listRuns", "/continuation_token", "missing-field"
    ),
    ("kognitos", "stage_lowercase"): Caught("getRun", "/stage", "enum-casing"),
    ("kognitos", "limit_ignored"): Caught("listRuns", "/items", "limit-exceeded"),
    ("kognitos", "process_filter_ignored"): Caught("listRuns", "/items/*/process_id", "filter-ignored"),
    ("kognitos", "continuation_token_ignored"): Caught("listRuns", "/items/*/id", "duplicate-item"),
    ("kognitos", "duplicate_items"): Caught("listRuns", "/items/*/id", "duplicate-item"),
    ("kognitos", "get_run_500"): Caught("getRun", "status", "server-error"),
    ("kognitos", "auth_not_enforced"): Caught("listRuns", "status", "auth-not-enforced"),
    ("kognitos", "long_run_ids"): Caught("getRun", "/id", "constraint-violation"),
    # Automation Runs (FastAPI)
    ("automation_runs", "run-field-snake-case"): Caught(
        "getAutomationRun", "/automationVersionId", "field-name-alias"
    ),
    ("automation_runs", "step-field-snake-case"): Caught(
        "getAutomationRunSteps", "/steps/*/dependsOn", "field-name-alias"
    ),
    ("automation_runs", "total-as-string"): Caught("listAutomationRuns", "/total", "type-mismatch"),
    ("automation_runs", "offset-ignored"): Caught("listAutomationRuns", "/items/*/id", "duplicate-item"),
    ("automation_runs", "list-duplicates-items"): Caught(
        "listAutomationRuns", "/items/*/id", "duplicate-item"
    ),
    ("automation_runs", "cancel-is-a-no-op"): Caught("cancelAutomationRun", "/status", "cancel-ignored"),
    # the run reopens one step after it ended: at the servers' own pace (0.2 s a step), the reads
    # that follow an ended run come that much later to see it
    ("automation_runs", "completed-run-reopens"): Caught(
        "getAutomationRun", "/status", "terminal-state-left", {"poll_interval": 0.2, "step_seconds": 0.2}
    ),
    ("automation_runs", "steps-server-error"): Caught("getAutomationRunSteps", "status", "server-error"),
    # a refused request's body: the engine's own invalid cases (coverage) meet it
    ("automation_runs", "validation-error-shape"): Caught(
        "getAutomationRun", "/detail", "type-mismatch", {"phases": ("examples", "coverage")}
    ),
}

#: The planted breaks that leave a night green, and why: what no document of the API promises is
#: an assumption or a convention, never drift; two promises only a longer night can see broken.
NOT_RED: dict[tuple[str, str], str] = {
    ("solvexia", "finished_run_reverts"): (
        "the run reads Running again one step after it finished, and a poller that doubles its wait "
        "(as against a real server) steps over that moment: the run reads Running until the "
        "lifecycle's time is up, an assumption (how long a run takes is not documented)"
    ),
    ("solvexia", "unknown_run_found"): (
        "a made-up run id answered 200 cannot be told from a run the tenant has, unless the answer "
        "names another run (identity-mismatch): a full night's fuzzing meets one (bench/"
        "detection_independent.py), a test's short night does not"
    ),
    ("kognitos", "error_status_code_as_string"): (
        "no page shows an error response (KG-006): the error body is the spec's assumption"
    ),
    ("kognitos", "stage_filter_ignored"): (
        "the page describes the stage parameter only as 'The process stage': that it filters the "
        "list is the spec's assumption"
    ),
    ("automation_runs", "status-upper-case"): (
        "the page lists no run status values, only the example pending: a re-cased status "
        "contradicts no document (its list filter, reported as filter-ignored, is new drift only on "
        "the list, not at the retry's /status)"
    ),
    ("automation_runs", "cancel-drops-updated-at"): (
        "the page shows response bodies but marks no member required: which members a run always "
        "carries is the spec's assumption"
    ),
    ("automation_runs", "limit-range-ignored"): (
        "a server that serves a limit above the documented 1000 instead of refusing it breaks no "
        "promise a client relies on: refusing is an HTTP convention (negative data)"
    ),
    ("automation_runs", "cookie-ignored"): (
        "the night sends the credential in one of the three documented carriers (a header); the "
        "cookie is not tried"
    ),
}


def test_every_planted_break_is_accounted_for() -> None:
    planted = {
        (api, name) for api in APIS for name in import_module(f"tests.independent.{api}.breaks").BREAKS
    }
    assert set(CAUGHT) | set(NOT_RED) == planted and not set(CAUGHT) & set(NOT_RED)
    for api in APIS:
        assert sum(1 for caught_api, _ in CAUGHT if caught_api == api) >= 8, api


@pytest.mark.parametrize("api", APIS)
def test_a_night_against_a_server_that_keeps_the_documents_is_green(
    api: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``conformance run <api> --base-url`` as a team runs it: exit 0, and every finding is one of
    the listed assumptions, conventions or additive members, each with its reason."""
    command = InProcess(monkeypatch, capsys)
    with served(api, step_seconds=BRISK["step_seconds"]) as server:
        given = server.credentials
        env = (
            {"SOLVEXIA_CLIENT_ID": given["client_id"], "SOLVEXIA_CLIENT_SECRET": given["client_secret"]}
            if api == "solvexia"
            else {get_api(api).credential_env: given["token"]}
        )
        done = command(
            "run", api, "--base-url", server.base_url, "--seed", "1", "--poll-interval", "0.05",
            "--lifecycle-timeout", "20", "--report-dir", str(tmp_path / "report"), env=env,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((tmp_path / "report" / "results.json").read_text())
    assert document["summary"]["breaking"] == 0 and not document["errors"]
    for finding in document["findings"]:
        if finding["classification"] == "known":
            continue
        listed = UNSAID[api].get((finding["operation"], finding["kind"]))
        assert listed is not None, finding
        classification, reason = listed
        assert finding["classification"] == classification, finding
        if classification == "new":
            assert finding["severity"] == "additive", finding
        else:
            assert reason in (finding["assumption"] or ""), finding


@pytest.mark.parametrize(("api", "planted"), sorted(CAUGHT), ids=lambda value: str(value))
def test_a_broken_promise_turns_the_night_red_where_it_is_broken(api: str, planted: str) -> None:
    caught = CAUGHT[(api, planted)]
    result = night(api, (planted,), **{**BRISK, **caught.options})
    assert result.exit_code == 1 and not result.errors
    assert (caught.operation, caught.location, caught.kind) in breaking(result), sorted(breaking(result))
