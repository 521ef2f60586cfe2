"""Signing in with a client id and secret (SolveXia's OAuth 2.0), over real loopback HTTP: a run
and a recording sign in, a token that expires in the middle of a run is renewed before it is
refused, a refused sign-in is a configuration error, and no secret or token reaches an output."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.cli.main import main
from conformance.contract.specs import load_spec
from conformance.engine.runner import RunOptions, run
from conformance.http.oauth import ClientCredentials, TokenSession
from conformance.mocks import MockServer, create_mock
from conformance.mocks.solvexia import Mock
from conformance.mocks.solvexia_oauth import ISSUED_PREFIXES
from conformance.results.document import write_results
from conformance.vendors.registry import get_api

from .. import loopback

CLIENT_ID, CLIENT_SECRET = "nightly-client-2b7e", "nightly-secret-c04d9a"
FAST = ["--phases", "examples", "--seed", "1", "--max-examples", "2", "--poll-interval", "0.05"]
ENV = {"SOLVEXIA_CLIENT_ID": CLIENT_ID, "SOLVEXIA_CLIENT_SECRET": CLIENT_SECRET}


def serve() -> Iterator[tuple[Mock, str]]:
    mock = create_mock("solvexia", "faithful", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert isinstance(mock, Mock)
    with MockServer(mock.app(), mock.spec.base_path) as server:
        yield mock, server.base_url


@pytest.fixture
def solvexia() -> Iterator[tuple[Mock, str]]:
    yield from serve()


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Completed]:
    """``conformance`` in this process (its import is the slow part of a subprocess), with only
    the given SolveXia variables set."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Completed:
        for name in [name for name in os.environ if name.startswith("SOLVEXIA_")]:
            monkeypatch.delenv(name)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Completed(code, out, err)

    return invoke


def everything(directory: Path, completed: Completed | None = None) -> str:
    texts = [path.read_text(errors="replace") for path in sorted(directory.rglob("*")) if path.is_file()]
    if completed is not None:
        texts += [completed.stdout, completed.stderr]
    return "\n".join(texts)


class Traced:
    """ASGI middleware in front of the mock: each API request's sender (schemathesis' ``requests``
    or the lifecycle's ``httpx``, by user agent) and bearer token; schemathesis' are answered
    ``delay`` late, so that its part of a run outlasts a token whatever the machine's speed."""

    def __init__(self, app: ASGIApp, delay: float) -> None:
        self.app, self.delay = app, delay
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            headers = {name.decode(): value.decode("latin-1") for name, value in scope["headers"]}
            sender = (
                "lifecycle" if headers.get("user-agent", "").startswith("python-httpx") else "schemathesis"
            )
            self.seen.append((sender, headers.get("authorization", "").removeprefix("Bearer ")))
            if sender == "schemathesis":
                await self.app(scope, receive, self.late(send))  # the token is checked on arrival
                return
        await self.app(scope, receive, send)

    def late(self, send: Send) -> Send:
        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(self.delay)
            await send(message)

        return answer


def test_a_token_that_expires_mid_run_is_renewed_and_the_run_completes(tmp_path: Path) -> None:
    """Access tokens live 2 s. Schemathesis' requests (each answered 100 ms late, over 3 s in
    all) and the lifecycle's (a run takes 3 s of clock time) both outlast a token, yet every request
    goes out with a live one: the mock refuses no expired token, and the run is as clean as with a
    lasting token."""
    mock = create_mock(
        "solvexia", "faithful", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_lifetime=2.0
    )
    assert isinstance(mock, Mock)
    mock.advance_per_poll, mock.run_step_seconds = False, 1.5  # Scheduled 1.5 s, Running 1.5 s
    traced = Traced(mock.app(), delay=0.1)
    with MockServer(traced, mock.spec.base_path) as server:
        options = RunOptions(
            apis=["solvexia"], base_url=server.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            max_examples=3, seed=3, phases=("examples",), poll_interval=0.2,
        )  # fmt: skip
        document = write_results(run(options), tmp_path)
    assert mock.refusals["expired"] == 0, mock.refusals
    issued = set(mock.issued["access"])
    for sender in ("schemathesis", "lifecycle"):  # each went on with renewed tokens
        assert len({token for who, token in traced.seen if who == sender} & issued) >= 2, sender
    assert document["exit_code"] == 0 and document["errors"] == []
    assert [f for f in document["findings"] if f["classification"] == "new"] == []
    result = document["apis"][0]
    assert result["operations_covered"] == result["operations_total"]
    written = everything(tmp_path)
    assert CLIENT_SECRET not in written
    assert not any(token in written for token in issued)


def test_the_token_endpoints_answers_to_the_run_are_judged(solvexia: tuple[Mock, str]) -> None:
    mock, base_url = solvexia
    options = RunOptions(
        apis=["solvexia"], base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        include_operations=("requestToken",), max_examples=2, seed=1, phases=("examples",),
    )  # fmt: skip
    result = run(options).results[0]
    assert result.errors == []
    assert result.checks["sign-in"] == 1 and result.stats["requestToken"].cases > 1
    assert len(mock.issued["access"]) == 1


