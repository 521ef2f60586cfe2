"""The conformance run: schemathesis drives each API, the project check explains every
response, the classifier sorts deviations, and lifecycle checks follow real runs.

One ``ApiSession`` per API holds what the registered schemathesis check needs while that
API's engine executes; the check finds it by the schema object the case belongs to. APIs run
one after another.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import httpx
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import CheckConfig, HealthCheck
from schemathesis.engine import events, from_schema
from schemathesis.engine.errors import ServerUnavailable
from schemathesis.schemas import BaseSchema

from conformance.contract.catalogue import load_catalogue
from conformance.contract.model import Operation, Spec
from conformance.contract.parameters import example_value
from conformance.contract.specs import load_spec
from conformance.engine.caller import MOCK_POLLING, Polling
from conformance.engine.lifecycle import explore_lists, run_lifecycle
from conformance.engine.options import RunOptions, check_credential, split_base_url
from conformance.engine.probes import check_configuration, probe_credentials
from conformance.engine.provenance import draw_seed, recorded_options
from conformance.engine.session import ApiSession, one_line
from conformance.errors import ConformanceError, CredentialRefused, ServerUnreachable, UsageError
from conformance.findings import Deviation
from conformance.http.failures import (
    BodyTooLarge,
    ResponseTooSlow,
    failed_request_curl,
    is_transport_error,
    transport_cause,
)
from conformance.http.oauth import (
    ClientCredentials,
    RefreshingToken,
    TokenSession,
    missing_credential,
    resolve_client,
    schemathesis_auth,
)
from conformance.http.policy import RequestPolicy
from conformance.http.requests_bounds import bounded_body_hook, bounded_headers
from conformance.judge.registry import check_response
from conformance.mocks.process import MockProcess
from conformance.redact import Redactor, is_secret_header
from conformance.results.model import ApiResult, ProgressHook, RunResult
from conformance.vendors.registry import ApiInfo, resolve_apis

#: Schemathesis checks that judge the server by what the spec says it accepts: where the spec
#: assumed that (``x-assumption`` in a request body or parameter), a failure contradicts the assumption.
REQUEST_CHECKS = frozenset({"positive_data_acceptance", "negative_data_rejection"})
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
    """What schemathesis' global checks and hooks need of the API whose engine runs a case."""

    session: ApiSession
    #: Operations served outside the API's base path (SolveXia's token endpoint): label -> base URL.
    base_urls: dict[str, str]
    #: A signed-in API's token session.
    tokens: TokenSession | None
    #: Per operation label, the parameters whose values only the server issues (ids, continuation
    #: tokens), by location and name, with the documented value a client would send (or ``None``).
    issued: dict[str, dict[tuple[str, str], Any]]


#: Checks and hooks are registered once for every schema, so each finds its API here, by the
#: schema object (``id``) the case belongs to, for as long as that API's engine runs.
_BINDINGS: dict[int, _Binding] = {}


@schemathesis.check
def conformance_contract(ctx: Any, response: Any, case: Any) -> None:
    """Explain every difference between the response and the contract (never fails the case:
    documented quirks must not make hypothesis shrink, and the classifier decides what is drift)."""
    binding = _BINDINGS.get(id(case.operation.schema))
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
        session.policy.max_body_bytes,
        {**(case.path_parameters or {}), **(case.query or {})},
        case.body,
    )
    session.record(operation, deviations, case.as_curl_command, "contract")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Bound every body the engine reads for a conformance run: size and total time."""
    binding = _BINDINGS.get(id(case.operation.schema))
    if binding is None:
        return
    policy = binding.session.policy
    kwargs["hooks"] = {"response": [bounded_body_hook(policy.max_body_bytes, policy.timeout)]}
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


def server_issued(spec: Spec) -> dict[str, dict[tuple[str, str], Any]]:
    """Per operation label, its parameters that carry a value the server hands out, with the
    documented value (the example, which a user sets to an id of their tenant) or ``None`` where
    there is none (a continuation token comes only from a prior answer)."""
    issued: dict[str, dict[tuple[str, str], Any]] = {}
    for operation in spec.operations.values():
        names = set(spec.issued_parameters(operation))
        issued[operation.label] = {
            (parameter["in"], parameter["name"]): example_value(parameter, spec)
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


def skipped_checks(spec: Spec) -> set[str]:
    """Standard checks a spec turns off, each with a documented reason (``x-conformance.judge.checks``)."""
    return {name for name, setting in spec.check_settings.items() if setting.get("enabled") is False}


def check_statuses(spec: Spec) -> dict[str, list[str]]:
    """Expected statuses a spec sets for standard checks, where the vendor documents other codes."""
    return {
        name: s["expected_statuses"] for name, s in spec.check_settings.items() if "expected_statuses" in s
    }


@dataclass
class Target:
    """One API to check: where it answers, with which credential, under which options."""

    api: ApiInfo
    base_url: str
    #: The credential; a run that signs in (``client``) holds its first access token here.
    token: str
    mock_mode: str | None
    options: RunOptions
    #: The OAuth client the run signs in as when it was given no token (``ApiInfo.oauth``).
    client: ClientCredentials | None = None

    @cached_property
    def tokens(self) -> TokenSession | None:
        """The sign-in at the API's token endpoint, when the run signs in."""
        if self.client is None:
            return None
        spec = load_spec(self.api.name)
        return TokenSession(self.api, spec, self.base_url, self.client, self.options.policy())

    @cached_property
    def policy(self) -> RequestPolicy:
        policy = self.options.policy()
        return replace(policy, auth=RefreshingToken(self.tokens)) if self.tokens else policy

    def sign_in(self) -> None:
        """Ask the token endpoint for the first access token (``SignInRefused`` when refused)."""
        if self.tokens is not None:
            self.token = self.tokens.sign_in()

    @property
    def polling(self) -> Polling:
        """Real runs are followed politely for minutes; the embedded mocks' within seconds."""
        polling = MOCK_POLLING if self.mock_mode else Polling()
        if self.options.lifecycle_timeout:
            polling = replace(polling, timeout=self.options.lifecycle_timeout)
        if self.options.poll_interval:
            polling = replace(polling, first=self.options.poll_interval)
        return polling


