"""One statement for every built-in vendor's mock, over real HTTP: the strict mock answers every
documented status of every operation exactly as the spec says; the faithful mock deviates only
as the catalogue says, and shows every quirk the catalogue marks as reproduced and observable.

Each vendor's test module brings what only it knows: ``serve(mode)``, ``exercise_every_operation``
(the calls that provoke each documented answer) and ``UNANSWERED`` (documented answers no call
can provoke)."""

from __future__ import annotations

from types import ModuleType

import pytest

from conformance.contract.catalogue import Exchange, load_catalogue
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


def judge(vendor: ModuleType, mode: Mode) -> tuple[list[tuple[Deviation, Exchange]], set[tuple[str, int]]]:
    """Every deviation of the exercise's answers, each with the exchange it was seen in (a catalogue
    entry may document the answer to one kind of request only), and the (operation, status) pairs
    answered."""
    deviations: list[tuple[Deviation, Exchange]] = []
    answered: set[tuple[str, int]] = set()
    served: Served
    with vendor.serve(mode) as served:
        spec = served.mock.spec
        for operation_id, response in vendor.exercise_every_operation(served):
            answered.add((operation_id, response.status_code))
            judged = check_response(
                spec,
                spec.operations[operation_id],
                response.status_code,
                response.headers,
                response.content,
                request_body=response.request.content,
            )
            deviations += [(deviation, judged.exchange) for deviation in judged]
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
    assert [d for d, exchange in deviations if catalogue.match(d, exchange) is None] == []
    matched = {quirk.id for d, exchange in deviations if (quirk := catalogue.match(d, exchange)) is not None}
    observable = {q.id for q in catalogue.quirks if q.reproduced and kind_of(q.kind).observable}
    assert matched == observable
