"""A misbehaving HTTP server on loopback: a raw asyncio HTTP/1.1 front for a real mock.

Requests that match a ``Fault`` get the fault (a reset socket, a hang, a 500, an HTML page,
a truncated or non-UTF-8 body, 50 MB, a trickle, a redirect loop, a server that goes away);
every other request is forwarded to the real mock behind it, so the rest of the API keeps
answering as documented. It speaks HTTP/1.1 on raw sockets because several faults (reset,
short body, vanishing listener) cannot be produced through an ASGI application.
"""

from __future__ import annotations

import asyncio
import functools
import re
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

Action = Callable[["Exchange"], Awaitable[None]]
HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


def _dechunk(body: bytes) -> bytes:
    """Undo chunked transfer coding (streaming responses of the mock)."""
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


@dataclass
class Exchange:
    """One request on one connection, and the means to answer it (or not)."""

    server: FaultServer
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    method: str
    target: str
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes

    async def forward(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """The real mock's answer to this request, relayed byte for byte (fuzzed headers included)."""
        reader, writer = await asyncio.open_connection(*self.server.upstream)
        try:
            head = [f"{self.method} {self.target} HTTP/1.1".encode("latin-1")]
            head += [n + b": " + v for n, v in self.raw_headers if n.lower() != b"connection"]
            writer.write(b"\r\n".join([*head, b"connection: close", b"", b""]) + self.body)
            await writer.drain()
            response = await reader.read()
        finally:
            writer.close()
        head_bytes, _, body = response.partition(b"\r\n\r\n")
        status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
        headers = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
        if any(n.lower() == "transfer-encoding" for n, _ in headers):
            body = _dechunk(body)
        kept = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]
        return int(status_line.split(" ", 2)[1]), kept, body

    async def respond(
        self, status: int, headers: list[tuple[str, str]], body: bytes, *, length: int | None = None
    ) -> None:
        """Write a whole response; ``length`` may lie about the body to cut it short."""
        await self.head(status, headers, len(body) if length is None else length)
        self.writer.write(body)
        await self.writer.drain()

    async def head(self, status: int, headers: list[tuple[str, str]], length: int) -> None:
        lines = [f"HTTP/1.1 {status} Fault", *(f"{k}: {v}" for k, v in headers), f"content-length: {length}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()


@dataclass
class Fault:
    """Misbehave with ``action`` on requests whose method (``*``: any) and path (a regex) match."""

    method: str
    path: str
    action: Action
    hits: int = field(default=0, init=False)

    def matches(self, method: str, target: str) -> bool:
        path = target.split("?", 1)[0]
        return self.method in ("*", method) and re.search(self.path, path) is not None


class FaultServer:
    """The misbehaving front, served from a background thread; ``base_url`` includes ``base_path``."""

    def __init__(self, upstream_port: int, faults: list[Fault], base_path: str = "") -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.faults, self.base_path = faults, base_path
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fault-server", daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while not writer.is_closing():
                try:
                    exchange = await self._read_request(reader, writer)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                fault = next((f for f in self.faults if f.matches(exchange.method, exchange.target)), None)
                if fault is None:
                    await exchange.respond(*await exchange.forward())
                else:
                    fault.hits += 1
                    await fault.action(exchange)
        except (ConnectionError, OSError):
            return  # the client gave up on a fault: that is the point
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Exchange:
        request_line, *lines = (await reader.readuntil(b"\r\n\r\n"))[:-4].split(b"\r\n")
        method, target, _ = request_line.decode("latin-1").split(" ", 2)
        headers = [
            (name.strip(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)
        ]
        length = next((int(v) for n, v in headers if n.lower() == b"content-length"), 0)
        body = await reader.readexactly(length)
        return Exchange(self, reader, writer, method, target, headers, body)

    def vanish(self) -> None:
        """Stop listening and drop every open connection: later requests are refused."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    def __enter__(self) -> FaultServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault server did not start")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


# The faults. Each is an ``Action``: what the server does instead of answering properly.


async def reset(exchange: Exchange) -> None:
    """Close with SO_LINGER 0, so the client sees a TCP reset instead of an answer."""
    sock = exchange.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    exchange.writer.transport.abort()


async def hang(exchange: Exchange) -> None:
    """Read the request and never answer; wait until the client gives up."""
    await exchange.reader.read()
    exchange.writer.transport.abort()


async def vanish(exchange: Exchange) -> None:
    """The server goes away in the middle of the run: this and every later connection is refused."""
    exchange.server.vanish()


def after(passes: int, action: Action) -> Action:
    """Answer the first ``passes`` matching requests properly, then misbehave."""
    seen = 0

    async def maybe(exchange: Exchange) -> None:
        nonlocal seen
        seen += 1
        if seen <= passes:
            await exchange.respond(*await exchange.forward())
        else:
            await action(exchange)

    return maybe


async def server_error(exchange: Exchange) -> None:
    await exchange.respond(500, [("content-type", "text/plain")], b"Internal Server Error")


async def html_page(exchange: Exchange) -> None:
    """A proxy's error page, served as a success."""
    page = b"<!doctype html><html><body><h1>Service temporarily unavailable</h1></body></html>"
    await exchange.respond(200, [("content-type", "text/html; charset=utf-8")], page)


async def truncated_json(exchange: Exchange) -> None:
    """The mock's own JSON, cut in half, with a Content-Length that matches what is sent."""
    status, headers, body = await exchange.forward()
    await exchange.respond(status, headers, body[: len(body) // 2])


async def short_body(exchange: Exchange) -> None:
    """Content-Length promises the whole body; the connection closes after half of it."""
    status, headers, body = await exchange.forward()
    await exchange.respond(status, headers, body[: len(body) // 2], length=len(body))
    exchange.writer.transport.abort()


async def invalid_utf8(exchange: Exchange) -> None:
    """The mock's JSON with bytes that are not UTF-8 inside its first string."""
    status, headers, body = await exchange.forward()
    await exchange.respond(status, headers, body.replace(b'"', b'"\xff\xfe', 1))


HUGE_BYTES = 50 * 1024 * 1024


class HugeBody:
    """A 50 MB JSON document, streamed in 1 MB pieces; ``sent`` holds how much of each got out.

    A client that stops reading at its limit and hangs up leaves each figure short of
    ``HUGE_BYTES``: what it did not take could not be written.
    """

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def __call__(self, exchange: Exchange) -> None:
        await exchange.head(200, [("content-type", "application/json")], HUGE_BYTES)
        piece = b" " * (1024 * 1024)
        pieces = [b"[", *[piece] * (HUGE_BYTES // len(piece) - 1), piece[: len(piece) - 2] + b"]"]
        self.sent.append(0)
        for data in pieces:
            exchange.writer.write(data)
            await exchange.writer.drain()
            self.sent[-1] += len(data)


async def dribble(exchange: Exchange, data: bytes, delay: float) -> None:
    """Write ``data`` one byte every ``delay`` seconds."""
    for index in range(len(data)):
        exchange.writer.write(data[index : index + 1])
        await exchange.writer.drain()
        await asyncio.sleep(delay)


def trickle(delay: float) -> Action:
    """The mock's answer, one byte every ``delay`` seconds: each read is quick, the whole is not."""

    async def slow(exchange: Exchange) -> None:
        status, headers, body = await exchange.forward()
        await exchange.head(status, headers, len(body))
        await dribble(exchange, body, delay)

    return slow


async def redirect_loop(exchange: Exchange) -> None:
    await exchange.respond(302, [("location", exchange.target)], b"")


def slow_headers(delay: float, seconds: float = 60.0) -> Action:
    """The status line and headers one byte every ``delay`` seconds: each read is quick, the
    headers never complete within any sane bound."""

    async def slow(exchange: Exchange) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"a" * int(seconds / delay) + b"\r\n\r\n"
        await dribble(exchange, head, delay)

    return slow


async def endless_continue(exchange: Exchange) -> None:
    """``100 Continue`` informational responses, one every 50 ms, never a final response."""
    while True:
        exchange.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await exchange.writer.drain()
        await asyncio.sleep(0.05)


def json_body(
    body: bytes | Callable[[], bytes], status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Action:
    """Always this body, as ``application/json`` (plus ``headers``); a body given as a function is
    made when first answered."""

    async def answer(exchange: Exchange) -> None:
        sent = body() if callable(body) else body
        await exchange.respond(status, [("content-type", "application/json"), *(headers or [])], sent)

    return answer


def rewritten(change: Callable[[bytes], bytes]) -> Action:
    """The mock's own answer, its body passed through ``change``."""

    async def answer(exchange: Exchange) -> None:
        status, headers, body = await exchange.forward()
        await exchange.respond(status, headers, change(body))

    return answer


def gzip_answer(decoded_bytes: int) -> Action:
    """``json_body`` of a ``gzip_bomb``, made when first answered: not by every test process that
    only collects the test."""
    return json_body(functools.partial(gzip_bomb, decoded_bytes), headers=[("content-encoding", "gzip")])


@functools.cache
def gzip_bomb(decoded_bytes: int) -> bytes:
    """A gzip member that decodes to ``decoded_bytes`` of JSON (``[`` spaces ``]``), a few kB on the wire."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    piece = b" " * (1024 * 1024)
    out = [compressor.compress(b"[")]
    for _ in range(decoded_bytes // len(piece)):
        out.append(compressor.compress(piece))
    out.append(compressor.compress(b"]"))
    out.append(compressor.flush())
    return b"".join(out)


async def endless_body(exchange: Exchange) -> None:
    """Headers, then a chunked body that never ends (a kilobyte every 10 ms)."""
    head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    exchange.writer.write(head.encode("latin-1"))
    exchange.writer.write(b"1\r\n[\r\n")
    while True:
        exchange.writer.write(b"400\r\n" + b" " * 1024 + b"\r\n")
        await exchange.writer.drain()
        await asyncio.sleep(0.01)


def children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (read from /proc, so no extra dependency)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
