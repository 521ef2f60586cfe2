"""The bridge to schemathesis, the only module that imports it: the suite's contract check and
request hook, the engine's configuration, and what its events become (findings, errors).

Schemathesis registers checks and hooks for every schema; each finds its API's ``_Binding`` on
the schema object the case belongs to, and every finding enters through the API's session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.config import CacheConfig, CheckConfig, HealthCheck
from schemathesis.engine import events, from_schema
from schemathesis.engine.errors import ServerUnavailable
from schemathesis.schemas import BaseSchema

from conformance.contract.model import Operation, Spec
from conformance.contract.parameters import example_value
from conformance.engine.options import RunOptions
from conformance.engine.session import ApiSession, one_line
from conformance.errors import ConformanceError, UsageError
from conformance.findings import Deviation
from conformance.http.failures import causes, failed_request_curl, is_transport_error, transport_cause
from conformance.http.oauth import TokenSession, schemathesis_auth
from conformance.http.requests_bounds import bounded_body_hook, bounded_headers
from conformance.judge.registry import check_response
from conformance.results.model import ProgressHook
from conformance.vendors.registry import ApiInfo

#: Schemathesis checks that judge the server by what the spec says it accepts: where the spec
#: assumed that (``x-assumption`` in a request body or parameter), a failure contradicts the assumption.
REQUEST_CHECKS = frozenset({"positive_data_acceptance", "negative_data_rejection"})


#: How many events of an event stream the engine reads before it judges the stream.
STREAM_EVENTS_JUDGED = 1

#: Schemathesis' response-conformance checks are replaced by the project check, which explains
#: each difference so that documented quirks can be told from drift (5xx: ``server-error``).
REPLACED_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


@dataclass(frozen=True)
class _Binding:
    """What schemathesis' checks and hooks need of the API whose engine runs a case."""

    session: ApiSession
    #: Operations served outside the API's base path (SolveXia's token endpoint): label -> base URL.
    base_urls: dict[str, str]
    #: A signed-in API's token session.
    tokens: TokenSession | None
    #: Per operation label, the parameters whose values only the server issues (ids, continuation
    #: tokens), by location and name, with the documented value a client would send (or ``None``).
    issued: dict[str, dict[tuple[str, str], Any]]


#: The attribute of a schema that holds its API's binding: schemathesis registers checks and hooks
#: once for every schema, so each finds its API on the schema object the case belongs to.
BINDING = "conformance_binding"


def _binding(case: Any) -> _Binding | None:
    return getattr(case.operation.schema, BINDING, None)


#: The suite's own check, registered with schemathesis under its function's name.
CONTRACT_CHECK = "conformance_contract"


