"""Reading and writing vcrpy cassettes, and telling which API an interaction belongs to.

Reading must survive any file: a bad file or interaction becomes one line naming it, never a
traceback. Cassettes are parsed with vcrpy's own safe loader, which understands the explicit
tags vcrpy writes (``!!binary`` bodies), so a cassette reads exactly as vcrpy would read it.
"""

from __future__ import annotations

import gzip
import shlex
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from vcr.serializers import yamlserializer

from ..apis import APIS
from ..errors import ConformanceError
from ..redact import Redactor
from ..specs import Operation, Spec, load_spec

#: Request header that carries, in documented cassettes, the seed section an example comes from.
SOURCE_HEADER = "X-Conformance-Source"
CASSETTE_SUFFIXES = (".yaml", ".yml")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class CassetteError(ConformanceError):
    """A cassette file cannot be read at all; the message names the file."""


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded request and its response, as the checks need them."""

    file: Path
    index: int
    method: str
    uri: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int
    response_headers: dict[str, str]
    body: bytes

    @property
    def where(self) -> str:
        return f"{self.file}: interaction {self.index}"

    @property
    def source(self) -> str | None:
        """The seed section a documented interaction cites."""
        return self.request_headers.get(SOURCE_HEADER)

    def curl(self, redactor: Redactor) -> str:
        """A reproducing curl line, redacted (recordings are redacted already; this is a second lock)."""
        parts = ["curl", "-X", self.method, redactor.text(self.uri)]
        for name, value in self.request_headers.items():
            parts += ["-H", f"{name}: {redactor.header(name, value)}"]
        if self.request_body:
            parts += ["-d", str(redactor.body(self.request_body))]
        return shlex.join(parts)


def cassette_files(paths: list[Path]) -> Iterator[Path]:
    """Cassette files named directly, or found (sorted) under named directories."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in CASSETTE_SUFFIXES and p.is_file())
        elif path.exists():
            yield path
        else:
            raise CassetteError(f"{path}: no such file or directory")


def parse_document(path: Path) -> Any:
    """The parsed YAML of a cassette file; unreadable or invalid YAML is a ``CassetteError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CassetteError(f"{path}: not a text file (cassettes are UTF-8 YAML)") from None
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _parse_text(path, text)


def _parse_text(path: Path, text: str) -> Any:
    try:
        return yamlserializer.deserialize(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise CassetteError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None


def load_cassette(path: Path) -> tuple[list[Interaction], list[str]]:
    """The interactions of a cassette, and one line per interaction that could not be read."""
    return _interactions(path, parse_document(path))


def _interactions(path: Path, document: Any) -> tuple[list[Interaction], list[str]]:
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise CassetteError(f"{path}: not a vcrpy cassette (no 'interactions' list at the top level)")
    interactions: list[Interaction] = []
    problems: list[str] = []
    for index, raw in enumerate(document["interactions"], start=1):
        try:
            interactions.append(_interaction(path, index, raw))
        except InteractionError as exc:
            problems.append(f"{path}: interaction {index}: {exc}")
    return interactions, problems


class InteractionError(Exception):
    """One interaction cannot be judged: a key is missing, a value is malformed, no API fits."""


def _get(node: Any, *keys: str) -> Any:
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise InteractionError(f"missing {'.'.join(keys[: depth + 1])}")
        node = node[key]
    return node


def _interaction(path: Path, index: int, raw: Any) -> Interaction:
    method, uri = _get(raw, "request", "method"), _get(raw, "request", "uri")
    status = _get(raw, "response", "status", "code")
    body = _get(raw, "response", "body", "string")
    if not isinstance(method, str) or not isinstance(uri, str):
        raise InteractionError("request.method and request.uri must be strings")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InteractionError(f"response.status.code {status!r} is not an HTTP status code")
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        raise InteractionError("response.body.string is not text")
    request = raw["request"]
    response_headers = _headers(raw["response"].get("headers"), "response.headers")
    return Interaction(
        file=path,
        index=index,
        method=method.upper(),
        uri=uri,
        request_headers=_headers(request.get("headers"), "request.headers"),
        request_body=_text(request.get("body")),
        status=status,
        response_headers=response_headers,
        body=_decoded(body, response_headers),
    )


def _headers(raw: Any, where: str) -> dict[str, str]:
    """vcrpy stores each header as a list of values; checks see the first, as in a live run."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InteractionError(f"{where} is not a mapping")
    headers: dict[str, str] = {}
    for name, values in raw.items():
        value = values[0] if isinstance(values, list) and values else values
        if not isinstance(value, str):
            raise InteractionError(f"{where}.{name}")
        headers[str(name)] = value
    return headers


