"""Canary credentials planted in every credential-shaped place never reach a file or the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
import vcr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance.cassettes.record import record, redacting_vcr_config
from conformance.cli.main import main
from conformance.engine.caller import MOCK_POLLING
from conformance.mocks import start_mock
from conformance.mocks.server import MockServer
from conformance.redact import Redactor

from .. import loopback
from ..canary import leaks

TOKEN = "canary-token-5b1f0c"  # the credential the recorder is given
CANARIES = {
    "authorization": "canary-authorization-77e1",
    "x-api-key": "canary-x-api-key-2c90",
    "X-API-Key": "canary-X-API-Key-41d3",
    "cookie": "canary-vai-token-8a02",
    "set-cookie": "canary-set-cookie-93fe",
    "query": "canary-query-token-0d5c",
    "access_token": "canary-access-token-6e4b",
    "client_secret": "canary-client-secret-f7a8",
    "callback secret": "canary-callback-secret-1b26",
    "form secret": "canary-form-secret-c3d9",
}


async def _oauth_like(request: Request) -> JSONResponse:
    """Echoes credential-shaped values back, as token endpoints and webhook registrations do."""
    response = JSONResponse(
        {
            "access_token": CANARIES["access_token"],
            "token_type": "Bearer",
            "callback": {"url": "https://hooks.example/run", "secret": CANARIES["callback secret"]},
        }
    )
    response.set_cookie("vai_token", CANARIES["set-cookie"])
    return response


def _exercise(base_url: str) -> None:
    with loopback.Client() as client:
        client.post(
            f"{base_url}/oauth/token?token={CANARIES['query']}&page=2",
            headers={
                "Authorization": f"Bearer {CANARIES['authorization']}",
                "x-api-key": CANARIES["x-api-key"],
                "X-API-Key": CANARIES["X-API-Key"],
                "Cookie": f"vai_token={CANARIES['cookie']}",
            },
            json={"client_id": "app", "client_secret": CANARIES["client_secret"], "note": TOKEN},
        )
        client.post(
            f"{base_url}/oauth/token",
            content=f"grant_type=client_credentials&client_secret={CANARIES['form secret']}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


def _assert_clean(directory: Path, out: str, err: str) -> None:
    assert leaks({**CANARIES, "token": TOKEN}, [directory], {"stdout": out, "stderr": err}) == []


def test_recording_hooks_redact_every_credential_shaped_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Starlette(routes=[Route("/oauth/token", _oauth_like, methods=["POST"])])
    config = redacting_vcr_config(Redactor([TOKEN]), "all")
    with MockServer(app) as server, vcr.VCR(**config).use_cassette(str(tmp_path / "canary.yaml")):
        _exercise(server.base_url)
    cassette = (tmp_path / "canary.yaml").read_text()
    assert cassette.count("[REDACTED]") >= len(CANARIES)
    assert "page=2" in cassette and "client_id" in cassette  # only credentials are touched

    report, diff_report = tmp_path / "report", tmp_path / "diff"
    main(["replay", str(tmp_path / "canary.yaml"), "--api", "solvexia", "--report-dir", str(report)])
    main(
        [
            "diff",
            str(tmp_path / "canary.yaml"),
            str(tmp_path / "canary.yaml"),
            "--report-dir",
            str(diff_report),
        ]
    )
    out, err = capsys.readouterr()
    _assert_clean(tmp_path, out, err)


def test_recorder_writes_and_prints_no_credential(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The token rides in the vendor's header (x-api-key) and query (robocorp's integrations start)."""
    for api in ("kognitos", "robocorp"):
        server = start_mock(api, "faithful", TOKEN)
        try:
            outcome = record(api, server.base_url, TOKEN, tmp_path / api, polling=MOCK_POLLING)
        finally:
            server.stop()
        assert outcome.interactions > 0 and outcome.failures == []
    assert "token=[REDACTED]" in (tmp_path / "robocorp" / "robocorp.yaml").read_text()
    main(["replay", str(tmp_path), "--report-dir", str(tmp_path / "report")])
    out, err = capsys.readouterr()
    _assert_clean(tmp_path, out, err)
