"""Against servers the suite was not built with, a red night means broken contract and nothing else:
assumptions and additive drift do not fail a run, misconfiguration is exit 2 with its cause, long
runs are followed politely, and every request option is applied. All over real loopback HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.contract.specs import load_spec
from conformance.engine.caller import ApiCaller, Polling
from conformance.engine.lifecycle import run_lifecycle
from conformance.http.policy import RequestPolicy
from conformance.http.polite import polite_client
from conformance.mocks import Clock, MockServer, create_mock
from conformance.mocks.drift import Drift, DriftMiddleware, add_field, remove_field, set_value
from conformance.mocks.server import bind_loopback
from conformance.vendors.registry import SPECS_DIR, get_api

from ..inprocess import InProcess
from ..recorder import Recorder, recorded_mock

TOKEN = "real-server-token-5f1c"
GET_RUN = r"/v2/runs/[^/]+$"
FAST = ["--phases", "examples", "--seed", "1", "--max-examples", "3", "--poll-interval", "0.05"]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """The command line, in this process: these tests are about what a run decides, not its process."""
    return InProcess(monkeypatch, capsys)


@pytest.fixture
def kognitos(request: pytest.FixtureRequest) -> Iterator[str]:
    """The kognitos mock behind the drifts the test names (``indirect``), at its base URL."""
    mock = create_mock("kognitos", "faithful", TOKEN)
    drifts = getattr(request, "param", [])
    with MockServer(DriftMiddleware(mock.app(), drifts), mock.spec.base_path) as server:
        yield server.base_url


def results(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "results.json").read_text())


# -- additive vs breaking, --fail-on ------------------------------------------------------------------
@pytest.mark.parametrize(
    "kognitos", [[Drift("GET", GET_RUN, add_field("/debug_trace_id", "abc"))]], indirect=True
)
def test_an_extra_field_is_additive_drift_that_fails_only_with_fail_on_any(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    default = cli(
        "run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path)
    )
    assert default.returncode == 0, default.stdout + default.stderr
    extra = [f for f in results(tmp_path)["findings"] if f["kind"] == "extra-field"]
    assert [(f["location"], f["classification"], f["severity"]) for f in extra] == [
        ("/debug_trace_id", "new", "additive")
    ]
    assert "new additive" in default.stdout and "no breaking drift" in default.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert "<failure" not in junit and "new additive drift: extra-field at /debug_trace_id" in junit

    strict = cli(
        "run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST, "--fail-on", "any",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert strict.returncode == 1 and results(tmp_path)["fail_on"] == "any"


@pytest.mark.parametrize("kognitos", [[Drift("GET", GET_RUN, remove_field("/agent_id"))]], indirect=True)
def test_a_removed_field_is_breaking_drift(cli: InProcess, kognitos: str, tmp_path: Path) -> None:
    completed = cli(
        "run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path)
    )
    assert completed.returncode == 1
    missing = [f for f in results(tmp_path)["findings"] if f["kind"] == "missing-field"]
    assert [(f["location"], f["severity"]) for f in missing] == [("/agent_id", "breaking")]
    assert results(tmp_path)["summary"]["breaking"] >= 1


# -- assumptions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kognitos", [[Drift("GET", GET_RUN, set_value("/name", 42))]], indirect=True)
def test_a_finding_that_contradicts_only_an_assumption_is_classified_so_and_exits_0(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    """The same drift is breaking under the bundled spec, and an assumption where the spec marks the
    field's type as its own reading (``x-assumption``)."""
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    spec = yaml.safe_load((specs / "kognitos.yaml").read_text())
    run_schema = spec["components"]["schemas"]["Run"]["properties"]["name"]
    run_schema["x-assumption"] = "the page shows a name but never its type"
    (specs / "kognitos.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    args = ["run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST]

    bundled = cli(*args, "--report-dir", str(tmp_path / "bundled"))
    assert bundled.returncode == 1
    # a child process: this one has read (and keeps) the bundled spec
    assumed = subprocess.run(
        [sys.executable, "-m", "conformance", *args, "--report-dir", str(tmp_path / "assumed")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"CONFORMANCE_SPECS_DIR": str(specs), "PATH": ""},
    )
    assert assumed.returncode == 0, assumed.stdout + assumed.stderr
    document = results(tmp_path / "assumed")
    [finding] = [f for f in document["findings"] if f["kind"] == "type-mismatch"]
    assert (finding["classification"], finding["location"]) == ("assumption", "/name")
    assert finding["assumption"] == "the page shows a name but never its type"
    assert document["summary"]["assumption"] >= 1 and document["summary"]["new"] == 0
    assert "assumption kognitos getRun /name: type-mismatch" in assumed.stdout
    junit = (tmp_path / "assumed" / "junit.xml").read_text()
    assert "assumption: type-mismatch at /name" in junit and "<failure" not in junit
    assert (
        "the spec assumed it: the page shows a name but never its type"
        in (tmp_path / "assumed" / "index.html").read_text()
    )


