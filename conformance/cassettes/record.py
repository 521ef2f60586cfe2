"""Recording an API's traffic into a vcrpy cassette through pytest-recording.

``conformance record`` runs the shipped pytest module ``suite.py`` programmatically: one
``@pytest.mark.vcr`` test per operation and one for the run lifecycle. Each test records
into its own cassette (vcrpy's ``all`` mode would otherwise drop earlier interactions
that match later ones, e.g. lifecycle polls), and the recorder joins them
into ``<out>/<api>.yaml``. In ``none`` mode the same tests replay that cassette and never
touch the network, which is how CI runs them.

Every interaction passes the project ``Redactor`` in vcrpy's ``before_record_*`` hooks,
before vcrpy keeps it in memory, so nothing written can hold a credential.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from conformance.bounds import ReadLimits, printable
from conformance.cassettes.cassette import CassetteError, parse_document, write_cassette
from conformance.cassettes.redacting import redact_request, redact_response
from conformance.contract.model import Operation, Spec
from conformance.contract.parameters import example_value
from conformance.contract.specs import load_spec
from conformance.engine.caller import Polling
from conformance.engine.options import split_base_url
from conformance.errors import UsageError
from conformance.http.failures import BodyTooLarge, is_transport_error, transport_cause
from conformance.http.oauth import ClientCredentials, RefreshingToken, TokenSession, missing_credential
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.http.polite import polite_client
from conformance.redact import PLACEHOLDER, Redactor, secret_names
from conformance.results.files import ensure_writable, process_alive
from conformance.vendors.registry import ApiInfo, get_api

SUITE = Path(__file__).with_name("suite.py")
RECORD_MODES = ("all", "none")
RECORDING_KEY = pytest.StashKey["Recording"]()


def redacting_vcr_config(redactor: Redactor, record_mode: str) -> dict[str, Any]:
    """The ``vcr_config`` of every recording: vcrpy's filters plus the Redactor in both hooks."""

    return {
        "record_mode": record_mode,
        "filter_headers": [(name, PLACEHOLDER) for name in sorted(secret_names().headers)],
        "filter_query_parameters": [(name, PLACEHOLDER) for name in sorted(secret_names().keys)],
        "before_record_request": functools.partial(redact_request, redactor),
        "before_record_response": functools.partial(redact_response, redactor),
        "decode_compressed_response": True,
    }


@dataclass
class Recording:
    """What the suite's fixtures need: the target, where cassettes go, and how to redact."""

    api: ApiInfo
    base_url: str
    token: str
    record_mode: str
    cassette: Path
    scratch: Path
    policy: RequestPolicy = DEFAULT_POLICY
    #: How the recorded run is followed: politely, as ``conformance run`` follows a real server's.
    polling: Polling = field(default_factory=Polling)
    redactor: Redactor = field(init=False)

    #: The base URL as given: its userinfo and query are secrets to redact too.
    given_base_url: str | None = None

    def __post_init__(self) -> None:
        self.redactor = Redactor.for_target([self.token], self.given_base_url or self.base_url)

    @property
    def spec(self) -> Spec:
        return load_spec(self.api.name)

    @property
    def cassette_dir(self) -> Path:
        """Recording writes one cassette per test in scratch space; replay reads the joined one."""
        return self.scratch if self.record_mode == "all" else self.cassette.parent

    def cassette_name(self, test_name: str) -> str:
        return test_name if self.record_mode == "all" else self.cassette.stem

    def vcr_config(self) -> dict[str, Any]:
        return redacting_vcr_config(self.redactor, self.record_mode)

    def call(self, operation: Operation) -> httpx.Response:
        """Send ``operation`` once, with the documented example of each parameter (or the
        ``--parameter`` value of a path or query parameter) and body."""
        path, parameters = operation.path, self.spec.parameters(operation)
        headers, query = self.api.credentials(self.token, {p["name"] for p in parameters})
        given = dict(self.policy.parameters)
        for parameter in parameters:
            name, value = parameter["name"], example_value(parameter)
            if parameter["in"] in ("path", "query"):
                value = given.get(name, value)
            if value is None or name in query:
                continue
            if parameter["in"] == "path":
                path = path.replace("{" + name + "}", str(value))
            elif parameter["in"] == "query":
                query[name] = value
            elif parameter["in"] == "header":
                headers.setdefault(name, str(value))
        base_url = self.spec.operation_base_url(self.base_url, operation)
        url = base_url + path + (f"?{urlencode(query, doseq=True)}" if query else "")
        body = self._body(operation)
        self.redactor.learn(body)  # a documented client_secret it sends is a secret it knows
        with polite_client(self.policy) as client:
            return client.request(operation.method.upper(), url, headers=headers, json=body)

    def _body(self, operation: Operation) -> Any:
        body = self.spec.resolve(operation.definition.get("requestBody") or {})
        media = (body.get("content") or {}).get("application/json")
        if media is None:
            return None
        if "example" in media:
            return media["example"]
        if media.get("examples"):
            return self.spec.resolve(next(iter(media["examples"].values()))).get("value")
        return example_value({"schema": media.get("schema", {})}, self.spec) or {}


