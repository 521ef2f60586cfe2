"""The suite's redacting recorder as vcrpy pieces a team's own pytest-recording session can use.

``conformance record`` passes the hooks here to vcrpy; the pytest plugin also writes every cassette
through ``RedactingPersister`` (a team's ``vcr_config`` may set hooks of its own, and still no
credential reaches the file), and matches requests by ``mock_origin`` and ``redacted_query``: a
mock gets a new port each session, and a live request carries the credential its recording does
not, so a cassette recorded in an earlier session must still play.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vcr.request import Request

from conformance.cassettes.cassette import LOOPBACK_HOSTS
from conformance.redact import PLACEHOLDER, Redactor


def redact_request(redactor: Redactor, request: Request) -> Request:
    """The request as a cassette may keep it: no userinfo, credential headers and values redacted."""
    parts = urlsplit(request.uri)  # a userinfo is a credential: a cassette keeps none
    request.uri = redactor.text(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
    for name in list(request.headers):
        request.headers[name] = redactor.header(name, request.headers[name])
    request.body = redactor.body(request.body)
    return request


def redact_response(redactor: Redactor, response: dict[str, Any]) -> dict[str, Any]:
    """The response as a cassette may keep it (vcrpy's dict: headers as lists, the body's string)."""
    response["headers"] = {
        name: [redactor.header(name, value) for value in values]
        for name, values in response.get("headers", {}).items()
    }
    response["body"]["string"] = redactor.body(response["body"]["string"])
    return response


class RedactingPersister:
    """vcrpy's persister (``persister``), writing each cassette through ``redactor``."""

    def __init__(self, persister: Any, redactor: Redactor) -> None:
        self.persister = persister
        self.redactor = redactor

    def load_cassette(self, cassette_path: str, serializer: Any) -> Any:
        return self.persister.load_cassette(cassette_path, serializer)

    def save_cassette(self, cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        redacted = {
            **cassette_dict,
            "requests": [redact_request(self.redactor, copy.deepcopy(r)) for r in cassette_dict["requests"]],
            "responses": [
                redact_response(self.redactor, copy.deepcopy(r)) for r in cassette_dict["responses"]
            ],
        }
        self.persister.save_cassette(cassette_path, redacted, serializer=serializer)


def mock_origin(served: Callable[[], Collection[tuple[str, int]]]) -> Callable[[Request, Request], None]:
    """A vcrpy matcher in place of ``host`` and ``port``: as they do, except that a request to a mock
    the session serves (``served``: its hosts and ports) matches one recorded at any loopback address."""

    def match(first: Request, second: Request) -> None:
        ends = [(first.host, first.port), (second.host, second.port)]
        if ends[0] == ends[1]:
            return
        mocks = served()
        if any(end in mocks for end in ends) and all(host in LOOPBACK_HOSTS for host, _ in ends):
            return
        raise AssertionError(f"{first.host}:{first.port} != {second.host}:{second.port}")

    return match


def redacted_query(redactor: Redactor) -> Callable[[Request, Request], None]:
    """A vcrpy matcher in place of ``query``: the queries as a cassette keeps them, redacted."""

    def written(request: Request) -> list[tuple[str, str]]:
        return [
            (name, PLACEHOLDER if redactor.is_secret_key(name) else redactor.text(value))
            for name, value in request.query
        ]

    def match(first: Request, second: Request) -> None:
        if written(first) != written(second):
            raise AssertionError(f"{written(first)} != {written(second)}")

    return match
