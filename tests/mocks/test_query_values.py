"""The judge and the mocks read a query value alike: one strict ``contract.parameters.coerce``.

A value the judge counts as a valid ``limit`` is one the mock answers, and a value the mock
refuses is one the judge does not take as asked: neither reads ``1_000`` as 1000 or `` 12`` as 12.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.contract.parameters import coerce, parameters
from conformance.contract.specs import load_spec
from conformance.mocks import Mode

from .serving import Served, serve

TOKEN = "conformance-demo"
PROCESS = {"process_id": "b4fznghynbdemslfd5k044fgd", "agent_id": "b4fznghynbdemslfd5k044fgd"}
#: Values of Kognitos' ``limit`` (an integer from 1, as the spec assumes, up to 100, or null), as a
#: query string carries them.
ACCEPTED = ["12", "1", "100", "null"]
REFUSED = [" 12", "12 ", "1_000", "+12", "012", "1e1", "12.0", "١٢", "twelve", "", "Null", "101", "0", "-3"]


@pytest.fixture(scope="module")
def kognitos() -> Iterator[Served]:
    with serve("kognitos", Mode.STRICT, TOKEN, {"x-api-key": TOKEN}) as served:
        yield served


@pytest.mark.parametrize("value", ACCEPTED + REFUSED)
def test_judge_and_mock_agree_on_a_query_value(kognitos: Served, value: str) -> None:
    limit = parameters(load_spec("kognitos"), "listRuns")["limit"]
    answer = kognitos.client.get("/runs", params={**PROCESS, "limit": value})
    assert answer.status_code in (200, 422), answer.text
    assert limit.accepts(value) is (answer.status_code == 200) is (value in ACCEPTED)


@pytest.mark.parametrize(
    ("raw", "schema", "value"),
    [
        ("12", {"type": "integer"}, 12),
        ("1_000", {"type": "integer"}, "1_000"),
        (" 12", {"type": "integer"}, " 12"),
        ("12 ", {"type": "number"}, "12 "),
        ("+1.5", {"type": "number"}, "+1.5"),
        ("-1.5e3", {"type": "number"}, -1500.0),
        ("7", {"type": "number"}, 7),
        ("true", {"anyOf": [{"type": "boolean"}, {"type": "null"}]}, True),
        ("null", {"type": ["integer", "null"]}, None),
        (["1", "x"], {"type": "array", "items": {"type": "integer"}}, [1, "x"]),
    ],
)
def test_coerce_reads_only_the_plain_json_form(raw: object, schema: dict[str, object], value: object) -> None:
    assert coerce(raw, schema) == value
