"""The mirror's proxy server: real site URLs answered from a mirror directory on loopback.

It speaks just enough HTTP/1.1 to be a forward proxy for Scrapy, curl and
browsers: absolute-form requests for ``http://`` URLs, ``CONNECT`` tunnels for
``https://`` URLs (TLS with a self-signed certificate made at start: Scrapy
does not verify certificates by default; curl needs ``-k``), and plain
origin-form requests routed by their Host header. Connections are kept alive.
Every answer comes from ``mirror.layout.Mirror``; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ipaddress
import logging
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path

from mirror.layout import Answer, Mirror

log = logging.getLogger("arshif.mirror")
MAX_HEAD = 64 * 1024


def make_tls_context(hosts: list[str], directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate naming every mirror host."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arshif offline mirror")])
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts] or [x509.DNSName("localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # Its own CA, with the extensions strict verifiers (Python 3.13's default
        # context) ask for, so a client can trust it by its file: --ca-file.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "mirror.crt", directory / "mirror.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class MirrorServer:
    """Serves a mirror on 127.0.0.1 as an HTTP proxy. Use ``start_in_thread`` or ``serve``."""

    def __init__(self, root: str | Path, port: int = 0, host: str = "127.0.0.1") -> None:
        self.mirror = Mirror(root)
        self.host = host
        self.port = port
        self._tmp = tempfile.TemporaryDirectory(prefix="arshif-mirror-")
        self.tls = make_tls_context(self.mirror.hosts(), Path(self._tmp.name))
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0

    @property
    def ca_file(self) -> Path:
        """The certificate's PEM file: trust it to verify the mirror's HTTPS."""
        return Path(self._tmp.name) / "mirror.crt"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Listen, call on_ready (the port is known by then), and serve until cancelled."""
        await self.start()
        assert self._server is not None
        if on_ready is not None:
            on_ready()
        async with self._server:
            await self._server.serve_forever()

    def start_in_thread(self) -> str:
        """Start serving in a daemon thread; returns the proxy URL."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="arshif-mirror", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the mirror server did not start")
        return self.proxy_url

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._server is not None:

            async def close() -> None:
                assert self._server is not None
                self._server.close()
                loop.stop()

            asyncio.run_coroutine_threadsafe(close(), loop)
            if self._thread is not None:
                self._thread.join(5)
        self._tmp.cleanup()

    # -- protocol --------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tunnel_host: str | None = None
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                method, target, version, headers = head
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                if method == "CONNECT" and tunnel_host is None:
                    tunnel_host = target.rsplit(":", 1)[0]
                    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    await writer.drain()
                    await writer.start_tls(self.tls)
                    continue
                host, path = _split_target(target, headers, tunnel_host)
                self.requests += 1
                answer = self.mirror.answer(method, host, path)
                keep_alive = (
                    version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                )
                accepts_gzip = "gzip" in headers.get("accept-encoding", "").lower()
                log.info("%s %s%s -> %d %s", method, host, path, answer.status, answer.fault or "")
                if answer.fault is not None:
                    await _misbehave(answer, reader, writer, accepts_gzip)
                    return
                writer.write(_render(answer, keep_alive, accepts_gzip))
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as e:
            log.debug("connection ended: %r", e)
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def _misbehave(
    answer: Answer,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    accepts_gzip: bool,
) -> None:
    """Answer as a broken server or network would: the connection ends after it."""
    if answer.fault == "reset":
        _reset(writer)
    elif answer.fault == "truncate":
        whole = _render(answer, False, accepts_gzip)
        head_end = whole.index(b"\r\n\r\n") + 4
        writer.write(whole[: head_end + (len(whole) - head_end) // 2])
        await writer.drain()  # then closed (the caller), short of its Content-Length
    elif answer.fault == "stall":
        await reader.read()  # nothing is sent; returns when the client hangs up


def _reset(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with an RST ("connection reset by peer"), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, str, dict[str, str]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise ValueError("request head too long") from None
    if len(raw) > MAX_HEAD:
        raise ValueError("request head too long")
    lines = raw.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method.upper(), target, version.strip(), headers


def _split_target(target: str, headers: dict[str, str], tunnel_host: str | None) -> tuple[str, str]:
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        host, slash, path = rest.partition("/")
        return host, "/" + path if slash else "/"
    return headers.get("host") or tunnel_host or "", target


def _render(answer: Answer, keep_alive: bool, accepts_gzip: bool) -> bytes:
    body = answer.body
    headers = list(answer.headers)
    if answer.gzip_ok and accepts_gzip and body:
        # mtime=0: the same page gzips to the same bytes every time.
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    try:
        phrase = HTTPStatus(answer.status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {answer.status} {phrase}", f"Date: {formatdate(usegmt=True)}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines += [
        f"Content-Length: {len(body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