class _RecordingPlugin:
    """Hands the ``Recording`` to the suite's fixtures through the pytest config."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.failures: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[RECORDING_KEY] = self.recording

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
        """One line per failed test: its name and why, never a traceback or a pytest path."""
        outcome = yield
        report = outcome.get_result()
        if report.failed:
            error = call.excinfo.value if call.excinfo is not None else None
            self.failures.append(f"{item.name}: {describe_failure(error) if error else 'failed'}")


@dataclass
class RecordOutcome:
    cassette: Path
    interactions: int
    failures: list[str]


def record(
    api: str,
    base_url: str,
    token: str | None,
    out_dir: Path,
    *,
    record_mode: str = "all",
    polling: Polling | None = None,
    policy: RequestPolicy | None = None,
    echo: Callable[[str], None] = print,
    client: ClientCredentials | None = None,
) -> RecordOutcome:
    """Exercise every operation and the lifecycle of ``api`` at ``base_url``; write ``<out>/<api>.yaml``.

    The cassette is written only when every request got a usable response: a failed or empty
    recording (an unreachable server, a body over the limit, a stalled stream) never replaces
    the cassette that is there. Each request is bounded by ``policy`` (time and body size).
    Without a token, a ``client`` signs in at the API's token endpoint first (``SignInRefused``
    when it is refused) and the recording's requests carry its current token."""
    info = get_api(api)
    cassette = out_dir / f"{api}.yaml"
    limits = (policy or DEFAULT_POLICY).limits
    _check_can_start(info, record_mode, cassette, limits, signs_in=bool(token) or client is not None)
    _clean_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch:
        recording = Recording(
            info,
            split_base_url(base_url)[0],
            token or PLACEHOLDER,
            record_mode,
            cassette,
            Path(scratch),
            given_base_url=base_url,
        )
        if polling is not None:
            recording.polling = polling
        if policy is not None:
            recording.policy = policy
        if not token and client is not None and record_mode == "all":
            sign_in(recording, client)
        failures = _run_suite(recording)
        if record_mode == "all":
            interactions = _join(Path(scratch), cassette, recording, write=not failures)
        else:
            interactions = len(parse_document(cassette, limits).get("interactions", []))
    if record_mode == "all" and not failures and not interactions:
        failures = ["no interaction was recorded"]
    for failure in failures:
        echo(f"failed: {printable(failure)}")
    return RecordOutcome(cassette, interactions, failures)


