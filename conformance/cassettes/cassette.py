"""Reading and writing vcrpy cassettes, and telling which API an interaction belongs to.

Reading must survive any file: a bad file or interaction becomes one line naming it, never a
traceback. Cassettes read exactly as vcrpy's own safe loader reads them (it understands the
explicit tags vcrpy writes, ``!!binary`` bodies). That loader builds every value in Python, about
1 MB/s; ``read_cassette`` reads one interaction at a time with the Rust YAML parser wherever it
reads the text as vcrpy's loader would (``_entry_spans``, ``alike.reads_alike``), else with vcrpy's loader.
"""

from __future__ import annotations

import functools
import itertools
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
import yaml_rs

from conformance.bounds import DEFAULT_LIMITS, ReadLimits, describe_size, printable, read_file
from conformance.cassettes.alike import AS_VCRPY_READS, reads_alike, shallow
from conformance.contract.curl import curl_line
from conformance.contract.model import Operation, Spec
from conformance.contract.specs import load_spec
from conformance.errors import ConformanceError
from conformance.redact import Redactor
from conformance.vendors.registry import APIS

#: Request header that carries, in documented cassettes, the public page and section an example comes from.
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
    #: The body's size as the cassette stores it (compressed, if it is).
    stored_size: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}: interaction {self.index}"

    @property
    def source(self) -> str | None:
        """The public page and section a documented interaction cites (``<url> § <section>``)."""
        return self.request_headers.get(SOURCE_HEADER)

    def curl(self, redactor: Redactor) -> str:
        """A reproducing curl line, redacted (recordings are redacted already; this is a second lock)."""
        headers = [(name, redactor.header(name, value)) for name, value in self.request_headers.items()]
        body = str(redactor.body(self.request_body)) if self.request_body else None
        return curl_line(self.method, redactor.text(self.uri), headers, body)


def cassette_files(paths: list[Path]) -> Iterator[Path]:
    """Cassette files named directly, or found (sorted) under named directories."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in CASSETTE_SUFFIXES and p.is_file())
        elif path.exists():
            yield path
        else:
            raise CassetteError(f"{path}: no such file or directory")


def parse_document(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Any:
    """The parsed YAML of a cassette file; unreadable, too large (more than ``limits.file_bytes``),
    too deeply nested or invalid YAML is a ``CassetteError``."""
    data = read_file(path, limits.file_bytes, CassetteError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CassetteError(f"{path}: not a text file (cassettes are UTF-8 YAML)") from None
    return _parse_text(path, text)


def _parse_text(path: Path, text: str) -> Any:
    from vcr.serializers import yamlserializer  # a tenth of a second to import; most files never need it

    try:
        return yamlserializer.deserialize(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = printable(str(getattr(exc, "problem", None) or exc))[:200]
        raise CassetteError(f"{path}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise CassetteError(f"{path}: nested too deeply to be a cassette") from None


def load_cassette(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[list[Interaction], list[str]]:
    """The interactions of a cassette, and one line per interaction that could not be read (all
    at once; ``read_cassette`` streams them)."""
    interactions: list[Interaction] = []
    problems: list[str] = []
    for item in read_cassette(path, limits):
        if isinstance(item, Interaction):
            interactions.append(item)
        else:
            problems.append(item)
    return interactions, problems


def cassette_text(
    path: Path, limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[str, list[tuple[int, int]] | None]:
    """A cassette's text and where its entries are in it (``_entry_spans``); unreadable, larger than
    ``limits.file_bytes`` or not UTF-8 is a ``CassetteError``. The bytes, as large as the text, are
    not kept."""
    data = read_file(path, limits.file_bytes, CassetteError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CassetteError(f"{path}: not a text file (cassettes are UTF-8 YAML)") from None
    return text, _entry_spans(path, text, data)


def read_cassette(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Interaction | str]:
    """The interactions of a cassette one at a time, and a line for each one that cannot be read.

    Bodies are decompressed to at most ``limits.body_bytes`` (a longer one is kept cut there, one
    byte past the limit, so the check reports ``body-too-large``), and the bodies as stored may
    not add up to more than the file may hold (YAML aliases repeating one large body). A file that
    cannot be read raises ``CassetteError``, possibly after some interactions were given: a
    caller that must judge a file whole or not at all keeps what it was given until the end."""
    text, spans = cassette_text(path, limits)
    yield from interactions(path, raw_interactions(path, text, spans), limits)


def interactions(
    path: Path, raws: Iterable[Any], limits: ReadLimits = DEFAULT_LIMITS, first: int = 1
) -> Iterator[Interaction | str]:
    """``read_cassette``'s interactions of entries as vcrpy's loader builds them, numbered from
    ``first``; a ``CassetteError`` once their stored bodies add up to more than a file may hold."""
    stored, budget = 0, limits.file_bytes
    for index, raw in enumerate(raws, start=first):
        try:
            interaction = _interaction(path, index, raw, limits)
        except InteractionError as exc:
            yield f"{path}: interaction {index}: {exc}"
            continue
        stored += interaction.stored_size
        if stored > budget:
            raise CassetteError(f"{path}: its bodies add up to more than {describe_size(budget)}; not read")
        yield interaction


#: What makes a file unfit to be read an interaction at a time by splitting its text: directives and
#: document markers (a second document), carriage returns and tabs (where a split could read lines
#: otherwise), and characters vcrpy's loader refuses (so that it reports them). Such a file is read
#: whole by vcrpy's loader, as before. Anchors and aliases need no search: an alias to another
#: interaction's anchor fails its entry read alone, and the whole file is then read by vcrpy's loader.
#: A line that starts a directive or a marker ends the entries (``_AFTER``), so it is looked for
#: only in the text after them; carriage returns and tabs, anywhere.
_BLOCKERS, _TAIL_BLOCKERS = ("\r", "\t"), ("\n%", "\n---", "\n...")
_PRINTABLE_ASCII = bytes([9, 10, *range(0x20, 0x7F)])
_UNREADABLE = re.compile("[^\x09\x0a\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ENTRY = re.compile(r"\n-(?=[ \n])")
#: The first line of the keys after the interactions (none of them an entry, a comment or indented).
_AFTER = re.compile(r"\n(?:[^\s#-]|-[^\s])")
_TOP = "interactions:\n"


class NotAlone(Exception):
    """An entry that does not read alone as one interaction: vcrpy's loader must read the whole file."""

    def __init__(self, number: int) -> None:
        super().__init__(f"entry {number + 1} does not read alone")
        self.number = number


