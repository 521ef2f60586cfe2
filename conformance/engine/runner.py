"""The conformance run: each API's target is checked, driven through schemathesis' phases
(``bridge``), then its runs followed and its lists walked; everything found enters the API's
``ApiSession``. APIs run one after another.
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

from conformance.bounds import printable
from conformance.contract.catalogue import load_catalogue
from conformance.contract.model import Operation, Spec
from conformance.contract.specs import load_spec
from conformance.engine.bridge import Where, run_phases, validate_checks
from conformance.engine.caller import MOCK_POLLING, Polling
from conformance.engine.lifecycle import run_lifecycle
from conformance.engine.listing import explore_lists
from conformance.engine.options import RunOptions, check_credential, split_base_url
from conformance.engine.probes import check_configuration, probe_credentials
from conformance.engine.provenance import draw_seed, recorded_options
from conformance.engine.session import ApiSession
from conformance.errors import ConformanceError, CredentialRefused, ServerUnreachable, UsageError
from conformance.findings import FailPolicy
from conformance.http.failures import (
    BodyTooLarge,
    ResponseTooSlow,
    transport_cause,
)
from conformance.http.oauth import (
    ClientCredentials,
    RefreshingToken,
    TokenSession,
    missing_credential,
    resolve_client,
)
from conformance.http.policy import RequestPolicy
from conformance.http.polite import polite_client
from conformance.judge.registry import check_response
from conformance.redact import Redactor, is_secret_header
from conformance.results.model import ApiResult, ProgressHook, RunResult
from conformance.vendors.registry import ApiInfo, resolve_apis


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
                # here: a run against --base-url servers never loads the mocks (Starlette, uvicorn)
                from conformance.mocks.process import MockProcess

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
        with polite_client(target.policy) as client, client.stream("GET", target.base_url):
            pass
    except (httpx.HTTPError, BodyTooLarge, ResponseTooSlow) as exc:
        raise ServerUnreachable(
            f"cannot reach {target.api.name} at {target.base_url}: {transport_cause(exc)}"
        ) from None


@dataclass
class Limits:
    """``--max-failures`` and ``--max-time`` across a run's APIs, which run one after another."""

    policy: FailPolicy
    max_failures: int | None = None
    #: When the engine's time budget is spent (``time.monotonic``), if it has one.
    deadline: float | None = None
    #: Findings of the APIs already run that fail the run.
    failed: int = 0

    @classmethod
    def of(cls, options: RunOptions) -> Limits:
        deadline = time.monotonic() + options.max_time if options.max_time else None
        return cls(options.fail_policy, options.max_failures, deadline)

    def reached(self, session: ApiSession | None = None) -> bool:
        """Whether the run has found the failures it was asked to stop at."""
        if self.max_failures is None:
            return False
        return self.failed + (session.failing(self.policy) if session else 0) >= self.max_failures

    def share(self, apis_left: int) -> int | None:
        """The next API's part of what is left of the time budget (schemathesis takes whole seconds)."""
        if self.deadline is None:
            return None
        return max(1, int((self.deadline - time.monotonic()) / apis_left))

    def count(self, result: ApiResult) -> None:
        self.failed += sum(1 for finding in result.findings if self.policy.fails(finding))


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped an API part-way; ``partial`` is what it had judged by then."""

    def __init__(self, partial: ApiResult) -> None:
        super().__init__(f"{partial.api}: interrupted")
        self.partial = partial


def run_api(target: Target, progress: ProgressHook | None = None, limits: Limits | None = None) -> ApiResult:
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
        finished = _exercise(target, session, errors, progress, limits or Limits(options.fail_policy))
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


def _exercise(
    target: Target, session: ApiSession, errors: list[str], progress: ProgressHook | None, limits: Limits
) -> bool:
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

    where = Where(target.api, target.base_url, target.token, target.tokens)
    try:
        total = run_phases(where, session, options, errors, progress, lambda: limits.reached(session))
        if total is None:
            return False
        if limits.reached(session):
            session.adjust("lifecycle", f"the run stopped at --max-failures {limits.max_failures}")
        else:
            _follow_runs(target, session, errors)
    except ConformanceError as failed:  # a renewal refused or unanswered mid-run: what was judged stands
        _once(target, session, errors, failed)
        return True
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


def _once(target: Target, session: ApiSession, errors: list[str], failed: ConformanceError) -> None:
    """A refused credential is one error of the API, however many requests met it."""
    error = session.error(_what_to_check(target, str(failed)))
    if error not in errors:
        errors.append(error)


def _judge_exchange(session: ApiSession) -> Any:
    """Judge each answer of the token endpoint to the run's own sign-ins like any response."""

    def judge(operation: Operation, response: httpx.Response, request: str) -> None:
        deviations = check_response(
            session.spec,
            operation,
            response.status_code,
            response.headers,
            response.content,
            session.policy.limits,
        )
        session.record(operation, deviations, request, "sign-in")

    return judge


