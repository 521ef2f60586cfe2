"""Lifecycle conformance beyond schemas: follow real runs from start to a terminal state.

The spec's ``x-lifecycle`` says how to start, poll and cancel a run and which transitions
the documents allow. Polls sample a run, so an observed jump is allowed when the documents
allow a path between the two states. Every response is also checked against the contract.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.contract.specs import Operation, Spec
from conformance.engine.listing import explore, pages
from conformance.errors import ConformanceError
from conformance.findings import Deviation, Step
from conformance.http.transport import (
    DEFAULT_POLICY,
    BodyTooLarge,
    RequestPolicy,
    ResponseTooSlow,
    read_bounded,
    transport_cause,
)
from conformance.judge.behaviour import list_spec, pointer_get
from conformance.judge.checks import check_response
from conformance.kinds import BODY_TOO_LARGE, TRANSPORT_ERROR
from conformance.vendors.registry import ApiInfo

#: Reads of a run after it has ended: it must still be in the state it ended in.
LINGER = 2


@dataclass(frozen=True)
class Polling:
    """How a run is followed: the first wait, doubling up to ``cap``, for at most ``timeout`` seconds.

    Real runs take minutes and a vendor's rate limits are shared with its customers, so a real
    server is polled from 1 s doubling to 30 s; the embedded mocks answer at once and are polled
    fast. ``sleep`` and ``clock`` are what tests replace to follow a long run without waiting.
    """

    first: float = 1.0
    cap: float = 30.0
    timeout: float = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def waits(self) -> Iterator[float]:
        """The pauses between polls, until the next one would end past the deadline."""
        deadline, wait = self.clock() + self.timeout, self.first
        while self.clock() + wait <= deadline:
            yield wait
            wait = min(self.cap, wait * 2)


#: Against the embedded mocks: they walk a run a state per poll, so polls need not wait long.
MOCK_POLLING = Polling(first=0.05, cap=0.5, timeout=30.0)


def curl_line(method: str, url: str, headers: dict[str, str], body: Any = None) -> str:
    """A reproducing curl command (callers redact it before it is written anywhere)."""
    parts = ["curl", "-X", method.upper(), url]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    if body is not None:
        parts += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    return shlex.join(parts)


class ApiCaller:
    """Calls one API's documented operations, each response judged against the contract."""

    def __init__(
        self,
        api: ApiInfo,
        spec: Spec,
        base_url: str,
        token: str,
        client: httpx.Client,
        policy: RequestPolicy = DEFAULT_POLICY,
        polling: Polling = MOCK_POLLING,
    ) -> None:
        self.api, self.spec, self.base_url, self.token, self.client = api, spec, base_url, token, client
        self.policy, self.polling = policy, polling

    def call(
        self, step: dict[str, Any], run_id: str | None = None, *, credentials: bool = True
    ) -> tuple[Operation, httpx.Response | None, Step]:
        operation = self.spec.operations[step["operation"]]
        values = {**step.get("parameters", {})}
        if run_id is not None and step.get("run_id"):
            values[step["run_id"]] = run_id
        path = operation.path
        query = {}
        for name, value in values.items():
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", str(value))
            else:
                query[name] = value
        url = self.spec.operation_base_url(self.base_url, operation) + path
        names = {p["name"] for p in self.spec.parameters(operation)}
        headers, carried = self.api.credentials(self.token, names)
        if credentials:
            query.update(carried)
        else:
            headers = {}
        body = step.get("body")
        request = curl_line(operation.method, str(httpx.URL(url, params=query)), headers, body)
        outgoing = self.client.build_request(
            operation.method.upper(), url, params=query, headers=headers, json=body
        )
        response, judged = self.exchange(operation, outgoing, request, values)
        return operation, response, judged

    def call_url(
        self, operation: Operation, url: str, params: dict[str, Any]
    ) -> tuple[httpx.Response | None, Step]:
        """GET a URL the server handed out (a list's ``next`` page) with the credential, judged as an
        answer to ``operation`` with ``params`` (its path parameters and the URL's query)."""
        headers = self.api.auth_headers(self.token)
        query = {name: value for name, value in httpx.URL(url).params.multi_items()}
        outgoing = self.client.build_request("GET", url, headers=headers)
        return self.exchange(operation, outgoing, curl_line("get", url, headers), {**params, **query})

    def exchange(
        self, operation: Operation, outgoing: httpx.Request, request: str, values: dict[str, Any]
    ) -> tuple[httpx.Response | None, Step]:
        """Send ``outgoing``, read its answer within the policy's bounds and judge it as an answer
        to ``operation`` sent with ``values``; no answer is a finding of its own."""
        try:
            streamed = self.client.send(outgoing, stream=True)
            try:
                response = read_bounded(streamed, self.policy.max_body_bytes, self.policy.timeout)
            finally:
                streamed.close()
        except BodyTooLarge as exc:
            limit = f"at most {exc.limit} bytes"
            failure = self.deviation(
                operation, exc.status_code, "", BODY_TOO_LARGE, limit, f"more than {exc.limit} bytes"
            )
            return None, Step(operation, [failure], request)
        except (httpx.HTTPError, ResponseTooSlow) as exc:
            failure = self.deviation(operation, None, "", TRANSPORT_ERROR, "a response", transport_cause(exc))
            return None, Step(operation, [failure], request)
        deviations = check_response(
            self.spec,
            operation,
            response.status_code,
            response.headers,
            response.content,
            self.policy.max_body_bytes,
            values,
        )
        return response, Step(operation, deviations, request)

    def example_step(self, operation: Operation) -> dict[str, Any]:
        """A call of ``operation`` with the documented example of each path and required query parameter."""
        parameters = {
            p["name"]: example_value(p, self.spec)
            for p in self.spec.parameters(operation)
            if p["in"] == "path" or (p["in"] == "query" and p.get("required"))
        }
        return {"operation": operation.id, "parameters": parameters}

    def deviation(
        self,
        operation: Operation,
        status: int | None,
        location: str,
        kind: str,
        expected: Any,
        observed: Any,
        assumed: str | None = None,
        message: str | None = None,
    ) -> Deviation:
        """A lifecycle deviation; ``assumed`` names the part of ``x-lifecycle`` it contradicts, whose
        reason (from ``x-lifecycle.assumptions``) makes it an assumption rather than drift."""
        message = message or f"lifecycle: expected {expected}, observed {observed}"
        assumptions = self.spec.lifecycle.plan.get("assumptions") or {} if self.spec.lifecycle else {}
        reason = assumptions.get(assumed) if assumed else None
        return Deviation(
            self.api.name, operation.id, status, location, kind, expected, observed, message, reason
        )


