"""Well-formed lies: a mock made to misbehave (``conformance.mocks.drift``) answers with the right
shapes, and each behaviour it breaks is a finding of its own kind, at the right operation, with an
explanation and the curl lines that reproduce it. Over real HTTP on loopback."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import Scope

from conformance.contract.catalogue import parse_catalogue
from conformance.engine.runner import RunOptions, RunResult, run
from conformance.findings import Deviation, Finding
from conformance.judge.classify import classify
from conformance.kinds import BEHAVIOUR_KINDS, KINDS
from conformance.mocks import MockServer, create_mock
from conformance.mocks.drift import (
    Drift,
    DriftMiddleware,
    Mutation,
    answer,
    drop_query,
    duplicate_item,
    duplicate_key,
    empty_body,
    prefix_bom,
    regress,
    reroute,
    set_value,
)
from conformance.vendors.registry import APIS

from .. import loopback

TOKEN = "behaviour-test-token-3e1a"
KOGNITOS_RUNS, KOGNITOS_RUN = r"/v2/runs$", r"/v2/runs/[^/]+$"
RC_RUNS, RC_RUN = r"/process-runs$", r"/process-runs/[^/]+$"
AR_RUNS = r"/automation-runs$"


@dataclass(frozen=True)
class Expected:
    operation: str
    location: str
    kind: str
    #: ``new`` (breaking drift), or ``assumption`` where the behaviour rests on an x-assumption
    classification: str
    #: the explanation, as a regular expression
    message: str


def _deleted_yet_there(status: int, body: dict) -> tuple[int, dict]:
    return 200, {"id": body["id"], "deleted": True}


def _once(state: str, instead: str) -> Mutation:
    """Each run is answered in ``instead`` the first time it is in ``state``."""
    served: set[str] = set()

    def mutate(status: int, body: dict) -> tuple[int, dict]:
        if body.get("status") == state and body["id"] not in served:
            served.add(body["id"])
            body["status"] = instead
        return status, body

    return mutate


def _retry_moves_the_retried_run(run_path: str, state: str) -> list[Drift]:
    """The first read of a run after each retry of it finds it in ``state``: the retry changed
    the retried run (which the spec assumes it leaves as it was)."""
    retried = False

    def note(scope: Scope) -> Scope:
        nonlocal retried
        retried = True
        return scope

    def moved(status: int, body: dict) -> tuple[int, dict]:
        nonlocal retried
        if retried:
            body["status"], retried = state, False
        return status, body

    return [Drift("POST", run_path[:-1] + "/retry$", request=note), Drift("GET", run_path, moved)]


FAILED_AR_RUN = r"/automation-runs/9b2e7d4a-1f3c-4e8b-a6d5-3c7f0e2b1a94$"


CASES: dict[str, tuple[str, list[Drift], Expected]] = {
    # -- lists do what their parameters say
    "filter ignored": (
        "robocorp",
        [Drift("GET", RC_RUNS, request=drop_query("state"))],
        Expected(
            "listProcessRuns",
            "/data/*/state",
            "filter-ignored",
            "new",
            r"^`state=\w+` returned item `[^`]+` with state `\w+`$",
        ),
    ),
    "limit ignored": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUNS, request=drop_query("limit"))],
        Expected("listRuns", "/items", "limit-exceeded", "new", r"^`limit=\d` returned \d+ items$"),
    ),
    "continuation token ignored": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUNS, request=drop_query("continuation_token"))],
        Expected(
            "listRuns",
            "/items/*/id",
            "duplicate-item",
            "new",
            r"^item `\w+` is on page 1 and page 2 \(limit=\d",
        ),
    ),
    "offset ignored": (
        "automation_runs",
        [Drift("GET", AR_RUNS, request=drop_query("offset"))],
        Expected(
            "listAutomationRuns",
            "/items/*/id",
            "duplicate-item",
            "new",
            r"^item `[0-9a-f-]{36}` is on page 1 and page 2 \(limit=\d",
        ),
    ),
    "an item twice on one page": (
        "automation_runs",
        [Drift("GET", AR_RUNS, duplicate_item("/items"))],
        Expected(
            "listAutomationRuns",
            "/items/*/id",
            "duplicate-item",
            "new",
            r"^item `[0-9a-f-]{36}` is listed twice on one page",
        ),
    ),
    "total miscounted": (
        "automation_runs",
        [Drift("GET", AR_RUNS, set_value("/total", lambda total: total + 1))],
        Expected(
            "listAutomationRuns",
            "/total",
            "total-mismatch",
            "new",
            r"^total is (\d+), but paging through \(.*\) yielded (?!\1)\d+ items in \d+ page\(s\)$",
        ),
    ),
    # -- a run's identity is stable
    "another run's id": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUN, set_value("/id", "another0run0id00000000000"))],
        Expected(
            "getRun",
            "/id",
            "identity-mismatch",
            "new",
            r"^GET /runs/\{run_id\} with run_id `\w+` answered about `another0run0id00000000000`$",
        ),
    ),
    # -- terminal is terminal (which states are final is assumed: no Kognitos page lists them)
    "terminal state left": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUN, regress("/status", {"Completed", "Failed"}, "Running"))],
        Expected(
            "getRun",
            "/status",
            "terminal-state-left",
            "assumption",
            r"^run `\w+` went from `Completed` back to `Running` after it had ended$",
        ),
    ),
    # (and moves only along the documented transitions: here, which they are is assumed)
    "a run that goes back": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUN, _once("Completed", "Created"))],
        Expected("getRun", "/status", "invalid-transition", "assumption", r"observed Running -> Created$"),
    ),
    # -- commands take effect
    "cancel answered, not carried out": (
        "automation_runs",
        [Drift("POST", r"/cancel$", request=reroute("GET", r"/cancel$", ""))],
        Expected(
            "cancelAutomationRun",
            "/status",
            "cancel-ignored",
            "new",
            r"^cancelAutomationRun of run `[0-9a-f-]{36}` was accepted, yet the run went .*completed "
            r"and never cancelled$",
        ),
    ),
    "stop accepted, not carried out": (
        "robocorp",
        [Drift("POST", r"/stop$", answer(200, {"accepted": True}), request=reroute("GET", r"/stop$", ""))],
        Expected(
            "stopProcessRun",
            "/state",
            "cancel-ignored",
            "new",
            r"^stopProcessRun of run `[0-9a-f-]{36}` was accepted, yet the run went .*completed and "
            r"never stopping or unresolved$",
        ),
    ),
    "delete answered, not carried out": (
        "robocorp",
        [Drift("DELETE", RC_RUN, _deleted_yet_there, request=reroute("GET", r"$", ""))],
        Expected(
            "deleteProcessRun",
            "status",
            "delete-ignored",
            "new",
            r"^run `[0-9a-f-]{36}` still answers 200 to getProcessRun after deleteProcessRun answered 200$",
        ),
    ),
    "deleted run still listed": (
        "robocorp",
        [Drift("DELETE", RC_RUN, _deleted_yet_there, request=reroute("GET", r"$", ""))],
        Expected(
            "listProcessRuns",
            "/data/*/id",
            "delete-ignored",
            "new",
            r"^run `[0-9a-f-]{36}` is still listed by listProcessRuns after deleteProcessRun answered 200$",
        ),
    ),
    "retry answers the retried run": (
        "automation_runs",
        [Drift("POST", r"/retry$", request=reroute("GET", r"/retry$", ""))],
        Expected(
            "retryAutomationRun",
            "/id",
            "retry-mismatch",
            "assumption",
            r"^retryAutomationRun of run `[0-9a-f-]{36}` answered that same run, not a new one$",
        ),
    ),
    "retry moves the retried run": (
        "automation_runs",
        _retry_moves_the_retried_run(FAILED_AR_RUN, "running"),
        Expected(
            "retryAutomationRun",
            "/status",
            "retry-mismatch",
            "assumption",
            r"^retryAutomationRun of run `9b2e7d4a-[0-9a-f-]+` moved it from `failed` to `running`; ",
        ),
    ),
    # -- durations and times are physical
    "negative duration": (
        "robocorp",
        [Drift("GET", RC_RUN, set_value("/duration", lambda d: -d if d else d))],
        Expected("getProcessRun", "/duration", "negative-duration", "new", r"^duration is -[\d.]+ seconds$"),
    ),
    "duration in milliseconds": (
        "robocorp",
        [Drift("GET", RC_RUN, set_value("/duration", lambda d: d * 1000 if d else d))],
        Expected(
            "getProcessRun",
            "/duration",
            "duration-mismatch",
            "new",
            r"^duration is [\d.]+ seconds; its timestamps are [\d.]+ seconds apart$",
        ),
    ),
    "ended before it started": (
        "robocorp",
        [Drift("GET", RC_RUN, set_value("/ended_at", lambda v: v and "2000-01-01T00:00:00.000Z"))],
        Expected(
            "getProcessRun",
            "/ended_at",
            "timestamp-order",
            "new",
            r"^ended_at 2000-01-01T00:00:00\+00:00 is before started_at ",
        ),
    ),
    # -- strict JSON on the wire
    "byte-order mark": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUN, prefix_bom())],
        Expected("getRun", "", "byte-order-mark", "new", r"starts with a UTF-8 byte-order mark"),
    ),
    "duplicate key": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUN, duplicate_key("/status", "Running"))],
        Expected("getRun", "/status", "duplicate-key", "new", r"^key 'status' appears more than once"),
    ),
    "NaN": (
        "robocorp",
        [Drift("GET", RC_RUN, set_value("/duration", lambda d: d and float("nan")))],
        Expected("getProcessRun", "/duration", "non-finite-number", "new", r"^NaN at /duration is not JSON"),
    ),
    "Infinity": (
        "robocorp",
        [Drift("GET", RC_RUN, set_value("/duration", lambda d: d and float("inf")))],
        Expected(
            "getProcessRun", "/duration", "non-finite-number", "new", r"^Infinity at /duration is not JSON"
        ),
    ),
    "empty body": (
        "kognitos",
        [Drift("GET", KOGNITOS_RUN, empty_body())],
        Expected(
            "getRun", "", "empty-body", "new", r"^status 200 of GET /runs/\{run_id\} came with an empty body"
        ),
    ),
}


@dataclass
class Judged:
    result: RunResult
    base_url: str


@pytest.fixture
def judged(request: pytest.FixtureRequest) -> Iterator[Judged]:
    """A faithful mock behind the drifts, judged by ``conformance run`` (the mock stays up for the test)."""
    api, drifts = request.param
    mock = create_mock(api, "faithful", TOKEN)
    with MockServer(DriftMiddleware(mock.app(), drifts), mock.spec.base_path) as server:
        options = RunOptions(
            apis=[api],
            base_url=server.base_url,
            token=TOKEN,
            phases=("examples",),
            max_examples=3,
            seed=1,
            lifecycle_timeout=10,
            poll_interval=0.05,  # the mock walks a run a state per poll: no need to wait a polite second
        )
        yield Judged(run(options), server.base_url)


def _found(result: RunResult, expected: Expected) -> list[Finding]:
    return [
        f
        for f in result.findings
        if (f.operation, f.location, f.kind) == (expected.operation, expected.location, expected.kind)
    ]


@pytest.mark.parametrize(
    ("judged", "expected"),
    [pytest.param((api, drifts), expected, id=name) for name, (api, drifts, expected) in CASES.items()],
    indirect=["judged"],
)
def test_a_well_formed_lie_is_a_finding_of_its_own_kind(judged: Judged, expected: Expected) -> None:
    result = judged.result
    matching = _found(result, expected)
    seen = [(f.operation, f.location, f.kind, f.classification) for f in result.findings]
    assert matching, f"no {expected.kind} at {expected.operation} {expected.location}: {seen}"
    (finding,) = matching
    assert finding.classification == expected.classification
    assert finding.severity == "breaking" and finding.quirk is None
    assert re.search(expected.message, finding.message), finding.message
    if expected.classification == "assumption":
        # it rests on what the spec had to assume: reported with the reason, failing nothing
        assert finding.assumption
        assert not [f for f in result.findings if f.classification == "new"], seen
        assert result.exit_code == 0
    else:
        assert result.exit_code == 1
    assert finding.request and TOKEN not in finding.request
    assert all(line.startswith("curl -X ") for line in finding.request.splitlines())
    assert not result.errors


def _send(line: str, token: str) -> httpx.Response:
    """Carry out one curl line of a finding as a shell would, its credential variable set."""
    words = shlex.split(re.sub(r"\$\{[A-Z_]+\}", token, line))
    method, url = words[2], words[3]
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    body = words[words.index("-d") + 1] if "-d" in words else None
    return loopback.request(method, url, headers=headers, content=body, timeout=10)


@pytest.mark.parametrize(
    ("judged", "kind"),
    [
        (("kognitos", [Drift("GET", KOGNITOS_RUNS, request=drop_query("limit"))]), "limit-exceeded"),
        (
            ("kognitos", [Drift("GET", KOGNITOS_RUNS, request=drop_query("continuation_token"))]),
            "duplicate-item",
        ),
    ],
    indirect=["judged"],
)
def test_the_curl_lines_of_a_list_finding_reproduce_it(judged: Judged, kind: str) -> None:
    """Sent again, with the credential put back, the finding's requests show what it says."""
    (finding,) = [f for f in judged.result.findings if f.kind == kind]
    lines = (finding.request or "").splitlines()
    pages = [[item["id"] for item in _send(line, TOKEN).json()["items"]] for line in lines]
    if kind == "limit-exceeded":
        asked = re.search(r"limit=(\d+)", lines[0])
        assert asked and len(pages) == 1 and len(pages[0]) > int(asked.group(1))
    else:
        first, second = pages
        assert finding.observed in first and finding.observed in second