def resolve_token(api: ApiInfo, explicit: str | None) -> str | None:
    return explicit or os.environ.get(api.credential_env)


@contextmanager
def targets(options: RunOptions) -> Iterator[list[Target]]:
    """The servers to check: each API's base URL (``--base-url`` or its config section), else an
    embedded mock, started for the block and stopped after."""
    apis = resolve_apis(options.apis)
    mock_token = options.token or secrets.token_urlsafe(18)
    with ExitStack() as stack:
        selected = []
        for api in apis:
            settings = options.for_api(api.name)
            if options.shard and not selected_operations(load_spec(api.name), settings):
                continue  # none of this API's operations fell to this shard
            if settings.base_url is None:
                # without --token, a vendor that issues tokens is signed in to, as a nightly job does
                client = None
                if api.oauth is not None and not options.token:
                    client = ClientCredentials(f"run-{secrets.token_hex(4)}", secrets.token_urlsafe(18))
                mock = stack.enter_context(
                    MockProcess(
                        api.name,
                        options.mock_mode,
                        mock_token,
                        client=(client.client_id, client.client_secret) if client else None,
                    )
                )
                given = "" if client else mock_token
                selected.append(Target(api, mock.base_url, given, options.mock_mode, settings, client))
                continue
            token = resolve_token(api, settings.token)
            client = None if token else resolve_client(api, settings.client_id, settings.client_secret)
            if not token and client is None:
                raise UsageError(missing_credential(api))
            if token:
                check_credential(token, api.credential_env)
            base_url = split_base_url(settings.base_url)[0]
            selected.append(Target(api, base_url, token or "", None, settings, client))
        yield selected


