"""The pytest plugin (``pytest11`` entry point ``conformance``): the embedded mocks as fixtures,
and the cassettes a session recorded or replayed judged against the vendors' contracts.

- ``conformance_mock``: a mock served for one test; name it with
  ``@pytest.mark.conformance_mock("kognitos", mode="strict", token="t")`` or by indirect
  parametrization (``"kognitos"`` or ``("kognitos", "strict")``). It yields the base URL, a
  ``str`` that also carries ``api``, ``mode``, ``token`` and ``headers`` (the credential in the
  vendor's scheme); the mock stops after the test.
- ``conformance_mocks``: the session's mocks, ``conformance_mocks("kognitos")`` starts one the
  first time it is asked for (per API, mode and token) and returns the same one after; all stop
  when the session ends.
- ``--conformance-judge``: when the session ends, every cassette pytest-recording wrote or
  replayed in it is judged as ``conformance replay --skip-unknown`` judges it (calls to other
  services are counted as skipped). New breaking drift (``--conformance-fail-on any``: any new
  drift), or a cassette that cannot be judged, fails the session; the findings are in the
  terminal summary, and ``--conformance-report-dir`` also writes results.json, junit.xml and
  the HTML report. Each test's own cassette is judged when the test has run, so a test whose
  traffic drifted fails (pytest's summary and ``--junitxml`` are red), with the findings.

Cassettes of tests that use a mock, and every cassette of a judged session, are written through
the suite's Redactor (no credential reaches the file, whatever ``vcr_config`` says); a request to
a served mock matches one recorded at any loopback address, so a cassette recorded in an earlier
session plays although the mock's port changed.

pytest loads this module in every session wherever conformance is installed, so it imports
nothing of the suite until a fixture or the judge is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from vcr import VCR
    from vcr.cassette import Cassette

    from conformance.findings import FailPolicy, Finding
    from conformance.redact import Redactor
    from conformance.results.model import RunResult

MARKER = "conformance_mock"
FIXTURES = frozenset({"conformance_mock", "conformance_mocks"})


@dataclass
class Served:
    """The mocks served in this session: the origins a recorded request to them may have moved
    from, and the tokens a cassette must not keep."""

    origins: set[tuple[str, int]] = field(default_factory=set)
    #: The test being set up, whose cassette vcrpy is about to open.
    item: pytest.Item | None = None

    @cached_property
    def redactor(self) -> Redactor:
        """Redacts the vendors' credentials in the environment, and each mock's token once served."""
        from conformance.redact import Redactor
        from conformance.vendors.registry import APIS

        return Redactor(os.environ.get(name) for api in APIS.values() for name in api.secret_envs)


SERVED = pytest.StashKey[Served]()


class MockURL(str):
    """The base URL of a served mock, with what a test needs to call it."""

    api: str
    mode: str
    token: str
    #: The token in the vendor's documented scheme (e.g. ``{"x-api-key": token}``).
    headers: dict[str, str]

    def __new__(cls, url: str, api: str, mode: str, token: str) -> MockURL:
        from conformance.vendors.registry import get_api

        self = super().__new__(cls, url)
        self.api, self.mode, self.token = api, mode, token
        self.headers = get_api(api).auth_headers(token)
        return self


def _start(
    stack: ExitStack, served: Served, api: str, mode: str = "faithful", token: str | None = None
) -> MockURL:
    from urllib.parse import urlsplit

    from conformance.mocks import mock_token, start_mock

    server = start_mock(api, mode, token)
    stack.callback(server.stop)
    parts = urlsplit(server.base_url)
    served.origins.add((parts.hostname or "", parts.port or 80))
    served.redactor.add(mock_token(token))
    return MockURL(server.base_url, api, str(mode), mock_token(token))


def _requested(request: pytest.FixtureRequest) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The mock a test asks for: its indirect parameter, else its ``conformance_mock`` marker."""
    param = getattr(request, "param", None)
    if param is not None:
        if isinstance(param, dict):
            return (), dict(param)
        return (tuple(param) if isinstance(param, list | tuple) else (param,)), {}
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: name the mock, e.g. @pytest.mark.{MARKER}('kognitos', mode='strict')"
        )
    return marker.args, dict(marker.kwargs)


