"""SolveXia's OAuth 2.0 authorization server, as the SolveXia mock serves it.

The token endpoint (``POST /oauth/token``, at the host root beside ``/api``) issues access tokens
for the client credentials, authorization code and refresh token grants of the OAuth page, with
RFC 6749's error answers. Access tokens expire after ``expires_in`` seconds of the mock's clock,
codes after 5 s and refresh tokens after 6 months; a refresh hands out a new refresh token and
revokes the one it used. An expired or revoked access token is refused like a wrong one (403 and
the general error object). ``authorize()`` stands for the authorize code flow's steps 1 and 2 (a
user signing in and consenting in a browser), which only the exchange of step 3 follows over
HTTP. The fixed ``--token`` is accepted too.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conformance.contract.model import Operation
from conformance.mocks.base import Mode, VendorMock, handles, json_response, mock_client
from conformance.mocks.calls import Call, RequestRejected
from conformance.mocks.runs import Clock

#: Seconds an access token lives (the page's examples answer expires_in of about 599).
ACCESS_TOKEN_SECONDS = 600.0
#: "authorization code has a short life span of 5 seconds"; a refresh token "Has a default
#: expiration of 6 months", renewed by each refresh.
CODE_SECONDS = 5.0
REFRESH_TOKEN_LIFETIME = timedelta(days=183)
#: What the mock issues starts with these, so that a test can look for any of them in its outputs.
ISSUED_PREFIXES = {"access": "sxmock-at-", "refresh": "sxmock-rt-", "code": "sxmock-code-"}
#: The grants of the token endpoint, and what each needs besides the client's id and secret.
GRANT_PARAMETERS = {
    "client_credentials": (),
    "authorization_code": ("code",),
    "refresh_token": ("refresh_token",),
}
GRANT_TYPES = tuple(GRANT_PARAMETERS)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 section 5.1


@dataclass
class Grant:
    """An access token, refresh token or authorization code the mock issued."""

    value: str
    client_id: str
    expires_at: datetime
    scope: str | None = None
    redirect_uri: str | None = None
    revoked: bool = False


class TokenRejected(RequestRejected):
    """A token request the authorization server refuses, with its RFC 6749 error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(400, description)
        self.error = error


