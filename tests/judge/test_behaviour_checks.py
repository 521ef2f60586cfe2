"""The per-response behaviour checks, on an inline spec: what a page, a read by id and a duration
promise (``x-list``, ``x-identity``, ``x-timing``), judged against the parameters sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.contract.model import Spec
from conformance.judge.registry import check_response
from conformance.vendors.registry import APIS

RUN = {
    "type": "object",
    "x-timing": {"started": "/startedAt", "finished": "/endedAt", "duration": "/duration", "unit": "seconds"},
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["pending", "done"]},
        "startedAt": {"type": ["string", "null"], "format": "date-time"},
        "endedAt": {"type": ["string", "null"], "format": "date-time"},
        "duration": {"type": ["number", "null"]},
        "steps": {"type": "array", "items": {"$ref": "#/components/schemas/Step"}},
    },
}
STEP = {
    "type": "object",
    "x-timing": {
        "started": "/from",
        "finished": "/to",
        "duration": "/ms",
        "unit": "milliseconds",
        "x-assumption": "The page does not say what the step's times measure.",
    },
}
RUN_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
PAGE = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}}},
}


def ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/runs": {
            "get": {
                "operationId": "listRuns",
                "x-list": {
                    "items": "/items",
                    "id": "/id",
                    "limit": "limit",
                    "filters": [{"parameter": "status", "field": "/status"}],
                },
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 10}},
                    {"name": "status", "in": "query", "schema": {"enum": ["pending", "done"]}},
                ],
                "responses": ok(PAGE),
            }
        },
        "/runs/{id}": {
            "get": {
                "operationId": "getRun",
                "x-identity": {"id": "/id"},
                "parameters": [RUN_ID],
                "responses": ok({"$ref": "#/components/schemas/Run"}),
            }
        },
    },
    "components": {"schemas": {"Run": RUN, "Step": STEP}},
}
SPEC = Spec(APIS["automation_runs"], DOCUMENT, Path("inline.yaml"))
UUID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


def run(run_id: str = UUID, status: str = "done", **members: Any) -> dict[str, Any]:
    return {"id": run_id, "status": status, **members}


def judged(operation: str, body: Any, **params: Any) -> list[tuple[str, str, str, bool]]:
    deviations = check_response(
        SPEC,
        SPEC.operations[operation],
        200,
        {"content-type": "application/json"},
        json.dumps(body).encode(),
        params=params,
    )
    return sorted((d.kind, d.location, d.message, bool(d.assumption)) for d in deviations)


def test_a_page_within_its_limit_and_filter_passes() -> None:
    assert judged("listRuns", {"items": [run("a"), run("b")]}, limit="2", status="done") == []


def test_more_items_than_the_limit() -> None:
    page = {"items": [run("a"), run("b"), run("c")]}
    assert judged("listRuns", page, limit="2") == [
        ("limit-exceeded", "/items", "`limit=2` returned 3 items", False)
    ]


def test_an_item_the_filter_excludes() -> None:
    page = {"items": [run("a"), run("b", status="pending")]}
    assert judged("listRuns", page, status="done") == [
        ("filter-ignored", "/items/*/status", "`status=done` returned item `b` with status `pending`", False)
    ]


def test_an_item_twice_on_one_page() -> None:
    assert judged("listRuns", {"items": [run("a"), run("a")]}, limit=5) == [
        ("duplicate-item", "/items/*/id", "item `a` is listed twice on one page (limit=5)", False)
    ]


@pytest.mark.parametrize(
    "params",
    [{}, {"limit": "0"}, {"limit": "eleven"}, {"limit": "99"}, {"status": "Paused"}],
    ids=["none", "zero", "not a number", "over the documented maximum", "not a status"],
)
def test_parameters_that_ask_nothing_valid_promise_nothing(params: dict[str, str]) -> None:
    """A deliberately invalid request that a server answers 2xx is negative_data_rejection's finding."""
    page = {"items": [run("a", status="pending"), run("b")]}
    assert judged("listRuns", page, **params) == []


def test_a_run_read_by_id_is_that_run() -> None:
    assert judged("getRun", run(), id=UUID) == []
    assert judged("getRun", run(), id=UUID.upper()) == []  # the same UUID
    other = "5c0f3b8e-2d4a-4c1e-9b7f-8a6d2e1f4c30"
    assert judged("getRun", run(other), id=UUID) == [
        ("identity-mismatch", "/id", f"GET /runs/{{id}} with id `{UUID}` answered about `{other}`", False)
    ]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"startedAt": "2025-01-01T00:00:00Z", "endedAt": "2025-01-01T00:01:00Z", "duration": 60}, []),
        ({"startedAt": "2025-01-01T00:00:00Z", "endedAt": None, "duration": 12}, []),
        (
            {"startedAt": None, "endedAt": None, "duration": -1},
            [("negative-duration", "/duration", "duration is -1 seconds", False)],
        ),
        (
            {"startedAt": "2025-01-01T00:01:00Z", "endedAt": "2025-01-01T00:00:00Z", "duration": None},
            [
                (
                    "timestamp-order",
                    "/endedAt",
                    "endedAt 2025-01-01T00:00:00+00:00 is before startedAt 2025-01-01T00:01:00+00:00",
                    False,
                )
            ],
        ),
        (
            {"startedAt": "2025-01-01T00:00:00Z", "endedAt": "2025-01-01T00:01:00Z", "duration": 60000},
            [
                (
                    "duration-mismatch",
                    "/duration",
                    "duration is 60000 seconds; its timestamps are 60 seconds apart",
                    False,
                )
            ],
        ),
    ],
    ids=["consistent", "still running", "negative", "ended before it started", "another unit"],
)
def test_durations_are_physical(members: dict[str, Any], expected: list[tuple[str, str, str, bool]]) -> None:
    assert judged("getRun", run(**members), id=UUID) == expected


def test_timings_are_found_in_every_object_their_schema_marks_with_its_own_unit_and_assumption() -> None:
    steps = [
        {"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T00:00:02Z", "ms": 2000},
        {"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T00:00:02Z", "ms": 2},
    ]
    assert judged("listRuns", {"items": [run(steps=steps)]}) == [
        (
            "duration-mismatch",
            "/items/*/steps/*/ms",
            "ms is 2 milliseconds; its timestamps are 2000 milliseconds apart",
            True,
        )
    ]
