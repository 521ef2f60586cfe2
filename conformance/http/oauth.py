"""Signing in where a vendor issues OAuth 2.0 access tokens, and keeping a run's token fresh.

A vendor whose declaration has ``oauth`` (``ApiInfo.oauth``) is checked with a client id and
secret when no token is given: the run asks the spec's token operation (SolveXia's
``POST /oauth/token``, addressed from the base URL by ``Spec.operation_base_url``) for an access
token with the client credentials grant, and asks again a margin before the ``expires_in`` the
answer gave runs out (the OAuth page leaves the expiry "for the user application to handle"):
with the refresh token grant when an answer carried a refresh token, else with the client
credentials again. Every request of the run that carries a token of the session goes out with
the current one: schemathesis' through ``schemathesis_auth`` (and the runner's ``before_call``
hook), the lifecycle's and the recorder's through ``RefreshingToken``, the ``httpx.Auth`` of the
run's ``RequestPolicy``. A refused sign-in is a configuration error, never drift.

The client secret and every token the session is given are secrets: ``listeners`` (the run's
redactors) hear of each one before it is used.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.bounds import loads_json
from conformance.contract.curl import json_curl_line
from conformance.contract.model import Operation, Spec
from conformance.errors import CredentialRefused, ServerUnreachable, UsageError
from conformance.http.failures import BodyTooLarge, ResponseTooSlow, transport_cause
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.http.polite import polite_client
from conformance.vendors.registry import ApiInfo, Carrier

#: When an answer gives no usable ``expires_in``, the token is asked for again after this long.
UNKNOWN_LIFETIME = 300.0
#: A token is renewed this share of its lifetime before it expires, at most ``MAX_MARGIN`` seconds.
MARGIN_SHARE, MAX_MARGIN = 0.1, 60.0


@dataclass(frozen=True)
class ClientCredentials:
    """The OAuth client a run signs in as."""

    client_id: str
    client_secret: str = field(repr=False)


def resolve_client(
    api: ApiInfo, client_id: str | None = None, client_secret: str | None = None
) -> ClientCredentials | None:
    """The client id and secret given (``--client-id``/``--client-secret``, else the vendor's
    variables); ``None`` when the vendor has no OAuth or neither is set."""
    if api.oauth is None:
        return None
    client_id = client_id or os.environ.get(api.oauth.client_id_env)
    client_secret = client_secret or os.environ.get(api.oauth.client_secret_env)
    if client_id and client_secret:
        return ClientCredentials(client_id, client_secret)
    if client_id or client_secret:
        raise UsageError(
            f"{api.name} signs in with a client id and a secret: set both {api.oauth.client_id_env} "
            f"and {api.oauth.client_secret_env} (or --client-id and --client-secret)"
        )
    return None


def missing_credential(api: ApiInfo) -> str:
    """The one line that says how to give ``api`` a credential."""
    ways = f"pass --token or set {api.credential_env}"
    if api.oauth is not None:
        ways += f", or set {api.oauth.client_id_env} and {api.oauth.client_secret_env} to sign in"
    return f"no credential for {api.name}: {ways}"


class SignInRefused(CredentialRefused):
    """The token endpoint refused the client (or answered no token): a configuration error."""


#: Told of each exchange with the token endpoint: its response and a reproducing curl line (not
#: redacted: the listener's redactor knows every secret in it).
ExchangeListener = Callable[[Operation, httpx.Response, str], None]


class TokenSession:
    """One run's sign-in at a vendor's token endpoint, and the access token it keeps fresh."""

    def __init__(
        self,
        api: ApiInfo,
        spec: Spec,
        base_url: str,
        client: ClientCredentials,
        policy: RequestPolicy = DEFAULT_POLICY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if api.oauth is None:
            raise ValueError(f"{api.name} declares no OAuth token endpoint")
        self.api, self.oauth, self.client, self.policy, self.clock = api, api.oauth, client, policy, clock
        self.operation = spec.operations[api.oauth.token_operation]
        self.url = spec.operation_base_url(base_url, self.operation) + self.operation.path
        self.carrier: Carrier = next(c for c in api.carriers if c.where == "header")
        #: Told of the client secret and of every token issued, before it is used.
        self.listeners: list[Callable[[str], None]] = []
        #: Told of every exchange with the token endpoint (a run judges the answers).
        self.exchange_listeners: list[ExchangeListener] = []
        self.issued: list[str] = []
        #: How often the token was renewed after the first sign-in.
        self.renewals = 0
        self._access: str | None = None
        self._refresh: str | None = None
        self._renew_at = 0.0
        #: A renewal refused mid-run: every later ask is refused alike, without asking again.
        self._refused: SignInRefused | None = None
        self._lock = threading.RLock()

    # -- the token --------------------------------------------------------------------------
    def sign_in(self) -> str:
        """The first access token (client credentials); ``SignInRefused`` when it is refused."""
        for listener in self.listeners:
            listener(self.client.client_secret)
        with self._lock:
            self._grant({"grant_type": self.oauth.grant})
            assert self._access is not None
            return self._access

    def token(self) -> str:
        """The current access token, renewed first when it is about to expire."""
        with self._lock:
            if self._refused is not None:
                raise self._refused
            if self._access is None:
                return self.sign_in()
            if self.clock() >= self._renew_at:
                self.renew()
            return self._access

    def renew(self) -> None:
        """Ask for a new access token: the refresh token grant where one was issued (the client
        credentials again if it is refused), else the client credentials grant."""
        with self._lock:
            self.renewals += 1
            if self._refresh is not None:
                try:
                    self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh})
                    return
                except SignInRefused:
                    self._refresh = None
            try:
                self._grant({"grant_type": self.oauth.grant}, renewal=True)
            except SignInRefused as refused:
                self._refused = refused
                raise

    def is_issued(self, token: str) -> bool:
        return token in self.issued

    def fresh(self, value: str | None) -> str | None:
        """The credential header value ``value`` with the current token, when it carries a token
        this session issued; ``None`` when it carries none (or another credential)."""
        prefix = self.carrier.prefix
        if value is None or not value.startswith(prefix) or not self.is_issued(value[len(prefix) :]):
            return None
        return prefix + self.token()

    def refresh_headers(self, headers: MutableMapping[str, Any] | None) -> None:
        """Put the current token into ``headers`` where they carry one of the session's."""
        if not headers:
            return
        for name in list(headers):
            if name.lower() == self.carrier.name.lower():
                current = self.fresh(headers[name])
                if current is not None and current != headers[name]:
                    headers[name] = current

    # -- the token endpoint -----------------------------------------------------------------
    def _grant(self, parameters: dict[str, str], renewal: bool = False) -> None:
        body = {"client_id": self.client.client_id, "client_secret": self.client.client_secret, **parameters}
        started = self.clock()
        request = json_curl_line("POST", self.url, {}, body)
        try:
            with polite_client(self.policy) as client:
                response = client.post(self.url, json=body)
        except (httpx.HTTPError, BodyTooLarge, ResponseTooSlow) as exc:
            cause = f"body larger than {exc.limit} bytes" if isinstance(exc, BodyTooLarge) else None
            raise ServerUnreachable(
                f"no answer from the token endpoint of {self.api.name} at {self.url}: "
                f"{cause or transport_cause(exc)}"
            ) from None
        answer = _json(response)
        access = answer.get("access_token") if isinstance(answer, dict) else None
        if isinstance(access, str) and access:
            self._remember(access)
            refresh = answer.get("refresh_token")
            if isinstance(refresh, str) and refresh:
                self._remember(refresh)
                self._refresh = refresh
        for exchange_listener in self.exchange_listeners:
            exchange_listener(self.operation, response, request)
        if response.status_code != 200 or not isinstance(access, str) or not access:
            raise SignInRefused(self._refusal(response, answer, renewal))
        self._access = access
        self._renew_at = started + _renew_after(answer.get("expires_in"))

    def _remember(self, secret: str) -> None:
        if secret not in self.issued:
            for listener in self.listeners:
                listener(secret)
            self.issued.append(secret)

    def _refusal(self, response: httpx.Response, answer: Any, renewal: bool) -> str:
        oauth = self.oauth
        check = f"check {oauth.client_id_env} and {oauth.client_secret_env}"
        check += " (or --client-id and --client-secret)"
        error = answer.get("error") if isinstance(answer, dict) else None
        what = f"{response.status_code} {error}" if isinstance(error, str) else str(response.status_code)
        if response.status_code == 200:
            what = "200 without an access_token"
        elif response.status_code in (404, 405):
            check = f"is {self.url} the token endpoint? check the base URL"
        refused = "the renewal of the run's token" if renewal else "the sign-in"
        return f"{self.api.name} refused {refused} ({what} at {self.url}): {check}"


