"""Deliberate drift: an ASGI middleware that mutates a mock's responses, one change at a time.

Tests and the detection benchmark use it to prove that a change nobody documented is
reported as ``new`` at the right operation and location. Besides shapes it tells well-formed
lies: a body only a lenient JSON reader accepts, a page that lists an item twice, a run that
leaves its terminal state; and with a ``request`` rewrite, a server that ignores a parameter
(``drop_query``) or answers a command without carrying it out (``reroute``).
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jsonpointer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Mutation = Callable[[int, Any], tuple[int, Any]]


@dataclass
class Raw:
    """A body passed on as bytes with its media type: one that is not JSON, or one whose
    content type a mutation changes."""

    content: bytes
    media_type: str


def _parent(body: Any, pointer: str) -> tuple[Any, str]:
    """The object or array that holds the member ``pointer`` names, and that member's name."""
    *parents, last = jsonpointer.JsonPointer(pointer).parts
    node = body
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, last


def rename_field(pointer: str, new_name: str) -> Mutation:
    def mutate(status: int, body: Any) -> tuple[int, Any]:
        parent, name = _parent(body, pointer)
        if isinstance(parent, dict) and name in parent:
            parent[new_name] = parent.pop(name)
        return status, body

    return mutate


def remove_field(pointer: str) -> Mutation:
    def mutate(status: int, body: Any) -> tuple[int, Any]:
        parent, name = _parent(body, pointer)
        if isinstance(parent, dict):
            parent.pop(name, None)
        return status, body

    return mutate


def set_value(pointer: str, value: Any | Callable[[Any], Any]) -> Mutation:
    """Replace the value at ``pointer`` (a callable receives the old value)."""

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        parent, name = _parent(body, pointer)
        if isinstance(parent, dict) and name in parent:
            parent[name] = value(parent[name]) if callable(value) else value
        return status, body

    return mutate


_WORDS = ("lorem", "ipsum", "dolor", "amet", "velit", "culpa", "magna", "minim")


def add_random_members(per_object: int = 2, seed: int = 0) -> Mutation:
    """Add ``per_object`` members with random names to every object of the body, as a server that
    invents data does (Prism's dynamic mode serving a vendor document). Every name is new."""
    rng, serial = random.Random(seed), itertools.count()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in list(node.values()):
                walk(value)
            for _ in range(per_object):
                node[f"{rng.choice(_WORDS)}{next(serial)}"] = rng.choice([rng.random(), "x", True, None])

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        walk(body)
        return status, body

    return mutate


def set_status(code: int) -> Mutation:
    return lambda status, body: (code, body)


def add_field(pointer: str, value: Any) -> Mutation:
    """Add a field the contract does not list (``/extra`` adds ``extra`` to the root object)."""

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        parent, name = _parent(body, pointer)
        if isinstance(parent, dict):
            parent[name] = value
        return status, body

    return mutate


def wrap_body(key: str) -> Mutation:
    """Nest the whole body under ``key``: an error shape reorganised, ``{"detail": ..}`` becoming
    ``{"error": {"detail": ..}}``."""
    return lambda status, body: (status, {key: body})


def set_content_type(media_type: str) -> Mutation:
    """Send the same bytes under another media type."""

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        content = body.content if isinstance(body, Raw) else json.dumps(body).encode()
        return status, Raw(content, media_type)

    return mutate


def answer(code: int, body: Any) -> Mutation:
    """Replace the whole response with a JSON one: a documented path answering 404, say."""
    return lambda status, _: (code, Raw(json.dumps(body).encode(), "application/json"))


# -- well-formed lies: bodies that only a lenient reader accepts ------------------------------
BOM = b"\xef\xbb\xbf"


def prefix_bom() -> Mutation:
    """The same JSON after a UTF-8 byte-order mark (a serializer writing ``utf-8-sig``)."""

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        content = body.content if isinstance(body, Raw) else json.dumps(body).encode()
        return status, Raw(BOM + content, "application/json")

    return mutate


