"""WARC/1.1 writing: each HTTP exchange as a response record and its request record.

Files are gzipped per record (so any record can be read from its offset alone),
start with a ``warcinfo`` record, rotate at a size limit, and are named
``{prefix}-{UTC timestamp}-{serial}.warc.gz`` after Heritrix. The response body
is written exactly as the caller received it from the network: still
content-encoded, with its ``Content-Encoding`` header. The caller owns what
"received" means; the crawler captures below Scrapy's decompression.

Clock and record-id factory are injectable so tests pin records byte for byte,
as warcio's own tests do.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DEFAULT_MAX_SIZE = 1_000_000_000
WARC_VERSION = "WARC/1.1"
_F = TypeVar("_F", bound=Callable[..., Any])


def _timed(kind: str) -> Callable[[_F], _F]:
    """Add the method's (CPU, wall) seconds to ``self.seconds[kind]``: the crawl reports
    where its time goes (crawler/timing.py), and WARC gzip and digests are one place."""

    def decorate(method: _F) -> _F:
        @functools.wraps(method)
        def timed(self: WarcFileWriter, *args: Any, **kwargs: Any) -> Any:
            cpu, start = time.thread_time(), time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                was_cpu, was_wall = self.seconds.get(kind, (0.0, 0.0))
                self.seconds[kind] = (
                    was_cpu + time.thread_time() - cpu,
                    was_wall + time.perf_counter() - start,
                )

        return timed  # type: ignore[return-value]

    return decorate


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(when: datetime) -> str:
    """WARC 1.1 date: UTC, ISO 8601, microseconds kept when present."""
    when = when.astimezone(UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if when.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return when.strftime(fmt)


def status_line(status: int) -> str:
    """'200 OK': the code with its standard reason phrase (Scrapy keeps no phrase)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass(frozen=True)
class HttpExchange:
    """One request and the response to it, as they crossed the network."""

    url: str
    status: int
    response_headers: Sequence[tuple[str, str]]
    body: bytes
    date: datetime
    method: str = "GET"
    request_headers: Sequence[tuple[str, str]] = ()
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None

    def request_line(self) -> str:
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return f"{self.method} {target} {self.protocol}"