def check_reachable(target: Target) -> None:
    """The server answers at all (its headers; the body is not read)."""
    try:
        with target.policy.client() as client, client.stream("GET", target.base_url):
            pass
    except (httpx.HTTPError, BodyTooLarge, ResponseTooSlow) as exc:
        raise ServerUnreachable(
            f"cannot reach {target.api.name} at {target.base_url}: {transport_cause(exc)}"
        ) from None


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped an API part-way; ``partial`` is what it had judged by then."""

    def __init__(self, partial: ApiResult) -> None:
        super().__init__(f"{partial.api}: interrupted")
        self.partial = partial


def run_api(target: Target, progress: ProgressHook | None = None) -> ApiResult:
    """Run the schemathesis phases and the lifecycle checks against one API.

    An interruption (``KeyboardInterrupt``, which the CLI also raises on SIGTERM) raises
    ``RunInterrupted`` carrying the findings so far, so that they can still be written.
    """
    started = time.monotonic()
    spec = load_spec(target.api.name)
    options = target.options
    secrets_sent = [target.token, *(value for name, value in options.headers if is_secret_header(name))]
    if target.client is not None:
        secrets_sent.append(target.client.client_secret)
    session = ApiSession(
        spec,
        load_catalogue(target.api.name),
        Redactor.for_target(secrets_sent, options.base_url),
        target.policy,
        selected_operations(spec, options),
    )
    session.redactor.learn(spec.document)  # the documents' sample secrets (a token request's example)
    if target.tokens is not None:  # every token the run is given is redacted, and every answer judged
        target.tokens.listeners.append(session.redactor.add)
        target.tokens.exchange_listeners.append(_judge_exchange(session))
    errors: list[str] = []
    try:
        finished = _exercise(target, session, errors, progress)
    except KeyboardInterrupt:
        finished = False
    except Exception as exc:  # a bug must still leave a report: what was judged, and this error
        errors.append(session.error(f"internal error, the API was not finished: {type(exc).__name__}: {exc}"))
        finished = True
    if not finished:
        errors.append("interrupted before this API was finished")
    result = session.result(target.base_url, target.mock_mode, errors, time.monotonic() - started)
    if not finished:
        raise RunInterrupted(result)
    return result


def _exercise(target: Target, session: ApiSession, errors: list[str], progress: ProgressHook | None) -> bool:
    """Drive one API into ``session``; ``False`` when the engine reports an interruption."""
    spec, options = session.spec, target.options
    try:
        check_reachable(target)
        target.sign_in()
        check_configuration(target.api, spec, target.base_url, target.token, target.policy)
    except ConformanceError as exc:
        errors.append(session.error(_what_to_check(target, str(exc))))
        return True
    if not session.operations:
        errors.append("--include-operation / --exclude-operation left no operation to check")
        return True

    schema: BaseSchema = schemathesis.openapi.from_dict(spec.document, config=schemathesis.Config())
    if set(session.operations) != set(spec.operations):
        schema = schema.include(operation_id=list(session.operations))
    tokens = target.tokens
    if tokens is not None:  # the current token goes on each case instead of one fixed header
        schema.auth.auth(refresh_interval=None)(schemathesis_auth(tokens, _secured(spec)))
    schema.config.update(
        base_url=target.base_url,
        headers={**dict(options.headers), **({} if tokens else target.api.auth_headers(target.token))},
        workers=options.workers,
        request_timeout=options.request_timeout,
        parameters=target.api.credential_parameters(target.token),
        suppress_health_check=[HealthCheck.all],
        proxy=options.proxy,
        tls_verify=options.cacert or options.tls_verify,
        rate_limit=_schemathesis_rate(options.rate_limit),
    )
    schema.config.phases.update(phases=list(options.phases))
    schema.config.checks.update(excluded_check_names=REPLACED_CHECKS + sorted(skipped_checks(spec)))
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
    total = len(session.operations) * len([p for p in options.phases if p != "stateful"]) + (
        "stateful" in options.phases
    )
    done = 0
    interrupted = False
    base_urls = {
        op.label: spec.operation_base_url(target.base_url, op)
        for op in spec.operations.values()
        if spec.server_path(op) != spec.base_path
    }
    issued = server_issued(spec)
    _BINDINGS[id(schema)] = _Binding(session, base_urls, tokens, issued)
    try:
        with bounded_headers(session.policy.max_body_bytes):
            for event in from_schema(schema).execute():
                if isinstance(event, events.ScenarioFinished):
                    _record_standard_checks(session, event, issued)
                    done += 1
                    if progress:
                        progress(target.api.name, min(done, total), total, str(event.phase))
                elif isinstance(event, events.NonFatalError):
                    _record_error(session, event, errors)
                elif isinstance(event, events.FatalError):
                    errors.append(session.error(str(event.exception)))
                elif isinstance(event, events.Interrupted):
                    interrupted = True
    finally:
        del _BINDINGS[id(schema)]
    if interrupted:
        return False
    if progress:
        progress(target.api.name, min(done, total), total, "lifecycle")
    _follow_runs(target, session, errors)
    if progress:
        progress(target.api.name, total, total, "done")
    if not any(stats.cases for stats in session.stats.values()):
        errors.append(f"no response from {target.base_url} could be judged")
    return True


def _what_to_check(target: Target, message: str) -> str:
    """A refusal of a signed-in run's token names the client to check, not the unset token variable."""
    oauth = target.api.oauth
    if target.client is None or oauth is None:
        return message
    client = f"the client {oauth.client_id_env}"
    return message.replace(f"{target.api.credential_env} (or --token)", f"{client} (its scopes)").replace(
        target.api.credential_env, client
    )


def _secured(spec: Spec) -> Any:
    """Whether a schemathesis API operation needs the credential (``security: []`` does not)."""
    open_labels = {op.label for op in spec.operations.values() if not spec.secured(op)}
    return lambda operation: operation.label not in open_labels