@pytest.fixture
def conformance_mock(request: pytest.FixtureRequest) -> Iterator[MockURL]:
    """An embedded mock served for this test; yields its base URL."""
    args, kwargs = _requested(request)
    with ExitStack() as stack:
        yield _start(stack, request.config.stash[SERVED], *args, **kwargs)


@pytest.fixture(scope="session")
def conformance_mocks(request: pytest.FixtureRequest) -> Iterator[Callable[..., MockURL]]:
    """Mocks shared by the session: ``conformance_mocks(api, mode="faithful", token=None)``."""
    served: dict[tuple[str, str, str | None], MockURL] = {}
    with ExitStack() as stack:

        def mock(api: str, mode: str = "faithful", token: str | None = None) -> MockURL:
            key = (api, str(mode), token)
            if key not in served:
                served[key] = _start(stack, request.config.stash[SERVED], api, mode, token)
            return served[key]

        yield mock


def _fail_on(text: str) -> FailPolicy:
    """``--conformance-fail-on`` read as ``conformance run --fail-on`` reads it (a bad value is
    pytest's one usage line)."""
    import argparse

    from conformance.errors import UsageError
    from conformance.findings import FailPolicy

    try:
        return FailPolicy.parse(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "contract judgement of recorded traffic (conformance)")
    group.addoption(
        "--conformance-judge",
        action="store_true",
        default=False,
        help="when the session ends, judge every cassette pytest-recording wrote or replayed in it "
        "against the vendors' specs; new drift fails the session",
    )
    group.addoption(
        "--conformance-fail-on",
        type=_fail_on,
        default="breaking",
        help="what fails the session, as conformance run --fail-on: breaking (default) or any new "
        "drift, with ,resolved a catalogued quirk the vendor seems to have fixed too",
    )
    group.addoption(
        "--conformance-report-dir",
        default=None,
        metavar="DIR",
        help="also write the judgement's results.json, junit.xml and index.html there",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(api, mode='faithful', token=None): the embedded mock the conformance_mock fixture serves",
    )
    config.stash[SERVED] = Served()
    if config.getoption("conformance_judge"):
        _check_report_dir(config.getoption("conformance_report_dir"))
        config.pluginmanager.register(Judge(config), "conformance-judge")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[SERVED].item = item


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: VCR) -> None:
    """pytest-recording's VCR for one test: mocks matched wherever they are served; when the test
    uses a mock or the session is judged, the cassette written through the Redactor and queries
    matched as it keeps them (elsewhere a ``token`` parameter may be a page's, not a credential)."""
    from conformance.cassettes.redacting import RedactingPersister, mock_origin, redacted_query

    served = config.stash[SERVED]
    vcr.register_matcher("conformance_origin", mock_origin(lambda: served.origins))
    mine = {"host": "conformance_origin", "port": "conformance_origin"}
    item = served.item
    uses_mock = item is not None and bool(FIXTURES & set(getattr(item, "fixturenames", ())))
    if uses_mock or config.getoption("conformance_judge"):
        vcr.persister = RedactingPersister(vcr.persister, served.redactor)
        vcr.register_matcher("conformance_query", redacted_query(served.redactor))
        mine["query"] = "conformance_query"
    vcr.match_on = tuple(dict.fromkeys(mine.get(name, name) for name in vcr.match_on))


def _check_report_dir(report_dir: str | None) -> None:
    """The report directory checked before any test, as ``conformance run`` checks it (a file
    there, a project folder, the current directory): a bad one is pytest's one usage line."""
    if report_dir is None:
        return
    from conformance.errors import UsageError
    from conformance.results.files import ensure_report_dir

    try:
        ensure_report_dir(Path(report_dir))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