# -- misconfiguration -----------------------------------------------------------------------------------
def test_a_refused_credential_is_a_configuration_error(cli: InProcess, kognitos: str, tmp_path: Path) -> None:
    completed = cli(
        "run", "kognitos", "--base-url", kognitos, "--token", "wrong", *FAST, "--report-dir", str(tmp_path)
    )
    assert completed.returncode == 2
    cause = "kognitos refused the credential (401 on 2/2 operations): check KOGNITOS_API_KEY (or --token)"
    assert cause in completed.stdout
    document = results(tmp_path)
    assert document["findings"] == [] and document["errors"] == [f"kognitos: {cause}"]
    assert "Traceback" not in completed.stdout + completed.stderr


def test_a_base_url_without_the_base_path_is_a_configuration_error(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    root = kognitos.removesuffix("/v2")
    completed = cli(
        "run", "kognitos", "--base-url", root, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path)
    )
    assert completed.returncode == 2
    assert (
        f"no documented path of kognitos answered at {root} (404 on 2/2): is the base URL missing /v2?"
        in completed.stdout
    )
    assert results(tmp_path)["findings"] == []


def test_a_base_url_with_a_segment_too_many_names_the_extra_segment(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    """The documented paths start at /runs; a base URL that already ends in /runs doubles it."""
    extra = f"{kognitos}/runs"
    completed = cli(
        "run", "kognitos", "--base-url", extra, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path)
    )
    assert completed.returncode == 2
    assert "the base URL has /runs after /v2: the documented paths add it themselves" in completed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", ""], "--base-url is empty"),
        (["--base-url", "http://[::1"], "is not a URL"),
        (["--phases", ""], "--phases is empty"),
        (["--rate-limit", "0"], "--rate-limit must be a positive"),
        (["--lifecycle-timeout", "nan"], "--lifecycle-timeout must be a positive"),
        (["--header", "no colon"], "is not 'Name: value'"),
    ],
)
def test_empty_and_invalid_values_are_bad_arguments(
    cli: InProcess, args: list[str], message: str, tmp_path: Path
) -> None:
    completed = cli("run", "kognitos", *args, "--report-dir", str(tmp_path))
    assert completed.returncode == 2
    assert message in completed.stderr and completed.stderr.count("\n") == 1
    assert not (tmp_path / "results.json").exists()


