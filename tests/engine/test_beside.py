"""The lifecycle beside the phases (``conformance/engine/beside.py``), over real loopback HTTP: where
the server names the runs it follows it runs while the phases run, and what it found is recorded
as a lifecycle after them would have; where it follows a run the documents name, it waits for them."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.contract.specs import load_spec
from conformance.engine.beside import LifecycleBeside, runs_its_own
from conformance.engine.caller import MOCK_POLLING, Polling, Step
from conformance.engine.runner import RunOptions, run
from conformance.vendors.registry import APIS

from ..recorder import recorded_mock

TOKEN = "beside-token-7c1e"


def sent_by_the_phases(headers: dict[str, str]) -> bool:
    return headers.get("user-agent", "").startswith("schemathesis")


def suite_calls_before_the_phases_end(api: str, **options: Any) -> tuple[int, Counter[str]]:
    """How many of the suite's own requests (not the engine's) reached ``api``'s faithful mock
    before the phases' last request, and the run's check counts."""
    with recorded_mock(TOKEN, api) as (recorder, base_url):
        result = run(
            RunOptions(
                apis=[api],
                base_url=base_url,
                token=TOKEN,
                max_examples=3,
                seed=1,
                poll_interval=0.05,
                **options,
            )
        )
    last = max(index for index, headers in enumerate(recorder.headers) if sent_by_the_phases(headers))
    [api_result] = result.results
    assert not api_result.errors
    return sum(not sent_by_the_phases(headers) for headers in recorder.headers[:last]), api_result.checks


def test_only_solvexias_lifecycle_follows_a_run_the_documents_name() -> None:
    assert {api: runs_its_own(load_spec(api)) for api in APIS} == {
        "solvexia": False,
        "robocorp": True,
        "kognitos": True,
        "automation_runs": True,
    }


@pytest.mark.parametrize("api", ["kognitos", "solvexia"])
def test_a_lifecycle_runs_beside_the_phases_only_where_its_runs_are_its_own(api: str) -> None:
    """Against the same run under ``--rate-limit`` (two senders at once would exceed it, so the
    lifecycle follows the phases there): as many lifecycle checks, and only kognitos' lifecycle
    reached the server before the phases ended."""
    beside, counts = suite_calls_before_the_phases_end(api)
    after, sequential_counts = suite_calls_before_the_phases_end(api, rate_limit=1000.0)
    assert counts["lifecycle"] == sequential_counts["lifecycle"] > 0
    assert (beside > after) is (api == "kognitos"), (beside, after)


def follow(steps: list[Step], failure: BaseException | None = None) -> Callable[[Polling], Iterator[Step]]:
    def lifecycle(polling: Polling) -> Iterator[Step]:
        for step in steps:
            yield step
            polling.sleep(0.01)
        if failure is not None:
            raise failure
        polling.sleep(60)  # a run that never ends, polled at a real vendor's pace

    return lifecycle


def test_its_steps_come_in_order_then_what_stopped_it() -> None:
    spec = load_spec("kognitos")
    steps = [Step(spec.operations["getRun"], [], f"curl {n}") for n in range(3)]
    failed = LifecycleBeside(follow(steps, RuntimeError("refused")), MOCK_POLLING)
    taken: list[Step] = []
    with pytest.raises(RuntimeError, match="refused"):
        for step in failed.steps():
            taken.append(step)
    assert taken == steps


def test_a_stopped_lifecycle_ends_at_its_next_wait() -> None:
    beside = LifecycleBeside(follow([]), MOCK_POLLING)
    time.sleep(0.05)
    started = time.monotonic()
    beside.stop()
    assert time.monotonic() - started < 1
    assert not any(
        thread.name.startswith("lifecycle") and thread.is_alive() for thread in threading.enumerate()
    )
