"""Requests that get no usable response, and bodies read within bounds.

A nightly run meets servers that refuse, reset, hang, trickle, loop on redirects or answer
with 50 MB. None of that may crash or stall the run: each such request becomes a finding of
kind ``transport-error`` (no response, with a short stable cause as its observed value) or
``body-too-large`` (a response the checks decline to read past ``max_body_bytes``).

Every request is bounded in time as a whole, not only per read: its status line and headers
must arrive within ``timeout`` seconds of sending (a server that trickles its headers a byte a
second, or sends ``100 Continue`` lines forever, is cut off there), and its body within
``timeout`` more. Both clients are bounded at the socket: ``httpx`` (the lifecycle, the probes,
``record``) through the network backend of every ``RequestPolicy.client()``, ``requests``
(schemathesis) through ``bounded_headers()``. Bodies are decompressed here too, within the size
limit, so a small compressed bomb is ``body-too-large`` instead of gigabytes.
"""

from __future__ import annotations

import email.utils
import errno
import heapq
import http.client
import itertools
import shlex
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import httpcore
import httpx
import requests
import urllib3
import urllib3.connection
import urllib3.connectionpool

from conformance.bounds import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth, loads_json

#: The status line and headers must be complete within this many request timeouts of sending
#: (a silent server is a read timeout after one; a trickling one is cut off here), and the
#: body within one more: every request ends within ``(HEADERS_WITHIN + 1) * timeout``.
HEADERS_WITHIN = 2


class BodyTooLarge(requests.exceptions.RequestException):
    """A response body grew past the limit; reading stopped there."""

    def __init__(self, status_code: int, limit: int, request: Any = None) -> None:
        super().__init__(
            f"status {status_code}: body larger than {limit} bytes; stopped reading", request=request
        )
        self.status_code, self.limit = status_code, limit


class BodyNotJson(requests.exceptions.RequestException):
    """A JSON body that the engine must not parse: nested deeper than the JSON bounds allow."""

    def __init__(self, status_code: int, problem: str, size: int, request: Any = None) -> None:
        super().__init__(f"status {status_code}: the body is {problem}; not parsed", request=request)
        self.status_code, self.problem, self.size = status_code, problem, size


class ResponseTooSlow(requests.exceptions.Timeout):
    """The body kept arriving, but not within the deadline for the whole response."""


class HeadersTooSlow(TimeoutError):
    """No status line and headers within the deadline: a trickle, or ``100 Continue`` forever."""


class _ReadTooSlow(httpcore.ReadTimeout):
    """The deadline of a whole request passed while ``httpx`` read (httpcore keeps its type)."""