def _follow_runs(target: Target, session: ApiSession, errors: list[str]) -> None:
    """The lifecycle (when every operation it needs is selected) and the credential-less probes.

    After the phases, not beside them: the phases retry, cancel and read whatever run ids they try,
    the documents' examples and every id schemathesis finds in a list's answer (its extra data
    sources) among them. Tried twice: a lifecycle alongside saw its cancelled run revived by a
    retry; and one that started runs of its own saw them listed, then read by the phases, which
    moved a mock's run on a state per read past the state a behaviour test looked for."""
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
            _once(target, session, errors, refused)
    options = target.options
    for operation, deviations, request in explore_lists(
        target.api, spec, target.base_url, target.token, target.policy, options.max_examples, options.seed
    ):
        session.record(operation, deviations, request, "behaviour")
    for operation, deviations, request in probe_credentials(
        target.api, spec, target.base_url, target.token, target.policy
    ):
        session.record(operation, deviations, request, "auth")


def run(options: RunOptions, progress: ProgressHook | None = None) -> RunResult:
    """Check every selected API and gather the results."""
    options.validate()
    validate_checks(options)
    if options.seed is None:  # drawn here, so that results.json can name it and the run be repeated
        options = replace(options, seed=draw_seed())
    for api in resolve_apis(options.apis):  # a broken spec or catalogue stops the run before it starts
        load_spec(api.name)
        load_catalogue(api.name)
    check_parameters(options)
    started_at = datetime.now(UTC)
    results: list[ApiResult] = []
    try:
        with targets(options) as selected:  # leaving it stops the embedded mocks, interrupted or not
            # APIs run one after another: CPython 3.11 can fail with "AST constructor recursion depth
            # mismatch" when hypothesis compiles strategies in several threads at once.
            limits = Limits.of(options)
            for index, target in enumerate(selected):
                if limits.reached():
                    break  # schemathesis' --max-failures: the rest of the run is not started
                target.options = replace(target.options, max_time=limits.share(len(selected) - index))
                results.append(run_api(target, progress, limits))
                limits.count(results[-1])
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


def check_parameters(options: RunOptions) -> None:
    """A ``--parameter`` name no selected API has as a path or query parameter is a typo, refused
    before anything runs (a tenant id that is silently not sent would turn the night red)."""
    declared: dict[str, set[str]] = {}
    for api in resolve_apis(options.apis):
        spec = load_spec(api.name)
        declared[api.name] = {
            p["name"]
            for op in spec.operations.values()
            for p in spec.parameters(op)
            if p["in"] in ("path", "query")
        }
    unknown = [name for name in options.parameters if not any(name in names for names in declared.values())]
    unknown += [
        name
        for api, names in declared.items()
        for name in options.per_api.get(api, {}).get("parameters", {})
        if name not in names
    ]
    if unknown:
        apis = ", ".join(declared)
        raise UsageError(
            f"--parameter {printable(unknown[0])[:100]!r}: no path or query parameter of {apis} has that name"
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