def _json(response: httpx.Response) -> Any:
    """The answer's JSON within the JSON bounds (a body nested 100,000 deep is no answer)."""
    try:
        return loads_json(response.content)
    except ValueError:
        return None


def _renew_after(expires_in: Any) -> float:
    """Seconds after the request until the token is renewed: ``expires_in`` less a margin."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        return UNKNOWN_LIFETIME
    return float(expires_in) - min(MAX_MARGIN, MARGIN_SHARE * float(expires_in))


class RefreshingToken(httpx.Auth):
    """The ``httpx.Auth`` of a run's requests: a request that carries a token of the session goes
    out with the current one; a request without one (the credential-less probes, the token
    request itself) or with another credential is left as it is."""

    def __init__(self, session: TokenSession) -> None:
        self.session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.session.refresh_headers(request.headers)
        yield request


def schemathesis_auth(session: TokenSession, secured: Callable[[Any], bool]) -> type:
    """A schemathesis auth provider class (``schema.auth``) that puts the session's current token on
    every generated case of an operation that needs it (``secured``, given the API operation)."""
    carrier = session.carrier

    class OAuthToken:
        def get(self, case: Any, context: Any) -> str | None:
            return session.token() if secured(context.operation) else None

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), carrier.name: carrier.prefix + data}

    return OAuthToken
