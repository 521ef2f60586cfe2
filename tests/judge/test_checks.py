"""The response checks explain each difference with the kind the catalogue matches on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.contract.model import Spec
from conformance.findings import Deviation
from conformance.judge import checks, context
from conformance.judge.registry import check_response
from conformance.vendors.registry import APIS

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/runs/{id}": {
            "get": {
                "operationId": "getRun",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "run",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}},
                    },
                    "404": {
                        "description": "missing",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Run": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "status", "runDurationInSeconds", "dateStarted", "steps"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"enum": ["Running", "Cancelled"]},
                    "runDurationInSeconds": {"type": ["number", "null"]},
                    "dateStarted": {"type": ["string", "null"], "format": "date-time"},
                    "steps": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    },
                },
            }
        }
    },
}
SPEC = Spec(APIS["solvexia"], DOCUMENT, Path("inline.yaml"))
OPERATION = SPEC.operations["getRun"]
VALID = {
    "id": "r1",
    "status": "Running",
    "runDurationInSeconds": 3,
    "dateStarted": "2025-01-01T00:00:00Z",
    "steps": [],
}
JSON = {"content-type": "application/json"}


def explain(
    body: object, status: int = 200, headers: dict[str, str] = JSON
) -> list[tuple[str, str, object, object]]:
    deviations = check_response(SPEC, OPERATION, status, headers, json.dumps(body).encode())
    return sorted((d.kind, d.location, d.expected, d.observed) for d in deviations)


def test_a_conforming_response_has_no_deviation() -> None:
    assert explain(VALID) == []


def test_a_renamed_field_is_one_alias_not_a_missing_and_an_extra_field() -> None:
    body = {**VALID, "runDurationInSec": 3}
    del body["runDurationInSeconds"]
    assert explain(body) == [
        ("field-name-alias", "/runDurationInSeconds", "runDurationInSeconds", "runDurationInSec")
    ]


def test_unrelated_missing_and_extra_fields_stay_apart() -> None:
    body = {**VALID, "owner": "x"}
    del body["status"]
    assert explain(body) == [
        ("extra-field", "/owner", None, "owner"),
        ("missing-field", "/status", "status", None),
    ]


def test_enum_values_are_told_apart_by_casing() -> None:
    assert explain({**VALID, "status": "cancelled"}) == [("enum-casing", "/status", "Cancelled", "cancelled")]
    assert explain({**VALID, "status": "Paused"}) == [
        ("unknown-enum-value", "/status", ["Running", "Cancelled"], "Paused")
    ]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("2020-06-15T02:24:14.2700000", "timestamp-without-offset"),
        ("", "empty-string-for-null"),
        ("15/06/2020", "invalid-timestamp"),
    ],
)
def test_timestamps_are_explained(value: str, kind: str) -> None:
    [(found, location, _, observed)] = explain({**VALID, "dateStarted": value})
    assert (found, location, observed) == (kind, "/dateStarted", value)


def test_types_and_nulls() -> None:
    assert explain({**VALID, "id": 7}) == [("type-mismatch", "/id", ["string"], 7)]
    assert explain({**VALID, "id": None}) == [("unexpected-null", "/id", ["string"], None)]
    assert explain({**VALID, "runDurationInSeconds": ""}) == [
        ("empty-string-for-null", "/runDurationInSeconds", None, "")
    ]


def test_array_items_are_located_with_a_wildcard() -> None:
    body = {**VALID, "steps": [{"name": "a"}, {"name": "b", "order": 1}]}
    assert explain(body) == [("extra-field", "/steps/*/order", None, "order")]


def test_status_and_content_type() -> None:
    assert explain(VALID, status=418) == [("undocumented-status", "status", ["200", "404"], 418)]
    deviations = check_response(SPEC, OPERATION, 200, {"content-type": "text/html"}, b"<html>")
    assert [(d.kind, d.location, d.observed) for d in deviations] == [
        ("content-type", "header:content-type", "text/html")
    ]


def test_a_truncated_body_is_invalid_json() -> None:
    deviations = check_response(SPEC, OPERATION, 200, JSON, b'{"id": "r1", "sta')
    assert [(d.kind, d.location) for d in deviations] == [("invalid-json", "")]


STARTED = {"type": "object", "additionalProperties": False, "required": ["started", "id"]}
STARTED["properties"] = {"started": {"const": True}, "id": {"type": "string"}}
NOTHING = {"type": "object", "additionalProperties": False, "required": ["started"]}
NOTHING["properties"] = {"started": {"const": False}}
ONE_OF_DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/runs": {
            "post": {
                "operationId": "startRun",
                "responses": {
                    "200": {
                        "description": "started, or nothing to start",
                        "content": {"application/json": {"schema": {"oneOf": [STARTED, NOTHING]}}},
                    }
                },
            }
        }
    },
}


def test_a_oneof_deviation_is_located_in_the_branch_the_body_comes_closest_to() -> None:
    spec = Spec(APIS["robocorp"], ONE_OF_DOCUMENT, Path("inline.yaml"))
    body = json.dumps({"started": "true", "id": "r1"}).encode()
    deviations = check_response(spec, spec.operations["startRun"], 200, JSON, body)
    # one wrong value in the started branch, not an "extra" id from the nothing-started branch
    assert [(d.location, d.observed) for d in deviations] == [("/started", "true")]


# -- strict JSON: what only a lenient reader accepts ----------------------------------------------
def explain_bytes(body: bytes, headers: dict[str, str] = JSON) -> list[tuple[str, str, object]]:
    return sorted(
        (d.kind, d.location, d.observed) for d in check_response(SPEC, OPERATION, 200, headers, body)
    )


def test_a_byte_order_mark_is_a_finding_and_the_body_is_still_judged() -> None:
    body = b"\xef\xbb\xbf" + json.dumps({**VALID, "status": "Paused"}).encode()
    assert explain_bytes(body) == [
        ("byte-order-mark", "", "EF BB BF"),
        ("unknown-enum-value", "/status", "Paused"),
    ]


def test_a_key_given_twice_is_a_finding_where_it_is() -> None:
    body = b'{"id": "r1", "id": "r2", "status": "Running", "runDurationInSeconds": 3,'
    body += b' "dateStarted": null, "steps": [{"name": "a", "name": "b"}]}'
    assert explain_bytes(body) == [("duplicate-key", "/id", "id"), ("duplicate-key", "/steps/*/name", "name")]


@pytest.mark.parametrize("spelling", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(spelling: str) -> None:
    body = json.dumps({**VALID, "runDurationInSeconds": 0}).replace(": 0", f": {spelling}").encode()
    assert explain_bytes(body) == [("non-finite-number", "/runDurationInSeconds", spelling)]


@pytest.mark.parametrize("headers", [JSON, {}])
def test_an_empty_body_where_one_is_documented_is_a_finding_of_its_own(headers: dict[str, str]) -> None:
    assert explain_bytes(b"", headers) == [("empty-body", "", "")]


def test_json_in_another_encoding_than_utf8_is_invalid() -> None:
    assert explain_bytes(json.dumps(VALID).encode("utf-16")) == [("invalid-json", "", "not UTF-8")]


def test_a_body_seen_before_is_judged_from_memory_and_only_an_identical_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Traffic repeats bodies; explaining one takes a millisecond, so the same bytes at the same
    operation and status are explained once. Other bytes, another status or another operation's
    schema are explained afresh, and the memory is bounded."""
    explained: list[bytes] = []
    original = checks._explain_body

    def counting(ctx: context.ResponseContext, media: str) -> Iterator[Deviation]:
        explained.append(ctx.body)
        return original(ctx, media)

    monkeypatch.setattr(checks, "_explain_body", counting)
    monkeypatch.setattr(context, "REMEMBERED_BODIES", 2)
    quirk = {**VALID, "status": "cancelled", "id": "memory-test"}
    first = explain(quirk)
    assert first == explain(quirk) == [("enum-casing", "/status", "Cancelled", "cancelled")]
    assert len(explained) == 1
    spaced = json.dumps(quirk, indent=1).encode()
    assert [d.kind for d in check_response(SPEC, OPERATION, 200, JSON, spaced)] == ["enum-casing"]
    assert explain(quirk, status=404) == []
    assert len(explained) == 3
    explain(quirk)  # two other bodies came since: the memory of two was started afresh
    assert len(explained) == 4