def _entry_spans(path: Path, text: str, data: bytes) -> list[tuple[int, int]] | None:
    """Where each interaction's entry is in the text, when the file can be read an entry at a time
    (vcrpy writes ``interactions:`` first, then each interaction as a ``- `` entry at the start of
    a line); ``None`` when only vcrpy's loader reading the whole file can say what it holds."""
    after = _AFTER.search(text, len(_TOP) - 1)
    end = after.start() + 1 if after else len(text)
    starts = [match.start() + 1 for match in _ENTRY.finditer(text, len(_TOP) - 1, end)]
    if (
        not text.startswith(_TOP)
        or not starts
        or starts[0] != len(_TOP)
        or any(blocker in text for blocker in _BLOCKERS)
        or any(blocker in text[end - 1 :] for blocker in _TAIL_BLOCKERS)
        or not _printable(data, text)
        or not _plain_tail(path, text[end:])
    ):
        return None
    return list(itertools.pairwise([*starts, end]))


def entries(path: Path, text: str, spans: list[tuple[int, int]], first: int = 0) -> Iterator[Any]:
    """The entries at ``spans`` as vcrpy's loader builds them, each read alone (``NotAlone`` naming
    the first that does not read alone, counted from ``first``)."""
    for number, (start, stop) in enumerate(spans, start=first):
        chunk = text[start:stop]
        try:
            parsed = yaml_rs.loads(chunk, **AS_VCRPY_READS) if shallow(chunk) else None
            if not (isinstance(parsed, list) and len(parsed) == 1 and reads_alike(parsed[0], chunk)):
                parsed = _parse_text(path, chunk)  # vcrpy's loader reads this entry
        except (yaml_rs.YAMLDecodeError, CassetteError):
            parsed = None
        if not isinstance(parsed, list) or len(parsed) != 1:
            raise NotAlone(number)
        yield parsed[0]


def raw_interactions(path: Path, text: str, spans: list[tuple[int, int]] | None) -> Iterator[Any]:
    """The interactions of a cassette's text as vcrpy's loader builds them, one at a time where
    the text allows it, else all of them at once from vcrpy's loader."""
    number = 0
    if spans is not None:
        try:
            yield from entries(path, text, spans)
            return
        except NotAlone as alone:
            # Not one entry when read alone: the whole file, as vcrpy's loader reads it, decides (an
            # error naming its line, or the entries from this one on).
            number = alone.number
    yield from itertools.islice(_interaction_list(path, _parse_text(path, text)), number, None)


def _printable(data: bytes, text: str) -> bool:
    """Whether the text holds only characters vcrpy's loader reads (ASCII checked on the bytes)."""
    if data.isascii():
        return not data.translate(None, _PRINTABLE_ASCII)
    return not _UNREADABLE.search(text)


def _plain_tail(path: Path, text: str) -> bool:
    """Whether the keys after the interactions are readable and none is ``interactions`` again
    (vcrpy's own tail, ``version: 1``, is known without importing vcrpy: a third of a second)."""
    try:
        rest = {"version": 1} if text.strip() == "version: 1" else _parse_text(path, text)
    except CassetteError:
        return False
    return rest is None or (isinstance(rest, dict) and "interactions" not in rest)


