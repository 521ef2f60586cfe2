"""The OAuth 2.0 token endpoint (client credentials flow) and bearer-token checks.

Tokens are opaque random strings kept in memory with an expiry; the tenant's fixed ``token``
never expires so a client can skip the token call.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Request

TOKEN_TTL_SECONDS = 600.0


class TokenError(Exception):
    """A refused token request, carrying the RFC 6749 error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Tokens:
    """Issued access tokens and their expiry instants; thread-safe."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        fixed_token: str,
        clock: Callable[[], float] = time.time,
        ttl: float = TOKEN_TTL_SECONDS,
    ):
        self._client = (client_id, client_secret)
        self._fixed = fixed_token
        self._clock = clock
        self._ttl = ttl
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def valid(self, token: str) -> bool:
        """Whether ``token`` is the fixed token or an issued one that has not expired."""
        if _same(token, self._fixed):
            return True
        with self._lock:
            expiry = self._expiry.get(token)
            return expiry is not None and self._clock() < expiry

    def grant(self, request: Request) -> dict[str, Any]:
        """Answer a token request (JSON, form or HTTP Basic client credentials) or raise TokenError."""
        params = _params(request)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise TokenError("invalid_request", "grant_type is required.")
        if grant_type != "client_credentials":
            raise TokenError("unsupported_grant_type", f"grant_type '{grant_type}' is not supported.")
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if not client_id or not client_secret:
            raise TokenError("invalid_request", "client_id and client_secret are required.")
        if not (_same(client_id, self._client[0]) and _same(client_secret, self._client[1])):
            raise TokenError("invalid_client", "Client authentication failed.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            expiry = self._clock() + self._ttl
            self._expiry[token] = expiry
        return {"access_token": token, "token_type": "Bearer", "expires_in": round(self._ttl, 7)}


def _params(request: Request) -> dict[str, str]:
    """Token request parameters from a JSON body, a form body and/or an HTTP Basic header."""
    params: dict[str, str] = {}
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        params.update({k: v for k, v in body.items() if isinstance(v, str)})
    elif request.is_json and request.get_data():
        raise TokenError("invalid_request", "The request body is not valid JSON.")
    params.update({k: v for k, v in request.form.items() if k not in params})
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic " and "client_id" not in params:
        try:
            client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError as exc:
            raise TokenError("invalid_client", "Malformed Basic credentials.") from exc
        params.update(client_id=client_id, client_secret=client_secret)
    return params


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison of any text a client sends (``compare_digest`` takes only ASCII str)."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))
