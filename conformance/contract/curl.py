"""Reproducing curl lines: how a finding shows the request that found it.

Every line is built here, whether the request was sent by the engine, recorded in a cassette or
failed on the wire; callers redact a line before it is written anywhere, then
``credential_references`` puts the vendor's credential variable where the redacted credential
was, so an engineer can paste the line into a shell that holds it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.vendors.registry import ApiInfo


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


def credential_references(text: str, api: ApiInfo, placeholder: str) -> str:
    """``text``, redacted curl commands one a line, with the ``placeholder`` where ``api`` carries its
    credential (its header, its query parameter) read from the vendor's variable instead: ``-H
    "x-api-key: ${KOGNITOS_API_KEY}"``, in double quotes so that the shell expands it. A line that is
    no curl command (or holds no such placeholder) is kept as it is."""
    return "\n".join(_with_references(line, api, placeholder) for line in text.split("\n"))


def _with_references(line: str, api: ApiInfo, placeholder: str) -> str:
    try:
        parts = shlex.split(line)
    except ValueError:
        return line
    if not parts or parts[0] != "curl":
        return line
    words = [_referenced(part, api, placeholder) for part in parts]
    if all(word is None for word in words):
        return line
    return " ".join(
        shlex.quote(part) if word is None else word for part, word in zip(parts, words, strict=True)
    )


def _referenced(part: str, api: ApiInfo, placeholder: str) -> str | None:
    """One word of a curl command with the credential read from the variable, or ``None``."""
    marker = "\0"
    for carrier in api.carriers:
        if carrier.where == "header":
            name, _, value = part.partition(":")
            if name.strip().lower() == carrier.name.lower() and value.strip() in (
                placeholder,
                f"{carrier.prefix}{placeholder}",
            ):
                return _double_quoted(f"{name}: {carrier.prefix}{marker}", marker, api.credential_env)
        elif carrier.where == "query" and "://" in part:
            pattern = rf"([?&]{re.escape(carrier.name)}=){re.escape(placeholder)}(?=[&#]|$)"
            if re.search(pattern, part):
                return _double_quoted(re.sub(pattern, rf"\g<1>{marker}", part), marker, api.credential_env)
    return None


def _double_quoted(text: str, marker: str, variable: str) -> str:
    """``text`` in double quotes (what the shell would expand escaped), the marker as ``${variable}``."""
    escaped = "".join(f"\\{c}" if c in '\\$`"' else c for c in text)
    return '"' + escaped.replace(marker, "${" + variable + "}") + '"'
