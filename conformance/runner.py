"""The conformance run: schemathesis drives each API, the project check explains every
response, the classifier sorts deviations, and lifecycle checks follow real runs.

One ``ApiSession`` per API holds what the registered schemathesis check needs while that
API's engine executes; the session is looked up by the schema object the case belongs to,
so several APIs may run side by side.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import httpx
import schemathesis
from schemathesis.config import HealthCheck
from schemathesis.engine import events, from_schema
from schemathesis.engine.errors import ServerUnavailable

from .apis import ApiInfo, resolve_apis
from .catalogue import Catalogue, load_catalogue
from .checks import check_response
from .classify import FindingSet
from .errors import ConformanceError, ServerUnreachable, UsageError
from .findings import Deviation, Finding, tally
from .kinds import BODY_TOO_LARGE, TRANSPORT_ERROR, Classification
from .lifecycle import (
    MOCK_POLLING,
    CredentialRefused,
    Polling,
    check_configuration,
    explore_lists,
    probe_credentials,
    run_lifecycle,
)
from .mocks.process import MockProcess
from .options import RunOptions
from .redact import Redactor, is_secret_header
from .specs import Operation, Spec, load_spec
from .transport import (
    DEFAULT_POLICY,
    BodyTooLarge,
    RequestPolicy,
    bounded_body_hook,
    failed_request_curl,
    is_transport_error,
    transport_cause,
)

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


@dataclass
class OperationStats:
    cases: int = 0
    conforming: int = 0


@dataclass
class ApiResult:
    """What one API's run produced."""

    api: str
    title: str
    base_url: str
    mock_mode: str | None
    operations: dict[str, Operation]
    stats: dict[str, OperationStats]
    findings: list[Finding]
    checks: Counter[str]
    errors: list[str]
    duration: float

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.stats.values())

    @property
    def covered(self) -> list[str]:
        return [op for op, s in self.stats.items() if s.cases]

    @property
    def score(self) -> float:
        """Share of responses that conform to the contract or deviate only in documented ways."""
        cases = self.cases
        return round(100.0 * sum(s.conforming for s in self.stats.values()) / cases, 1) if cases else 0.0

    def counts(self, operation: str | None = None) -> dict[str, int]:
        """Findings by classification and new drift by severity, of the API or one operation."""
        return tally(f for f in self.findings if operation is None or f.operation == operation)


@dataclass
class RunResult:
    options: RunOptions
    results: list[ApiResult]
    started_at: datetime
    finished_at: datetime
    complete: bool

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.results for finding in result.findings]

    @property
    def errors(self) -> list[str]:
        return [f"{result.api}: {error}" for result in self.results for error in result.errors]

    @property
    def fail_on(self) -> str:
        """What fails this run: ``strict`` (any deviation), ``any`` new drift, or ``breaking``."""
        return "strict" if self.options.strict else self.options.fail_on

    @property
    def exit_code(self) -> int:
        if self.errors or not self.complete:
            return 2
        return 1 if any(finding.fails(self.fail_on) for finding in self.findings) else 0


