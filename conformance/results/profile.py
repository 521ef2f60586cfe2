"""The behaviour profile of a run: per operation, what its answers showed where the documents leave
things open, so that tomorrow's night can say what the vendor changed within what they allow.

Per operation: the statuses answered, the response time (p50, p95, max), and per status and place
in the body (a JSON pointer, array items as ``*``) how often it was there, the JSON types seen,
the shapes of its strings (``shapes``) and, for enum-like strings, the values with their counts.
Bounded whatever a server sends: so many statuses, places, values and shapes per operation, so
many array items read per array, so deep, so many response times kept (a fixed-seed reservoir).
Every stored string passes the run's redactor. The engine feeds it (``observe``); results,
comparisons and reports read what ``frozen`` gives.
"""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice, repeat
from typing import Any

from conformance.bounds import printable
from conformance.judge.context import Recurring
from conformance.kinds import json_type
from conformance.results.shapes import classified

#: Statuses whose bodies are profiled, per operation (every status is counted).
MAX_STATUSES = 8
#: Places in the bodies of one operation (all its statuses together); later ones are left out.
MAX_LOCATIONS = 100
#: Distinct values kept per place: one more, and the place is not enum-like (its values are dropped).
MAX_VALUES = 16
#: Distinct shapes kept per place; later ones are counted under ``other``.
MAX_SHAPES = 6
#: Levels of a body read, and items of each array.
MAX_DEPTH = 12
MAX_ITEMS = 50
#: A member name longer than this is cut (a server may name members with megabytes).
MAX_NAME_CHARS = 64
#: Response times kept per operation (a reservoir sample beyond it).
MAX_SAMPLES = 2048
#: Strings the run sent that are remembered (later ones are not): an answer that holds one echoes
#: the client, and tells nothing of the vendor's values or formats.
MAX_SENT = 4096
#: Bodies of an operation whose walk is kept (``_Walk``), and the steps a kept walk may have.
MAX_WALKS, MAX_WALK_STEPS = 64, 400
#: Bodies of an operation remembered as walked once, so that the second time is known.
MAX_WALKED = 4 * MAX_WALKS

Redact = Callable[[str], str]

_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_MS = {"type": "number", "minimum": 0}
#: One place of a status's bodies, as ``results.json`` keeps it.
_PLACE = {
    "type": "object",
    "required": ["seen", "types"],
    "properties": {
        "seen": {**_COUNT, "description": "values seen here (array items each count)"},
        "objects": {**_COUNT, "description": "objects seen here: a member's presence is its seen / this"},
        "types": {**_COUNTS, "propertyNames": {"enum": ["null", "boolean", "integer", "number", "string",
                                                        "array", "object"]}},
        "shapes": {**_COUNTS, "description": "strings by shape (rfc3339, uuid, 9/9/9 9:9, word, token...)"},
        "echoed": {**_COUNTS, "description": "strings the run had sent (echoes): neither values nor shapes"},
        "values": {
            "type": ["object", "null"],
            "additionalProperties": _COUNT,
            "description": "enum-like strings by count (ids, timestamps, free text left out); null: "
            f"more than {MAX_VALUES} distinct, or a credential-shaped name",
        },
    },
}  # fmt: skip
#: An operation's behaviour profile in ``results.json`` (``apis[].operations[].profile``).
PROFILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What the operation's answers showed, for night-to-night comparison (compare, report "
    "--baseline): statuses, response times, and per status and JSON pointer (array items as *) its bodies",
    "required": ["statuses", "latency", "bodies"],
    "properties": {
        "statuses": {**_COUNTS, "propertyNames": {"pattern": "^[0-9]{3}$"}},
        "latency": {
            "type": ["object", "null"],
            "description": "response times in ms (nearest rank); null when none was timed (a replay)",
            "required": ["responses", "p50_ms", "p95_ms", "max_ms"],
            "properties": {"responses": _COUNT, "p50_ms": _MS, "p95_ms": _MS, "max_ms": _MS},
        },
        "bodies": {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]{3}$"},
            "additionalProperties": {"type": "object", "additionalProperties": _PLACE},
        },
        "left_out": {**_COUNT, "description": f"places not kept past {MAX_LOCATIONS} per operation"},
    },
}


@functools.lru_cache(maxsize=4096)
def _child(location: str, name: str) -> str:
    """The place of member ``name`` in the object at ``location`` (a JSON pointer, name cut)."""
    return f"{location}/{name.replace('~', '~0').replace('/', '~1')}"


#: JSON types by Python type, for the walk (a subclass, such as a huge number, asks ``json_type``).
_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


