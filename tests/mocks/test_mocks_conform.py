"""One statement for every built-in vendor's mock, over real HTTP: the strict mock answers every
documented status of every operation exactly as the spec says; the faithful mock deviates only
as the catalogue says, and shows every quirk the catalogue marks as reproduced and observable.

Each vendor's test module brings what only it knows: ``serve(mode)``, ``exercise_every_operation``
(the calls that provoke each documented answer) and ``UNANSWERED`` (documented answers no call
can provoke)."""

from __future__ import annotations

from types import ModuleType

import pytest

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.findings import Deviation
from conformance.judge.registry import check_response
from conformance.kinds import kind_of
from conformance.mocks import Mode

from . import test_automation_runs, test_kognitos, test_robocorp, test_solvexia
from .serving import Served

VENDORS: dict[str, ModuleType] = {
    "automation_runs": test_automation_runs,
    "kognitos": test_kognitos,
    "robocorp": test_robocorp,
    "solvexia": test_solvexia,
}


def judge(vendor: ModuleType, mode: Mode) -> tuple[list[Deviation], set[tuple[str, int]]]:
    """Every deviation of the exercise's answers, and the (operation, status) pairs answered."""
    deviations: list[Deviation] = []
    answered: set[tuple[str, int]] = set()
    served: Served
    with vendor.serve(mode) as served:
        spec = served.mock.spec
        for operation_id, response in vendor.exercise_every_operation(served):
            answered.add((operation_id, response.status_code))
            deviations += check_response(
                spec, spec.operations[operation_id], response.status_code, response.headers, response.content
            )
    return deviations, answered


@pytest.mark.parametrize("api", sorted(VENDORS))
def test_the_strict_mock_answers_every_documented_status_exactly_as_the_spec_says(api: str) -> None:
    vendor = VENDORS[api]
    deviations, answered = judge(vendor, Mode.STRICT)
    assert deviations == []
    operations = load_spec(api).operations.values()
    documented = {(op.id, int(status)) for op in operations for status in op.documented_statuses}
    assert documented - answered == vendor.UNANSWERED
    assert answered <= documented


@pytest.mark.parametrize("api", sorted(VENDORS))
def test_the_faithful_mock_deviates_only_as_catalogued_and_shows_every_observable_quirk(api: str) -> None:
    catalogue = load_catalogue(api)
    deviations, _ = judge(VENDORS[api], Mode.FAITHFUL)
    assert [d for d in deviations if catalogue.match(d) is None] == []
    matched = {quirk.id for d in deviations if (quirk := catalogue.match(d)) is not None}
    observable = {q.id for q in catalogue.quirks if q.reproduced and kind_of(q.kind).observable}
    assert matched == observable