def _text(body: Any) -> str | None:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else None


def _decoded(body: bytes, headers: Mapping[str, str]) -> bytes:
    """Undo a gzip/deflate content encoding the way an HTTP client would before judging the body."""
    encoding = next((v.lower() for k, v in headers.items() if k.lower() == "content-encoding"), "")
    if "gzip" not in encoding and "deflate" not in encoding and not body.startswith(b"\x1f\x8b"):
        return body
    try:
        return gzip.decompress(body) if body.startswith(b"\x1f\x8b") else zlib.decompress(body)
    except (OSError, EOFError, zlib.error):
        raise InteractionError(f"body declared {encoding or 'gzip'} but cannot be decompressed") from None


def write_cassette(path: Path, interactions: list[dict[str, Any]]) -> None:
    """Write interactions (vcrpy's dict form) with vcrpy's own serializer, in one step."""
    from ..results import write_atomic

    write_atomic(path, yamlserializer.serialize({"interactions": interactions, "version": 1}))


@dataclass(frozen=True)
class Target:
    """Where an interaction lands in a contract."""

    spec: Spec
    operation: Operation
    base_url: str


class ApiResolver:
    """Maps request URIs to (API, operation): by vendor host, or by path on loopback hosts."""

    def __init__(self, api: str | None = None) -> None:
        self.forced = api
        self.specs = {name: load_spec(name) for name in ([api] if api else list(APIS))}
        self.hosts = {
            urlsplit(server["url"]).hostname: name
            for name, spec in self.specs.items()
            for server in spec.document.get("servers", [])
            if urlsplit(server["url"]).hostname not in LOOPBACK_HOSTS
        }

    def resolve(self, interaction: Interaction) -> Target:
        """The operation the interaction exercised; ``InteractionError`` with the reason otherwise."""
        parts = urlsplit(interaction.uri)
        if not parts.scheme or not parts.hostname:
            raise InteractionError(f"request.uri {interaction.uri!r} is not an absolute URL")
        return self._resolve(interaction.method, parts.scheme, parts.netloc, parts.hostname, parts.path)

    def _resolve(self, method: str, scheme: str, netloc: str, host: str, path: str) -> Target:
        if self.forced:
            candidates = list(self.specs)
        elif host in self.hosts:
            candidates = [self.hosts[host]]
        elif host in LOOPBACK_HOSTS:
            candidates = list(self.specs)
        else:
            raise InteractionError(f"unknown host {host!r}: no vendor's host; pass --api to judge it")
        matches = []
        for name in candidates:
            spec = self.specs[name]
            found = spec.locate(method, path)  # each operation under its own server path
            if found:
                matches.append(Target(spec, found[0], f"{scheme}://{netloc}{spec.base_path}"))
        if len(matches) == 1:
            return matches[0]
        if not matches:
            scope = candidates[0] if len(candidates) == 1 else "any API"
            raise InteractionError(f"{method} {path} is no operation of {scope}")
        names = ", ".join(m.spec.api.name for m in matches)
        raise InteractionError(f"{method} {path} matches several APIs ({names}); pass --api")
