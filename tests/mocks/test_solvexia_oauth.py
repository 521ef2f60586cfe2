"""SolveXia's OAuth 2.0 token endpoint in the mock, over real HTTP: the client credentials,
authorization code and refresh token grants, RFC 6749's error answers, and access tokens that
expire with the mock's clock or are revoked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.cli.main import main
from conformance.judge.registry import check_response
from conformance.mocks import Mode
from conformance.mocks.solvexia import Mock

from . import serving

TOKEN = "fixed-token-7e1d"
CLIENT_ID, CLIENT_SECRET = "sx-client-3c9a", "sx-secret-51f0"
STATUS = "/v1/processruns/pr-114278/runstatus"
REDIRECT = "https://example.return_url.com"


class Served(serving.Served):
    @property
    def token_url(self) -> str:
        return self.base_url.removesuffix("/api") + "/oauth/token"

    @property
    def solvexia(self) -> Mock:
        assert isinstance(self.mock, Mock)
        return self.mock

    def grant(self, **parameters: Any) -> httpx.Response:
        body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **parameters}
        response = self.client.post(self.token_url, json=body)
        spec = self.mock.spec
        operation = spec.operations["requestToken"]
        # every answer of the token endpoint is the contract's, in both modes
        assert check_response(spec, operation, response.status_code, response.headers, response.content) == []
        return response

    def api(self, access_token: str) -> httpx.Response:
        return self.client.get(STATUS, headers={"Authorization": f"Bearer {access_token}"})


def serve(mode: Mode) -> Iterator[Served]:
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    with serving.serve("solvexia", mode, TOKEN, {}, Served, client) as served:
        yield served


@pytest.fixture(params=list(Mode), ids=str)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    yield from serve(request.param)


@pytest.fixture(scope="module", params=list(Mode), ids=str)
def shared(request: pytest.FixtureRequest) -> Iterator[Served]:
    """One mock per mode for the tests that issue nothing."""
    yield from serve(request.param)


def granted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"  # RFC 6749 section 5.1
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "Bearer"
    return body


def refused(response: httpx.Response, error: str, status: int = 400) -> str:
    """The RFC 6749 error answer; never an echo of the request (it holds the client secret)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and set(body) == {"error", "error_description"}
    assert CLIENT_SECRET not in response.text
    return str(body["error_description"])


def test_client_credentials_grant_answers_a_token_that_the_api_accepts(served: Served) -> None:
    body = granted(served.grant(grant_type="client_credentials", scope="process"))
    assert set(body) == {"access_token", "token_type", "expires_in"}  # no refresh token in this flow
    assert body["expires_in"] == served.solvexia.token_lifetime == 600
    assert served.api(body["access_token"]).json()["id"] == "pr-114278"
    assert served.api(TOKEN).status_code == 200  # the fixed token still works
    # the SDK's request: no scope needed either
    assert granted(served.grant(grant_type="client_credentials"))["access_token"] != body["access_token"]


def test_an_access_token_expires_after_expires_in_on_the_mocks_clock(served: Served) -> None:
    body = granted(served.grant(grant_type="client_credentials"))
    served.clock.advance(body["expires_in"] - 1)
    assert served.api(body["access_token"]).status_code == 200
    served.clock.advance(1)
    expired = served.api(body["access_token"])
    assert expired.status_code == 403  # the documented refusal (SX-032)
    assert set(expired.json()) == {"message", "supportId"} and "expired" in expired.json()["message"]
    assert served.solvexia.refusals == {"expired": 1}


def test_a_revoked_access_token_is_refused(served: Served) -> None:
    token = granted(served.grant(grant_type="client_credentials"))["access_token"]
    served.solvexia.revoke(token)
    assert served.api(token).status_code == 403 and "revoked" in served.api(token).json()["message"]
    assert served.api("sxmock-at-never-issued").status_code == 403
    assert served.solvexia.refusals == {"revoked": 2, "unknown": 1}