def _check_can_start(
    info: ApiInfo, record_mode: str, cassette: Path, limits: ReadLimits, *, signs_in: bool
) -> None:
    """Refuse, in one line, a recording that cannot start: an unknown mode, no credential to record
    with, no cassette to replay or one unreadable within ``limits``, an output folder it cannot write."""
    if record_mode not in RECORD_MODES:
        raise UsageError(f"--record-mode must be one of {', '.join(RECORD_MODES)}")
    if record_mode == "all" and not signs_in:
        raise UsageError(missing_credential(info))
    if record_mode == "none" and not cassette.exists():
        raise UsageError(f"{cassette}: no cassette to replay (record it first with --record-mode all)")
    if record_mode == "none":  # read within bounds before vcrpy reads it whole
        try:
            parse_document(cassette, limits)
        except CassetteError as exc:
            raise UsageError(str(exc)) from None
    if record_mode == "all":
        ensure_writable(cassette.parent)


#: Scratch folders of recordings carry their process id; those of a killed one are removed.
SCRATCH_PREFIX = "conformance-record-"


def _clean_scratch() -> None:
    for entry in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        pid = entry.name[len(SCRATCH_PREFIX) :].partition("-")[0]
        if pid.isdigit() and entry.is_dir() and not entry.is_symlink() and not process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def sign_in(recording: Recording, client: ClientCredentials) -> None:
    """Sign the recording in: its token is the first access token, its requests carry the current
    one, and its redactor hears of the client secret and of every token before it is used."""
    tokens = TokenSession(recording.api, recording.spec, recording.base_url, client, recording.policy)
    tokens.listeners.append(recording.redactor.add)
    recording.token = tokens.sign_in()
    recording.policy = replace(recording.policy, auth=RefreshingToken(tokens))


def _run_suite(recording: Recording) -> list[str]:
    """Run the suite quietly; return one redacted line per failed test."""
    args = [
        str(SUITE),
        "-q",
        "--no-header",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--tb=line",
        "-rN",
        f"--rootdir={recording.scratch}",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if recording.record_mode == "none":
        args.append("--block-network")
    output = io.StringIO()
    plugin = _RecordingPlugin(recording)
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[plugin])
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return [recording.redactor.text(failure) for failure in plugin.failures]
    return [f"the recording suite could not run (pytest exit code {int(code)})"]


def describe_failure(error: BaseException) -> str:
    """Why a recorded request failed, in the words findings use (never pytest's internals)."""
    if isinstance(error, BodyTooLarge):
        return f"body larger than {error.limit} bytes"
    if is_transport_error(error) or isinstance(error, httpx.HTTPError):
        return transport_cause(error)
    first = next(iter(str(error).splitlines()), "") or type(error).__name__
    return " ".join(first.split())[:200]


def _join(scratch: Path, cassette: Path, recording: Recording, *, write: bool = True) -> int:
    """Join the per-test cassettes into one file, the lifecycle first.

    In ``none`` mode vcrpy plays the first unplayed interaction that matches a request; with
    the lifecycle first, its start calls get back the run ids its polls were recorded with.
    """
    order = ["test_lifecycle"] + [f"test_operation[{op}]" for op in recording.spec.operations]
    interactions: list[dict[str, Any]] = []
    for name in order:
        path = scratch / f"{name}.yaml"
        if not path.exists():
            continue
        try:
            interactions.extend(parse_document(path, recording.policy.limits)["interactions"])
        except (CassetteError, KeyError, TypeError):
            continue
    if write and interactions:  # an empty or failed recording never replaces a cassette
        write_cassette(cassette, interactions)
    return len(interactions)


def check_reachable(api: str, base_url: str, policy: RequestPolicy = DEFAULT_POLICY) -> None:
    """The server answers at all (its headers; the body is not read): an unreachable one stops a
    recording before it starts, in one line, instead of a failed test per operation."""
    from conformance.errors import ServerUnreachable

    try:
        with polite_client(policy) as client, client.stream("GET", base_url):
            pass
    except httpx.HTTPError as exc:
        where = urlsplit(base_url)
        host = where.hostname or ""
        shown = f"{where.scheme}://{host}" + (f":{where.port}" if where.port else "") + where.path
        raise ServerUnreachable(f"cannot reach {api} at {printable(shown)}: {transport_cause(exc)}") from None
