"""Lifecycle conformance beyond schemas: follow real runs from start to a terminal state.

The spec's ``x-lifecycle`` says how to start, poll and cancel a run and which transitions
the documents allow. Polls sample a run, so an observed jump is allowed when the documents
allow a path between the two states. Every response is also checked against the contract.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from conformance.contract.model import Operation, Spec
from conformance.engine.caller import MOCK_POLLING, ApiCaller, Polling, Step
from conformance.engine.listing import pages
from conformance.errors import CredentialRefused
from conformance.findings import Deviation
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.http.polite import polite_client
from conformance.judge.behaviour import pointer_get
from conformance.vendors.registry import ApiInfo

#: Reads of a run after it has ended: it must still be in the state it ended in.
LINGER = 2


def _is_json(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


class LifecycleDriver(ApiCaller):
    """Drives runs of one API over HTTP and reports what the documents do not allow."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.spec.lifecycle is None:
            raise ValueError(f"{self.spec.source} has no x-lifecycle to drive")
        self.lifecycle = self.spec.lifecycle
        self.plan = self._with_fixed(self.spec.lifecycle.plan)

    def _with_fixed(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The plan with ``--parameter`` values in place of the example ids its steps name (the
        workspace, the process, the run a retry starts from): a tenant's ids, the spec untouched."""

        def step(node: Any) -> Any:
            if not isinstance(node, dict) or node.get("operation") not in self.spec.operations:
                return node
            fixed = self.fixed(self.spec.operations[node["operation"]])
            return {**node, "parameters": {**node.get("parameters", {}), **fixed}} if fixed else node

        steps = {key: step(value) for key, value in plan.items()}
        start = steps.get("start")
        if isinstance(start, dict) and isinstance(start.get("find"), list):
            steps["start"] = {**start, "find": [step(search) for search in start["find"]]}
        return steps

    def start(self) -> Iterator[Step | str]:
        """Start a run; yields the checked step, then the run id (a ``str``) if it started."""
        start = self.plan["start"]
        source = None
        for found in self.find(start.get("find", [])):
            if isinstance(found, str):
                source = found
            else:
                yield found
        fixed_id = None if start.get("id") else start.get("parameters", {}).get(self.plan["poll"]["run_id"])
        if fixed_id is not None:
            yield from self.settle(fixed_id)
        retried = None
        if start.get("new_run"):
            retried = source or start.get("parameters", {}).get(start.get("run_id", ""))
        before = None
        if retried is not None:
            before, checked = self.state_of(retried)
            yield checked
        operation, response, step = self.call(start, source)
        yield step
        if response is None:
            return
        run_id = pointer_get(response.json() if _is_json(response) else None, start.get("id"))
        if retried is not None and response.is_success:
            yield from self.judge_retry(operation, retried, before, run_id, step.request)
        if run_id is None and not start.get("id"):
            run_id = start.get("parameters", {}).get(self.plan["poll"]["run_id"])
        if response.status_code in (401, 403):
            raise CredentialRefused(
                f"{self.api.name} refused to start a run ({response.status_code} on {operation.id}): "
                f"check that {self.api.credential_env} may start runs"
            )
        if response.is_success and isinstance(run_id, str):
            yield run_id
        else:
            yield Step(
                operation,
                [
                    self.deviation(
                        operation,
                        response.status_code,
                        "status",
                        "lifecycle-start-failed",
                        "a started run",
                        response.status_code,
                        "start",
                    )
                ],
                step.request,
            )

    def state_of(self, run_id: str) -> tuple[str | None, Step]:
        """One poll of a run: its state (``None`` when it cannot be read) and the checked step."""
        _, response, step = self.call(self.plan["poll"], run_id)
        if response is None or not response.is_success or not _is_json(response):
            return None, step
        state = pointer_get(response.json(), self.plan["poll"]["state"])
        return (state if isinstance(state, str) else None), step

    def judge_retry(
        self, operation: Operation, retried: str, before: str | None, run_id: Any, request: str
    ) -> Iterator[Step]:
        """A retry that the spec says makes a new run (``start.new_run``) answers another run than
        the one retried, and leaves the retried one in the state it was in."""
        start = self.plan["start"]
        if isinstance(run_id, str) and run_id == retried:
            yield Step(
                operation,
                [
                    self.deviation(
                        operation,
                        200,
                        start.get("id", ""),
                        "retry-mismatch",
                        f"a new run, not {retried}",
                        run_id,
                        "start",
                        f"{operation.id} of run `{retried}` answered that same run, not a new one",
                    )
                ],
                request,
            )
        after, checked = self.state_of(retried)
        yield checked
        if before is not None and after is not None and after != before:
            yield Step(
                operation,
                [
                    self.deviation(
                        operation,
                        200,
                        self.plan["poll"]["state"],
                        "retry-mismatch",
                        before,
                        after,
                        "start",
                        f"{operation.id} of run `{retried}` moved it from `{before}` to `{after}`; "
                        "a retry leaves the retried run as it was",
                    )
                ],
                f"{request}\n{checked.request}",
            )

    def find(self, searches: list[dict[str, Any]]) -> Iterator[Step | str]:
        """The run a start works on (a retry needs a failed run), looked up in the server's own
        lists rather than taken from a document's example id, which a real tenant does not have:
        the first search whose ``id`` pointer yields a string wins."""
        for search in searches:
            _, response, step = self.call(search)
            yield step
            found = pointer_get(response.json(), search["id"]) if response and _is_json(response) else None
            if isinstance(found, str):
                yield found
                return

    def lost(self, operation: Operation, response: httpx.Response | None, request: str) -> Iterator[Step]:
        """A run the API itself just returned must not be missing from its own endpoints (never an
        assumption: the API's own answer is what it contradicts)."""
        if response is not None and response.status_code in (404, 410):
            status = response.status_code
            yield Step(
                operation,
                [self.deviation(operation, status, "status", "lost-run", "2xx", status)],
                request,
            )

    def read_back(self, run_id: str) -> Iterator[Step]:
        """Every read-only operation addressed by the run id alone must find the run."""
        poll = self.plan["poll"]
        known = {poll["run_id"], *poll.get("parameters", {})}
        for operation in self.spec.operations.values():
            names = set(re.findall(r"\{([^}]+)\}", operation.path))
            if operation.method != "get" or poll["run_id"] not in names or not names <= known:
                continue
            step = {
                "operation": operation.id,
                "parameters": poll.get("parameters", {}),
                "run_id": poll["run_id"],
            }
            _, response, checked = self.call(step, run_id)
            yield checked
            yield from self.lost(operation, response, checked.request)

    def settle(self, run_id: str) -> Iterator[Step]:
        """Wait until a run that is started in place (by its own id) can be started again."""
        poll = self.plan["poll"]
        for wait in self.polling.waits():
            _, response, step = self.call(poll, run_id)
            yield step
            if response is None or not response.is_success or not _is_json(response):
                return
            state = pointer_get(response.json(), poll["state"])
            if (
                not isinstance(state, str)
                or self.lifecycle.is_terminal(state)
                or self.lifecycle.is_initial(state)
            ):
                return
            self.polling.sleep(wait)

    def follow(self, run_id: str, seen: list[str]) -> Iterator[Step]:
        """Poll until a terminal state, judge the transitions, then poll a few times more: a run
        that has ended stays ended. (Durations and timestamps are judged on every response, by
        the ``x-timing`` of its schema.)"""
        poll = self.plan["poll"]
        operation = self.spec.operations[poll["operation"]]
        step: Step | None = None
        for wait in self.polling.waits():
            operation, response, step = self.call(poll, run_id)
            yield step
            if response is not None and not response.is_success:
                yield from self.lost(operation, response, step.request)
                return
            if response is None or not _is_json(response):
                return
            state = pointer_get(response.json(), poll["state"])
            if not isinstance(state, str):
                return  # no state to follow: the contract check already says why
            if not seen or seen[-1] != state:
                seen.append(state)
            if self.lifecycle.is_terminal(state):
                break
            self.polling.sleep(wait)
        else:
            timeout = self.deviation(
                operation,
                None,
                poll["state"],
                "lifecycle-timeout",
                f"a terminal state within {self.polling.timeout:g} s",
                seen[-1:],
                "terminal",
            )
            yield Step(operation, [timeout], step.request if step else "")
            return
        if step is None:
            return
        extra = self.judge_transitions(operation, seen)
        if extra:
            yield Step(operation, extra, step.request)
        yield from self.linger(run_id, seen[-1])

    def linger(self, run_id: str, final: str) -> Iterator[Step]:
        """Read an ended run ``LINGER`` times more: no command was sent, so it must stay in ``final``."""
        poll = self.plan["poll"]
        for _ in range(LINGER):
            self.polling.sleep(self.polling.first)
            operation, response, step = self.call(poll, run_id)
            yield step
            if response is None or not response.is_success or not _is_json(response):
                return
            state = pointer_get(response.json(), poll["state"])
            if isinstance(state, str) and state.lower() != final.lower():
                # which states are final may be assumed; that an ended run does not run again
                # unbidden is what the documents' state names say, unless the spec says it assumes
                # that too (``resume``)
                ended = self.lifecycle.is_terminal(state)
                how = "to" if ended else "back to"
                left = self.deviation(
                    operation,
                    response.status_code,
                    poll["state"],
                    "terminal-state-left",
                    final,
                    state,
                    "terminal" if ended else "resume",
                    f"run `{run_id}` went from `{final}` {how} `{state}` after it had ended",
                )
                yield Step(operation, [left], step.request)
                return

    def accepted(self, response: httpx.Response | None) -> bool:
        """Whether a cancel was accepted: a 2xx, and ``cancel.accepted`` true where the API says so."""
        if response is None or not response.is_success:
            return False
        pointer = self.plan["cancel"].get("accepted")
        if not pointer:
            return True
        return _is_json(response) and pointer_get(response.json(), pointer) is True

    def judge_cancel(
        self, operation: Operation, run_id: str, seen: list[str], requests: str
    ) -> Iterator[Step]:
        """An accepted cancel leads the run to a state of ``cancel.reaches`` within the timeout."""
        reaches = self.plan["cancel"].get("reaches") or []
        if not reaches or any(state.lower() in {r.lower() for r in reaches} for state in seen):
            return
        went = " -> ".join(seen) or "nowhere"
        ignored = self.deviation(
            operation,
            200,
            self.plan["poll"]["state"],
            "cancel-ignored",
            reaches,
            seen,
            "cancel_effect",
            f"{operation.id} of run `{run_id}` was accepted, yet the run went {went} and never "
            f"{' or '.join(reaches)}",
        )
        yield Step(operation, [ignored], requests)

    def delete(self, run_id: str) -> Iterator[Step]:
        """Delete an ended run: once the delete answers 2xx the run answers 404 and no list shows it."""
        plan = self.plan["delete"]
        operation, response, step = self.call(plan, run_id)
        yield step
        if response is None or not response.is_success:
            return
        poll, after, checked = self.call(self.plan["poll"], run_id)
        yield checked
        if after is not None and after.is_success:
            still = self.deviation(
                operation,
                response.status_code,
                "status",
                "delete-ignored",
                "404",
                after.status_code,
                "delete",
                f"run `{run_id}` still answers {after.status_code} to {poll.id} after {operation.id} "
                f"answered {response.status_code}",
            )
            yield Step(operation, [still], f"{step.request}\n{checked.request}")
        known = {*self.plan["poll"].get("parameters", {}), *plan.get("parameters", {})}
        for listing_operation in self.spec.operations.values():
            listing = listing_operation.listing
            names = set(re.findall(r"\{([^}]+)\}", listing_operation.path))
            if listing is None or not names <= known:
                continue
            values = {**self.example_step(listing_operation)["parameters"], **plan.get("parameters", {})}
            for page in pages(self, listing_operation, listing, values, max_pages=5):
                yield page.step
                if run_id in page.ids:
                    listed = self.deviation(
                        listing_operation,
                        200,
                        listing.item_location(listing.id),
                        "delete-ignored",
                        "not listed",
                        run_id,
                        "delete",
                        f"run `{run_id}` is still listed by {listing_operation.id} after {operation.id} "
                        f"answered {response.status_code}",
                    )
                    yield Step(listing_operation, [listed], f"{step.request}\n{page.step.request}")
                    break

    def judge_transitions(self, operation: Operation, seen: list[str]) -> list[Deviation]:
        def invalid(expected: Any, observed: str, assumed: str) -> Deviation:
            pointer = self.plan["poll"]["state"]
            return self.deviation(operation, 200, pointer, "invalid-transition", expected, observed, assumed)

        problems = []
        if seen and not any(self.lifecycle.reachable(i, seen[0]) for i in self.lifecycle.initial):
            problems.append(invalid(f"start in {self.plan['initial']}", f"(start) -> {seen[0]}", "initial"))
        for before, after in itertools.pairwise(seen):
            if not self.lifecycle.reachable(before, after):
                expected = self.plan["transitions"].get(before, [])
                problems.append(invalid(expected, f"{before} -> {after}", "transitions"))
        return problems


@contextmanager
def driving(
    api: ApiInfo, spec: Spec, base_url: str, token: str, policy: RequestPolicy, polling: Polling
) -> Iterator[LifecycleDriver | None]:
    """A driver with its own HTTP client for the block; ``None`` when the spec has no lifecycle."""
    if spec.lifecycle is None:
        yield None
        return
    with polite_client(policy) as client:
        yield LifecycleDriver(api, spec, base_url, token, client, policy, polling)


def run_lifecycle(
    api: ApiInfo,
    spec: Spec,
    base_url: str,
    token: str,
    policy: RequestPolicy = DEFAULT_POLICY,
    polling: Polling = MOCK_POLLING,
) -> Iterator[Step]:
    """Start a run and follow it to the end; start another and cancel it (where the API can)."""
    with driving(api, spec, base_url, token, policy, polling) as driver:
        if driver is None:
            return
        plans = ["complete", "cancel"] if "cancel" in driver.plan else ["complete"]
        for plan in plans:
            run_id = None
            for item in driver.start():
                if isinstance(item, str):
                    run_id = item
                else:
                    yield item
            if run_id is None:
                continue
            seen: list[str] = []
            if plan == "cancel":
                operation, response, step = driver.call(driver.plan["cancel"], run_id)
                yield step
                yield from driver.lost(operation, response, step.request)
                last = step
                for last in driver.follow(run_id, seen):
                    yield last
                if driver.accepted(response):
                    yield from driver.judge_cancel(operation, run_id, seen, f"{step.request}\n{last[2]}")
            else:
                yield from driver.read_back(run_id)
                yield from driver.follow(run_id, seen)
                if "delete" in driver.plan and seen and driver.lifecycle.is_terminal(seen[-1]):
                    yield from driver.delete(run_id)