@pytest.mark.parametrize(
    ("parameters", "error", "fragment"),
    [
        ({"client_secret": "wrong", "grant_type": "client_credentials"}, "invalid_client", "client"),
        ({"client_id": "someone-else", "grant_type": "client_credentials"}, "invalid_client", "client"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant_type"),
        ({"grant_type": 1}, "unsupported_grant_type", "grant_type"),
        ({}, "invalid_request", "grant_type is required"),
        ({"grant_type": "refresh_token"}, "invalid_request", "refresh_token is required"),
        ({"grant_type": "authorization_code"}, "invalid_request", "code is required"),
        ({"grant_type": "client_credentials", "scope": 7}, "invalid_request", "scope must be a string"),
        ({"grant_type": "refresh_token", "refresh_token": "made-up"}, "invalid_grant", "refresh token"),
        ({"grant_type": "authorization_code", "code": "made-up"}, "invalid_grant", "authorization code"),
    ],
    ids=[
        "wrong-secret",
        "unknown-client",
        "unsupported-grant",
        "grant-not-a-string",
        "no-grant",
        "no-refresh-token",
        "no-code",
        "scope-not-a-string",
        "unknown-refresh-token",
        "unknown-code",
    ],
)
def test_wrong_requests_get_rfc_6749_errors(
    shared: Served, parameters: dict[str, Any], error: str, fragment: str
) -> None:
    assert fragment in refused(shared.grant(**parameters), error)
    assert shared.solvexia.issued["access"] == {}


@pytest.mark.parametrize(
    ("content", "content_type", "fragment"),
    [
        (b"client_id=a&grant_type=client_credentials", "application/x-www-form-urlencoded", "content type"),
        (b'{"grant_type": ', "application/json", "not valid JSON"),
        (b"", "application/json", "required"),
        (b'["client_credentials"]', "application/json", "JSON object"),
    ],
    ids=["form-encoded", "malformed-json", "no-body", "not-an-object"],
)
def test_a_request_that_is_no_json_token_request_is_invalid(
    shared: Served, content: bytes, content_type: str, fragment: str
) -> None:
    response = shared.client.post(shared.token_url, content=content, headers={"Content-Type": content_type})
    assert fragment in refused(response, "invalid_request")


def test_authorization_code_is_exchanged_once_within_5_seconds(served: Served) -> None:
    mock = served.solvexia
    code = mock.authorize(CLIENT_ID, REDIRECT, "process user_read")
    body = granted(served.grant(grant_type="authorization_code", code=code, redirect_uri=REDIRECT))
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "scope"}
    assert body["scope"] == "process user_read"
    assert served.api(body["access_token"]).status_code == 200
    assert "used" in refused(served.grant(grant_type="authorization_code", code=code), "invalid_grant")

    late = mock.authorize(CLIENT_ID)
    served.clock.advance(5)
    assert "expired" in refused(served.grant(grant_type="authorization_code", code=late), "invalid_grant")
    elsewhere = mock.authorize(CLIENT_ID, REDIRECT)
    other = served.grant(
        grant_type="authorization_code", code=elsewhere, redirect_uri="https://other.example"
    )
    assert "redirect_uri" in refused(other, "invalid_grant")
    # the page makes redirect_uri optional at the exchange: leaving it out is no mismatch
    granted(served.grant(grant_type="authorization_code", code=mock.authorize(CLIENT_ID, REDIRECT)))


def test_refresh_grant_renews_both_tokens_and_retires_the_used_refresh_token(served: Served) -> None:
    first = granted(served.grant(grant_type="authorization_code", code=served.solvexia.authorize(CLIENT_ID)))
    served.clock.advance(first["expires_in"])  # the access token has expired, the refresh token has not
    assert served.api(first["access_token"]).status_code == 403
    second = granted(served.grant(grant_type="refresh_token", refresh_token=first["refresh_token"]))
    assert second["refresh_token"] != first["refresh_token"]
    assert served.api(second["access_token"]).status_code == 200
    again = served.grant(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert "used or revoked" in refused(again, "invalid_grant")
    served.clock.advance(182 * 24 * 3600)  # each refresh renews the 6 months
    third = granted(served.grant(grant_type="refresh_token", refresh_token=second["refresh_token"]))
    served.clock.advance(184 * 24 * 3600)
    late = served.grant(grant_type="refresh_token", refresh_token=third["refresh_token"])
    assert "expired" in refused(late, "invalid_grant")


def test_the_token_endpoint_lives_at_the_host_root_and_needs_no_bearer_token(shared: Served) -> None:
    assert shared.client.post("/oauth/token", json={}).status_code == 404  # not under /api
    anonymous = shared.client.post(shared.token_url, json={"grant_type": "client_credentials"})
    assert anonymous.json()["error"] == "invalid_request"  # judged as a token request, not forbidden


def test_serve_takes_the_client_only_for_an_api_with_a_token_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "robocorp", "--client-id", "x"]) == 2
    assert "robocorp has no token endpoint" in capsys.readouterr().err
    assert main(["serve", "solvexia", "--token-lifetime", "0"]) == 2
    assert "--token-lifetime must be a positive" in capsys.readouterr().err
