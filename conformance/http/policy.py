"""How every request of a run is sent: one ``RequestPolicy``, applied where clients are made.

It carries the bounds (``http.transport``), what travels with each request, and politeness: a
rate limit shared by every thread, and ``Retry-After`` honoured on 429 and 503.
"""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property

import httpx

from conformance.bounds import MAX_BODY_BYTES
from conformance.http.transport import ACCEPT_ENCODING, BoundedTransport


class RateLimiter:
    """At most ``per_second`` requests a second, spaced evenly, across every thread that shares it."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = 1.0 / per_second, clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, sleep: Callable[[float], None]) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            sleep(start - now)


def retry_after(response: httpx.Response, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now())


@dataclass(frozen=True)
class RequestPolicy:
    """How every request of a run is sent and read: one object, applied where clients are made.

    Bounds (``timeout``, ``max_body_bytes``), what travels with each request (``headers``,
    ``params``, ``proxy``, ``verify``), and politeness (``rate_limit`` requests a second, ``Retry-After``
    honoured on 429 and 503 up to ``max_retry_wait`` seconds).
    """

    timeout: float = 10.0
    max_body_bytes: int = MAX_BODY_BYTES
    headers: tuple[tuple[str, str], ...] = ()
    #: Query parameters sent with every request (those of a base URL such as ``...?key=...``).
    params: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None
    #: ``False`` skips TLS verification; a string is a CA bundle to verify against.
    verify: bool | str = True
    rate_limit: float | None = None
    max_retry_wait: float = 60.0
    #: Values of named path and query parameters (``--parameter``: a tenant's ids), sent by every
    #: operation that declares one in place of the spec's example.
    parameters: tuple[tuple[str, str], ...] = ()
    retries: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    #: Applied to every request (``oauth.RefreshingToken``: a signed-in run's current token).
    auth: httpx.Auth | None = field(default=None, compare=False, repr=False)

    @cached_property
    def limiter(self) -> RateLimiter | None:
        return RateLimiter(self.rate_limit) if self.rate_limit else None

    def client(self) -> httpx.Client:
        """An ``httpx`` client that sends under this policy: rate limit and ``Retry-After``, and
        every request bounded in time as a whole and its body (decompressed) in size."""
        inner = BoundedTransport(
            self.timeout, self.max_body_bytes, verify=_ssl_context(self.verify), proxy=self.proxy
        )
        return httpx.Client(
            timeout=self.timeout,
            params=list(self.params),
            transport=_PoliteTransport(inner, self),
            headers={"accept-encoding": ACCEPT_ENCODING, **dict(self.headers)},
            auth=self.auth,
        )


@cache
def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    """One TLS context per trust setting for the process: loading the CA bundle takes 30 ms, and a
    run opens a client per API and phase (a context is safe to share between connections)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify)


class _PoliteTransport(httpx.BaseTransport):
    """Waits its turn under the rate limit, and waits and retries when a server says ``Retry-After``."""

    def __init__(self, inner: httpx.BaseTransport, policy: RequestPolicy) -> None:
        self.inner, self.policy = inner, policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempts = 0
        while True:
            if self.policy.limiter:
                self.policy.limiter.wait(self.policy.sleep)
            response = self.inner.handle_request(request)
            wait = retry_after(response) if response.status_code in (429, 503) else None
            if wait is None or wait > self.policy.max_retry_wait or attempts >= self.policy.retries:
                return response
            attempts += 1
            response.close()
            self.policy.sleep(wait)

    def close(self) -> None:
        self.inner.close()


#: Bounds of a run that sets none: 10 s, 10 MiB, no rate limit.
DEFAULT_POLICY = RequestPolicy()
