"""Calling one API's documented operations, each answer judged against the contract: what the
lifecycle, the list walks and the probes share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx

from conformance.contract.curl import json_curl_line
from conformance.contract.model import Operation, Spec
from conformance.contract.parameters import example_value
from conformance.findings import Deviation
from conformance.http.failures import BodyTooLarge, ResponseTooSlow, unanswered
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.http.transport import read_bounded
from conformance.judge.registry import check_response
from conformance.vendors.registry import ApiInfo


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


class Step(NamedTuple):
    """One judged exchange of a lifecycle or a list walk: the operation called, what was wrong
    with its answer, and the request as curl lines (for the finding that reproduces it)."""

    operation: Operation
    deviations: list[Deviation]
    request: str


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
        request = json_curl_line(operation.method, str(httpx.URL(url, params=query)), headers, body)
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
        return self.exchange(operation, outgoing, json_curl_line("get", url, headers), {**params, **query})

    def exchange(
        self, operation: Operation, outgoing: httpx.Request, request: str, values: dict[str, Any]
    ) -> tuple[httpx.Response | None, Step]:
        """Send ``outgoing``, read its answer within the policy's bounds and judge it as an answer
        to ``operation`` sent with ``values``; no answer is a finding of its own."""
        started = time.perf_counter()
        try:
            streamed = self.client.send(outgoing, stream=True)
            try:
                response = read_bounded(streamed, self.policy.limits.body_bytes, self.policy.timeout)
            finally:
                streamed.close()
        except (BodyTooLarge, httpx.HTTPError, ResponseTooSlow) as exc:
            return None, Step(operation, [unanswered(self.api.name, operation, exc)], request)
        deviations = check_response(
            self.spec,
            operation,
            response.status_code,
            response.headers,
            response.content,
            self.policy.limits,
            values,
            outgoing.content,
            time.perf_counter() - started,
        )
        return response, Step(operation, deviations, request)

    def example_step(self, operation: Operation) -> dict[str, Any]:
        """A call of ``operation`` with the documented example of each path and required query
        parameter (or the ``--parameter`` value), and of its body where one is required (so that
        only the credential can be what a server refuses)."""
        parameters = {}
        for p in self.spec.parameters(operation):
            if p["in"] == "path" or (p["in"] == "query" and p.get("required")):
                value = example_value(p, self.spec)
                parameters[p["name"]] = "example" if value is None else value  # the documents give none
        step: dict[str, Any] = {
            "operation": operation.id,
            "parameters": {**parameters, **self.fixed(operation)},
        }
        body = self.spec.resolve(operation.definition.get("requestBody") or {})
        media = (body.get("content") or {}).get("application/json") or {}
        if body.get("required") and "example" in media:
            step["body"] = media["example"]
        return step

    def fixed(self, operation: Operation) -> dict[str, str]:
        """The values ``--parameter`` gives ``operation``'s path and query parameters (a tenant's
        ids), which replace the spec's examples wherever the suite would send those."""
        given = dict(self.policy.parameters)
        return {
            p["name"]: given[p["name"]]
            for p in self.spec.parameters(operation)
            if p["in"] in ("path", "query") and p["name"] in given
        }

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