def payload_digest(body: bytes) -> str:
    """The WARC payload digest of body: SHA-1, base32, as warcio writes it."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


@dataclass(frozen=True)
class Revisited:
    """The earlier capture a revisit record refers to."""

    record_id: str
    url: str
    date: str  # its WARC-Date


@dataclass(frozen=True)
class WarcPointer:
    """Where a record lives: enough to open it again with a seek."""

    filename: str
    offset: int
    length: int
    record_id: str
    payload_digest: str | None
    date: str


class WarcFileWriter:
    """Writes exchanges to size-rotated, per-record-gzipped WARC files in a directory."""

    def __init__(
        self,
        directory: str | Path,
        prefix: str,
        *,
        warcinfo: Mapping[str, str],
        max_size: int = DEFAULT_MAX_SIZE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        make_id: Callable[[], str] = new_record_id,
    ) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.warcinfo = dict(warcinfo)
        self.max_size = max_size
        self.clock = clock
        self.make_id = make_id
        self._file: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self._serial = 0
        self.filename: str | None = None
        self.files: list[str] = []
        self.seconds: dict[str, tuple[float, float]] = {}  # (CPU, wall) by kind of record

    # -- files -----------------------------------------------------------------

    def _open_next(self) -> None:
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%d%H%M%S")
        while True:
            name = f"{self.prefix}-{stamp}-{self._serial:05d}.warc.gz"
            self._serial += 1
            try:
                # 'xb': never append to or clobber a file another run wrote.
                self._file = (self.directory / name).open("xb")
                break
            except FileExistsError:
                continue
        self.filename = name
        self.files.append(name)
        self._writer = WARCWriter(self._file, gzip=True, warc_version=WARC_VERSION)
        info = self._writer.create_warcinfo_record(name, self.warcinfo)
        self._stamp(info, self.clock())
        self._write(info)

    def _ensure_file(self) -> WARCWriter:
        if self._writer is None or self._file is None or self._file.tell() >= self.max_size:
            self._open_next()
        assert self._writer is not None
        return self._writer

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None

    def __enter__(self) -> WarcFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- records ---------------------------------------------------------------

    def _stamp(self, record: object, when: datetime) -> None:
        headers = record.rec_headers  # type: ignore[attr-defined]
        headers.replace_header("WARC-Record-ID", self.make_id())
        headers.replace_header("WARC-Date", warc_date(when))

    def _write(self, record: object) -> WarcPointer:
        assert self._writer is not None and self._file is not None and self.filename
        offset = self._file.tell()
        try:
            self._writer.write_record(record)
            self._file.flush()
        except OSError:
            self._cut_back(offset)
            raise
        headers = record.rec_headers  # type: ignore[attr-defined]
        return WarcPointer(
            filename=self.filename,
            offset=offset,
            length=self._file.tell() - offset,
            record_id=headers.get_header("WARC-Record-ID"),
            payload_digest=headers.get_header("WARC-Payload-Digest"),
            date=headers.get_header("WARC-Date"),
        )

    def _cut_back(self, offset: int) -> None:
        """After a write the disk refused part of (ENOSPC once some bytes were in): the
        file is cut back to its last whole record and closed; the next record opens a
        new file. The bytes cut are part of one gzip member, of a record nothing points
        at; left there, they made every later `verify` fail until `verify --repair`.
        A file left with no record at all is removed."""
        assert self._file is not None and self.filename is not None
        file, self._file, self._writer = self._file, None, None
        path = self.directory / self.filename
        with contextlib.suppress(OSError):
            file.close()  # it flushes what it still holds, if it can: cut below
        try:
            if offset == 0:
                path.unlink()
                self.files.remove(self.filename)
            else:
                os.truncate(path, offset)
        except OSError:
            pass  # the caller raises the write's own error; verify --repair mends the rest

    @_timed("exchange")
    def write_exchange(
        self, exchange: HttpExchange, revisit_of: Revisited | None = None
    ) -> WarcPointer:
        """Write the response record, then its linked request record; return where it is.

        With ``revisit_of`` (an earlier capture of the same URL with the same
        payload digest), a ``revisit`` record (profile identical-payload-digest)
        stands in for the response: headers only, pointing at the original.
        """
        writer = self._ensure_file()
        date = warc_date(exchange.date)
        response_id = self.make_id()
        warc_headers = {"WARC-Record-ID": response_id, "WARC-Date": date}
        if exchange.ip_address:
            warc_headers["WARC-IP-Address"] = exchange.ip_address
        http_headers = StatusAndHeaders(
            status_line(exchange.status),
            list(exchange.response_headers),
            protocol=exchange.protocol,
        )
        if revisit_of is None:
            response = writer.create_warc_record(
                exchange.url,
                "response",
                payload=io.BytesIO(exchange.body),
                length=len(exchange.body),
                warc_headers_dict=warc_headers,
                http_headers=http_headers,
            )
        else:
            warc_headers["WARC-Refers-To"] = revisit_of.record_id
            response = writer.create_revisit_record(
                exchange.url,
                digest=payload_digest(exchange.body),
                refers_to_uri=revisit_of.url,
                refers_to_date=revisit_of.date,
                http_headers=http_headers,
                warc_headers_dict=warc_headers,
            )
        pointer = self._write(response)
        request = writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            warc_headers_dict={
                "WARC-Record-ID": self.make_id(),
                "WARC-Date": date,
                "WARC-Concurrent-To": response_id,
            },
            http_headers=StatusAndHeaders(
                exchange.request_line(), list(exchange.request_headers), is_http_request=True
            ),
        )
        self._write(request)
        return pointer

    @_timed("metadata")
    def write_metadata(
        self, url: str, refers_to: WarcPointer, data: Mapping[str, object]
    ) -> WarcPointer:
        """A JSON ``metadata`` record about an earlier record, linked by WARC-Concurrent-To."""
        writer = self._ensure_file()
        body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
        record = writer.create_warc_record(
            url,
            "metadata",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/json",
            warc_headers_dict={
                "WARC-Record-ID": self.make_id(),
                "WARC-Date": warc_date(self.clock()),
                "WARC-Concurrent-To": refers_to.record_id,
            },
        )
        return self._write(record)
