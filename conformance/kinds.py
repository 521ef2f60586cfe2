"""Every kind of finding the suite knows, in one table.

A kind says what went wrong (a renamed field, a re-cased enum value, a lost run, ...). Its
row decides how two observations of it compare (so identical ones merge and a catalogue entry
matches), whether a catalogue entry can match it in traffic or only in the documents, and how
severe a new one is. The checks, the lifecycle, the transport layer, the catalogue schema and
the reports all read this table rather than keeping lists of their own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How a new finding affects a client written to the vendor's documents.

    The split is the one schema-diff tools make (oasdiff's breaking changes vs the rest): an
    undocumented extra member cannot break such a client, so it is *additive*; anything else
    that contradicts the documents is *breaking*.
    """

    ADDITIVE = "additive"
    BREAKING = "breaking"


class Classification(StrEnum):
    """Where a deviation stands against the documents."""

    #: A catalogue entry documents it: the vendor's own documents contradict themselves here.
    KNOWN = "known"
    #: It departs from an HTTP convention (an RFC's advice) that no document of the API promises.
    CONVENTION = "convention"
    #: It contradicts only a statement the spec had to make where every document is silent.
    ASSUMPTION = "assumption"
    #: It contradicts the documents: the vendor changed its contract.
    NEW = "new"


class Compare(StrEnum):
    """Which part of the expected and observed values must be equal for two findings to be one."""

    VALUE = "value"  # the values themselves
    SHAPE = "shape"  # every digit ignored (timestamps vary from call to call)
    TYPE = "type"  # the JSON type of the observed value
    #: the location alone: it ends in the field's name, or the values differ from one observation
    #: to the next (a run id, a page size) while the behaviour at that place is one
    LOCATION = "location"


class Evidence(StrEnum):
    """What a response must show at a catalogued location before a quirk's absence there says
    something: a vendor that sent no ``created_at`` at all has not fixed its timestamps."""

    VALUE = "value"  # a value that is not null (a timestamp, an enum member)
    MEMBER = "member"  # the member itself, null included (the contract's name, an empty string's place)
    OBJECT = "object"  # the object that would hold it (an extra member is fixed by its absence)


class Basis(StrEnum):
    """What a kind of finding rests on: a promise the API's documents make, or only an HTTP
    convention (an RFC's advice) that no vendor document states, which never fails a night
    unless ``--fail-on convention`` asks for it."""

    CONTRACT = "contract"
    CONVENTION = "convention"


class UnknownKind(ValueError):
    """A kind named nowhere in the table: a misspelling is an error where it is made, never a
    new kind of finding."""


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    #: Seen in traffic (a response check, the lifecycle, transport); else it lives in documents only.
    observable: bool = True
    compare: Compare = Compare.VALUE
    severity: Severity = Severity.BREAKING
    evidence: Evidence = Evidence.VALUE
    basis: Basis = Basis.CONTRACT
    #: For a convention: the public text that states it (the API's documents do not).
    rests_on: str | None = None
    #: That text as a citation a report links: its title, section and ``https`` URL.
    reference: tuple[str, str, str] | None = None


_RFC_9110 = "https://www.rfc-editor.org/rfc/rfc9110"
_OWASP_API1 = "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"