#: Stable causes, most specific first: the first type found in an error's chain names it.
_CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    ((ResponseTooSlow, HeadersTooSlow, _ReadTooSlow), "response too slow"),
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


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and every error behind it, nearest first."""
    return _chain(error)


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
        """The body, chunk by chunk; a read still waiting at the deadline is cut off there (the
        connection's socket is shut down), so the body takes at most ``timeout`` in all."""
        expired = threading.Event()
        sock: Any = getattr(getattr(self._raw, "connection", None), "sock", None)

        def expire() -> None:
            expired.set()
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        remaining = max(0.0, self._deadline - time.monotonic())
        token = _WATCHDOG.arm(remaining, expire) if sock is not None else None
        try:
            yield from self._stream(amt, expired)
        finally:
            if token is not None:
                _WATCHDOG.disarm(token)

    def _too_slow(self, received: int) -> ResponseTooSlow:
        self._raw.close()
        return ResponseTooSlow(
            f"body not complete within the deadline ({received} bytes so far)", request=self._response.request
        )

    def _stream(self, amt: int | None, expired: threading.Event) -> Iterator[bytes]:
        received = 0
        is_json = "json" in self._response.headers.get("content-type", "").lower()
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._read(amt or 65536)
            except requests.exceptions.RequestException:
                if expired.is_set():
                    raise self._too_slow(received) from None
                raise
            if not chunk:
                if expired.is_set():
                    raise self._too_slow(received)
                break
            received += len(chunk)
            if received > self._limit:
                self._raw.close()
                raise BodyTooLarge(self._response.status_code, self._limit, self._response.request)
            if time.monotonic() > self._deadline:
                raise self._too_slow(received)
            if is_json:
                chunks.append(chunk)
            yield chunk
        if is_json:  # the engine parses JSON bodies itself, recursively: never a deeper one
            body = b"".join(chunks)
            if json_depth(body) > MAX_JSON_DEPTH:
                problem = f"nested deeper than {MAX_JSON_DEPTH} levels"
                raise BodyNotJson(self._response.status_code, problem, received, self._response.request)

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
    return BoundedResponse(
        response.status_code, headers=headers, content=b"".join(chunks), request=response.request
    )


class BoundedResponse(httpx.Response):
    """A complete response whose ``json()`` parses within the JSON bounds: a body nested past
    ``MAX_JSON_DEPTH`` is a ``ValueError`` like any other body that is not JSON."""

    def json(self, **kwargs: Any) -> Any:
        return loads_json(self.content)


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
        inner = _BoundedTransport(self, verify=_ssl_context(self.verify), proxy=self.proxy)
        return httpx.Client(
            timeout=self.timeout,
            params=list(self.params),
            transport=_PoliteTransport(inner, self),
            headers={"accept-encoding": ", ".join(_DECODERS), **dict(self.headers)},
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


# Time bounds at the socket. A deadline is per thread: a client sends one request at a time on
# its thread, and the phase it is in (headers, then body) sets how long its reads may still take.

_deadline = threading.local()


def _remaining() -> float | None:
    deadline = getattr(_deadline, "at", None)
    return None if deadline is None else deadline - time.monotonic()


def _set_deadline(seconds: float | None) -> None:
    _deadline.at = None if seconds is None else time.monotonic() + seconds


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    @staticmethod
    def _bound(timeout: float | None) -> float | None:
        remaining = _remaining()
        if remaining is None:
            return timeout
        if remaining <= 0:
            raise _ReadTooSlow("response too slow") from None
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bound = self._bound(timeout)
        try:
            return self.inner.read(max_bytes, bound)
        except httpcore.ReadTimeout:
            if bound is not None and (timeout is None or bound < timeout):  # the deadline cut it
                raise _ReadTooSlow("response too slow") from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self._bound(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, self._bound(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self.inner.connect_tcp(
            host, port, _DeadlineStream._bound(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self.inner.connect_unix_socket(path, _DeadlineStream._bound(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


#: Content codings decoded here, within the size limit (and the only ones a client asks for).
_DECODERS: dict[str, int] = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _decode(chunks: Iterator[bytes], coding: str) -> Iterator[bytes]:
    """``chunks`` decoded from ``coding``, in pieces of at most 64 KiB whatever the ratio (a
    ``deflate`` body without zlib's header, as some servers send it, is read as raw deflate)."""
    decoder, first = zlib.decompressobj(_DECODERS[coding]), True
    for chunk in chunks:
        data = chunk
        while data:
            try:
                piece = decoder.decompress(data, 65536)
            except zlib.error as exc:
                if coding == "deflate" and first:
                    decoder, first = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                raise httpx.DecodingError(f"body declared {coding} but cannot be decoded: {exc}") from None
            first = False
            yield piece
            data = decoder.unconsumed_tail
    yield decoder.flush()


class _BoundedBodyStream:
    """A response body decoded and read within ``limit`` bytes and by ``deadline``."""

    def __init__(self, response: httpcore.Response, codings: list[str], limit: int, timeout: float) -> None:
        self.response, self.codings, self.limit = response, codings, limit
        self.deadline = time.monotonic() + timeout

    def __iter__(self) -> Iterator[bytes]:
        chunks: Iterator[bytes] = iter(self.response.stream)  # type: ignore[arg-type]
        for coding in reversed(self.codings):  # the last coding applied is undone first
            chunks = _decode(chunks, coding)
        received = 0
        for chunk in chunks:
            received += len(chunk)
            if received > self.limit:
                raise BodyTooLarge(self.response.status, self.limit)
            if time.monotonic() > self.deadline:
                raise ResponseTooSlow(f"body not complete within the deadline ({received} bytes so far)")
            if chunk:
                yield chunk

    def close(self) -> None:
        self.response.close()


class _BoundedPool:
    """httpcore's pool, each request bounded: headers within ``timeout`` of sending, the body
    (decoded here, so its content coding is gone from the headers) within ``timeout`` more and
    ``max_body_bytes``. Recording reads bodies below the client (vcrpy patches the transport), so
    the bounds must hold here, where every reader gets its bytes."""

    def __init__(self, inner: Any, policy: RequestPolicy) -> None:
        self.inner, self.policy = inner, policy

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        _set_deadline(HEADERS_WITHIN * self.policy.timeout)
        try:
            response = self.inner.handle_request(request)
        finally:
            _set_deadline(None)
        codings = [
            c.strip().lower()
            for name, value in response.headers
            if name.lower() == b"content-encoding"
            for c in value.decode("latin-1").split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        unknown = [c for c in codings if c not in _DECODERS]
        if unknown:
            response.close()
            raise httpx.DecodingError(f"unsupported content coding {unknown[0]!r} (asked for gzip, deflate)")
        headers = [(n, v) for n, v in response.headers if not codings or n.lower() not in _CODED_HEADERS]
        body = _BoundedBodyStream(response, codings, self.policy.max_body_bytes, self.policy.timeout)
        return httpcore.Response(
            response.status,
            headers=headers,
            content=_DeadlineIterable(body, self.policy.timeout),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> _BoundedPool:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


#: Headers that describe the coded body, not the decoded one this pool hands on.
_CODED_HEADERS = (b"content-encoding", b"content-length")


class _DeadlineIterable:
    """Reads of the body run under the body's deadline (set while each chunk is read)."""

    def __init__(self, body: _BoundedBodyStream, timeout: float) -> None:
        self.body, self.timeout = body, timeout

    def __iter__(self) -> Iterator[bytes]:
        iterator = iter(self.body)
        while True:
            _deadline.at = self.body.deadline
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                _deadline.at = None
            yield chunk

    def close(self) -> None:
        self.body.close()


class _BoundedTransport(httpx.HTTPTransport):
    """``httpx``'s transport over a ``_BoundedPool`` with deadline-bound connections."""

    def __init__(self, policy: RequestPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        if not hasattr(pool, "_network_backend"):  # pragma: no cover - an httpcore we do not know
            raise RuntimeError("this httpcore version cannot bound requests in time")
        pool._network_backend = _DeadlineBackend(pool._network_backend)
        self._pool = _BoundedPool(pool, policy)  # type: ignore[assignment]


class _Watchdog:
    """One thread that runs callbacks at their deadlines; a disarmed one never runs."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._armed: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, callback: Callable[[], None]) -> int:
        with self._ready:
            token = next(self._tokens)
            heapq.heappush(self._queue, (time.monotonic() + seconds, token, callback))
            self._armed.add(token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="request-deadlines", daemon=True)
                self._thread.start()
            self._ready.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._ready:
            self._armed.discard(token)

    def _watch(self) -> None:
        while True:
            with self._ready:
                while True:
                    while self._queue and self._queue[0][1] not in self._armed:
                        heapq.heappop(self._queue)
                    if not self._queue:
                        self._ready.wait()
                        continue
                    delay = self._queue[0][0] - time.monotonic()
                    if delay <= 0:
                        _, token, callback = heapq.heappop(self._queue)
                        self._armed.discard(token)
                        break
                    self._ready.wait(delay)
            with suppress(Exception):
                callback()


_WATCHDOG = _Watchdog()


@dataclass
class _Expiry:
    """The deadline of one request on a ``urllib3`` connection."""

    token: int | None = None
    expired: bool = False


class _BoundedConnection:
    """A ``urllib3`` connection whose every response is bounded as a whole, whoever reads it
    (schemathesis' probes read bodies without any hook): the status line and headers within
    ``HEADERS_WITHIN`` read timeouts of sending, the body within one more and within
    ``max_body_bytes`` decoded. At a deadline the socket is shut down, so no wait outlives it."""

    sock: socket.socket | None
    timeout: Any
    max_body_bytes: int = MAX_BODY_BYTES
    _expiry: _Expiry | None = None

    def _seconds(self) -> float | None:
        return self.timeout if isinstance(self.timeout, int | float) and self.timeout > 0 else None

    def _arm(self, seconds: float | None) -> _Expiry:
        self._disarm()
        expiry = self._expiry = _Expiry()
        if seconds:
            expiry.token = _WATCHDOG.arm(seconds, lambda: self._expire(expiry))
        return expiry

    def request(self, *args: Any, **kwargs: Any) -> None:
        seconds = self._seconds()
        self._arm(HEADERS_WITHIN * seconds if seconds else None)
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._disarm()
            raise

    def _expire(self, expiry: _Expiry) -> None:
        expiry.expired = True
        if self._expiry is expiry and self.sock is not None:
            with suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def getresponse(self) -> Any:
        expiry = self._expiry
        try:
            if expiry is not None and expiry.expired:  # it passed while connecting or sending
                self._expire(expiry)
            response = super().getresponse()  # type: ignore[misc]
        except Exception as exc:
            self._disarm()
            if expiry is not None and expiry.expired:
                raise HeadersTooSlow(
                    f"no response headers within {HEADERS_WITHIN * self.timeout:g} s"
                ) from exc
            raise
        body = self._arm(self._seconds())  # the body phase: one more read timeout in all
        response.stream = self._bounded_stream(response, body)
        return response

    def _bounded_stream(self, response: Any, expiry: _Expiry) -> Callable[..., Iterator[bytes]]:
        original, limit = response.stream, self.max_body_bytes

        def stream(amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
            received = 0
            try:
                for chunk in original(amt, decode_content):
                    received += len(chunk)
                    if received > limit:
                        response.close()
                        raise BodyTooLarge(response.status, limit)
                    yield chunk
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if expiry.expired and not isinstance(exc, BodyTooLarge):
                    raise ResponseTooSlow(
                        f"body not complete within the deadline ({received} bytes)"
                    ) from exc
                raise
            finally:
                if self._expiry is expiry:
                    self._disarm()
            if expiry.expired:  # the socket was shut down: what arrived is not the whole body
                raise ResponseTooSlow(f"body not complete within the deadline ({received} bytes)")

        return stream

    def _disarm(self) -> None:
        expiry, self._expiry = self._expiry, None
        if expiry is not None and expiry.token is not None:
            _WATCHDOG.disarm(expiry.token)


class _BoundedHTTP(_BoundedConnection, urllib3.connection.HTTPConnection):
    pass


class _BoundedHTTPS(_BoundedConnection, urllib3.connection.HTTPSConnection):
    pass


@contextmanager
def bounded_headers(max_body_bytes: int = MAX_BODY_BYTES) -> Iterator[None]:
    """Within the block, every ``urllib3`` connection (``requests``, so all of schemathesis: its
    probes, its cases, its own retries) is a ``_BoundedConnection``: a trickle, endless
    ``100 Continue``, an endless or huge body is cut off at its bound (``response too slow``,
    ``body-too-large``) instead of holding the run or its memory."""
    http, https = urllib3.connectionpool.HTTPConnectionPool, urllib3.connectionpool.HTTPSConnectionPool
    previous = http.ConnectionCls, https.ConnectionCls
    limit = {"max_body_bytes": max_body_bytes}
    http.ConnectionCls = type("_BoundedHTTP", (_BoundedHTTP,), limit)
    https.ConnectionCls = type("_BoundedHTTPS", (_BoundedHTTPS,), limit)
    try:
        yield
    finally:
        http.ConnectionCls, https.ConnectionCls = previous
