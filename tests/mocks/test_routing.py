"""Paths and methods outside the spec still answer in each vendor's own error shape."""

from __future__ import annotations

import pytest

from conformance.contract.model import Spec
from conformance.contract.specs import load_spec
from conformance.vendors.registry import APIS

from .serving import serve


def error_keys(spec: Spec) -> set[str]:
    """The members of the vendor's documented error body: the first 404, 401 or 403 the spec shows."""
    for operation in spec.operations.values():
        for status in (404, 401, 403):
            key = operation.response_key(status)
            if key is None:
                continue
            response = spec.resolve(operation.definition["responses"][key])
            schema = spec.resolve(response["content"]["application/json"]["schema"])
            return set(schema["properties"])
    raise AssertionError(f"{spec.source} documents no error body")


@pytest.mark.parametrize("api", list(APIS))
def test_unknown_paths_and_methods_answer_in_the_vendor_error_shape(api: str) -> None:
    token = "routing-token"
    with serve(api, "strict", token, APIS[api].auth_headers(token)) as served:
        missing = served.client.get("/no/such/path")
        assert missing.status_code == 404
        assert set(missing.json()) == error_keys(load_spec(api))
        operation = next(iter(served.mock.spec.operations.values()))
        path = operation.path.replace("{", "").replace("}", "")
        wrong = served.client.request("TRACE", path)
        assert wrong.status_code == 405
        assert set(wrong.json()) == error_keys(load_spec(api))
        assert operation.method.upper() in wrong.headers["allow"]


def test_a_missing_body_field_is_located_at_the_field() -> None:
    token = "routing-token"
    with serve("automation_runs", "strict", token, APIS["automation_runs"].auth_headers(token)) as served:
        run_id = "9b2e7d4a-1f3c-4e8b-a6d5-3c7f0e2b1a94"
        response = served.client.post(f"/automation-runs/{run_id}/retry", json={"mode": "from_step"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "stepKey"]