@dataclass
class Place:
    """What one place of a body showed: how often, as which types, shapes and values."""

    seen: int = 0
    objects: int = 0
    types: Counter[str] = field(default_factory=Counter)
    shapes: Counter[str] = field(default_factory=Counter)
    #: Enum-like strings by count; ``None`` once more than ``MAX_VALUES`` were seen (an open set).
    values: Counter[str] | None = field(default_factory=Counter)
    #: Strings the run itself had sent (the first ``MAX_VALUES``): neither values nor shapes.
    echoed: Counter[str] = field(default_factory=Counter)
    #: The walk's shortcut: the places (with their pointers) of the members and items (``*``) already
    #: found under this one, so that a body's node costs one lookup, not a pointer built and looked up.
    children: dict[str, tuple[Place, str]] = field(default_factory=dict, compare=False, repr=False)

    def string(self, text: str, sent: set[str]) -> None:
        if text in sent:
            if text in self.echoed or len(self.echoed) < MAX_VALUES:
                self.echoed[text] += 1
            return
        shape, value = classified(text)
        if shape in self.shapes or len(self.shapes) < MAX_SHAPES:
            self.shapes[shape] += 1
        else:
            self.shapes["other"] += 1
        values = self.values
        if values is not None and value:
            if text in values or len(values) < MAX_VALUES:
                values[text] += 1
            else:
                self.values = None

    def absorb(self, other: Place) -> None:
        self.seen += other.seen
        self.objects += other.objects
        self.types.update(other.types)
        self.shapes.update(other.shapes)
        self.echoed.update(other.echoed)
        if self.values is None or other.values is None:
            self.values = None
        else:
            self.values.update(other.values)
            if len(self.values) > MAX_VALUES:
                self.values = None

    def frozen(self, redact: Redact, secret: bool) -> dict[str, Any]:
        """As ``results.json`` keeps it; values under a credential-shaped name are never kept."""
        entry: dict[str, Any] = {"seen": self.seen, "types": dict(self.types)}
        if self.objects:
            entry["objects"] = self.objects
        if self.shapes:
            entry["shapes"] = dict(self.shapes)
        if self.values is None or secret:
            entry["values"] = None
        elif self.values:
            kept: Counter[str] = Counter()
            for value, count in self.values.items():
                kept[printable(redact(value))] += count
            entry["values"] = dict(kept.most_common())
        if self.echoed and not secret:
            entry["echoed"] = {printable(redact(value)): count for value, count in self.echoed.most_common()}
        return entry


#: One node of a walked body: its place, its JSON type, the string it held and whether it was an
#: object whose members were read.
_Step = tuple[Place, str, str | None, bool]


@dataclass
class _Walk:
    """A body's walk as steps, taken again for the same body without reading it: traffic repeats
    bodies (a run polled, a page listed again). Its places all exist or were left out for want of
    room, which never comes back; only the strings are looked at again (was each one sent?)."""

    steps: list[_Step]
    left_out: int

    def take(self, profile: OperationProfile, sent: set[str]) -> None:
        for place, kind, text, members in self.steps:
            place.seen += 1
            place.types[kind] += 1
            if text is not None:
                place.string(text, sent)
            elif members:
                place.objects += 1
        profile.left_out += self.left_out


