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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from .errors import ServerUnreachable, UsageError
from .findings import Deviation, Finding, tally
from .kinds import BODY_TOO_LARGE, TRANSPORT_ERROR, Classification
from .lifecycle import probe_credentials, run_lifecycle
from .mocks.process import MockProcess
from .redact import Redactor
from .specs import Operation, Spec, load_spec
from .transport import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    bounded_body_hook,
    failed_request_curl,
    is_transport_error,
    transport_cause,
)

PHASES = ("examples", "coverage", "fuzzing", "stateful")
FAIL_ON = ("breaking", "any")
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
class RunOptions:
    """Everything ``conformance run`` accepts; defaults are the nightly defaults."""

    apis: list[str] = field(default_factory=list)
    base_url: str | None = None
    token: str | None = None
    max_examples: int = 10
    seed: int | None = None
    phases: tuple[str, ...] = PHASES
    workers: int = 1
    strict: bool = False
    #: New drift that fails the run: ``breaking`` (default) or ``any`` (additive too).
    fail_on: str = "breaking"
    mock_mode: str = "faithful"
    #: Seconds for each read, and for a whole body once its headers have arrived.
    request_timeout: float = 10.0
    max_body_bytes: int = MAX_BODY_BYTES

    def validate(self) -> None:
        unknown = [p for p in self.phases if p not in PHASES]
        if unknown:
            raise UsageError(f"unknown phase {unknown[0]!r}; choose from: {', '.join(PHASES)}")
        if self.base_url and len(resolve_apis(self.apis)) != 1:
            raise UsageError("--base-url points at one server: name exactly one API with it")
        if self.max_examples < 1 or self.workers < 1:
            raise UsageError("--max-examples and --workers must be at least 1")
        if self.request_timeout <= 0 or self.max_body_bytes < 1:
            raise UsageError("--request-timeout and --max-body-mb must be positive")
        if self.fail_on not in FAIL_ON:
            raise UsageError(f"--fail-on must be one of: {', '.join(FAIL_ON)}")
        if self.mock_mode not in ("faithful", "strict"):
            raise UsageError("--mock-mode must be faithful or strict")


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
        max_body_bytes: int = MAX_BODY_BYTES,
        request_timeout: float = 10.0,
    ) -> None:
        self.spec = spec
        self.max_body_bytes, self.request_timeout = max_body_bytes, request_timeout
        self.findings = FindingSet(catalogue)
        self.redactor = redactor
        self.stats: dict[str, OperationStats] = {op: OperationStats() for op in spec.operations}
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
                finding = self.findings.add(deviation, request and self.redactor.text(request), source=source)
                new = new or finding.classification is Classification.NEW
            if any(deviation.kind == TRANSPORT_ERROR for deviation in deviations):
                return  # no response: nothing was judged, so it is no case
            stats = self.stats[operation.id]
            stats.cases += 1
            if not new:
                stats.conforming += 1

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
        message = self.redactor.text(_one_line(f"{operation.label}: {observed}: {error}"))
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
            operations=self.spec.operations,
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
        session.max_body_bytes,
    )
    session.record(operation, deviations, case.as_curl_command(), "contract")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Bound every body the engine reads for a conformance run: size and total time."""
    session = _SESSIONS.get(id(case.operation.schema))
    if session is not None:
        kwargs["hooks"] = {"response": [bounded_body_hook(session.max_body_bytes, session.request_timeout)]}


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
    api: ApiInfo
    base_url: str
    token: str
    mock_mode: str | None


def resolve_token(api: ApiInfo, explicit: str | None) -> str | None:
    return explicit or os.environ.get(api.credential_env)


@contextmanager
def targets(options: RunOptions) -> Iterator[list[Target]]:
    """The servers to check: the one given by ``--base-url``, or an embedded mock per API."""
    apis = resolve_apis(options.apis)
    if options.base_url:
        api = apis[0]
        token = resolve_token(api, options.token)
        if not token:
            raise UsageError(f"no credential for {api.name}: pass --token or set {api.credential_env}")
        yield [Target(api, options.base_url.rstrip("/"), token, None)]
        return
    token = options.token or secrets.token_urlsafe(18)
    with ExitStack() as stack:
        mocks = [MockProcess(api.name, options.mock_mode, token) for api in apis]
        for mock in mocks:
            stack.enter_context(mock)
        yield [
            Target(api, mock.base_url, token, options.mock_mode)
            for api, mock in zip(apis, mocks, strict=True)
        ]


ProgressHook = Callable[[str, int, int], None]


def check_reachable(target: Target, timeout: float) -> None:
    try:
        httpx.get(target.base_url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(
            f"cannot reach {target.api.name} at {target.base_url}: {type(exc).__name__}"
        ) from None


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped an API part-way; ``partial`` is what it had judged by then."""

    def __init__(self, partial: ApiResult) -> None:
        super().__init__(f"{partial.api}: interrupted")
        self.partial = partial


