"""The recording suite ``conformance record`` runs with pytest: every operation, then a run's life.

The tests do not judge conformance (replay does, with the run's classifier); they fail
only when no response could be recorded or replayed. Configuration arrives through the
pytest config stash, set by ``record._RecordingPlugin``.
"""

from __future__ import annotations

import pytest

from conformance.cassettes.record import RECORDING_KEY, Recording
from conformance.contract.specs import load_spec
from conformance.engine.lifecycle import run_lifecycle


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "operation_id" in metafunc.fixturenames:
        recording: Recording = metafunc.config.stash[RECORDING_KEY]
        metafunc.parametrize("operation_id", list(load_spec(recording.api.name).operations))


@pytest.fixture
def recording(request: pytest.FixtureRequest) -> Recording:
    return request.config.stash[RECORDING_KEY]


@pytest.fixture
def vcr_config(recording: Recording) -> dict[str, object]:
    return recording.vcr_config()


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(request.config.stash[RECORDING_KEY].cassette_dir)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest, recording: Recording) -> str:
    return recording.cassette_name(request.node.name)


@pytest.mark.vcr
def test_operation(recording: Recording, operation_id: str) -> None:
    response = recording.call(recording.spec.operations[operation_id])
    assert 100 <= response.status_code <= 599


@pytest.mark.vcr
def test_lifecycle(recording: Recording) -> None:
    steps = list(
        run_lifecycle(
            recording.api,
            recording.spec,
            recording.base_url,
            recording.token,
            recording.policy,
            recording.polling,
        )
    )
    transport_failures = [d for _, deviations, _ in steps for d in deviations if d.kind == "transport-error"]
    assert not transport_failures, f"{len(transport_failures)} lifecycle requests got no response"
