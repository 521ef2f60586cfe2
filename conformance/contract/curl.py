"""Reproducing curl lines: how a finding shows the request that found it.

Every line is built here, whether the request was sent by the engine, recorded in a cassette or
failed on the wire; callers redact a line before it is written anywhere.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from typing import Any


def curl_line(method: str, url: str, headers: Iterable[tuple[str, str]], data: str | None = None) -> str:
    """A curl command that sends ``data`` (when not ``None``) with ``headers`` to ``url``."""
    parts = ["curl", "-X", method, url]
    for name, value in headers:
        parts += ["-H", f"{name}: {value}"]
    if data is not None:
        parts += ["-d", data]
    return shlex.join(parts)


def json_curl_line(method: str, url: str, headers: Mapping[str, str], body: Any = None) -> str:
    """A curl command that sends ``body`` (when not ``None``) as JSON."""
    if body is None:
        return curl_line(method.upper(), url, headers.items())
    sent = [*headers.items(), ("Content-Type", "application/json")]
    return curl_line(method.upper(), url, sent, json.dumps(body))