#: Schemathesis' own checks that stay on beside the suite's (its response-conformance checks are
#: replaced by ``judge``), each with what it rests on.
_SCHEMATHESIS_CHECKS = (
    # a request the documented parameters and body allow is served (refused only as documented)
    Kind("positive_data_acceptance", "A request the documents allow was refused"),
    # an operation the documents secure refuses a request without (or with a wrong) credential
    Kind("ignored_auth", "An operation answered without a valid credential"),
    # a resource the API just created can be read; a deleted one cannot
    Kind("ensure_resource_availability", "A resource the API just created cannot be found"),
    Kind("use_after_free", "A deleted resource can still be read"),
    *(
        Kind(name, title, basis=Basis.CONVENTION, rests_on=rfc, reference=reference)
        for name, title, rfc, reference in (
            (
                "negative_data_rejection",
                "A request the documents do not allow was served",
                "RFC 9110 section 15.5.1 (400 Bad Request): a server may refuse a malformed request; "
                "no document of the API promises that it does",
                ("RFC 9110", "15.5.1 400 Bad Request", f"{_RFC_9110}#section-15.5.1"),
            ),
            (
                "missing_required_header",
                "A request without a required header was served",
                "RFC 9110 section 15.5.1: refusing an incomplete request is advice, not a promise of "
                "the API's documents",
                ("RFC 9110", "15.5.1 400 Bad Request", f"{_RFC_9110}#section-15.5.1"),
            ),
            (
                "unsupported_method",
                "An undocumented method was not answered 405",
                "RFC 9110 section 15.5.6 (405 Method Not Allowed); the documents describe only their "
                "own methods",
                ("RFC 9110", "15.5.6 405 Method Not Allowed", f"{_RFC_9110}#section-15.5.6"),
            ),
            (
                "allow_header_conformance",
                "A 405's Allow header lists other methods",
                "RFC 9110 section 10.2.1 (Allow); no document of the API describes OPTIONS or Allow",
                ("RFC 9110", "10.2.1 Allow", f"{_RFC_9110}#section-10.2.1"),
            ),
            (
                "object_level_authorization",
                "One credential read another's resource",
                "OWASP API1:2023; no document of the API describes tenants' isolation in requests",
                ("OWASP API Security Top 10", "API1:2023 Broken Object Level Authorization", _OWASP_API1),
            ),
        )
    ),
)

_TABLE = (
    # response checks
    Kind("field-name-alias", "A field arrives under another name", evidence=Evidence.MEMBER),
    Kind("missing-field", "A required field is missing", compare=Compare.LOCATION, evidence=Evidence.MEMBER),
    Kind(
        "extra-field",
        "A field the contract does not declare",
        compare=Compare.LOCATION,
        severity=Severity.ADDITIVE,
        evidence=Evidence.OBJECT,
    ),
    Kind("enum-casing", "An enum value arrives re-cased"),
    Kind("unknown-enum-value", "A value outside the documented set"),
    Kind("empty-string-for-null", "An empty string where null belongs", evidence=Evidence.MEMBER),
    Kind("unexpected-null", "null where the contract requires a value", evidence=Evidence.MEMBER),
    Kind("timestamp-without-offset", "A timestamp without UTC offset", compare=Compare.SHAPE),
    Kind("invalid-timestamp", "A value that is not an RFC 3339 timestamp", compare=Compare.SHAPE),
    Kind("type-mismatch", "A value of another JSON type", compare=Compare.TYPE),
    Kind("constraint-violation", "A value outside a documented bound"),
    Kind("undocumented-status", "A status code the operation does not document"),
    Kind("content-type", "An undocumented content type"),
    Kind("missing-header", "A required response header is missing"),
    Kind("invalid-json", "A body that is not valid JSON"),
    Kind("server-error", "The server failed (5xx)"),
    # transport
    Kind("transport-error", "No response"),
    Kind("body-too-large", "A body larger than the read limit"),
    # lifecycle and credentials
    Kind("invalid-transition", "A run moved along an undocumented transition"),
    Kind("timestamp-order", "Something ended before it started", compare=Compare.LOCATION),
    Kind("duration-mismatch", "A duration that disagrees with its timestamps", compare=Compare.LOCATION),
    Kind("lifecycle-timeout", "A run did not reach a terminal state in time"),
    Kind("lifecycle-start-failed", "A run could not be started"),
    Kind("lost-run", "A run the API just returned cannot be found"),
    Kind("auth-not-enforced", "An operation answered without credentials"),
    # behaviour a well-formed response can hide (``behaviour.py``, ``listing.py``, the lifecycle)
    # and JSON text only a lenient reader accepts (``strict_json.parse_strict``): one finding per place,
    # whatever the values of each observation (they are in its message)
    *(
        Kind(name, title, compare=Compare.LOCATION)
        for name, title in (
            ("filter-ignored", "A list returned an item its filter excludes"),
            ("limit-exceeded", "A list returned more items than its limit"),
            ("duplicate-item", "An item listed twice, on one page or across pages"),
            ("total-mismatch", "A list's total disagrees with its pages"),
            ("identity-mismatch", "An answer about another resource than the one asked for"),
            ("terminal-state-left", "A run left a terminal state"),
            ("cancel-ignored", "An accepted cancel or stop did not take effect"),
            ("delete-ignored", "A deleted run is still there"),
            ("retry-mismatch", "A retry did not yield the run the documents say"),
            ("negative-duration", "A negative duration"),
            ("byte-order-mark", "A JSON body that starts with a byte-order mark"),
            ("duplicate-key", "A JSON object with the same key twice"),
            ("non-finite-number", "NaN or Infinity in a JSON body"),
            ("empty-body", "An empty body where the documents promise one"),
        )
    ),
    # documents only
    *(
        Kind(name, title, observable=False)
        for name, title in (
            ("path-casing", "A path spelled with other casing"),
            ("stale-path", "A path from an older version of the documents"),
            ("parameter-name", "A parameter named differently"),
            ("wrong-enum-literal", "An enum literal that is not in the documented set"),
            ("wrong-description", "A description that contradicts the contract"),
            ("wrong-example", "An example that contradicts the contract"),
            ("example-mismatch", "An example that does not match its schema"),
            ("malformed-example", "An example that is not valid"),
            ("undocumented-response", "A response the documents show but do not define"),
            ("missing-enum-values", "An enumeration whose values are not listed"),
            ("auth-scheme", "Authentication documented inconsistently"),
            ("stale-field", "A field from an older version of the documents"),
            ("stale-name", "A name from an older version of the documents"),
            ("type-representation", "A type written differently"),
            ("self-contradiction", "A document that contradicts itself"),
        )
    ),
    *_SCHEMATHESIS_CHECKS,
)
KINDS: dict[str, Kind] = {kind.name: kind for kind in _TABLE}