@pytest.mark.parametrize(
    ("token_type", "kinds"),
    [("Bearer", []), ("bearer", []), ("BEARER", []), ("mac", ["constraint-violation"])],
)
def test_a_token_type_is_judged_case_insensitively_as_rfc_6749_says(
    token_type: str, kinds: list[str]
) -> None:
    """SolveXia's OAuth page follows RFC 6749, whose section 5.1 makes token_type case-insensitive."""
    from conformance.contract.specs import load_spec

    spec = load_spec("solvexia")
    body = json.dumps({"access_token": "a", "token_type": token_type, "expires_in": 600}).encode()
    found = check_response(
        spec, spec.operations["requestToken"], 200, {"content-type": "application/json"}, body
    )
    assert [d.kind for d in found] == kinds


def test_a_refused_query_credential_is_an_assumed_status_where_no_document_names_it() -> None:
    """Robocorp's integrations start takes its key in the ``token`` query parameter and documents
    200 and 400 only: a 403 for a wrong key contradicts no document."""
    from conformance.contract.specs import load_spec

    spec = load_spec("robocorp")
    body = b'{"error": {"code": "forbidden", "message": "wrong token"}}'
    found = check_response(
        spec, spec.operations["startProcessRunQsAuth"], 403, {"content-type": "application/json"}, body
    )
    [status] = [d for d in found if d.kind == "undocumented-status"]
    assert status.assumption and "RFC 9110" in status.assumption
