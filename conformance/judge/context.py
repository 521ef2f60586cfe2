"""A response as the checks see it, and what they make of it.

``ResponseContext`` decodes a response once for every check; a ``Check`` takes it and yields
``Deviation`` objects, and ``Judgement`` keeps a response's deviations with the response. ``by_body``
remembers a body-only check's verdict, and ``location_of`` is the one way a place in a body is named.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

import jsonpointer

from conformance.bounds import DEFAULT_LIMITS, ReadLimits
from conformance.contract.catalogue import Exchange
from conformance.contract.extensions import assumption_of
from conformance.contract.model import Operation, Spec
from conformance.findings import Deviation
from conformance.judge.strict_json import NOT_JSON, StrictJson, parse_strict

Key = TypeVar("Key")
Value = TypeVar("Value")


@dataclass
class ResponseContext:
    """A response as the checks see it: decoded once, shared by every check."""

    spec: Spec
    operation: Operation
    status_code: int
    headers: Mapping[str, str]
    body: bytes
    limits: ReadLimits = DEFAULT_LIMITS
    #: The request's path and query parameters as sent, where the caller knows them (a run,
    #: not a replay): the behaviour checks compare the answer with what was asked.
    params: Mapping[str, Any] | None = None
    #: The request body as sent (decoded JSON or its text), where the caller knows it: a catalogue
    #: entry may document the answer to one kind of request only (a cancel, not a start).
    request_body: Any = None
    #: Seconds from sending the request to its answer read, where the caller timed it (a run).
    elapsed: float | None = None
    #: What every check reads, worked out here rather than on first use (cheaper for each response):
    #: the ``responses`` key documenting the status, that response object, and the media type.
    response_key: str | None = field(init=False)
    documented: dict[str, Any] = field(init=False)
    media_type: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.response_key = key = self.operation.response_key(self.status_code)
        responses = self.operation.definition.get("responses", {})
        self.documented = {} if key is None else self.spec.resolve(responses[key])
        value = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        self.media_type = value.split(";")[0].strip().lower() if value else None

    @cached_property
    def response_pointer(self) -> str | None:
        """JSON pointer to the documented response object (following one ``$ref``)."""
        if self.response_key is None:
            return None
        raw = self.operation.definition["responses"][self.response_key]
        if isinstance(raw, dict) and "$ref" in raw:
            return raw["$ref"].lstrip("#")
        return f"{self.operation.pointer}/responses/{self.response_key}"

    @cached_property
    def parsed(self) -> StrictJson:
        """The body read as strict JSON (RFC 8259), with what only a lenient reader would accept;
        a small body read before is not read again (``READ_BODIES``)."""
        return _READ_BODIES.read(self)

    @property
    def instance(self) -> Any:
        """The decoded body, or ``NOT_JSON``."""
        return self.parsed.value

    @cached_property
    def digest(self) -> bytes:
        return hashlib.blake2b(self.body, digest_size=16).digest()

    @property
    def remembered_as(self) -> bytes | None:
        """The body's digest, if it is small enough to be remembered as read or walked."""
        return self.digest if len(self.body) <= REMEMBERED_BODY_BYTES else None

    @cached_property
    def body_key(self) -> tuple[Any, ...]:
        """What a body-only check's verdict depends on (``by_body``): the body by its digest."""
        return (self.spec, self.operation.id, self.status_code, self.media_type, self.limits, self.digest)

    @cached_property
    def assumption(self) -> str | None:
        """Why the spec documents this response, when no vendor document does."""
        return assumption_of(self.documented)

    def deviation(
        self,
        location: str,
        kind: str,
        expected: Any,
        observed: Any,
        message: str,
        assumption: str | None = None,
    ) -> Deviation:
        return Deviation(
            api=self.spec.api.name,
            operation=self.operation.id,
            status_code=self.status_code,
            location=location,
            kind=kind,
            expected=expected,
            observed=observed,
            message=message,
            assumption=assumption or self.assumption,
        )


