"""The known-deviation catalogue: every place the vendors' documents contradict themselves.

Entries live in ``specs/quirks/<api>.yaml``. An entry that can show up in traffic names
the operations and locations where it does, and what the contract says vs what the
documents show; the classifier matches deviations against exactly those values. Each entry
cites the vendor's public pages by their ``https`` URL (the file's ``documents``), so a
reader of a report can open the very page that contradicts itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

import jsonpointer

from conformance.bounds import MAX_BODY_BYTES
from conformance.contract.specs import load_yaml
from conformance.errors import CatalogueError
from conformance.findings import Deviation
from conformance.kinds import KINDS, Compare, kind_of, observable_kinds, signature
from conformance.validation import errors
from conformance.vendors.registry import ApiInfo, get_api

_NAMES: dict[str, Any] = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
#: What else an exchange must show for an entry to apply: values of the request body (by JSON
#: pointer), and members the object holding the deviation lacks (``absent``) or has (``present``).
_CONDITIONS: dict[str, Any] = {
    "request": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": "^(/[^/]+)+$"},
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    },
    "object": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {"absent": _NAMES, "present": _NAMES},
    },
}
_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["api", "documents", "quirks"],
    "additionalProperties": False,
    "properties": {
        "api": {"type": "string"},
        "documents": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["title", "url"],
                "additionalProperties": False,
                "properties": {
                    "title": {"type": "string", "minLength": 1},
                    "url": {"type": "string", "pattern": "^https://[^\\s\"'<>]+$"},
                    # operationId -> the section that documents it: what a new finding contradicts
                    "operations": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "minLength": 1},
                    },
                },
            },
        },
        "quirks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "kind",
                    "summary",
                    "operations",
                    "locations",
                    "contract",
                    "documented",
                    "citations",
                ],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"},
                    "kind": {"enum": sorted(KINDS)},
                    "summary": {"type": "string", "minLength": 1},
                    "operations": {"type": "array", "items": {"type": "string"}},
                    "locations": {"type": "array", "items": {"type": "string"}},
                    "status_codes": {"type": "array", "items": {"type": "integer"}},
                    "contract": {},
                    "documented": {},
                    "reproduced": {"type": "boolean"},
                    **_CONDITIONS,
                    "manifests": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["kind", "locations", "contract", "documented"],
                            "additionalProperties": False,
                            "properties": {
                                "kind": {"enum": observable_kinds()},
                                "operations": {"type": "array", "items": {"type": "string"}},
                                "locations": {"type": "array", "items": {"type": "string"}},
                                "contract": {},
                                "documented": {},
                                **_CONDITIONS,
                            },
                        },
                    },
                    "citations": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["document", "section"],
                            "additionalProperties": False,
                            "properties": {"document": {"type": "string"}, "section": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as far as an entry's conditions need them: the request body
    as sent (decoded JSON, or its text) and the response body decoded. A deviation judged without
    them (a replay without request bodies, a probe) meets no condition: what is not seen is not
    excused."""

    request: Any = None
    response: Any = None

    @cached_property
    def request_json(self) -> Any:
        """The request body decoded (once: every catalogue entry with a request condition, the
        sightings and the profile read it); ``None`` when there was none, or it is no JSON."""
        raw = self.request
        if not isinstance(raw, (str, bytes, bytearray)):
            return raw
        if not raw or len(raw) > MAX_BODY_BYTES:
            return None  # none sent (most requests; an error raised to say so costs more than a read)
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return None


@lru_cache(maxsize=1024)
def pointer_steps(pointer: str) -> tuple[str, ...]:
    """A JSON pointer's steps, unescaped once: the same few pointers are read for every response.
    One that is no JSON pointer raises ``jsonpointer.JsonPointerException`` (and is read again)."""
    return tuple(jsonpointer.JsonPointer(pointer).parts)


def nodes(instance: Any, parts: list[str] | tuple[str, ...]) -> list[Any]:
    """Every value ``parts`` (``*`` for any array item) point at in ``instance``."""
    found = [instance]
    for part in parts:
        following = []
        for node in found:
            if isinstance(node, list) and part == "*":
                following += node
            elif isinstance(node, dict) and part in node:
                following.append(node[part])
        found = following
    return found


def _pointed(instance: Any, pointer: str) -> Any:
    """The value at ``pointer`` in ``instance``; a sentinel that equals nothing when there is none."""
    return jsonpointer.resolve_pointer(instance, pointer, _NOTHING)