#: What a well-formed response can hide: how lists, runs, commands and JSON text behave.
BEHAVIOUR_KINDS = (
    "filter-ignored",
    "limit-exceeded",
    "duplicate-item",
    "total-mismatch",
    "identity-mismatch",
    "terminal-state-left",
    "cancel-ignored",
    "delete-ignored",
    "retry-mismatch",
    "negative-duration",
    "byte-order-mark",
    "duplicate-key",
    "non-finite-number",
    "empty-body",
)

TRANSPORT_ERROR = KINDS["transport-error"].name
BODY_TOO_LARGE = KINDS["body-too-large"].name


def kind_of(name: str) -> Kind:
    """The row of ``name``; a name the table does not hold is an ``UnknownKind`` error."""
    kind = KINDS.get(name)
    if kind is None:
        raise UnknownKind(f"unknown kind of finding {name!r}")
    return kind


def observable_kinds() -> list[str]:
    return sorted(name for name, kind in KINDS.items() if kind.observable)


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def signature(kind: str, value: Any) -> str:
    """The part of a value that must match exactly for two observations of ``kind`` to be one.

    Timestamps are compared by shape (every digit becomes ``9``), so a server that keeps the
    documented offset-less format is known on every call, while one that switches to another
    format is new. Type mismatches are compared by the observed JSON type; kinds compared by
    location have no value part.
    """
    compare = kind_of(kind).compare
    if compare is Compare.LOCATION:
        return ""
    if compare is Compare.SHAPE and isinstance(value, str):
        return re.sub(r"\d", "9", value)
    if compare is Compare.TYPE:
        return json_type(value)
    return json.dumps(value, sort_keys=True, default=str)