@schemathesis.check
def conformance_contract(ctx: Any, response: Any, case: Any) -> None:
    """Explain every difference between the response and the contract (never fails the case:
    documented quirks must not make hypothesis shrink, and the classifier decides what is drift)."""
    binding = _binding(case)
    if binding is None:
        return
    session = binding.session
    operation = session.by_label.get(case.operation.label)
    if operation is None or response.request.method.lower() != operation.method:
        return  # an unsupported-method probe: schemathesis' own check judges it
    deviations = check_response(
        session.spec,
        operation,
        response.status_code,
        _flat_headers(response),
        response.content,
        session.policy.limits,
        {**(case.path_parameters or {}), **(case.query or {})},
        case.body,
        response.elapsed,
    )
    session.record(operation, deviations, case.as_curl_command, "contract", case=case.id)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Bound every body the engine reads for a conformance run: size and total time."""
    binding = _binding(case)
    if binding is None:
        return
    policy = binding.session.policy
    kwargs["hooks"] = {"response": [bounded_body_hook(policy.limits.body_bytes, policy.timeout)]}
    if policy.params:  # the base URL's query travels with every request, as with httpx
        query = case.query if isinstance(case.query, dict) else {}
        case.query = {**dict(policy.params), **query}
    _leave_out_invented_tokens(case, binding.issued.get(case.operation.label) or {})
    base_url = binding.base_urls.get(case.operation.label)
    if base_url is not None:  # the engine sends every operation to the one base URL otherwise
        case.operation.base_url = base_url
    if binding.tokens is not None:  # a case generated a while ago goes out with the current token
        binding.tokens.refresh_headers(case.headers)


def _flat_headers(response: Any) -> dict[str, str]:
    return {
        key: values[0] if isinstance(values, list) else values for key, values in response.headers.items()
    }


def server_issued(spec: Spec, given: dict[str, str]) -> dict[str, dict[tuple[str, str], Any]]:
    """Per operation label, its parameters that carry a value the server hands out, with the
    value a client would send: the ``--parameter`` value (an id of the user's tenant), else the
    documented example, else ``None`` (a continuation token comes only from a prior answer)."""
    issued: dict[str, dict[tuple[str, str], Any]] = {}
    for operation in spec.operations.values():
        names = set(spec.issued_parameters(operation))
        issued[operation.label] = {
            (parameter["in"], parameter["name"]): given.get(parameter["name"], example_value(parameter, spec))
            for parameter in spec.parameters(operation)
            if parameter["name"] in names
        }
    return issued


def _leave_out_invented_tokens(case: Any, issued: dict[tuple[str, str], Any]) -> None:
    """A continuation token only comes from a prior answer: a generated one is not sent (ids stay
    invented, so the engine never starts or cancels a tenant's real runs; a refusal of one is
    judged by ``invented_values``)."""
    if not isinstance(case.query, dict):
        return
    for (where, name), value in issued.items():
        if where == "query" and value is None:
            case.query.pop(name, None)


def invented_values(case: Any, issued: dict[tuple[str, str], Any]) -> str | None:
    """Why refusing ``case`` breaks no promise: it named values only the server issues (ids,
    tokens) that no answer and no document gave, and no document says what such a request gets."""
    sent = {"path": case.path_parameters or {}, "query": case.query or {}}
    made_up = [
        f"{name} `{sent[where][name]}`"
        for (where, name), documented in issued.items()
        if name in sent.get(where, {}) and sent[where][name] != documented
    ]
    if not made_up:
        return None
    return (
        f"The case made up {', '.join(made_up)}, which only the server issues; no document says what a "
        "request naming a value the server never issued gets."
    )


def check_names() -> list[str]:
    """The names ``--checks`` and ``--exclude-checks`` take: schemathesis' checks, and ``all``."""
    return sorted({*CHECKS.get_all_names(), "all"} - {CONTRACT_CHECK})


def validate_checks(options: RunOptions) -> None:
    """Unknown check names are a one-line error before anything runs (schemathesis would take
    them as custom checks that never run)."""
    known = check_names()
    for flag, names in (("--checks", options.checks), ("--exclude-checks", options.exclude_checks)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise UsageError(f"{flag}: unknown check {unknown[0]!r}; choose from: {', '.join(known)}")


def selected_checks(options: RunOptions, skipped: set[str]) -> tuple[list[str] | None, list[str]]:
    """Schemathesis' checks to run and to skip, as ``--checks`` and ``--exclude-checks`` name them.
    The suite's contract check stands for the response-conformance checks it replaces: it runs
    while any of them is selected."""
    chosen = None if not options.checks or "all" in options.checks else set(options.checks)
    dropped = set(options.exclude_checks)
    wanted = set(REPLACED_CHECKS) if chosen is None else chosen & set(REPLACED_CHECKS)
    contract = [CONTRACT_CHECK] if wanted - dropped else []
    excluded = sorted(set(REPLACED_CHECKS) | skipped | dropped) + ([] if contract else [CONTRACT_CHECK])
    included = None if chosen is None else sorted(chosen - set(REPLACED_CHECKS)) + contract
    return included, excluded


def skipped_checks(spec: Spec) -> set[str]:
    """Standard checks a spec turns off, each with a documented reason (``x-conformance.judge.checks``)."""
    return {name for name, setting in spec.check_settings.items() if setting.get("enabled") is False}


def check_statuses(spec: Spec) -> dict[str, list[str]]:
    """Expected statuses a spec sets for standard checks, where the vendor documents other codes."""
    return {
        name: s["expected_statuses"] for name, s in spec.check_settings.items() if "expected_statuses" in s
    }


def _secured(spec: Spec) -> Any:
    """Whether a schemathesis API operation needs the credential (``security: []`` does not)."""
    open_labels = {op.label for op in spec.operations.values() if not spec.secured(op)}
    return lambda operation: operation.label not in open_labels


def _schemathesis_rate(per_second: float | None) -> str | None:
    """``--rate-limit`` in schemathesis' notation (whole requests per second or per minute)."""
    if per_second is None:
        return None
    return (
        f"{int(per_second)}/s"
        if per_second >= 1 and per_second == int(per_second)
        else f"{max(1, round(per_second * 60))}/m"
    )


def _record_error(session: ApiSession, event: events.NonFatalError, errors: list[str]) -> None:
    """A request that got no response is a finding at its operation; anything else is a run error.

    When the server goes away mid-run, the engine also reports the outage itself; the request
    that revealed it is already a finding, and the operations it left untested show as uncovered.
    """
    operation = session.by_label.get(event.label) if event.related_to_operation else None
    failed = next((e for e in causes(event.value) if isinstance(e, ConformanceError)), None)
    if failed is not None:  # a renewal refused or unanswered mid-run: one error of the API, not per call
        error = session.error(str(failed))
        errors.extend([] if error in errors else [error])
    elif operation is not None and is_transport_error(event.value):
        if _streams_events(operation) and transport_cause(event.value) in OPEN_STREAM_CAUSES:
            return  # an event stream still open (its run still running) when the time bound ended it
        session.record_failed_request(operation, event.value, failed_request_curl(event.value))
    elif not isinstance(event.value, ServerUnavailable):
        errors.append(session.error(f"{event.label}: {event.info.message}"))


#: How an event stream that was still open ends when the suite's time bound cuts it off.
OPEN_STREAM_CAUSES = frozenset({"incomplete body", "read timeout"})


def _streams_events(operation: Operation) -> bool:
    """Whether the documents give the operation an event stream: open as long as there is news."""
    responses = operation.definition.get("responses") or {}
    return any(
        "text/event-stream" in (response.get("content") or {})
        for status, response in responses.items()
        if str(status).startswith("2") and isinstance(response, dict)
    )


def _record_standard_checks(
    session: ApiSession, event: events.ScenarioFinished, issued: dict[str, dict[tuple[str, str], Any]]
) -> None:
    """Turn failures of schemathesis' own checks into deviations of the check's name."""
    recorder = event.recorder
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.name == CONTRACT_CHECK:
                continue
            if node.failure_info is None:
                session.count_check(node.name)
                continue
            failure = node.failure_info.failure
            case_node = recorder.cases.get(case_id)
            case = case_node.value if case_node else None
            operation = session.by_label.get(case.operation.label) if case else None
            if operation is None:
                continue
            interaction = recorder.interactions.get(case_id)
            status = interaction.response.status_code if interaction and interaction.response else None
            deviation = Deviation(
                api=session.spec.api.name,
                operation=operation.id,
                status_code=status,
                location="status",
                kind=node.name,
                expected=failure.title,
                observed=status,
                message=one_line(failure.message or failure.title or node.name),
                assumption=_request_assumption(session.spec, operation, case, node.name, issued),
            )
            session.record(operation, [deviation], node.failure_info.code_sample, node.name, case=case_id)


def _request_assumption(
    spec: Spec, operation: Operation, case: Any, check: str, issued: dict[str, dict[tuple[str, str], Any]]
) -> str | None:
    """What a request check's failure contradicts when no document says it: a rule the spec
    assumed for the request, or a refusal of values the case invented in the server's place."""
    if check not in REQUEST_CHECKS:
        return None
    invented = invented_values(case, issued.get(operation.label, {}))
    return spec.request_assumption(operation) or (invented if check == "positive_data_acceptance" else None)


@dataclass(frozen=True)
class Where:
    """Where and as whom the engine sends an API's cases."""

    api: ApiInfo
    base_url: str
    token: str
    #: A signed-in API's token session (its current token goes on each case).
    tokens: TokenSession | None


def run_phases(
    where: Where,
    session: ApiSession,
    options: RunOptions,
    errors: list[str],
    progress: ProgressHook | None,
    enough: Callable[[], bool] = lambda: False,
) -> int | None:
    """Run the schemathesis phases of one API into ``session``: the number of scenarios, or
    ``None`` when the engine was interrupted. The engine is stopped once ``enough`` says the run
    has found all it was asked to (``--max-failures``)."""
    spec = session.spec
    schema = _configured(where, session, options)
    phases = [p for p in options.phases if p != "stateful" or _linked(spec, session.operations)]
    if len(phases) < len(options.phases):
        session.adjust("stateful", "no link joins the operations selected (--shard, --include-operation)")
    schema.config.phases.update(phases=phases)
    total = len(session.operations) * len([p for p in phases if p != "stateful"]) + ("stateful" in phases)
    issued = server_issued(spec, options.parameters)
    base_urls = {
        op.label: spec.operation_base_url(where.base_url, op)
        for op in spec.operations.values()
        if spec.server_path(op) != spec.base_path
    }
    setattr(schema, BINDING, _Binding(session, base_urls, where.tokens, issued))
    done, interrupted, stopped = 0, False, False
    with bounded_headers(session.policy.limits):
        stream = from_schema(schema).execute()
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                _record_standard_checks(session, event, issued)
                done += 1
                if progress:
                    progress(where.api.name, min(done, total), total, str(event.phase))
            elif isinstance(event, events.NonFatalError):
                _record_error(session, event, errors)
            elif isinstance(event, events.FatalError):
                errors.append(session.error(str(event.exception)))
            elif isinstance(event, events.Interrupted):
                interrupted = not stopped  # the engine reports the stop it was asked for as one
            if not stopped and enough():
                stream.stop()  # the engine winds down: its next event is its last
                stopped = True
    if interrupted:
        return None
    if progress:
        progress(where.api.name, min(done, total), total, "lifecycle")
    return total


def _configured(where: Where, session: ApiSession, options: RunOptions) -> BaseSchema:
    """The API's schema, its selected operations, configured as the options say."""
    spec = session.spec
    # schemathesis' cache off: it replays an earlier run's requests (``.schemathesis/`` of the working
    # folder, which ``st run`` writes) into the next and rewrites it, so a night would depend on, and
    # change, what another tool left there instead of following its seed alone
    config = schemathesis.Config(cache=CacheConfig(enabled=False))
    schema: BaseSchema = schemathesis.openapi.from_dict(spec.document, config=config)
    if set(session.operations) != set(spec.operations):
        schema = schema.include(operation_id=list(session.operations))
    if where.tokens is not None:  # the current token goes on each case instead of one fixed header
        schema.auth.auth(refresh_interval=None)(schemathesis_auth(where.tokens, _secured(spec)))
    schema.config.update(
        base_url=where.base_url,
        headers={**dict(options.headers), **({} if where.tokens else where.api.auth_headers(where.token))},
        workers=options.workers,
        request_timeout=options.request_timeout,
        parameters={**options.parameters, **where.api.credential_parameters(where.token)},
        suppress_health_check=[HealthCheck.all],
        proxy=options.proxy,
        tls_verify=options.cacert or options.tls_verify,
        rate_limit=_schemathesis_rate(options.rate_limit),
    )
    included, excluded = selected_checks(options, skipped_checks(spec))
    schema.config.checks.update(included_check_names=included, excluded_check_names=excluded)
    for name, statuses in check_statuses(spec).items():
        check = schema.config.checks.get_by_name(name=name)
        if isinstance(check, CheckConfig):
            check.expected_statuses = statuses
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=options.max_examples,
        database="none",
    )
    if options.seed is not None:
        schema.config.seed = options.seed
    schema.config.max_time = options.max_time
    # An event stream is judged by its first event: a run still running sends no more until it
    # changes, and waiting for the next costs the request timeout on every call of a case, dozens
    # of times over while hypothesis shrinks one (a night took minutes longer).
    schema.config.max_stream_events = STREAM_EVENTS_JUDGED
    return schema


def _linked(spec: Spec, operations: dict[str, Operation]) -> bool:
    """Whether a response link of a selected operation leads to a selected operation: the
    stateful phase has nothing to walk otherwise (a shard or a filter may leave none)."""
    return any(
        isinstance(link, dict) and link.get("operationId") in operations
        for operation in operations.values()
        for response in (operation.definition.get("responses") or {}).values()
        if isinstance(response, dict)
        for link in (spec.resolve(response).get("links") or {}).values()
    )