_NOTHING = object()


@dataclass(frozen=True)
class Condition:
    """What else an exchange must show for an entry to apply, where one operation answers several
    documented requests (the deprecated ``POST /v1/requests`` starts and cancels) or an example
    shows several members missing *together* (a placeholder item)."""

    #: (JSON pointer into the request body, the value it must have).
    request: tuple[tuple[str, Any], ...] = ()
    #: Members the object holding the deviation's member lacks, and has.
    absent: tuple[str, ...] = ()
    present: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: dict[str, Any], default: Condition | None = None) -> Condition:
        """The conditions ``raw`` (an entry or a manifest) names; each one it omits is ``default``'s."""
        base = default or cls()
        shape = raw.get("object")
        return cls(
            tuple(raw["request"].items()) if "request" in raw else base.request,
            tuple(shape.get("absent", ())) if shape else base.absent,
            tuple(shape.get("present", ())) if shape else base.present,
        )

    def applies(self, exchange: Exchange | None) -> bool:
        """Whether the request was one the entry documents (the answer aside)."""
        if not self.request:
            return True
        body = exchange.request_json if exchange else None
        return all(_pointed(body, pointer) == value for pointer, value in self.request)

    def holds(self, deviation: Deviation, exchange: Exchange | None) -> bool:
        """Whether the request was one the entry documents and every object that shows
        ``deviation`` lacks and has the members the document shows it lacking and having."""
        if not self.applies(exchange):
            return False
        if not (self.absent or self.present):
            return True
        if exchange is None or not deviation.location.startswith("/"):
            return False
        *parent, member = pointer_steps(deviation.location)
        holders = [
            node
            for node in nodes(exchange.response, parent)
            if isinstance(node, dict) and _shows(node, member, deviation)
        ]
        return bool(holders) and all(
            not any(name in node for name in self.absent) and all(name in node for name in self.present)
            for node in holders
        )


def _shows(node: dict[str, Any], member: str, deviation: Deviation) -> bool:
    """Whether the object ``node`` shows ``deviation`` about its ``member``."""
    if deviation.kind == "missing-field":
        return member not in node
    if deviation.kind == "field-name-alias":
        return str(deviation.observed) in node
    if member not in node:
        return False
    return (
        kind_of(deviation.kind).compare is Compare.LOCATION
        or signature(deviation.kind, node[member]) == deviation.signatures[1]
    )


@dataclass(frozen=True)
class Manifest:
    """How a documented inconsistency shows in traffic: the deviation it produces, exactly."""

    kind: str
    operations: tuple[str, ...]
    locations: tuple[str, ...]
    contract: Any
    documented: Any
    when: Condition = Condition()

    def matches(
        self, deviation: Deviation, status_codes: tuple[int, ...], exchange: Exchange | None = None
    ) -> bool:
        if (
            deviation.kind != self.kind
            or deviation.operation not in self.operations
            or deviation.location not in self.locations
            or (status_codes and deviation.status_code not in status_codes)
        ):
            return False
        if self._signatures is not None and deviation.signatures != self._signatures:
            return False
        return self.when.holds(deviation, exchange)

    @cached_property
    def _signatures(self) -> tuple[str, str] | None:
        """The contract's and the documents' values as the kind compares them (``None``: by place)."""
        if kind_of(self.kind).compare is Compare.LOCATION:
            return None
        return signature(self.kind, self.contract), signature(self.kind, self.documented)


@dataclass(frozen=True)
class Document:
    """A vendor's public page, as the catalogue's ``documents`` names it: its title and ``https``
    URL, and the section of it that documents each operation it documents."""

    title: str
    url: str
    operations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """Where a vendor's public page says what an entry quotes: the page and the place in it."""

    title: str
    url: str
    section: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url, "section": self.section}


@dataclass(frozen=True)
class Quirk:
    """One documented inconsistency, with where it applies and what it looks like."""

    id: str
    api: str
    kind: str
    summary: str
    operations: tuple[str, ...]
    locations: tuple[str, ...]
    contract: Any
    documented: Any
    citations: tuple[Citation, ...]
    status_codes: tuple[int, ...] = ()
    reproduced: bool = False
    manifests: tuple[Manifest, ...] = ()
    when: Condition = Condition()

    @property
    def citation(self) -> str:
        """All citations as one line: ``page § section; page § section``."""
        return "; ".join(f"{c.title} § {c.section}" for c in self.citations)

    @cached_property
    def observable(self) -> tuple[Manifest, ...]:
        """The entry itself when its kind is seen in traffic, plus its declared manifests."""
        own = (
            (Manifest(self.kind, self.operations, self.locations, self.contract, self.documented, self.when),)
            if kind_of(self.kind).observable
            else ()
        )
        return own + self.manifests

    def matches(self, deviation: Deviation, exchange: Exchange | None = None) -> bool:
        """True when this entry explains ``deviation`` exactly: operation, location, kind, values,
        status and, where the entry names them, what the exchange must show besides."""
        return any(manifest.matches(deviation, self.status_codes, exchange) for manifest in self.observable)