class Judge:
    """Collects the cassettes of the session's tests, judges them when it ends, reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cassettes: dict[str, None] = {}  # in order, once each
        self.result: RunResult | None = None
        self.errors: list[str] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """Once a test has passed, judge the traffic its cassette holds: drift fails the test."""
        outcome = yield
        cassette: Cassette | None = getattr(item, "funcargs", {}).get("vcr")
        if cassette is not None and cassette.data:
            failures = self._judge(cassette)
            if failures:
                pytest.fail("\n".join(failures), pytrace=False)
        return outcome

    def _judge(self, cassette: Cassette) -> list[str]:
        """The lines that fail a test's cassette (as written: through the Redactor), none if it passes."""
        import tempfile

        from vcr.persisters.filesystem import FilesystemPersister
        from vcr.serializers import yamlserializer

        from conformance.cassettes.redacting import RedactingPersister
        from conformance.cassettes.replay import replay
        from conformance.errors import ConformanceError

        with tempfile.TemporaryDirectory(prefix="conformance-judge-") as scratch:
            path = Path(scratch) / "cassette.yaml"
            persister = RedactingPersister(FilesystemPersister, self.config.stash[SERVED].redactor)
            persister.save_cassette(
                str(path), {"requests": cassette.requests, "responses": cassette.responses}, yamlserializer
            )
            try:
                result, errors = replay(
                    [path], fail_on=self.config.getoption("conformance_fail_on"), skip_unknown=True
                )
            except ConformanceError as exc:
                return [f"error: {exc}"]
        lines = [finding_line(finding) for finding in result.findings if result.fail_on.fails(finding)]
        lines += [f"error: {error}" for error in [*result.errors, *errors]]
        return lines if result.exit_code or errors else []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        cassette = funcargs.get("vcr")
        if cassette is None:  # no vcr marker, or recording disabled
            return
        path = getattr(cassette, "_path", None)
        if path:
            self.cassettes[str(path)] = None
        directory = str(funcargs.get("vcr_cassette_dir") or "")
        for marker in item.iter_markers("vcr"):  # extra cassettes replayed beside the test's own
            for extra in marker.args:
                self.cassettes[extra if os.path.isabs(extra) else os.path.join(directory, extra)] = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        paths = [Path(path) for path in self.cassettes if Path(path).is_file()]
        if not paths:
            return
        from conformance.cassettes.replay import replay
        from conformance.errors import ConformanceError

        try:
            self.result, self.errors = replay(
                paths, fail_on=self.config.getoption("conformance_fail_on"), skip_unknown=True
            )
        except ConformanceError as exc:
            self.errors = [str(exc)]
        report_dir = self.config.getoption("conformance_report_dir")
        if report_dir and self.result is not None:
            from conformance.results.files import ensure_report_dir
            from conformance.results.publish import publish_run

            try:  # checked again: the session's tests may have put something there
                ensure_report_dir(Path(report_dir))
                publish_run(self.result, Path(report_dir))
            except ConformanceError as exc:
                self.errors.append(str(exc))
        if self.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @property
    def failed(self) -> bool:
        return bool(self.errors) or (self.result is not None and self.result.exit_code != 0)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "conformance: recorded traffic judged against the contracts")
        judged = [path for path in self.cassettes if Path(path).is_file()]
        if not judged:
            write("no cassette was written or replayed in this session")
            return
        result = self.result
        if result is None:
            for error in self.errors:
                write(f"error: {error}", red=True)
            return
        write(f"{len(judged)} cassettes; {result.skipped} calls to other services skipped")
        for api in result.results:
            counts = api.counts()
            write(
                f"{api.api}: {api.cases} responses, score {api.score:.1f}%, {counts['new']} new "
                f"({counts['breaking']} breaking), {counts['known']} known, "
                f"{counts['assumption']} assumption, {counts['convention']} convention, "
                f"{len(api.errors)} errors"
            )
        for finding in result.findings:
            if result.fail_on.fails(finding):
                write(finding_line(finding), red=True)
        for error in [*result.errors, *self.errors]:
            write(f"error: {error}", red=True)
        verdict = "drift or errors fail this session" if self.failed else "no new drift"
        write(verdict, red=self.failed, green=not self.failed)


def finding_line(finding: Finding) -> str:
    """A finding that fails the session, on one line."""
    new = str(finding.classification) == "new"
    what = f"NEW {finding.severity}" if new else str(finding.classification).upper()
    where = f"{finding.api} {finding.operation} {finding.location or '(body)'}"
    return f"{what} {where}: {finding.kind} — {finding.message}"