def _judge_exchange(session: ApiSession) -> Any:
    """Judge each answer of the token endpoint to the run's own sign-ins like any response."""

    def judge(operation: Operation, response: httpx.Response, request: str) -> None:
        if operation.id not in session.operations:
            return
        deviations = check_response(
            session.spec,
            operation,
            response.status_code,
            response.headers,
            response.content,
            session.policy.max_body_bytes,
        )
        session.record(operation, deviations, request, "sign-in")

    return judge


def _follow_runs(target: Target, session: ApiSession, errors: list[str]) -> None:
    """The lifecycle (when every operation it needs is selected) and the credential-less probes.

    After the phases, not beside them: the phases retry and cancel whatever run ids they try (the
    documents' examples among them), so a lifecycle run alongside saw its cancelled run revived
    by a retry and reported a lie the server never told (tried: 0.2-0.4 s saved per API)."""
    spec = session.spec
    plan = spec.lifecycle.plan if spec.lifecycle else {}
    needed = {plan[step]["operation"] for step in ("start", "poll", "cancel") if step in plan}
    if needed <= set(session.operations):
        try:
            for operation, deviations, request in run_lifecycle(
                target.api, spec, target.base_url, target.token, target.policy, target.polling
            ):
                if operation.id in session.operations:  # another shard, or excluded: not judged here
                    session.record(operation, deviations, request, "lifecycle")
        except CredentialRefused as refused:
            errors.append(session.error(_what_to_check(target, str(refused))))
    options = target.options
    for operation, deviations, request in explore_lists(
        target.api, spec, target.base_url, target.token, target.policy, options.max_examples, options.seed
    ):
        if operation.id in session.operations:
            session.record(operation, deviations, request, "behaviour")
    for operation, deviations, request in probe_credentials(
        target.api, spec, target.base_url, target.token, target.policy
    ):
        if operation.id in session.operations:
            session.record(operation, deviations, request, "auth")


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
    if operation is not None and is_transport_error(event.value):
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
            if node.name == "conformance_contract":
                continue
            session.checks[node.name] += 1
            if node.failure_info is None:
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
            with session.lock:
                session.add(deviation, node.failure_info.code_sample, node.name)


def _request_assumption(
    spec: Spec, operation: Operation, case: Any, check: str, issued: dict[str, dict[tuple[str, str], Any]]
) -> str | None:
    """What a request check's failure contradicts when no document says it: a rule the spec
    assumed for the request, or a refusal of values the case invented in the server's place."""
    if check not in REQUEST_CHECKS:
        return None
    invented = invented_values(case, issued.get(operation.label, {}))
    return spec.request_assumption(operation) or (invented if check == "positive_data_acceptance" else None)


def run(options: RunOptions, progress: ProgressHook | None = None) -> RunResult:
    """Check every selected API and gather the results."""
    options.validate()
    if options.seed is None:  # drawn here, so that results.json can name it and the run be repeated
        options = replace(options, seed=draw_seed())
    for api in resolve_apis(options.apis):  # a broken spec or catalogue stops the run before it starts
        load_spec(api.name)
        load_catalogue(api.name)
    started_at = datetime.now(UTC)
    results: list[ApiResult] = []
    try:
        with targets(options) as selected:  # leaving it stops the embedded mocks, interrupted or not
            # APIs run one after another: CPython 3.11 can fail with "AST constructor recursion depth
            # mismatch" when hypothesis compiles strategies in several threads at once.
            for target in selected:
                results.append(run_api(target, progress))
    except RunInterrupted as interruption:
        results.append(interruption.partial)
    except KeyboardInterrupt:  # between APIs, or while the mocks start
        pass
    else:
        return _result(options, results, started_at, complete=True)
    return _result(options, results, started_at, complete=False)


def _result(options: RunOptions, results: list[ApiResult], started_at: datetime, complete: bool) -> RunResult:
    return RunResult(
        options.fail_policy,
        results,
        started_at,
        datetime.now(UTC),
        complete,
        seed=options.seed,
        options=recorded_options(options),
    )


def selected_operations(spec: Spec, options: RunOptions) -> list[str]:
    """The operations of ``spec`` a run checks: ``--include/--exclude-operation``, then its
    ``--shard`` share (the lifecycle's operations kept together)."""
    operations = [op for op in spec.operations if options.selects(op)]
    if options.shard is None:
        return operations
    return options.shard.share(spec.api.name, operations, _named_operations(spec))


def _named_operations(spec: Spec) -> set[str]:
    """Every operation the lifecycle plan names, however deep."""
    named: set[str] = set()
    pending: list[Any] = [spec.lifecycle.plan if spec.lifecycle else {}]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending += node.values()
        elif isinstance(node, list):
            pending += node
        elif isinstance(node, str) and node in spec.operations:
            named.add(node)
    return named
