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
  the HTML report.

pytest loads this module in every session wherever conformance is installed, so it imports
nothing of the suite until a fixture or the judge is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.findings import FailPolicy
    from conformance.results.model import RunResult

MARKER = "conformance_mock"


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


def _start(stack: ExitStack, api: str, mode: str = "faithful", token: str | None = None) -> MockURL:
    from conformance.mocks import mock_token, start_mock

    server = start_mock(api, mode, token)
    stack.callback(server.stop)
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
        yield _start(stack, *args, **kwargs)


@pytest.fixture(scope="session")
def conformance_mocks() -> Iterator[Callable[..., MockURL]]:
    """Mocks shared by the session: ``conformance_mocks(api, mode="faithful", token=None)``."""
    served: dict[tuple[str, str, str | None], MockURL] = {}
    with ExitStack() as stack:

        def mock(api: str, mode: str = "faithful", token: str | None = None) -> MockURL:
            key = (api, str(mode), token)
            if key not in served:
                served[key] = _start(stack, api, mode, token)
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
    if config.getoption("conformance_judge"):
        _check_report_dir(config.getoption("conformance_report_dir"))
        config.pluginmanager.register(Judge(config), "conformance-judge")


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
                new = str(finding.classification) == "new"
                what = f"NEW {finding.severity}" if new else str(finding.classification).upper()
                write(
                    f"{what} {finding.api} {finding.operation} "
                    f"{finding.location or '(body)'}: {finding.kind} — {finding.message}",
                    red=True,
                )
        for error in [*result.errors, *self.errors]:
            write(f"error: {error}", red=True)
        verdict = "drift or errors fail this session" if self.failed else "no new drift"
        write(verdict, red=self.failed, green=not self.failed)
