"""A mock served as its vendor's own host, for a client that builds its URLs itself.

The vendor's SDK writes ``https://{env}.solvexia.com/...`` into every URL. It is pointed at a
mock the way any ``requests`` client is pointed elsewhere, without a change to its code:
``HTTPS_PROXY`` names this proxy and ``REQUESTS_CA_BUNDLE`` a throwaway CA (trustme). The proxy
answers each ``CONNECT`` to a host under ``domain`` by completing TLS itself, with a certificate
for that host, and forwards the plain HTTP to the mock on loopback. Any other host is refused,
and nothing ever leaves the machine (no vendor host is resolved, let alone contacted).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trustme


@dataclass
class VendorHost:
    """``HTTPS_PROXY`` for ``*.<domain>`` onto the mock at ``127.0.0.1:<upstream_port>``."""

    domain: str
    upstream_port: int
    ca_file: Path
    port: int = 0
    #: The hosts clients asked for, in order (``CONNECT host:port``).
    tunnels: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
        pass  # a side hung up, or the proxy is stopping
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextmanager
def vendor_host(domain: str, upstream_port: int, directory: Path) -> Iterator[VendorHost]:
    """Serve the proxy from a background thread for the block."""
    authority = trustme.CA()
    certificate = authority.issue_cert(f"*.{domain}", domain)
    ca_file = directory / "vendor-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    host = VendorHost(domain, upstream_port, ca_file)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, target, *_ = request.split(" ", 2)
        name = target.rsplit(":", 1)[0].lower()
        if method != "CONNECT" or not name.endswith("." + domain):
            host.refused.append(target)
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        host.tunnels.append(name)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(context)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    async def serve() -> asyncio.Server:
        server = await asyncio.start_server(tunnel, "127.0.0.1", 0)
        host.port = server.sockets[0].getsockname()[1]
        started.set()
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        loop.run_forever()
        server.close()
        tunnels = asyncio.all_tasks(loop)
        for task in tunnels:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tunnels, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, name="vendor-host", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield host
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