def test_a_documented_oddity_of_behaviour_can_be_catalogued() -> None:
    """A vendor whose documents say a deleted run stays listed for a while: known, not drift."""
    entry = {
        "id": "RC-900",
        "kind": "delete-ignored",
        "summary": "Deleted runs stay listed until the nightly cleanup",
        "operations": ["listProcessRuns"],
        "locations": ["/data/*/id"],
        "contract": "not listed",
        "documented": "listed until the nightly cleanup",
        "citations": [{"document": "notes", "section": "Deleting runs"}],
    }
    documents = {"notes": {"title": "Robocorp docs", "url": "https://example.com/robocorp"}}
    data = {"api": "robocorp", "documents": documents, "quirks": [entry]}
    catalogue = parse_catalogue(APIS["robocorp"], data, Path("test.yaml"))
    listed = Deviation(
        "robocorp", "listProcessRuns", 200, "/data/*/id", "delete-ignored", "not listed", "4a85a870", "..."
    )
    assert classify(listed, catalogue).quirk == "RC-900"
    elsewhere = Deviation("robocorp", "deleteProcessRun", 200, "status", "delete-ignored", "404", 200, "...")
    assert classify(elsewhere, catalogue).classification == "new"
    assert all(KINDS[kind].severity == "breaking" for kind in BEHAVIOUR_KINDS)
    assert json.dumps(entry)  # the entry is plain data, as in specs/quirks/*.yaml