class AuthorizationServer(VendorMock):
    """A vendor mock with SolveXia's token endpoint: it issues, checks and revokes tokens."""

    def __init__(
        self,
        mode: Mode = Mode.FAITHFUL,
        token: str | None = None,
        clock: Clock | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_lifetime: float | None = None,
    ) -> None:
        self.client_id, self.client_secret = mock_client(client_id, client_secret)
        #: Seconds each access token lives, answered as expires_in.
        self.token_lifetime = token_lifetime or ACCESS_TOKEN_SECONDS
        self.issued: dict[str, dict[str, Grant]] = {kind: {} for kind in ISSUED_PREFIXES}
        #: Why bearer tokens were refused (``expired``, ``revoked``, ``unknown``, ``missing``).
        self.refusals: Counter[str] = Counter()
        super().__init__(mode, token, clock)

    @handles("requestToken")
    async def request_token(self, call: Call) -> Response:
        body = call.body
        if body["client_id"] != self.client_id or not secrets.compare_digest(
            body["client_secret"].encode(), self.client_secret.encode()
        ):
            raise TokenRejected("invalid_client", "client authentication failed")
        if body["grant_type"] == "client_credentials":
            return self.token_answer(body["client_id"], scope=body.get("scope"), refresh=False)
        kind, field = (
            ("code", "code") if body["grant_type"] == "authorization_code" else ("refresh", "refresh_token")
        )
        used = self.redeem(kind, body[field], body)
        return self.token_answer(used.client_id, scope=used.scope, redirect_uri=used.redirect_uri)

    def redeem(self, kind: str, value: str, body: dict[str, Any]) -> Grant:
        """Take a code or refresh token back: it must be this client's, live, and the redirect URI
        given now must match the one it was issued with (where it was issued with one)."""
        grant = self.issued[kind].get(value)
        name = "authorization code" if kind == "code" else "refresh token"
        if grant is None or grant.client_id != body["client_id"]:
            raise TokenRejected("invalid_grant", f"the {name} is not valid")
        if grant.revoked:
            raise TokenRejected("invalid_grant", f"the {name} has been used or revoked")
        if self.clock.now() >= grant.expires_at:
            raise TokenRejected("invalid_grant", f"the {name} has expired")
        redirect = body.get("redirect_uri")
        if redirect is not None and grant.redirect_uri is not None and redirect != grant.redirect_uri:
            raise TokenRejected(
                "invalid_grant", "redirect_uri does not match the one the grant was issued for"
            )
        grant.revoked = True  # a code is used once; a refresh token is replaced by the new one
        return grant

    def issue(self, kind: str, client_id: str, lifetime: timedelta, **details: Any) -> Grant:
        value = ISSUED_PREFIXES[kind] + secrets.token_urlsafe(32)
        grant = Grant(value, client_id, self.clock.now() + lifetime, **details)
        self.issued[kind][value] = grant
        return grant

    def token_answer(
        self, client_id: str, *, scope: str | None, refresh: bool = True, redirect_uri: str | None = None
    ) -> Response:
        """A token response: the access token, and for the code and refresh grants a refresh token."""
        access = self.issue("access", client_id, timedelta(seconds=self.token_lifetime), scope=scope)
        body: dict[str, Any] = {}
        if refresh:
            lifetime = REFRESH_TOKEN_LIFETIME
            body["refresh_token"] = self.issue(
                "refresh", client_id, lifetime, scope=scope, redirect_uri=redirect_uri
            ).value
        body |= {"access_token": access.value, "token_type": "Bearer", "expires_in": self.token_lifetime}
        if refresh and scope:
            body["scope"] = scope
        return json_response(body, headers=NO_STORE)

    def authorize(self, client_id: str, redirect_uri: str | None = None, scope: str | None = None) -> str:
        """Steps 1 and 2 of the authorize code flow, the user's sign-in and consent in a browser:
        the code the redirect would carry, for the exchange of step 3. It lives 5 seconds."""
        lifetime = timedelta(seconds=CODE_SECONDS)
        return self.issue("code", client_id, lifetime, scope=scope, redirect_uri=redirect_uri).value

    def revoke(self, value: str) -> None:
        """Revoke an access or refresh token (as a tenant's administrator would)."""
        for grants in self.issued.values():
            if value in grants:
                grants[value].revoked = True

    async def rejection(
        self, request: Request, operation: Operation, status: int, rejected: RequestRejected
    ) -> Response:
        """The token endpoint answers as RFC 6749 (section 5.2) says, not with the general error,
        and never echoes the request (it holds the client secret)."""
        if operation.id != "requestToken":
            return await super().rejection(request, operation, status, rejected)
        if isinstance(rejected, TokenRejected):
            error, description = rejected.error, rejected.message
        elif rejected.details and rejected.details[0]["type"] in ("content_type", "json_invalid", "missing"):
            error, description = "invalid_request", rejected.message
        else:
            error, description = invalid_token_request(await request.body())
        return json_response({"error": error, "error_description": description}, 400, headers=NO_STORE)

    def authenticated(self, request: Request) -> bool:
        """The fixed token, or a live access token the token endpoint issued."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        presented = token.strip()
        if scheme.lower() != "bearer" or not presented:
            self.refusals["missing"] += 1
            return False
        # headers arrive latin-1 decoded
        if secrets.compare_digest(presented.encode("latin-1"), self.token.encode()):
            return True
        grant = self.issued["access"].get(presented)
        if grant is None:
            self.refusals["unknown"] += 1
            return False
        if grant.revoked:
            self.refusals["revoked"] += 1
            raise RequestRejected(403, "the access token has been revoked")
        if self.clock.now() >= grant.expires_at:
            self.refusals["expired"] += 1
            raise RequestRejected(403, "the access token has expired")
        return True


def invalid_token_request(data: bytes) -> tuple[str, str]:
    """What is wrong with a JSON token request the spec rejected, as an RFC 6749 error code and a
    description that names the parameter (and no value)."""
    body = json.loads(data)
    if not isinstance(body, dict):
        return "invalid_request", "the request body must be a JSON object of the token request's parameters"
    grant_type = body.get("grant_type")
    if grant_type is None:
        return "invalid_request", "grant_type is required"
    if grant_type not in GRANT_TYPES:
        return "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANT_TYPES)}"
    missing = [
        name for name in ("client_id", "client_secret", *GRANT_PARAMETERS[grant_type]) if name not in body
    ]
    if missing:
        return "invalid_request", f"{missing[0]} is required for the {grant_type} grant"
    wrong = sorted(name for name, value in body.items() if not isinstance(value, str))
    if wrong:
        return "invalid_request", f"{wrong[0]} must be a string"
    return "invalid_request", "the token request is malformed"