def _interaction_list(path: Path, document: Any) -> list[Any]:
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise CassetteError(f"{path}: not a vcrpy cassette (no 'interactions' list at the top level)")
    return document["interactions"]


class InteractionError(Exception):
    """One interaction cannot be judged: a key is missing, a value is malformed, no API fits."""


class UnknownCall(InteractionError):
    """A call outside every contract: to another service's host, or to a path no operation has
    (``replay --skip-unknown`` counts it as skipped)."""


def _get(node: Any, *keys: str) -> Any:
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise InteractionError(f"missing {'.'.join(keys[: depth + 1])}")
        node = node[key]
    return node


def _essentials(raw: Any) -> tuple[Any, Any, Any, Any]:
    """The method, URI, status code and body of an entry; ``InteractionError`` naming the first
    one missing."""
    try:
        request, response = raw["request"], raw["response"]
        return request["method"], request["uri"], response["status"]["code"], response["body"]["string"]
    except (KeyError, TypeError):  # which one is missing (or not a mapping), as _get says it
        return (
            _get(raw, "request", "method"),
            _get(raw, "request", "uri"),
            _get(raw, "response", "status", "code"),
            _get(raw, "response", "body", "string"),
        )


@functools.lru_cache(maxsize=4096)
def _uri_problem(uri: str) -> str | None:
    """Why ``uri`` is no absolute URL, if it is not (recordings repeat URIs: each is checked once)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - an invalid port raises here
    except ValueError as exc:
        return f"request.uri is not a URL ({printable(str(exc))[:100]})"
    if not parts.scheme or not parts.hostname:
        return f"request.uri {printable(uri)[:200]!r} is not an absolute URL"
    return None


def _interaction(path: Path, index: int, raw: Any, limits: ReadLimits = DEFAULT_LIMITS) -> Interaction:
    method, uri, status, body = _essentials(raw)
    if not isinstance(method, str) or not isinstance(uri, str):
        raise InteractionError("request.method and request.uri must be strings")
    problem = _uri_problem(uri)
    if problem:
        raise InteractionError(problem)
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
        body=_decoded(body, response_headers, limits.body_bytes),
        stored_size=len(body),
    )


def _headers(raw: Any, where: str) -> dict[str, str]:
    """vcrpy stores each header as a list of values; checks see the first, as in a live run."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InteractionError(f"{where} is not a mapping")
    headers = {
        str(name): values[0] if type(values) is list and values else values for name, values in raw.items()
    }
    for name, value in headers.items():
        if not isinstance(value, str):
            raise InteractionError(f"{where}.{name}")
    return headers


def _text(body: Any) -> str | None:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else None


def _decoded(body: bytes, headers: Mapping[str, str], limit: int) -> bytes:
    """Undo a gzip/deflate content encoding the way an HTTP client would before judging the body,
    never past ``limit + 1`` bytes: a compressed bomb is cut there (and judged too large)."""
    encoding = next((v.lower() for k, v in headers.items() if k.lower() == "content-encoding"), "")
    if "gzip" not in encoding and "deflate" not in encoding and not body.startswith(b"\x1f\x8b"):
        return body
    wbits = 16 + zlib.MAX_WBITS if body.startswith(b"\x1f\x8b") else zlib.MAX_WBITS
    out, data = bytearray(), body
    try:
        while data and len(out) <= limit:  # member after member, as gzip.decompress reads them
            decoder = zlib.decompressobj(wbits)
            out += decoder.decompress(data, limit + 1 - len(out))
            if not decoder.eof and not decoder.unconsumed_tail and len(out) <= limit:
                raise zlib.error("truncated")
            data = decoder.unused_data if decoder.eof else b""
    except zlib.error:
        raise InteractionError(f"body declared {encoding or 'gzip'} but cannot be decompressed") from None
    return bytes(out[: limit + 1])


def write_cassette(path: Path, interactions: list[dict[str, Any]]) -> None:
    """Write interactions (vcrpy's dict form) with vcrpy's own serializer, in one step."""
    from vcr.serializers import yamlserializer

    from conformance.results.files import write_atomic

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
        problem = _uri_problem(interaction.uri)
        if problem:
            raise InteractionError(problem)
        parts = urlsplit(interaction.uri)
        return self._resolve(interaction.method, parts.scheme, parts.netloc, parts.hostname or "", parts.path)

    def _resolve(self, method: str, scheme: str, netloc: str, host: str, path: str) -> Target:
        if self.forced:
            candidates = list(self.specs)
        elif host in self.hosts:
            candidates = [self.hosts[host]]
        elif host in LOOPBACK_HOSTS:
            candidates = list(self.specs)
        else:
            raise UnknownCall(f"unknown host {host!r}: no vendor's host; pass --api to judge it")
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
            raise UnknownCall(f"{method} {path} is no operation of {scope}")
        names = ", ".join(m.spec.api.name for m in matches)
        raise InteractionError(f"{method} {path} matches several APIs ({names}); pass --api")