class ApiSession:
    """Per-API state the registered check writes into while the engine runs."""

    def __init__(
        self,
        spec: Spec,
        catalogue: Catalogue,
        redactor: Redactor,
        policy: RequestPolicy = DEFAULT_POLICY,
        operations: Iterable[str] | None = None,
    ) -> None:
        self.spec = spec
        self.policy = policy
        self.findings = FindingSet(catalogue)
        self.redactor = redactor
        self.operations = {op: spec.operations[op] for op in (operations or spec.operations)}
        self.stats: dict[str, OperationStats] = {op: OperationStats() for op in self.operations}
        self.by_label = {op.label: op for op in spec.operations.values()}
        self.checks: Counter[str] = Counter()
        self.lock = threading.Lock()

    def record(
        self, operation: Operation, deviations: list[Deviation], request: str | None, source: str
    ) -> None:
        with self.lock:
            self.checks[source] += 1
            new = False
            for deviation in deviations:
                new = self.add(deviation, request, source).classification is Classification.NEW or new
            if any(deviation.kind == TRANSPORT_ERROR for deviation in deviations):
                return  # no response: nothing was judged, so it is no case
            stats = self.stats[operation.id]
            stats.cases += 1
            if not new:
                stats.conforming += 1

    def add(self, deviation: Deviation, request: str | None, source: str) -> Finding:
        """The one door a finding leaves the run by: whatever came from the server or the user (values,
        message, the reproducing request) is redacted here, so no report, console line or JUnit
        file can show a credential. Callers hold ``lock``."""
        clean = self.redactor.deviation(deviation)
        return self.findings.add(clean, request and self.redactor.text(request), source=source)

    def error(self, text: str) -> str:
        """An error line of this API, redacted and on one line."""
        return self.redactor.text(_one_line(text))

    def record_failed_request(self, operation: Operation, error: BaseException, request: str | None) -> None:
        """A request the engine sent that got no response, or one too large to read."""
        if isinstance(error, BodyTooLarge):
            status: int | None = error.status_code
            kind, expected, observed = (
                BODY_TOO_LARGE,
                f"at most {error.limit} bytes",
                f"more than {error.limit} bytes",
            )
        else:
            status, kind, expected, observed = None, TRANSPORT_ERROR, "a response", transport_cause(error)
        message = _one_line(f"{operation.label}: {observed}: {error}")
        deviation = Deviation(self.spec.api.name, operation.id, status, "", kind, expected, observed, message)
        self.record(operation, [deviation], request, "contract")

    def result(self, base_url: str, mock_mode: str | None, errors: list[str], duration: float) -> ApiResult:
        """Freeze what was recorded into an ``ApiResult`` (run and replay share this)."""
        api = self.spec.api
        return ApiResult(
            api=api.name,
            title=api.title,
            base_url=base_url,
            mock_mode=mock_mode,
            operations=self.operations,
            stats=self.stats,
            findings=list(self.findings),
            checks=self.checks,
            errors=errors,
            duration=duration,
        )


_SESSIONS: dict[int, ApiSession] = {}


@schemathesis.check
def conformance_contract(ctx: Any, response: Any, case: Any) -> None:
    """Explain every difference between the response and the contract (never fails the case:
    documented quirks must not make hypothesis shrink, and the classifier decides what is drift)."""
    session = _SESSIONS.get(id(case.operation.schema))
    if session is None:
        return
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
    )
    session.record(operation, deviations, case.as_curl_command(), "contract")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Bound every body the engine reads for a conformance run: size and total time."""
    session = _SESSIONS.get(id(case.operation.schema))
    if session is not None:
        policy = session.policy
        kwargs["hooks"] = {"response": [bounded_body_hook(policy.max_body_bytes, policy.timeout)]}


def _flat_headers(response: Any) -> dict[str, str]:
    return {
        key: values[0] if isinstance(values, list) else values for key, values in response.headers.items()
    }


def check_settings(spec: Spec) -> dict[str, dict[str, Any]]:
    return (spec.document.get("x-conformance") or {}).get("checks") or {}


def skipped_checks(spec: Spec) -> set[str]:
    """Standard checks a spec turns off, each with a documented reason (``x-conformance.checks``)."""
    return {name for name, setting in check_settings(spec).items() if setting.get("enabled") is False}


def check_statuses(spec: Spec) -> dict[str, list[str]]:
    """Expected statuses a spec sets for standard checks, where the vendor documents other codes."""
    return {
        name: s["expected_statuses"] for name, s in check_settings(spec).items() if "expected_statuses" in s
    }


@dataclass
class Target:
    """One API to check: where it answers, with which credential, under which options."""

    api: ApiInfo
    base_url: str
    token: str
    mock_mode: str | None
    options: RunOptions

    @cached_property
    def policy(self) -> RequestPolicy:
        return self.options.policy()

    @property
    def polling(self) -> Polling:
        """Real runs are followed politely for minutes; the embedded mocks' within seconds."""
        base = MOCK_POLLING if self.mock_mode else Polling()
        timeout = self.options.lifecycle_timeout
        return replace(base, timeout=timeout) if timeout else base


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
            if settings.base_url is None:
                mock = stack.enter_context(MockProcess(api.name, options.mock_mode, mock_token))
                selected.append(Target(api, mock.base_url, mock_token, options.mock_mode, settings))
                continue
            token = resolve_token(api, settings.token)
            if not token:
                raise UsageError(f"no credential for {api.name}: pass --token or set {api.credential_env}")
            selected.append(Target(api, settings.base_url.rstrip("/"), token, None, settings))
        yield selected


