"""Requests that got no usable response: the errors the bounds raise, and their stable causes.

A request that gets no response becomes a finding of kind ``transport-error`` with a short cause
that stays the same from one night to the next (``transport_cause``), so findings merge and diff;
a body past ``limits.body_bytes`` is ``body-too-large``. The bounds themselves are in
``http.transport`` (``httpx``) and ``http.requests_bounds`` (``requests``, so schemathesis).
"""

from __future__ import annotations

import errno
import http.client
import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import requests

from conformance.contract.curl import curl_line
from conformance.contract.model import Operation
from conformance.findings import Deviation
from conformance.kinds import BODY_TOO_LARGE, KINDS, TRANSPORT_ERROR


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


class ReadTooSlow(httpcore.ReadTimeout):
    """The deadline of a whole request passed while ``httpx`` read (httpcore keeps its type)."""


#: Stable causes, most specific first: the first type found in an error's chain names it.
_CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    ((ResponseTooSlow, HeadersTooSlow, ReadTooSlow), "response too slow"),
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
    ((httpx.DecodingError, requests.exceptions.ContentDecodingError), "undecodable body"),
)


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and every error behind it, nearest first (causes, contexts, urllib3's ``reason``,
    wrapped args)."""
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
    chain = list(causes(error))
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
    headers = [
        (name, value.decode("latin-1") if isinstance(value, bytes) else value)
        for name, value in request.headers.items()
    ]
    body = request.body
    data = (body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)) if body else None
    return curl_line(request.method, request.url, headers, data)


def is_transport_error(error: BaseException) -> bool:
    """Whether a request failed on the wire (rather than in the tool)."""
    return isinstance(error, requests.exceptions.RequestException | httpx.TransportError | OSError)


def unanswered(api: str, operation: Operation, error: BaseException) -> Deviation:
    """The finding of a request that got no answer a check could read, whoever sent it: a body
    over the limit (``body-too-large``), one nested too deep (``invalid-json``, as the contract
    check words a read body), or no response at all (``transport-error``, by its stable cause)."""
    too_large = next((e for e in causes(error) if isinstance(e, BodyTooLarge)), None)
    error = too_large or error  # urllib3 may wrap it, as a broken body
    if isinstance(error, BodyTooLarge):
        expected, observed = f"at most {error.limit} bytes", f"more than {error.limit} bytes"
        message = f"{operation.label}: {observed}: {error}"
        status = error.status_code
        return Deviation(api, operation.id, status, "", BODY_TOO_LARGE, expected, observed, message)
    if isinstance(error, BodyNotJson):
        message = f"the body ({error.size} bytes) is {error.problem}"
        invalid = KINDS["invalid-json"].name
        return Deviation(api, operation.id, error.status_code, "", invalid, "JSON", error.problem, message)
    cause = transport_cause(error)
    message = " ".join(f"{operation.label}: {cause}: {error}".split())[:300]
    return Deviation(api, operation.id, None, "", TRANSPORT_ERROR, "a response", cause, message)
