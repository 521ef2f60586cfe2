"""Every response check, listed in one place and run in this order (schemathesis'
``load_all_checks`` idea): a check exists for the suite only when it is named here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.bounds import DEFAULT_LIMITS, ReadLimits
from conformance.contract.model import Operation, Spec
from conformance.findings import Deviation
from conformance.judge import behaviour, checks
from conformance.judge.context import Check, Judgement, ResponseContext

ALL_CHECKS: tuple[Check, ...] = (
    checks.status_code_documented,
    checks.content_type_documented,
    checks.required_headers_present,
    checks.body_matches_schema,
    checks.body_present,
    behaviour.list_honours_its_parameters,
    behaviour.answer_is_about_what_was_asked,
    behaviour.durations_are_physical,
)


def check_response(
    spec: Spec,
    operation: Operation,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    limits: ReadLimits = DEFAULT_LIMITS,
    params: Mapping[str, Any] | None = None,
    request_body: Any = None,
    elapsed: float | None = None,
) -> Judgement:
    """Run every check on one response; duplicates within the response are dropped.
    ``params`` (path and query parameters as sent) lets the behaviour checks judge the answer
    against the question; ``request_body`` (as sent) lets the catalogue tell which request it answered;
    ``elapsed`` (seconds, where timed) goes into the run's profile."""
    ctx = ResponseContext(spec, operation, status_code, headers, body, limits, params, request_body, elapsed)
    seen: dict[tuple[str, ...], Deviation] = {}
    for function in ALL_CHECKS:
        for deviation in function(ctx):
            seen.setdefault(deviation.key, deviation)
    return Judgement(seen.values(), ctx)