class Judgement(list[Deviation]):
    """The deviations of one response, with the response itself: a session counts which
    catalogued places it showed, so a quirk that stopped appearing is noticed."""

    def __init__(self, deviations: Iterable[Deviation], context: ResponseContext) -> None:
        super().__init__(deviations)
        self.context = context

    @property
    def status_code(self) -> int:
        return self.context.status_code

    @property
    def body(self) -> Any:
        """The decoded body, or ``NOT_JSON`` (a body over the limit is not read)."""
        ctx = self.context
        return NOT_JSON if len(ctx.body) > ctx.limits.body_bytes else ctx.instance

    @property
    def elapsed(self) -> float | None:
        return self.context.elapsed

    @property
    def exchange(self) -> Exchange:
        """The request body sent and the body answered, for the catalogue's conditions."""
        return Exchange(self.context.request_body, self.body)


Check = Callable[[ResponseContext], Iterable[Deviation]]


#: How many responses' deviations a body-only check remembers: traffic repeats bodies (a run
#: polled until it ends, a page listed again), and explaining one against its schema takes a
#: millisecond. Beyond it the memory starts afresh.
REMEMBERED_BODIES = 4096
#: Bodies of at most this many bytes are remembered as read (``ResponseContext.parsed``), the last
#: ``READ_BODIES`` of them: what they hold in memory stays within a few megabytes.
REMEMBERED_BODY_BYTES, READ_BODIES = 16 * 1024, 256


class Memory(Generic[Key, Value]):
    """What was made before, by what it depends on; past ``size`` keys (``REMEMBERED_BODIES``)
    it starts afresh, so its size is bounded whatever a server sends."""

    def __init__(self, size: int | None = None) -> None:
        self._made: dict[Key, Value] = {}
        self._size = size

    def recall(self, key: Key, make: Callable[[], Value]) -> Value:
        made = self._made.get(key)
        if made is None:
            made = make()
            if len(self._made) >= (self._size or REMEMBERED_BODIES):
                self._made.clear()
            self._made[key] = made
        return made


class Recurring(Generic[Key]):
    """Which keys came before, the last ``size`` of them (past it, afresh): what is worth keeping
    only once it comes again, as most bodies come once and keeping each of those would only give
    the collector more to walk."""

    def __init__(self, size: int) -> None:
        self._seen: set[Key] = set()
        self._size = size

    def again(self, key: Key) -> bool:
        """Whether ``key`` came before; it is remembered either way."""
        if key in self._seen:
            return True
        if len(self._seen) >= self._size:
            self._seen.clear()
        self._seen.add(key)
        return False


class _ReadBodies:
    """Small bodies read as JSON before, by digest, kept from the second time one is seen. The
    values are shared: no check changes what it reads."""

    def __init__(self) -> None:
        self._seen: Recurring[bytes] = Recurring(REMEMBERED_BODIES)
        self._read: Memory[bytes, StrictJson] = Memory(READ_BODIES)

    def read(self, ctx: ResponseContext) -> StrictJson:
        digest = ctx.remembered_as
        if digest is None or not self._seen.again(digest):
            return parse_strict(ctx.body)
        return self._read.recall(digest, lambda: parse_strict(ctx.body))


_READ_BODIES = _ReadBodies()


def by_body(function: Check) -> Check:
    """Remember what ``function`` found in a response, for a check that reads nothing of it but
    the operation, status, media type and body: the same body again gets the same deviations."""
    memory: Memory[tuple[Any, ...], tuple[Deviation, ...]] = Memory()

    @functools.wraps(function)
    def remembered(ctx: ResponseContext) -> tuple[Deviation, ...]:
        return memory.recall(ctx.body_key, lambda: tuple(function(ctx)))

    return remembered


def location_of(path: Iterable[Any]) -> str:
    """A JSON pointer with array indices generalised to ``*`` so that items merge."""
    return "".join("/*" if isinstance(p, int) else "/" + jsonpointer.escape(str(p)) for p in path)
