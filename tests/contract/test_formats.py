"""The suite's format checks judge as jsonschema's own do: the Rust validator accepts a body with
them alone, and jsonschema (with them in place) explains the rest."""

from __future__ import annotations

import pytest
from jsonschema import FormatChecker

from conformance.contract.formats import FORMATS
from conformance.contract.schemas import format_checker

SAMPLES = {
    "date-time": [
        "2026-12-06T22:00:00Z",
        "2026-12-06t22:00:00z",
        "2026-12-06T22:00:00.123+01:00",
        "2026-12-06T22:00:00",
        "2026-12-06 22:00:00Z",
        "22/11/2026 10:00",
        "2026-02-30T00:00:00Z",
        "2026-12-06T24:00:00Z",
        "",
        "now",
    ],
    "uri": [
        "https://example.com/runs?id=1#x",
        "urn:uuid:5c0f3b8e",
        "mailto:a@b.c",
        "/relative/path",
        "example.com",
        "http://[::1]:80/",
        "https://exa mple.com",
        "",
        "http://%zz",
    ],
    "uuid": [
        "5c0f3b8e-2d4a-4c1e-9b7f-8a6d2e1f4c30",
        "5C0F3B8E-2D4A-4C1E-9B7F-8A6D2E1F4C30",
        "5c0f3b8e2d4a4c1e9b7f8a6d2e1f4c30",
        "{5c0f3b8e-2d4a-4c1e-9b7f-8a6d2e1f4c30}",
        "urn:uuid:5c0f3b8e-2d4a-4c1e-9b7f-8a6d2e1f4c30",
        "5c0f3b8e-2d4a-4c1e-9b7f-8a6d2e1f4c3",
        "not-a-uuid",
        "",
    ],
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_judges_as_jsonschema_does(name: str) -> None:
    theirs = FormatChecker()
    verdicts = [(value, FORMATS[name](value), theirs.conforms(value, name)) for value in SAMPLES[name]]
    assert [v for v in verdicts if v[1] != v[2]] == []
    assert {ours for _, ours, _ in verdicts} == {True, False}  # the samples tell the formats apart


def test_the_explaining_validator_checks_with_the_same_functions() -> None:
    checker = format_checker()
    for name, values in SAMPLES.items():
        for value in values:
            assert checker.conforms(value, name) is FORMATS[name](value)
    assert checker.conforms(12, "date-time")  # formats apply to strings only
