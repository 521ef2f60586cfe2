"""Every ``requests`` response bounded in time as a whole and its body in size: schemathesis'
cases, probes and retries, which send through ``requests`` (``urllib3``).

``bounded_headers()`` bounds every ``urllib3`` connection opened within it (headers within
``HEADERS_WITHIN`` read timeouts, the body within one more and ``limits.body_bytes``), and
``bounded_body_hook`` reads a body as the engine parses it: within its bounds, and never a
JSON body nested deeper than ``MAX_JSON_DEPTH``. At a deadline the socket is shut down by one
watchdog thread, so no wait outlives it.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
import urllib3.connection
import urllib3.connectionpool

from conformance.bounds import DEFAULT_LIMITS, MAX_JSON_DEPTH, ReadLimits, json_depth
from conformance.http.failures import BodyNotJson, BodyTooLarge, HeadersTooSlow, ResponseTooSlow
from conformance.http.transport import HEADERS_WITHIN


class _BoundedBody:
    """Stands in for urllib3's response while ``requests`` reads the body: it reads what has
    arrived (``read1``) so a trickle cannot hold a read open, and it stops past the size limit or
    the deadline, closing the connection so nothing half-read goes back to the pool."""

    def __init__(self, response: requests.Response, limit: int, timeout: float) -> None:
        self._raw, self._response, self._limit = response.raw, response, limit
        self._timeout, self._deadline = timeout, time.monotonic() + timeout

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
            # worded as urllib3 words a timeout before the headers: schemathesis reads the seconds
            # out of that wording, and its whole run ended on urllib3's shorter "Read timed out."
            worded = f"Read timed out. (read timeout={self._timeout:g})"
            error = urllib3.exceptions.ReadTimeoutError(exc.pool, exc.url, worded)
            raise requests.exceptions.ReadTimeout(error, request=request) from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc, request=request) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc, request=request) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def bounded_body_hook(limit: int, timeout: float) -> Any:
    """A ``requests`` response hook: the body must fit in ``limit`` bytes and arrive within ``timeout``."""

    def bound(response: requests.Response, **_: Any) -> requests.Response:
        response.raw = _BoundedBody(response, limit, timeout)
        return response

    return bound


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
    ``body_limit`` bytes decoded. At a deadline the socket is shut down, so no wait outlives it."""

    sock: socket.socket | None
    timeout: Any
    body_limit: int = DEFAULT_LIMITS.body_bytes
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
        original, limit = response.stream, self.body_limit

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
def bounded_headers(limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[None]:
    """Within the block, every ``urllib3`` connection (``requests``, so all of schemathesis: its
    probes, its cases, its own retries) is a ``_BoundedConnection``: a trickle, endless
    ``100 Continue``, an endless or huge body is cut off at its bound (``response too slow``,
    ``body-too-large``) instead of holding the run or its memory."""
    http, https = urllib3.connectionpool.HTTPConnectionPool, urllib3.connectionpool.HTTPSConnectionPool
    previous = http.ConnectionCls, https.ConnectionCls
    limit = {"body_limit": limits.body_bytes}
    http.ConnectionCls = type("_BoundedHTTP", (_BoundedHTTP,), limit)
    https.ConnectionCls = type("_BoundedHTTPS", (_BoundedHTTPS,), limit)
    try:
        yield
    finally:
        http.ConnectionCls, https.ConnectionCls = previous
