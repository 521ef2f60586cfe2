"""Deliberate drift: an ASGI middleware that mutates a mock's responses, one change at a time.

Tests and the detection benchmark use it to prove that a change nobody documented is
reported as ``new`` at the right operation and location.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Mutation = Callable[[int, Any], tuple[int, Any]]


def _parent(body: Any, pointer: str) -> tuple[Any, str]:
    *parents, last = pointer.lstrip("/").split("/")
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


def set_status(code: int) -> Mutation:
    return lambda status, body: (code, body)


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
            for drift in self.drifts:
                if drift.applies(scope, status):
                    try:
                        status, data = drift.mutation(status, json.loads(body))
                    except (ValueError, KeyError, IndexError, TypeError):
                        continue
                    body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
