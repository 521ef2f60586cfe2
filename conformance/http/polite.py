"""The clients a ``RequestPolicy`` makes: bounded (``http.transport``), rate-limited and patient
with a server that says ``Retry-After`` on 429 and 503."""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable
from functools import cache

import httpx

from conformance.http.policy import RequestPolicy
from conformance.http.transport import ACCEPT_ENCODING, BoundedTransport


def polite_client(policy: RequestPolicy) -> httpx.Client:
    """An ``httpx`` client that sends under ``policy``: rate limit and ``Retry-After``, and every
    request bounded in time as a whole and its body (decompressed) in size."""
    inner = BoundedTransport(
        policy.timeout, policy.limits, verify=_ssl_context(policy.verify), proxy=policy.proxy
    )
    return httpx.Client(
        timeout=policy.timeout,
        params=list(policy.params),
        transport=_PoliteTransport(inner, policy),
        headers={"accept-encoding": ACCEPT_ENCODING, **dict(policy.headers)},
        auth=policy.auth,
    )


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