class Catalogue:
    """All quirks of one API, looked up by deviation, and the vendor pages they cite."""

    def __init__(self, api: str, quirks: list[Quirk], documents: dict[str, Document] | None = None) -> None:
        self.api = api
        self.quirks = quirks
        #: The file's ``documents``: key -> the public page it names.
        self.documents = documents or {}
        self.by_id = {quirk.id: quirk for quirk in quirks}
        #: The entries seen in traffic, in file order, by a kind and an operation of their manifests:
        #: a deviation is held against the entries that could match it alone.
        self._runtime: dict[tuple[str, str], list[Quirk]] = {}
        for quirk in quirks:
            for way in dict.fromkeys((m.kind, op) for m in quirk.observable for op in m.operations):
                self._runtime.setdefault(way, []).append(quirk)

    def match(self, deviation: Deviation, exchange: Exchange | None = None) -> Quirk | None:
        """The entry that explains ``deviation`` (seen in ``exchange``), if one does."""
        for quirk in self._runtime.get((deviation.kind, deviation.operation), ()):
            if quirk.matches(deviation, exchange):
                return quirk
        return None

    def sections(self, operation: str) -> list[Citation]:
        """Where the vendor's pages document ``operation``: what a new finding there contradicts."""
        return [
            Citation(page.title, page.url, page.operations[operation])
            for page in self.documents.values()
            if operation in page.operations
        ]


def parse_catalogue(api: ApiInfo, data: Any, source: Path) -> Catalogue:
    """Validate raw catalogue data; the first problem becomes a ``CatalogueError`` naming the entry."""
    error = next(iter(sorted(errors(_ENTRY_SCHEMA, data), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise CatalogueError(f"{source}: malformed catalogue at {where}: {error.message}")
    if data["api"] != api.name:
        raise CatalogueError(f"{source}: catalogue is for {data['api']!r}, expected {api.name!r}")
    documents = data["documents"]
    quirks: list[Quirk] = []
    seen: set[str] = set()
    for raw in data["quirks"]:
        if raw["id"] in seen:
            raise CatalogueError(f"{source}: duplicate quirk id {raw['id']}")
        seen.add(raw["id"])
        unknown = next((c["document"] for c in raw["citations"] if c["document"] not in documents), None)
        if unknown is not None:
            raise CatalogueError(f"{source}: {raw['id']} cites {unknown!r}, which is not under documents")
        when = Condition.parse(raw)
        quirks.append(
            Quirk(
                id=raw["id"],
                api=api.name,
                kind=raw["kind"],
                summary=raw["summary"],
                operations=tuple(raw["operations"]),
                locations=tuple(raw["locations"]),
                contract=raw["contract"],
                documented=raw["documented"],
                citations=tuple(
                    Citation(documents[c["document"]]["title"], documents[c["document"]]["url"], c["section"])
                    for c in raw["citations"]
                ),
                status_codes=tuple(raw.get("status_codes", ())),
                reproduced=raw.get("reproduced", False),
                when=when,
                manifests=tuple(
                    Manifest(
                        m["kind"],
                        tuple(m.get("operations", raw["operations"])),
                        tuple(m["locations"]),
                        m["contract"],
                        m["documented"],
                        Condition.parse(m, when),
                    )
                    for m in raw.get("manifests", ())
                ),
            )
        )
    return Catalogue(
        api.name,
        quirks,
        {
            key: Document(page["title"], page["url"], dict(page.get("operations", {})))
            for key, page in documents.items()
        },
    )


def load_catalogue_file(api: ApiInfo, path: Path) -> Catalogue:
    return parse_catalogue(api, load_yaml(path, CatalogueError), path)


@cache
def load_catalogue(name: str) -> Catalogue:
    """The bundled catalogue of API ``name`` (parsed once per process)."""
    api = get_api(name)
    return load_catalogue_file(api, api.quirks_path)