class LifecycleDriver(ApiCaller):
    """Drives runs of one API over HTTP and reports what the documents do not allow."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.spec.lifecycle is None:
            raise ValueError(f"{self.spec.source} has no x-lifecycle to drive")
        self.lifecycle = self.spec.lifecycle
        self.plan = self.spec.lifecycle.plan

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
                how = "to" if self.lifecycle.is_terminal(state) else "back to"
                left = self.deviation(
                    operation,
                    response.status_code,
                    poll["state"],
                    "terminal-state-left",
                    final,
                    state,
                    "terminal",
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
            "cancel",
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
            listing = list_spec(self.spec, listing_operation)
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


def _is_json(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


class CredentialRefused(ConformanceError):
    """The server refuses the run's credential: a configuration error, not drift."""


class WrongBaseUrl(ConformanceError):
    """No documented path answers at the base URL: a configuration error, not drift."""


def check_configuration(
    api: ApiInfo, spec: Spec, base_url: str, token: str, policy: RequestPolicy = DEFAULT_POLICY
) -> None:
    """Before anything is judged, read every documented ``GET`` once with the credential.

    When every one is refused (401/403) the credential is wrong; when every one answers 404 (a
    collection among them) the base URL does not lead to the API, or the examples name ids the
    tenant does not have. Either would otherwise read as drift on every operation of a red night.
    """
    gets = [op for op in spec.operations.values() if op.method == "get"]
    with policy.client() as client:
        caller = ApiCaller(api, spec, base_url, token, client, policy)
        answers = [(op, caller.call(caller.example_step(op))) for op in gets]
    statuses = [(op, response, step) for op, (_, response, step) in answers if response is not None]
    if not statuses:
        return
    count = len(statuses)
    refused = Counter(
        response.status_code for _, response, _ in statuses if response.status_code in (401, 403)
    )
    if sum(refused.values()) == count:
        status = refused.most_common(1)[0][0]
        raise CredentialRefused(
            f"{api.name} refused the credential ({status} on {count}/{count} operations): "
            f"check {api.credential_env} (or --token)"
        )
    if all(response.status_code == 404 for _, response, _ in statuses):
        hint = (
            f"is the base URL missing {spec.base_path}?"
            if spec.base_path and not httpx.URL(base_url).path.rstrip("/").endswith(spec.base_path)
            else "check the base URL and the ids the spec's examples name"
        )
        raise WrongBaseUrl(
            f"no documented path of {api.name} answered at {base_url} (404 on {count}/{count}): {hint}"
        )


def example_value(parameter: dict[str, Any], spec: Spec) -> Any:
    """A documented value for a parameter: its example, its schema's example, else a placeholder."""
    schema = spec.resolve(parameter.get("schema", {}))
    for candidate in (parameter.get("example"), schema.get("example"), (schema.get("examples") or [None])[0]):
        if candidate is not None:
            return candidate
    return "example"


@contextmanager
def driving(
    api: ApiInfo, spec: Spec, base_url: str, token: str, policy: RequestPolicy, polling: Polling
) -> Iterator[LifecycleDriver | None]:
    """A driver with its own HTTP client for the block; ``None`` when the spec has no lifecycle."""
    if spec.lifecycle is None:
        yield None
        return
    with policy.client() as client:
        yield LifecycleDriver(api, spec, base_url, token, client, policy, polling)


def probe_credentials(
    api: ApiInfo,
    spec: Spec,
    base_url: str,
    token: str,
    policy: RequestPolicy = DEFAULT_POLICY,
) -> Iterator[Step]:
    """Call every operation without credentials: the refusal is judged like any response (its
    status and error body), and an operation that answers 2xx although it declares security
    does not enforce authentication."""
    with driving(api, spec, base_url, token, policy, MOCK_POLLING) as driver:
        if driver is None:
            return
        for operation in spec.operations.values():
            _, response, checked = driver.call(driver.example_step(operation), credentials=False)
            yield checked
            secured = operation.definition.get("security", spec.document.get("security", []))
            if response is not None and response.is_success and secured:
                ignored = driver.deviation(
                    operation,
                    response.status_code,
                    "status",
                    "auth-not-enforced",
                    "401 or 403",
                    response.status_code,
                )
                yield Step(operation, [ignored], checked.request)


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


def explore_lists(
    api: ApiInfo,
    spec: Spec,
    base_url: str,
    token: str,
    policy: RequestPolicy = DEFAULT_POLICY,
    examples: int = 10,
    seed: int | None = None,
) -> Iterator[Step]:
    """Page through every list with an ``x-list``, its page sizes and filters chosen by hypothesis."""
    with policy.client() as client:
        yield from explore(ApiCaller(api, spec, base_url, token, client, policy), examples, seed)
