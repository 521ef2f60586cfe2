"""Requests that get no usable response, and bodies read within bounds.

A nightly run meets servers that refuse, reset, hang, trickle, loop on redirects or answer
with 50 MB. None of that may crash or stall the run: each such request becomes a finding of
kind ``transport-error`` (no response, with a short stable cause as its observed value) or
``body-too-large`` (a response the checks decline to read past ``max_body_bytes``).
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import shlex
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import requests
import urllib3

#: Bodies are read up to this size; contract responses of these APIs are a few kilobytes.
MAX_BODY_BYTES = 10 * 1024 * 1024


class BodyTooLarge(requests.exceptions.RequestException):
    """A response body grew past the limit; reading stopped there."""

    def __init__(self, status_code: int, limit: int, request: Any = None) -> None:
        super().__init__(
            f"status {status_code}: body larger than {limit} bytes; stopped reading", request=request
        )
        self.status_code, self.limit = status_code, limit


class ResponseTooSlow(requests.exceptions.Timeout):
    """The body kept arriving, but not within the deadline for the whole response."""


#: Stable causes, most specific first: the first type found in an error's chain names it.
_CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (ResponseTooSlow, "response too slow"),
    ((requests.exceptions.TooManyRedirects, httpx.TooManyRedirects), "redirect loop"),
    ((requests.exceptions.ConnectTimeout, httpx.ConnectTimeout), "connect timeout"),
    (
        (requests.exceptions.ReadTimeout, httpx.ReadTimeout, socket.timeout, TimeoutError),
        "read timeout",
    ),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    ((http.client.IncompleteRead, requests.exceptions.ChunkedEncodingError), "incomplete body"),
    (http.client.RemoteDisconnected, "connection closed"),
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every error behind it (causes, contexts, urllib3's ``reason``, wrapped args)."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]


def transport_cause(error: BaseException) -> str:
    """A short cause that stays the same from one night to the next, so findings merge and diff."""
    chain = list(_chain(error))
    for types, cause in _CAUSES:
        if any(isinstance(e, types) for e in chain):
            return cause
    text = " ".join(str(e) for e in chain).lower()
    for code, cause in ((errno.ECONNREFUSED, "connection refused"), (errno.ECONNRESET, "connection reset")):
        if any(getattr(e, "errno", None) == code for e in chain) or cause in text:
            return cause
    if "incomplete" in text or "without sending complete message" in text:
        return "incomplete body"
    if "disconnected" in text or "connection aborted" in text:
        return "connection closed"
    return type(error).__name__


def failed_request_curl(error: BaseException) -> str | None:
    """A curl line for the request a ``requests`` error carries (callers redact it)."""
    request = getattr(error, "request", None)
    if not isinstance(request, requests.PreparedRequest) or not request.url or not request.method:
        return None
    parts = ["curl", "-X", request.method, request.url]
    for name, value in request.headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        parts += ["-H", f"{name}: {text}"]
    if request.body:
        body = request.body
        parts += ["-d", body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)]
    return shlex.join(parts)


def is_transport_error(error: BaseException) -> bool:
    """Whether a request failed on the wire (rather than in the tool)."""
    return isinstance(error, requests.exceptions.RequestException | httpx.TransportError | OSError)


class _BoundedBody:
    """Stands in for urllib3's response while ``requests`` reads the body: it reads what has
    arrived (``read1``) so a trickle cannot hold a read open, and it stops past the size limit or
    the deadline, closing the connection so nothing half-read goes back to the pool."""

    def __init__(self, response: requests.Response, limit: int, deadline: float) -> None:
        self._raw, self._response, self._limit, self._deadline = response.raw, response, limit, deadline

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        received = 0
        while chunk := self._read(amt or 65536):
            received += len(chunk)
            if received > self._limit:
                self._raw.close()
                raise BodyTooLarge(self._response.status_code, self._limit, self._response.request)
            if time.monotonic() > self._deadline:
                self._raw.close()
                raise ResponseTooSlow(
                    f"body not complete within the deadline ({received} bytes so far)",
                    request=self._response.request,
                )
            yield chunk

    def _read(self, amount: int) -> bytes:
        """What has arrived; a broken body raises the ``requests`` error, naming the request."""
        request = self._response.request
        try:
            return self._raw.read1(amount, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc, request=request) from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc, request=request) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc, request=request) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def bounded_body_hook(limit: int, timeout: float) -> Any:
    """A ``requests`` response hook: the body must fit in ``limit`` bytes and arrive within ``timeout``."""

    def bound(response: requests.Response, **_: Any) -> requests.Response:
        response.raw = _BoundedBody(response, limit, time.monotonic() + timeout)
        return response

    return bound


def read_bounded(response: httpx.Response, limit: int, timeout: float) -> httpx.Response:
    """Read a streamed ``httpx`` response within the bounds of ``bounded_body_hook``; the complete
    response it returns holds the decoded body (so its content-encoding header is dropped)."""
    deadline, chunks, received = time.monotonic() + timeout, [], 0
    for chunk in response.iter_bytes():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(response.status_code, limit)
        if time.monotonic() > deadline:
            raise ResponseTooSlow(f"body not complete within the deadline ({received} bytes so far)")
        chunks.append(chunk)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=response.request
    )


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
    ``proxy``, ``verify``), and politeness (``rate_limit`` requests a second, ``Retry-After``
    honoured on 429 and 503 up to ``max_retry_wait`` seconds).
    """

    timeout: float = 10.0
    max_body_bytes: int = MAX_BODY_BYTES
    headers: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None
    #: ``False`` skips TLS verification; a string is a CA bundle to verify against.
    verify: bool | str = True
    rate_limit: float | None = None
    max_retry_wait: float = 60.0
    retries: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    #: Applied to every request (``oauth.RefreshingToken``: a signed-in run's current token).
    auth: httpx.Auth | None = field(default=None, compare=False, repr=False)

    @cached_property
    def limiter(self) -> RateLimiter | None:
        return RateLimiter(self.rate_limit) if self.rate_limit else None

    def client(self) -> httpx.Client:
        """An ``httpx`` client that sends under this policy (rate limit and ``Retry-After`` included)."""
        inner = httpx.HTTPTransport(verify=self._ssl_context(), proxy=self.proxy)
        return httpx.Client(
            timeout=self.timeout,
            transport=_PoliteTransport(inner, self),
            headers=dict(self.headers),
            auth=self.auth,
        )

    def _ssl_context(self) -> ssl.SSLContext | bool:
        if isinstance(self.verify, str):
            return ssl.create_default_context(cafile=self.verify)
        return self.verify


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
