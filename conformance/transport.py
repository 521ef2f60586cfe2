"""Requests that get no usable response, and bodies read within bounds.

A nightly run meets servers that refuse, reset, hang, trickle, loop on redirects or answer
with 50 MB. None of that may crash or stall the run: each such request becomes a finding of
kind ``transport-error`` (no response, with a short stable cause as its observed value) or
``body-too-large`` (a response the checks decline to read past ``max_body_bytes``).
"""

from __future__ import annotations

import errno
import http.client
import shlex
import socket
import time
from collections.abc import Iterator
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
        parts += ["-H", f"{name}: {value}"]
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