def run_api(target: Target, options: RunOptions, progress: ProgressHook | None = None) -> ApiResult:
    """Run the schemathesis phases and the lifecycle checks against one API.

    An interruption (``KeyboardInterrupt``, which the CLI also raises on SIGTERM) raises
    ``RunInterrupted`` carrying the findings so far, so that they can still be written.
    """
    started = time.monotonic()
    spec = load_spec(target.api.name)
    session = ApiSession(
        spec,
        load_catalogue(target.api.name),
        Redactor([target.token]),
        options.max_body_bytes,
        options.request_timeout,
    )
    errors: list[str] = []
    try:
        finished = _exercise(target, options, session, errors, progress)
    except KeyboardInterrupt:
        finished = False
    if not finished:
        errors.append("interrupted before this API was finished")
    result = session.result(target.base_url, target.mock_mode, errors, time.monotonic() - started)
    if not finished:
        raise RunInterrupted(result)
    return result


def _exercise(
    target: Target,
    options: RunOptions,
    session: ApiSession,
    errors: list[str],
    progress: ProgressHook | None,
) -> bool:
    """Drive one API into ``session``; ``False`` when the engine reports an interruption."""
    spec = session.spec
    try:
        check_reachable(target, options.request_timeout)
    except ServerUnreachable as exc:
        errors.append(str(exc))
        return True

    schema = schemathesis.openapi.from_dict(spec.document, config=schemathesis.Config())
    schema.config.update(
        base_url=target.base_url,
        headers=target.api.auth_headers(target.token),
        workers=options.workers,
        request_timeout=options.request_timeout,
        parameters=target.api.credential_parameters(target.token),
        suppress_health_check=[HealthCheck.all],
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
    total = len(spec.operations) * len([p for p in options.phases if p != "stateful"]) + (
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
                errors.append(session.redactor.text(_one_line(str(event.exception))))
            elif isinstance(event, events.Interrupted):
                interrupted = True
    finally:
        del _SESSIONS[id(schema)]
    if interrupted:
        return False
    steps = run_lifecycle(
        target.api, spec, target.base_url, target.token, options.request_timeout, options.max_body_bytes
    )
    for operation, deviations, request in steps:
        session.record(operation, deviations, request, "lifecycle")
    probes = probe_credentials(
        target.api, spec, target.base_url, target.token, options.request_timeout, options.max_body_bytes
    )
    for operation, deviations, request in probes:
        session.record(operation, deviations, request, "auth")
    if progress:
        progress(target.api.name, total, total)
    if not any(stats.cases for stats in session.stats.values()):
        errors.append(f"no response from {target.base_url} could be judged")
    return True


def _record_error(session: ApiSession, event: events.NonFatalError, errors: list[str]) -> None:
    """A request that got no response is a finding at its operation; anything else is a run error.

    When the server goes away mid-run, the engine also reports the outage itself; the request
    that revealed it is already a finding, and the operations it left untested show as uncovered.
    """
    operation = session.by_label.get(event.label) if event.related_to_operation else None
    if operation is not None and is_transport_error(event.value):
        session.record_failed_request(operation, event.value, failed_request_curl(event.value))
    elif not isinstance(event.value, ServerUnavailable):
        errors.append(session.redactor.text(f"{event.label}: {_one_line(event.info.message)}"))


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
                message=session.redactor.text(_one_line(failure.message or failure.title or node.name)),
            )
            with session.lock:
                session.findings.add(
                    deviation, session.redactor.text(node.failure_info.code_sample), source=node.name
                )


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
                results.append(run_api(target, options, progress))
    except RunInterrupted as interruption:
        results.append(interruption.partial)
    except KeyboardInterrupt:  # between APIs, or while the mocks start
        pass
    else:
        return RunResult(options, results, started_at, datetime.now(UTC), complete=True)
    return RunResult(options, results, started_at, datetime.now(UTC), complete=False)
