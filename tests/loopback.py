"""``httpx`` for tests that talk to servers on loopback, with one TLS context for the whole process.

httpx builds a TLS context for every client made without one, loading the CA bundle (about 25 ms
of CPU), and ``httpx.get`` and friends make a client for each call. These tests make about 900
clients, so that came to some 20 CPU-seconds of the suite; a loopback server speaks plain HTTP,
so the context is never used, only built. Clients and requests are otherwise httpx's own.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx


@cache
def tls() -> ssl.SSLContext:
    """The process's one context, for clients made otherwise (``httpx.AsyncClient``)."""
    return httpx.create_ssl_context()


def Client(**options: Any) -> httpx.Client:
    return httpx.Client(verify=tls(), **options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    return httpx.request(method, url, verify=tls(), **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)