# -- following long runs -------------------------------------------------------------------------------
class FakeTime:
    """A clock the mock reads and the poller sleeps on: a long run is followed without waiting."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.sleeps = clock, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def monotonic(self) -> float:
        return self.clock.now().timestamp()


def _slow_mock(clock: Clock, seconds_per_state: float) -> Any:
    mock = create_mock("kognitos", "strict", TOKEN, clock)
    mock.advance_per_poll, mock.run_step_seconds = False, seconds_per_state
    return mock


def test_a_run_that_stays_running_for_20_s_is_followed_to_its_end_with_backoff() -> None:
    clock = Clock()
    fake = FakeTime(clock)
    mock = _slow_mock(clock, 10.0)  # created -> running after 10 s -> terminal after 20 s
    polling = Polling(first=1.0, cap=30.0, timeout=600.0, sleep=fake.sleep, clock=fake.monotonic)
    with MockServer(mock.app(), mock.spec.base_path) as server:
        steps = list(
            run_lifecycle(get_api("kognitos"), load_spec("kognitos"), server.base_url, TOKEN, polling=polling)
        )
    kinds = [d.kind for _, deviations, _ in steps for d in deviations]
    assert "lifecycle-timeout" not in kinds and "invalid-transition" not in kinds
    assert fake.sleeps[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]  # doubling, never hammering
    assert sum(fake.sleeps) >= 20.0


def test_a_run_that_outlasts_the_lifecycle_timeout_is_a_finding() -> None:
    clock = Clock()
    fake = FakeTime(clock)
    mock = _slow_mock(clock, 100.0)
    polling = Polling(first=1.0, cap=30.0, timeout=60.0, sleep=fake.sleep, clock=fake.monotonic)
    with MockServer(mock.app(), mock.spec.base_path) as server:
        steps = list(
            run_lifecycle(get_api("kognitos"), load_spec("kognitos"), server.base_url, TOKEN, polling=polling)
        )
    timeouts = [d for _, deviations, _ in steps for d in deviations if d.kind == "lifecycle-timeout"]
    assert timeouts and timeouts[0].expected == "a terminal state within 60 s"
    assert sum(fake.sleeps) <= 60.0


class Throttle:
    """ASGI middleware: the first request answers 429 with ``Retry-After: 1``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.refused = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.refused:
            self.refused += 1
            await Response(status_code=429, headers={"Retry-After": "1"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


def test_429_with_retry_after_is_waited_out_and_retried() -> None:
    mock = create_mock("kognitos", "strict", TOKEN)
    throttle = Throttle(mock.app())
    waits: list[float] = []
    policy = RequestPolicy(sleep=waits.append)
    spec = load_spec("kognitos")
    with MockServer(throttle, mock.spec.base_path) as server, polite_client(policy) as client:
        caller = ApiCaller(get_api("kognitos"), spec, server.base_url, TOKEN, client, policy)
        _, response, (_, deviations, _) = caller.call(caller.example_step(spec.operations["listRuns"]))
    assert throttle.refused == 1 and waits == [1.0]
    assert response is not None and response.status_code == 200 and deviations == []


def test_rate_limit_spaces_requests() -> None:
    mock = create_mock("kognitos", "strict", TOKEN)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    policy = RequestPolicy(rate_limit=4.0, sleep=sleep)
    with MockServer(mock.app(), mock.spec.base_path) as server, polite_client(policy) as client:
        started = time.monotonic()
        for _ in range(3):
            client.get(server.base_url + "/runs", headers={"x-api-key": TOKEN})
        elapsed = time.monotonic() - started
    assert len(waits) == 2 and all(wait <= 0.25 for wait in waits)
    assert elapsed >= 0.5  # three requests at four a second take two intervals


# -- request options and the config file ------------------------------------------------------------------
@pytest.fixture
def recorded() -> Iterator[tuple[Recorder, str]]:
    with recorded_mock(TOKEN) as pair:
        yield pair


def test_headers_reach_every_request_and_secret_ones_no_output(
    cli: InProcess, recorded: tuple[Recorder, str], tmp_path: Path
) -> None:
    recorder, base_url = recorded
    secret = "tenant-secret-9d27c1"
    completed = cli(
        "run", "kognitos", "--base-url", base_url, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path),
        "--header", "X-Tenant: acme", "--header", f"X-Tenant-Token: {secret}",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    authenticated = [h for h in recorder.headers if h.get("x-api-key") == TOKEN]
    assert authenticated and all(h.get("x-tenant") == "acme" for h in authenticated)
    assert all(h.get("x-tenant-token") == secret for h in authenticated)
    written = [p.read_text() for p in tmp_path.iterdir() if p.is_file()]
    assert all(secret not in text and TOKEN not in text for text in [*written, completed.stdout])


def test_include_and_exclude_operation_select_what_is_checked(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    completed = cli(
        "run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path),
        "--include-operation", "getRun", "--include-operation", "listRuns", "--exclude-operation", "listRuns",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [api] = results(tmp_path)["apis"]
    assert [op["operation"] for op in api["operations"]] == ["getRun"]
    assert {f["operation"] for f in results(tmp_path)["findings"]} <= {"getRun"}


def test_a_config_file_sets_the_run_and_the_command_line_wins(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    (tmp_path / "conformance.toml").write_text(
        "[run]\n"
        'phases = ["examples"]\n'
        "max-examples = 2\n"
        'fail-on = "any"\n'
        "[run.kognitos]\n"
        f'base-url = "{kognitos}"\n'
        'include-operation = ["getRun"]\n'
    )
    env = {"KOGNITOS_API_KEY": TOKEN, "PATH": ""}
    completed = cli("run", "kognitos", "--report-dir", "out", cwd=tmp_path, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = results(tmp_path / "out")
    assert document["fail_on"] == "any" and document["apis"][0]["base_url"] == kognitos
    assert [op["operation"] for op in document["apis"][0]["operations"]] == ["getRun"]

    overridden = cli(
        "run", "kognitos", "--report-dir", "out", "--include-operation", "listRuns", cwd=tmp_path, env=env
    )
    assert overridden.returncode == 0, overridden.stdout + overridden.stderr
    assert [op["operation"] for op in results(tmp_path / "out")["apis"][0]["operations"]] == ["listRuns"]

    (tmp_path / "conformance.toml").write_text("[run]\nrate-limit = 'fast'\n")
    broken = cli("run", "kognitos", cwd=tmp_path, env=env)
    assert broken.returncode == 2 and "rate-limit = 'fast' is not a valid value" in broken.stderr


class ForwardProxy:
    """A plain HTTP forward proxy (absolute-form requests) that counts what it forwards."""

    def __init__(self) -> None:
        self.forwarded = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.forwarded += 1
        host = request.headers["host"]
        url = f"http://{host}{scope['path']}" + (
            f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient() as client:
            upstream = await client.request(
                request.method, url, headers=headers, content=await request.body()
            )
        await Response(
            upstream.content, upstream.status_code, {"content-type": upstream.headers.get("content-type", "")}
        )(scope, receive, send)


def test_requests_go_through_the_proxy(cli: InProcess, kognitos: str, tmp_path: Path) -> None:
    proxy = ForwardProxy()
    with MockServer(proxy) as server:
        completed = cli(
            "run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path),
            "--proxy", f"http://127.0.0.1:{server.port}",
        )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert proxy.forwarded > 10  # schemathesis, the lifecycle and the probes all went through it


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The kognitos mock over HTTPS with a certificate from a throwaway CA (trustme)."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    cafile, keyfile, certfile = folder / "ca.pem", folder / "key.pem", folder / "cert.pem"
    authority.cert_pem.write_to_path(str(cafile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    mock = create_mock("kognitos", "faithful", TOKEN)
    sock = bind_loopback()
    config = uvicorn.Config(
        mock.app(), log_level="error", lifespan="off", ssl_keyfile=str(keyfile), ssl_certfile=str(certfile)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield f"https://127.0.0.1:{sock.getsockname()[1]}/v2", cafile
    server.should_exit = True
    thread.join(timeout=10)


def test_tls_is_verified_against_the_given_ca_or_not_at_all(
    cli: InProcess, tls_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, cafile = tls_server
    common = [
        "run",
        "kognitos",
        "--base-url",
        base_url,
        "--token",
        TOKEN,
        *FAST,
        "--report-dir",
        str(tmp_path),
    ]
    unverified = cli(*common)
    assert unverified.returncode == 2 and "cannot reach kognitos" in unverified.stdout
    assert cli(*common, "--cacert", str(cafile)).returncode == 0
    assert cli(*common, "--no-tls-verify").returncode == 0


def test_list_shows_each_apis_assumptions(
    cli: InProcess,
) -> None:
    completed = cli("list")
    assert completed.returncode == 0
    section = completed.stdout.split("automation_runs:", 1)[1]
    assert "assumptions where the documents are silent:" in section
    assert "[/x-lifecycle/transitions]" in section and "whether the body may be left out" in section


# -- limits and secrets at their boundaries -------------------------------------------------------------
@pytest.mark.parametrize("kognitos", [[Drift("GET", GET_RUN, set_value("/stage", TOKEN))]], indirect=True)
def test_a_credential_the_server_echoes_in_a_body_reaches_no_output(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    completed = cli(
        "run", "kognitos", "--base-url", kognitos, "--token", TOKEN, *FAST, "--report-dir", str(tmp_path)
    )  # fmt: skip
    assert completed.returncode == 1  # the echoed value is still drift: an unknown stage
    echoed = [f for f in results(tmp_path)["findings"] if f["location"] == "/stage"]
    assert echoed and echoed[0]["observed"] == "[REDACTED]"
    written = [p.read_text() for p in tmp_path.iterdir() if p.is_file()]
    assert all(TOKEN not in text for text in [*written, completed.stdout, completed.stderr])


LARGE = 3 * 1024 * 1024 // 2


@pytest.mark.parametrize(
    "kognitos", [[Drift("GET", GET_RUN, add_field("/padding", "x" * LARGE))]], indirect=True
)
def test_max_body_mb_applies_to_every_request_of_the_run(
    cli: InProcess, kognitos: str, tmp_path: Path
) -> None:
    """A 1.5 MB run body is read under ``--max-body-mb 2`` by schemathesis and by the lifecycle
    alike, and is ``body-too-large`` under ``--max-body-mb 1``, naming the limit in force."""
    args = [
        "run",
        "kognitos",
        "--base-url",
        kognitos,
        "--token",
        TOKEN,
        "--phases",
        "examples",
        "--seed",
        "1",
    ]
    larger = cli(*args, "--max-examples", "1", "--max-body-mb", "2", "--report-dir", str(tmp_path / "2"))
    assert larger.returncode == 0, larger.stdout + larger.stderr
    assert not [f for f in results(tmp_path / "2")["findings"] if f["kind"] == "body-too-large"]
    smaller = cli(*args, "--max-examples", "1", "--max-body-mb", "1", "--report-dir", str(tmp_path / "1"))
    too_large = [f for f in results(tmp_path / "1")["findings"] if f["kind"] == "body-too-large"]
    assert smaller.returncode == 1 and too_large
    assert {f["expected"] for f in too_large} == {f"at most {1024 * 1024} bytes"}
