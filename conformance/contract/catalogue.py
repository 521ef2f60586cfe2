"""The known-deviation catalogue: every place the vendors' documents contradict themselves.

Entries live in ``specs/quirks/<api>.yaml``. An entry that can show up in traffic names
the operations and locations where it does, and what the contract says vs what the
documents show; the classifier matches deviations against exactly those values. Each entry
cites the vendor's public pages by their ``https`` URL (the file's ``documents``), so a
reader of a report can open the very page that contradicts itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conformance.contract.specs import load_yaml
from conformance.errors import CatalogueError
from conformance.findings import Deviation
from conformance.kinds import KINDS, Compare, kind_of, observable_kinds, signature
from conformance.vendors.registry import ApiInfo, get_api

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
_ENTRY_VALIDATOR = Draft202012Validator(_ENTRY_SCHEMA)


@dataclass(frozen=True)
class Manifest:
    """How a documented inconsistency shows in traffic: the deviation it produces, exactly."""

    kind: str
    operations: tuple[str, ...]
    locations: tuple[str, ...]
    contract: Any
    documented: Any

    def matches(self, deviation: Deviation, status_codes: tuple[int, ...]) -> bool:
        if (
            deviation.kind != self.kind
            or deviation.operation not in self.operations
            or deviation.location not in self.locations
            or (status_codes and deviation.status_code not in status_codes)
        ):
            return False
        if kind_of(self.kind).compare is Compare.LOCATION:
            return True
        return signature(self.kind, deviation.expected) == signature(self.kind, self.contract) and signature(
            self.kind, deviation.observed
        ) == signature(self.kind, self.documented)


@dataclass(frozen=True)
class Document:
    """A vendor's public page, as the catalogue's ``documents`` names it: its title and ``https`` URL."""

    title: str
    url: str


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

    @property
    def citation(self) -> str:
        """All citations as one line: ``page § section; page § section``."""
        return "; ".join(f"{c.title} § {c.section}" for c in self.citations)

    @property
    def observable(self) -> tuple[Manifest, ...]:
        """The entry itself when its kind is seen in traffic, plus its declared manifests."""
        own = (
            (Manifest(self.kind, self.operations, self.locations, self.contract, self.documented),)
            if kind_of(self.kind).observable
            else ()
        )
        return own + self.manifests

    def matches(self, deviation: Deviation) -> bool:
        """True when this entry explains ``deviation`` exactly: operation, location, kind and values."""
        return any(manifest.matches(deviation, self.status_codes) for manifest in self.observable)


class Catalogue:
    """All quirks of one API, looked up by deviation, and the vendor pages they cite."""

    def __init__(self, api: str, quirks: list[Quirk], documents: dict[str, Document] | None = None) -> None:
        self.api = api
        self.quirks = quirks
        #: The file's ``documents``: key -> the public page it names.
        self.documents = documents or {}
        self.by_id = {quirk.id: quirk for quirk in quirks}
        self._runtime = [quirk for quirk in quirks if quirk.observable]

    def match(self, deviation: Deviation) -> Quirk | None:
        for quirk in self._runtime:
            if quirk.matches(deviation):
                return quirk
        return None


def parse_catalogue(api: ApiInfo, data: Any, source: Path) -> Catalogue:
    """Validate raw catalogue data; the first problem becomes a ``CatalogueError`` naming the entry."""
    error = next(iter(sorted(_ENTRY_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
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
                manifests=tuple(
                    Manifest(
                        m["kind"],
                        tuple(m.get("operations", raw["operations"])),
                        tuple(m["locations"]),
                        m["contract"],
                        m["documented"],
                    )
                    for m in raw.get("manifests", ())
                ),
            )
        )
    return Catalogue(
        api.name, quirks, {key: Document(page["title"], page["url"]) for key, page in documents.items()}
    )


def load_catalogue_file(api: ApiInfo, path: Path) -> Catalogue:
    return parse_catalogue(api, load_yaml(path, CatalogueError), path)


@cache
def load_catalogue(name: str) -> Catalogue:
    """The bundled catalogue of API ``name`` (parsed once per process)."""
    api = get_api(name)
    return load_catalogue_file(api, api.quirks_path)
