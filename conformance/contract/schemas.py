"""A spec document as a JSON Schema resource: its local references, and its schemas compiled.

Validators are compiled once per schema and kept, because a replay validates thousands of
bodies against a handful of schemas; each is compiled with its local references inlined, and
once more by the Rust validator, which judges a conforming body in microseconds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import jsonpointer
import jsonschema_rs

from conformance.contract.formats import FORMATS
from conformance.kinds import json_type

if TYPE_CHECKING:  # jsonschema is loaded when a body is first judged, not by reading a spec
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry

#: Values each format check remembers: a run's bodies repeat their timestamps (a run polled
#: until it ends, a page listed again), and the Rust validator calls back into Python per value.
REMEMBERED_FORMAT_VALUES = 4096
#: The suite's format checks for both validators (``contract.formats``), each remembering values.
_FORMATS: dict[str, Callable[..., bool]] = {
    name: functools.lru_cache(maxsize=REMEMBERED_FORMAT_VALUES)(check) for name, check in FORMATS.items()
}


def format_checker() -> FormatChecker:
    """jsonschema's format checks with the suite's own in their place, one checker per jsonschema
    loaded: a checker raises its own module's ``FormatError``, which only validators of that module
    catch (pytester's in-process runs load jsonschema afresh)."""
    from jsonschema import FormatChecker

    return _checker(FormatChecker)


@functools.cache
def _checker(kind: type[FormatChecker]) -> FormatChecker:
    checker = kind()
    for name, check in _FORMATS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


@dataclass(frozen=True)
class Reach:
    """Where a keyword is found from one schema (``SchemaDocument.reach``): in the schema itself
    (``here``), or beneath the members, the items or the ``allOf``/``anyOf``/``oneOf`` branches
    listed, each in the schema's own order."""

    schema: dict[str, Any]
    here: bool
    members: tuple[tuple[str, Any], ...]
    items: Any
    branches: tuple[Any, ...]


class SchemaDocument:
    """One parsed document under ``uri``: its ``$ref``s followed, and validators of its schemas."""

    def __init__(self, uri: str, document: dict[str, Any]) -> None:
        self.uri, self.document = uri, document
        #: Each ``$ref`` followed once: a replay resolves the same few references per interaction.
        self._targets: dict[str, Any] = {}
        self._compiled: dict[tuple[str, bool], Draft202012Validator] = {}
        self._accepting: dict[str, tuple[jsonschema_rs.Validator, ...] | None] = {}
        #: ``reaches`` by node identity, each node kept so that its identity is not reused.
        self._reaching: dict[tuple[int, str], tuple[Any, bool]] = {}
        #: ``reach`` by node identity, likewise.
        self._ways: dict[tuple[int, str], tuple[Any, Reach | None]] = {}

    def resolve(self, node: Any) -> Any:
        """Follow a local ``$ref`` (one level at a time until a non-reference)."""
        while isinstance(node, dict) and "$ref" in node:
            reference = node["$ref"]
            if reference not in self._targets:
                self._targets[reference] = self._lookup(reference)
            node = self._targets[reference]
        return node

    def _lookup(self, reference: str) -> Any:
        """A reference's target. A JSON pointer into this document (all the specs hold, once
        ``specs`` has refused references that leave them) is followed here; anything else, and a
        pointer to nowhere, goes to the registry, which resolves or refuses it as it always did."""
        if reference == "#" or reference.startswith("#/"):
            try:
                return jsonpointer.resolve_pointer(self.document, unquote(reference[1:]))
            except jsonpointer.JsonPointerException:
                pass
        return self.registry.resolver(self.uri).lookup(reference).contents

    @functools.cached_property
    def registry(self) -> Registry:
        """The document as a ``referencing`` resource: what the Python validators resolve
        references through. Made when first needed, as reading a spec needs none of it."""
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012

        return Registry().with_resource(self.uri, DRAFT202012.create_resource(self.document))

    def reaches(self, node: Any, keyword: str) -> bool:
        """Whether ``keyword`` is a member of ``node`` or of any schema beneath it, through local
        references: a walk of a body for one extension skips what cannot hold it."""
        key = (id(node), keyword)
        if key not in self._reaching:
            self._reaching[key] = (node, self._search(node, keyword))
        return self._reaching[key][1]

    def reach(self, node: Any, keyword: str) -> Reach | None:
        """The ways from ``node`` (a reference followed) to the schemas that hold ``keyword``, or
        ``None`` where none is reached: a walk of a body for one extension then goes only down
        members, items and branches that can lead to it, each looked up once per schema."""
        key = (id(node), keyword)
        if key not in self._ways:
            self._ways[key] = (node, self._reach(node, keyword))
        return self._ways[key][1]

    def _reach(self, node: Any, keyword: str) -> Reach | None:
        schema = self.resolve(node)
        if not isinstance(schema, dict) or not self.reaches(schema, keyword):
            return None

        def leads(child: Any) -> bool:
            child = self.resolve(child)
            return isinstance(child, dict) and self.reaches(child, keyword)

        members = tuple((name, sub) for name, sub in (schema.get("properties") or {}).items() if leads(sub))
        items = schema["items"] if "items" in schema and leads(schema["items"]) else None
        branches = tuple(
            branch
            for word in ("allOf", "anyOf", "oneOf")
            for branch in schema.get(word) or []
            if leads(branch)
        )
        return Reach(schema, keyword in schema, members, items, branches)

    def _search(self, node: Any, keyword: str) -> bool:
        pending, seen = [node], set()
        while pending:
            current = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, dict):
                if keyword in current:
                    return True
                if "$ref" in current:
                    pending.append(self.resolve(current))
                pending.extend(v for k, v in current.items() if k != "$ref" and isinstance(v, dict | list))
            elif isinstance(current, list):
                pending.extend(v for v in current if isinstance(v, dict | list))
        return False

    def validator(self, pointer: str, closed: bool) -> Draft202012Validator:
        """A validator for the schema at ``pointer`` with its local references inlined: validating
        then never goes through the registry, which was a third of a replay's time."""
        key = (pointer, closed)
        if key not in self._compiled:
            from jsonschema import Draft202012Validator

            self._compiled[key] = Draft202012Validator(
                self._schema(pointer, closed), registry=self.registry, format_checker=format_checker()
            )
        return self._compiled[key]

    def _schema(self, pointer: str, closed: bool) -> Any:
        """The schema at ``pointer``, its local references inlined, ``closed`` (see ``_close``)."""
        schema = self._inline(self.resolve({"$ref": f"#{pointer}"}), frozenset())
        return _close(schema) if closed else schema

    def accepts(self, pointer: str, instance: Any) -> tuple[bool, bool]:
        """Whether the Rust validators accept ``instance``, open and closed; ``False`` only means
        "not known to conform" (see ``Spec.accepts``)."""
        validators = self._rust_validators(pointer)
        if validators is None:
            return False, False
        try:
            return validators[0].is_valid(instance), validators[1].is_valid(instance)
        except Exception:  # a value the Rust side cannot take: the Python validator judges it
            return False, False

    def error_shape(self, pointer: str, instance: Any) -> tuple[Any, ...] | None:
        """The Rust validators' errors for ``instance``, open and closed, as a key under which
        its explanation can be remembered: each error's place and keyword with the part of the
        instance an explanation reads (an object's member names and their types for a member
        keyword, else the value itself). Bodies that differ elsewhere (ids, timestamps that
        conform) share the key. ``None`` where the Rust validators cannot stand in for the
        Python one (see ``_rust_validators``)."""
        validators = self._rust_validators(pointer)
        if validators is None:
            return None
        try:
            return tuple(
                tuple(
                    (tuple(error.schema_path), tuple(error.instance_path), _projection(error, instance))
                    for error in validator.iter_errors(instance)
                )
                for validator in validators
            )
        except Exception:  # a value the Rust side cannot take: the Python validator judges it
            return None

    def _rust_validators(self, pointer: str) -> tuple[jsonschema_rs.Validator, ...] | None:
        """Rust validators of the schema at ``pointer``, open and closed, or ``None`` where they
        might accept what ``validator`` rejects: a format the suite has no check for, or a schema
        the Rust validator cannot compile."""
        if pointer not in self._accepting:
            self._accepting[pointer] = self._compile_rust(pointer)
        return self._accepting[pointer]

    def _compile_rust(self, pointer: str) -> tuple[jsonschema_rs.Validator, ...] | None:
        schemas = [self._schema(pointer, closed) for closed in (False, True)]
        if any(
            isinstance(node, dict) and isinstance(node.get("format"), str) and node["format"] not in _FORMATS
            for _, node in nodes(schemas[0])
        ):
            return None
        registry = jsonschema_rs.Registry([(self.uri, self.document)])
        try:
            return tuple(
                jsonschema_rs.Draft202012Validator(
                    dict(schema) if isinstance(schema, Mapping) else schema,
                    formats=_FORMATS,
                    validate_formats=True,
                    registry=registry,
                )
                for schema in schemas
            )
        except Exception:  # the Rust validator refuses the schema: the Python one judges alone
            return None

    def _inline(self, node: Any, expanding: frozenset[str]) -> Any:
        """Replace local ``$ref``s by their targets; a recursive reference stays a reference."""
        if isinstance(node, list):
            return [self._inline(item, expanding) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#") and reference not in expanding:
            target = self._inline(self.resolve({"$ref": reference}), expanding | {reference})
            siblings = {key: self._inline(value, expanding) for key, value in node.items() if key != "$ref"}
            if not siblings:
                return target
            return {**siblings, "allOf": [*siblings.get("allOf", []), target]}
        if isinstance(reference, str) and reference.startswith("#"):
            return {**node, "$ref": f"{self.uri}#{reference[1:]}"}
        return {key: self._inline(value, expanding) for key, value in node.items()}


def _close(node: Any) -> Any:
    """``node`` with every open object that declares ``properties`` closed to other members."""
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _close(value) for key, value in node.items()}
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    open_keywords = ("additionalProperties", "unevaluatedProperties", "patternProperties", "allOf")
    if is_object and "properties" in node and not any(key in node for key in open_keywords):
        closed["additionalProperties"] = False
    return closed


#: Keywords whose explanation reads an object's member names and their JSON types, not values.
_MEMBER_KEYWORDS = frozenset({"required", "additionalProperties", "unevaluatedProperties"})


def _projection(error: Any, instance: Any) -> Any:
    """What an explanation of ``error`` reads of ``instance``, exactly enough to tell apart two
    values it would explain differently (``True`` from ``1``, ``1.0`` from ``1``, members in
    another order)."""
    value = instance
    for step in error.instance_path:
        value = value[step]
    if isinstance(value, dict) and error.schema_path and error.schema_path[-1] in _MEMBER_KEYWORDS:
        return tuple((name, json_type(member)) for name, member in value.items())
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return json_type(value), value


def nodes(document: Any) -> Iterator[tuple[str, Any]]:
    """Every node of a parsed YAML document with its JSON pointer, without recursion (YAML
    anchors can nest deeply or loop: each node is visited once)."""
    pending: list[tuple[str, Any]] = [("", document)]
    seen: set[int] = set()
    while pending:
        pointer, node = pending.pop()
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        yield pointer, node
        items = node.items() if isinstance(node, dict) else enumerate(node)
        pending += [(f"{pointer}/{jsonpointer.escape(str(key))}", value) for key, value in items]