def duplicate_key(pointer: str, first: Any) -> Mutation:
    """The object holding ``pointer``'s member lists it twice: ``first`` and then its real value."""

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        parent, name = _parent(body, pointer)
        if not isinstance(parent, dict) or name not in parent:
            raise KeyError(pointer)
        marker = "\u0000duplicate\u0000"
        members = list(parent.items())
        parent.clear()
        parent.update([(marker, None), *members])
        text = json.dumps(body)
        text = text.replace(json.dumps(marker) + ": null", f"{json.dumps(name)}: {json.dumps(first)}")
        return status, Raw(text.encode(), "application/json")

    return mutate


def empty_body() -> Mutation:
    """The status and content type as before, and no body at all."""
    return lambda status, body: (status, Raw(b"", "application/json"))


# -- well-formed lies: behaviour --------------------------------------------------------------
def duplicate_item(items: str) -> Mutation:
    """A page that lists its first item twice (in place of its last when it has two or more)."""

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        listed = body
        if items:
            parent, name = _parent(body, items)
            listed = parent[name]
        if not isinstance(listed, list) or not listed:
            return status, body
        if len(listed) >= 2:
            listed[-1] = listed[0]
        else:
            listed.append(listed[0])
        return status, body

    return mutate


def regress(state: str, terminal: set[str], back_to: str, run_id: str = "/id") -> Mutation:
    """Once a run has been answered in a terminal state, later answers show it in ``back_to``."""
    ended: set[str] = set()

    def mutate(status: int, body: Any) -> tuple[int, Any]:
        parent, name = _parent(body, state)
        key_parent, key_name = _parent(body, run_id)
        key = str(key_parent.get(key_name)) if isinstance(key_parent, dict) else None
        if not isinstance(parent, dict) or key is None:
            return status, body
        if key in ended:
            parent[name] = back_to
        elif parent.get(name) in terminal:
            ended.add(key)
        return status, body

    return mutate


Rewrite = Callable[[Scope], Scope]


def drop_query(*names: str) -> Rewrite:
    """The server never sees these query parameters (it ignores them, or a gateway drops them)."""

    def rewrite(scope: Scope) -> Scope:
        query = [
            (k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"), True) if k not in names
        ]
        return {**scope, "query_string": urlencode(query).encode("latin-1")}

    return rewrite


def reroute(method: str, pattern: str, replacement: str) -> Rewrite:
    """The request reaches another route: a command answered without being carried out (a cancel
    that only reads the run, a delete that does nothing)."""

    def rewrite(scope: Scope) -> Scope:
        path = re.sub(pattern, replacement, scope["path"])
        return {**scope, "method": method.upper(), "path": path, "raw_path": path.encode()}

    return rewrite


@dataclass
class Drift:
    """Apply ``mutation`` to JSON responses whose request matches ``method`` and ``path`` (a regex)."""

    method: str
    path: str
    mutation: Mutation | None = None
    statuses: tuple[int, ...] = (200,)
    #: Changes the request before the mock sees it (its answer is still matched as this request's).
    request: Rewrite | None = None

    def matches(self, scope: Scope) -> bool:
        return scope["method"] == self.method.upper() and re.search(self.path, scope["path"]) is not None

    def applies(self, scope: Scope, status: int) -> bool:
        return self.mutation is not None and self.matches(scope) and status in self.statuses


def _decoded(body: bytes, media_type: str) -> Any:
    """JSON as Python values; anything else (an event stream, a plain-text error) as ``Raw``."""
    try:
        return json.loads(body)
    except ValueError:
        return Raw(body, media_type)


class DriftMiddleware:
    def __init__(self, app: ASGIApp, drifts: list[Drift]) -> None:
        self.app, self.drifts = app, drifts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asked = scope
        for drift in self.drifts:
            if drift.request is not None and drift.matches(asked):
                scope = drift.request(scope)
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = start["status"], b"".join(chunks)
            media_type = next((v.decode() for k, v in start["headers"] if k.lower() == b"content-type"), "")
            for drift in self.drifts:
                if drift.applies(asked, status) and drift.mutation is not None:
                    try:
                        status, data = drift.mutation(status, _decoded(body, media_type))
                    except (KeyError, IndexError, TypeError):
                        continue
                    if isinstance(data, Raw):
                        body, media_type = data.content, data.media_type
                    else:
                        body = json.dumps(data).encode()
            headers = [
                (k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"content-type")
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            if media_type:
                headers.append((b"content-type", media_type.encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