@dataclass
class OperationProfile:
    """One operation's answers: statuses, response times and their bodies' places."""

    statuses: Counter[int] = field(default_factory=Counter)
    samples: list[float] = field(default_factory=list)
    timed: int = 0
    bodies: dict[int, dict[str, Place]] = field(default_factory=dict)
    #: Places left out past ``MAX_LOCATIONS`` (or under a status past ``MAX_STATUSES``).
    left_out: int = 0
    places: int = 0
    #: Walks by status and body digest, kept from a body's second time (``_Walk``), and the keys
    #: walked before; neither leaves the process (``__getstate__``).
    _walks: dict[tuple[int, bytes], _Walk] = field(default_factory=dict, compare=False, repr=False)
    _walked: Recurring[tuple[int, bytes]] = field(
        default_factory=lambda: Recurring(MAX_WALKED), compare=False, repr=False
    )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_walks": {}, "_walked": Recurring(MAX_WALKED)}

    def observe(
        self,
        status: int,
        body: Any,
        elapsed: float | None,
        rng: random.Random,
        sent: set[str],
        digest: bytes | None = None,
    ) -> None:
        """One answer; ``digest`` (of the body as received) lets a body seen before be walked again
        from its steps."""
        self.statuses[status] += 1
        if elapsed is not None:
            self.timed += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(elapsed)
            else:
                slot = rng.randrange(self.timed)
                if slot < MAX_SAMPLES:
                    self.samples[slot] = elapsed
        if body is None:
            return
        places = self.bodies.get(status)
        if places is None:
            if len(self.bodies) >= MAX_STATUSES:
                self.left_out += 1
                return
            places = self.bodies[status] = {}
        key = (status, digest) if digest is not None else None
        walk = self._walks.get(key) if key is not None else None
        if walk is not None:
            walk.take(self, sent)
            return
        steps: list[_Step] | None = [] if key is not None and self._walked.again(key) else None
        left_out = self.left_out
        root = self._place(places, "")
        if root is not None:
            self._walk(places, root, body, "", 0, sent, steps)
        if key is not None and steps is not None and len(steps) <= MAX_WALK_STEPS:
            if len(self._walks) >= MAX_WALKS:
                self._walks.clear()
            self._walks[key] = _Walk(steps, self.left_out - left_out)

    def _place(self, places: dict[str, Place], location: str) -> Place | None:
        """The place at ``location``, made if there is room; ``None`` (and one more left out) if not."""
        place = places.get(location)
        if place is None:
            if self.places >= MAX_LOCATIONS:
                self.left_out += 1
                return None
            self.places += 1
            place = places[location] = Place()
        return place

    def _walk(
        self,
        places: dict[str, Place],
        place: Place,
        node: Any,
        location: str,
        depth: int,
        sent: set[str],
        steps: list[_Step] | None,
    ) -> None:
        place.seen += 1
        kind = _TYPES.get(type(node)) or json_type(node)
        place.types[kind] += 1
        if kind == "string":
            place.string(node, sent)
            if steps is not None:
                steps.append((place, kind, node, False))
            return
        members_read = kind == "object" and depth < MAX_DEPTH
        if steps is not None:
            steps.append((place, kind, None, members_read))
        if depth >= MAX_DEPTH:
            return
        if kind == "object":
            place.objects += 1
            members: Iterable[tuple[Any, Any]] = node.items()
        elif kind == "array":
            members = zip(repeat("*"), islice(node, MAX_ITEMS))
        else:
            return
        children = place.children
        for name, value in members:
            known = children.get(name)
            if known is None:
                known = self._child_place(places, children, location, str(name))
                if known is None:
                    continue
            self._walk(places, known[0], value, known[1], depth + 1, sent, steps)

    def _child_place(
        self, places: dict[str, Place], children: dict[str, tuple[Place, str]], location: str, name: str
    ) -> tuple[Place, str] | None:
        """The place and pointer of member ``name`` (``*``: an item) under ``location``, made if there
        is room, and kept as the parent's shortcut (not for a name cut past ``MAX_NAME_CHARS``: the
        shortcuts then hold no more entries than there are places)."""
        child_location = _child(location, name[:MAX_NAME_CHARS])
        child = self._place(places, child_location)
        if child is None:
            return None
        if len(name) <= MAX_NAME_CHARS:
            children[name] = (child, child_location)
        return child, child_location

    def absorb(self, other: OperationProfile) -> None:
        self.statuses.update(other.statuses)
        self.timed += other.timed
        self.samples = (self.samples + other.samples)[:MAX_SAMPLES]
        self.left_out += other.left_out
        for status, places in other.bodies.items():
            mine = self.bodies.setdefault(status, {})
            for location, place in places.items():
                if location not in mine:
                    self.places += 1
                mine.setdefault(location, Place()).absorb(place)

    def frozen(self, redact: Redact, is_secret: Callable[[str], bool]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "latency": latency(self.samples, self.timed),
            "bodies": {
                str(status): {
                    printable(redact(location)): place.frozen(redact, is_secret(_last_name(location)))
                    for location, place in sorted(places.items())
                }
                for status, places in sorted(self.bodies.items())
            },
        }
        if self.left_out:
            entry["left_out"] = self.left_out
        return entry


def _last_name(location: str) -> str:
    return location.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")


def latency(samples: list[float], timed: int) -> dict[str, Any] | None:
    """p50, p95 and max of the response times, in milliseconds (nearest rank); none when untimed."""
    if not samples:
        return None
    ordered = sorted(samples)

    def rank(share: float) -> float:
        return round(1000 * ordered[max(0, math.ceil(len(ordered) * share) - 1)], 2)

    return {"responses": timed, "p50_ms": rank(0.5), "p95_ms": rank(0.95), "max_ms": rank(1.0)}


class Profile:
    """Every operation's profile of one API in a run; the session observes each judged answer."""

    def __init__(self) -> None:
        self.operations: dict[str, OperationProfile] = {}
        self._rng = random.Random(0)  # the reservoir's draws: the same answers keep the same sample
        self.sent: set[str] = set()

    def observe(
        self,
        operation: str,
        status: int,
        body: Any,
        elapsed: float | None,
        request: Any = None,
        digest: bytes | None = None,
    ) -> None:
        """One answer: its status, its decoded JSON body (``None``: not JSON) and its time, after
        the strings of its ``request`` (its decoded body and parameters) are remembered as sent;
        ``digest``, the body's as received, where the caller has it."""
        self._remember(request, 0)
        profile = self.operations.setdefault(operation, OperationProfile())
        profile.observe(status, body, elapsed, self._rng, self.sent, digest)

    def _remember(self, value: Any, depth: int) -> None:
        if isinstance(value, str):
            if len(self.sent) < MAX_SENT:
                self.sent.add(value)
        elif depth < MAX_DEPTH and isinstance(value, dict):
            for item in value.values():
                self._remember(item, depth + 1)
        elif depth < MAX_DEPTH and isinstance(value, list | tuple):
            for item in islice(value, MAX_ITEMS):
                self._remember(item, depth + 1)

    def absorb(self, other: Profile) -> None:
        for operation, profile in other.operations.items():
            self.operations.setdefault(operation, OperationProfile()).absorb(profile)

    def frozen(self, redact: Redact, is_secret: Callable[[str], bool]) -> dict[str, dict[str, Any]]:
        """Per operation, the profile as ``results.json`` keeps it, every string redacted."""
        return {name: profile.frozen(redact, is_secret) for name, profile in self.operations.items()}