ProgressHook = Callable[[str, int, int], None]


def check_reachable(target: Target) -> None:
    """The server answers at all (its headers; the body is not read)."""
    try:
        with target.policy.client() as client, client.stream("GET", target.base_url):
            pass
    except httpx.HTTPError as exc:
        raise ServerUnreachable(
            f"cannot reach {target.api.name} at {target.base_url}: {type(exc).__name__}"
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
    session = ApiSession(
        spec,
        load_catalogue(target.api.name),
        Redactor(secrets_sent),
        target.policy,
        [op for op in spec.operations if options.selects(op)],
    )
    errors: list[str] = []
    try:
        finished = _exercise(target, session, errors, progress)
    except KeyboardInterrupt:
        finished = False
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
        check_configuration(target.api, spec, target.base_url, target.token, target.policy)
    except ConformanceError as exc:
        errors.append(session.error(str(exc)))
        return True
    if not session.operations:
        errors.append("--include-operation / --exclude-operation left no operation to check")
        return True

    schema = schemathesis.openapi.from_dict(spec.document, config=schemathesis.Config())
    if options.include_operations:
        schema = schema.include(operation_id=list(options.include_operations))
    if options.exclude_operations:
        schema = schema.exclude(operation_id=list(options.exclude_operations))
    schema.config.update(
        base_url=target.base_url,
        headers={**dict(options.headers), **target.api.auth_headers(target.token)},
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
        schema.config.checks.get_by_name(name=name).expected_statuses = statuses
    schema.config.generation.update(
        modes=["positive", "negative"], max_examples=options.max_examples, database="none"
    )
    if options.seed is not None:
        schema.config.seed = options.seed
    total = len(session.operations) * len([p for p in options.phases if p != "stateful"]) + (
        "stateful" in options.phases
    )
    done = 0
    interrupted = False
    _SESSIONS[id(schema)] = session
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                _record_standard_checks(session, event)
                done += 1
                if progress:
                    progress(target.api.name, min(done, total), total)
            elif isinstance(event, events.NonFatalError):
                _record_error(session, event, errors)
            elif isinstance(event, events.FatalError):
                errors.append(session.error(str(event.exception)))
            elif isinstance(event, events.Interrupted):
                interrupted = True
    finally:
        del _SESSIONS[id(schema)]
    if interrupted:
        return False
    _follow_runs(target, session, errors)
    if progress:
        progress(target.api.name, total, total)
    if not any(stats.cases for stats in session.stats.values()):
        errors.append(f"no response from {target.base_url} could be judged")
    return True


def _follow_runs(target: Target, session: ApiSession, errors: list[str]) -> None:
    """The lifecycle (when every operation it needs is selected) and the credential-less probes."""
    spec = session.spec
    plan = spec.lifecycle.plan if spec.lifecycle else {}
    needed = {plan[step]["operation"] for step in ("start", "poll", "cancel") if step in plan}
    if needed <= set(session.operations):
        try:
            for operation, deviations, request in run_lifecycle(
                target.api, spec, target.base_url, target.token, target.policy, target.polling
            ):
                session.record(operation, deviations, request, "lifecycle")
        except CredentialRefused as refused:
            errors.append(session.error(str(refused)))
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
        session.record_failed_request(operation, event.value, failed_request_curl(event.value))
    elif not isinstance(event.value, ServerUnavailable):
        errors.append(session.error(f"{event.label}: {event.info.message}"))


def _record_standard_checks(session: ApiSession, event: events.ScenarioFinished) -> None:
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
                message=_one_line(failure.message or failure.title or node.name),
                assumption=session.spec.request_assumption(operation)
                if node.name in REQUEST_CHECKS
                else None,
            )
            with session.lock:
                session.add(deviation, node.failure_info.code_sample, node.name)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def run(options: RunOptions, progress: ProgressHook | None = None) -> RunResult:
    """Check every selected API and gather the results."""
    options.validate()
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
        return RunResult(options, results, started_at, datetime.now(UTC), complete=True)
    return RunResult(options, results, started_at, datetime.now(UTC), complete=False)
