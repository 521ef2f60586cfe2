"""Deliberate drift: an ASGI middleware that mutates a mock's responses, one change at a time.

Tests and the detection benchmark use it to prove that a change nobody documented is
reported as ``new`` at the right operation and location.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass
class Drift:
    """Apply ``mutation`` to JSON responses whose request matches ``method`` and ``path`` (a regex)."""

    method: str
    path: str
    mutation: Mutation
    statuses: tuple[int, ...] = (200,)

    def applies(self, scope: Scope, status: int) -> bool:
        return (
            scope["method"] == self.method.upper()
            and re.search(self.path, scope["path"]) is not None
            and status in self.statuses
        )


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
                if drift.applies(scope, status):
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