def test_a_session_renews_with_its_refresh_token_and_falls_back_to_the_client_credentials(
    solvexia: tuple[Mock, str],
) -> None:
    mock, base_url = solvexia
    api, spec = get_api("solvexia"), load_spec("solvexia")
    heard: list[str] = []
    session = TokenSession(api, spec, base_url, ClientCredentials(CLIENT_ID, CLIENT_SECRET))
    session.listeners.append(heard.append)
    first = session.sign_in()
    assert heard == [CLIENT_SECRET, first] and session.url == base_url.removesuffix("/api") + "/oauth/token"
    # as if it had signed in with the authorize code flow: a renewal uses the refresh token
    code = {"grant_type": "authorization_code", "code": mock.authorize(CLIENT_ID)}
    exchange = loopback.post(
        session.url, json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **code}
    )
    used = exchange.json()["refresh_token"]
    session._refresh = used
    session.renew()
    assert mock.issued["refresh"][used].revoked and session._refresh in mock.issued["refresh"]
    assert session.token() not in (first, exchange.json()["access_token"])
    assert set(heard[-2:]) == {session._refresh, session.token()}  # redactors hear of each new one
    mock.revoke(session._refresh)  # the refresh is refused: the client credentials again
    session.renew()
    assert session._refresh is None and session.renewals == 2
    assert len(mock.issued["access"]) == 4  # sign-in, the exchange, two renewals


def test_a_wrong_secret_exits_2_with_one_line_naming_what_to_check(
    solvexia: tuple[Mock, str], tmp_path: Path, cli: Callable[..., Completed]
) -> None:
    _, base_url = solvexia
    env = {**ENV, "SOLVEXIA_CLIENT_SECRET": "wrong-secret-9d1c"}
    completed = cli("run", "solvexia", "--base-url", base_url, *FAST, "--report-dir", str(tmp_path), env=env)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    token_url = base_url.removesuffix("/api") + "/oauth/token"
    cause = (
        f"solvexia refused the sign-in (400 invalid_client at {token_url}): "
        "check SOLVEXIA_CLIENT_ID and SOLVEXIA_CLIENT_SECRET (or --client-id and --client-secret)"
    )
    assert cause in completed.stdout
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["errors"] == [f"solvexia: {cause}"]
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "wrong-secret-9d1c" not in everything(tmp_path, completed)

    recorded = cli("record", "solvexia", "--base-url", base_url, "--out", str(tmp_path / "c"), env=env)
    assert recorded.returncode == 2
    assert recorded.stderr.strip() == f"conformance: error: {cause}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no credential for solvexia: pass --token or set SOLVEXIA_TOKEN, or set SOLVEXIA_CLIENT_ID"),
        ({"SOLVEXIA_CLIENT_ID": CLIENT_ID}, "set both SOLVEXIA_CLIENT_ID and SOLVEXIA_CLIENT_SECRET"),
    ],
    ids=["nothing", "id-without-secret"],
)
def test_a_missing_client_secret_is_a_bad_argument(
    env: dict[str, str], message: str, tmp_path: Path, cli: Callable[..., Completed]
) -> None:
    completed = cli(
        "run", "solvexia", "--base-url", "http://127.0.0.1:9/api", "--report-dir", str(tmp_path), env=env
    )
    assert completed.returncode == 2 and message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_run_and_record_sign_in_from_the_command_line(
    solvexia: tuple[Mock, str], tmp_path: Path, cli: Callable[..., Completed]
) -> None:
    _, base_url = solvexia
    client = ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    completed = cli(
        "run", "solvexia", "--base-url", base_url, *client, *FAST, "--report-dir", str(tmp_path / "r")
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    recorded = cli(
        "record",
        "solvexia",
        "--base-url",
        base_url,
        "--out",
        str(tmp_path / "c"),
        "--poll-interval",
        "0.05",
        env=ENV,
    )
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    cassette = (tmp_path / "c" / "solvexia.yaml").read_text()
    assert "/oauth/token" in cassette  # the token endpoint's documented example, recorded at the root
    written = everything(tmp_path, completed) + recorded.stdout + recorded.stderr
    assert CLIENT_SECRET not in written
    assert not any(prefix in written for prefix in ISSUED_PREFIXES.values())
    replayed = cli("replay", str(tmp_path / "c"), "--report-dir", str(tmp_path / "replay"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    judged = json.loads((tmp_path / "replay" / "results.json").read_text())["apis"][0]["operations"]
    assert {op["operation"] for op in judged if op["cases"]} == set(load_spec("solvexia").operations)


def test_a_refused_access_token_names_the_client_to_check(tmp_path: Path) -> None:
    """The sign-in succeeds but the API refuses the token (a client without the scope): the one
    line names the client, not the token variable that was never set."""
    mock = create_mock("solvexia", "faithful", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    app = mock.app()

    async def forbidding(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await JSONResponse({"message": "no access", "supportId": "x"}, 403)(scope, receive, send)
        else:
            await app(scope, receive, send)

    with MockServer(forbidding, mock.spec.base_path) as server:
        options = RunOptions(
            apis=["solvexia"], base_url=server.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            max_examples=1, phases=("examples",),
        )  # fmt: skip
        errors = run(options).errors
    assert errors == [
        "solvexia: solvexia refused the credential (403 on 4/4 operations): "
        "check the client SOLVEXIA_CLIENT_ID (its scopes)"
    ]
