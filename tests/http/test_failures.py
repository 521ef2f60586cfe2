"""An answer no check could read is one finding, whoever sent the request: the engine's session
and the lifecycle's caller word a body over the limit, a body nested too deep and no response at
all the same way (``http.failures.unanswered``)."""

from __future__ import annotations

import httpx
import requests

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.engine.session import ApiSession
from conformance.http.failures import BodyNotJson, BodyTooLarge, unanswered
from conformance.redact import Redactor

GET_RUN = load_spec("kognitos").operations["getRun"]


def test_a_body_over_the_limit_is_body_too_large_even_when_urllib3_wraps_it() -> None:
    direct = unanswered("kognitos", GET_RUN, BodyTooLarge(200, 1024))
    try:
        raise requests.exceptions.ChunkedEncodingError("broken") from BodyTooLarge(200, 1024)
    except requests.exceptions.ChunkedEncodingError as wrapped:
        assert unanswered("kognitos", GET_RUN, wrapped) == direct
    assert (direct.kind, direct.status_code, direct.observed) == (
        "body-too-large",
        200,
        "more than 1024 bytes",
    )


def test_a_deep_body_and_no_response_are_their_own_kinds() -> None:
    deep = unanswered("kognitos", GET_RUN, BodyNotJson(200, "nested deeper than 64 levels", 9000))
    assert (deep.kind, deep.expected) == ("invalid-json", "JSON")
    silent = unanswered("kognitos", GET_RUN, httpx.ReadTimeout("timed out"))
    assert (silent.kind, silent.status_code, silent.observed) == ("transport-error", None, "read timeout")


def test_the_session_records_the_same_finding() -> None:
    spec = load_spec("kognitos")
    session = ApiSession(spec, load_catalogue("kognitos"), Redactor([]))
    session.record_failed_request(GET_RUN, BodyTooLarge(200, 1024), "curl")
    [finding] = list(session.findings)
    expected = unanswered("kognitos", GET_RUN, BodyTooLarge(200, 1024))
    assert (finding.kind, finding.observed, finding.message) == (
        expected.kind,
        expected.observed,
        expected.message,
    )
    assert session.stats["getRun"].cases == 1  # a read status: judged, and counted
