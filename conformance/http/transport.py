"""Every ``httpx`` request bounded in time as a whole and its body in size.

A nightly run meets servers that refuse, reset, hang, trickle, loop on redirects or answer
with 50 MB. None of that may crash or stall the run. Every request is bounded in time as a
whole, not only per read: its status line and headers must arrive within ``HEADERS_WITHIN``
request timeouts of sending (a server that trickles its headers a byte a second, or sends
``100 Continue`` lines forever, is cut off there), and its body within ``timeout`` more. The
lifecycle, the probes and ``record`` send through ``BoundedTransport`` (in every
client ``http.polite`` makes), bounded at the socket by its network backend; schemathesis'
``requests`` are bounded by ``http.requests_bounds``. Bodies are decompressed here too, within
the size limit, so a small compressed bomb is ``body-too-large`` instead of gigabytes.
"""

from __future__ import annotations

import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

from conformance.bounds import ReadLimits, loads_json
from conformance.http.failures import BodyTooLarge, ReadTooSlow, ResponseTooSlow

#: The status line and headers must be complete within this many request timeouts of sending
#: (a silent server is a read timeout after one; a trickling one is cut off here), and the
#: body within one more: every request ends within ``(HEADERS_WITHIN + 1) * timeout``.
HEADERS_WITHIN = 2


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
    # the raw bytes: a header value outside ASCII (a latin-1 ``filename="café.pdf"``) is kept as sent
    headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
    return BoundedResponse(
        response.status_code, headers=headers, content=b"".join(chunks), request=response.request
    )


class BoundedResponse(httpx.Response):
    """A complete response whose ``json()`` parses within the JSON bounds: a body nested past
    ``MAX_JSON_DEPTH`` is a ``ValueError`` like any other body that is not JSON."""

    def json(self, **kwargs: Any) -> Any:
        return loads_json(self.content)


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
            raise ReadTooSlow("response too slow") from None
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bound = self._bound(timeout)
        try:
            return self.inner.read(max_bytes, bound)
        except httpcore.ReadTimeout:
            if bound is not None and (timeout is None or bound < timeout):  # the deadline cut it
                raise ReadTooSlow("response too slow") from None
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
#: The ``Accept-Encoding`` of every bounded client: what this module can decode.
ACCEPT_ENCODING = ", ".join(_DECODERS)
#: At most this many codings are undone (urllib3's bound too): each is a decoder stacked on the
#: last, so 1,500 stacked ``gzip`` would overflow the stack instead of being one finding.
MAX_CODINGS = 5


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
    ``body_limit`` bytes. Recording reads bodies below the client (vcrpy patches the transport), so
    the bounds must hold here, where every reader gets its bytes."""

    def __init__(self, inner: Any, timeout: float, body_limit: int) -> None:
        self.inner, self.timeout, self.body_limit = inner, timeout, body_limit

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        _set_deadline(HEADERS_WITHIN * self.timeout)
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
        if unknown or len(codings) > MAX_CODINGS:
            response.close()
            raise httpx.DecodingError(
                f"unsupported content coding {unknown[0][:40]!r} (asked for gzip, deflate)"
                if unknown
                else f"{len(codings)} content codings stacked (at most {MAX_CODINGS} are decoded)"
            )
        headers = [(n, v) for n, v in response.headers if not codings or n.lower() not in _CODED_HEADERS]
        body = _BoundedBodyStream(response, codings, self.body_limit, self.timeout)
        return httpcore.Response(
            response.status,
            headers=headers,
            content=_DeadlineIterable(body, self.timeout),
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


class BoundedTransport(httpx.HTTPTransport):
    """``httpx``'s transport over a ``_BoundedPool`` with deadline-bound connections: every request
    ends within ``(HEADERS_WITHIN + 1) * timeout``, its body decoded within ``limits.body_bytes``."""

    def __init__(self, timeout: float, limits: ReadLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        if not hasattr(pool, "_network_backend"):  # pragma: no cover - an httpcore we do not know
            raise RuntimeError("this httpcore version cannot bound requests in time")
        pool._network_backend = _DeadlineBackend(pool._network_backend)
        self._pool = _BoundedPool(pool, timeout, limits.body_bytes)  # type: ignore[assignment]
