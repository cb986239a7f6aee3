from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.capture.warc import HttpExchange, WarcFileWriter, status_line, warc_date

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def writer(directory: Path, max_size: int = 1_000_000) -> WarcFileWriter:
    ids = itertools.count()
    return WarcFileWriter(
        directory,
        "site",
        warcinfo={"software": "arshif/test", "isPartOf": "site"},
        max_size=max_size,
        clock=lambda: WHEN,
        make_id=lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(ids):012d}>",
    )


def exchange(
    body: bytes = b"<p>\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7</p>", **kw
) -> HttpExchange:
    fields = dict(
        url="https://news.example/ar/1/%D8%AE%D8%A8%D8%B1?page=2",
        status=200,
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=body,
        date=WHEN,
        request_headers=[("Host", "news.example"), ("User-Agent", "arshif/test")],
        ip_address="127.0.0.1",
    )
    return HttpExchange(**(fields | kw))


def records(path: Path) -> list:
    with path.open("rb") as f:
        return [
            (r.rec_type, dict(r.rec_headers.headers), r.http_headers, r.raw_stream.read())
            for r in ArchiveIterator(f)
        ]


def test_records_pinned_byte_for_byte(tmp_path):
    with writer(tmp_path) as w:
        pointer = w.write_exchange(exchange())
    path = tmp_path / pointer.filename
    assert pointer.filename == "site-20260102030405-00000.warc.gz"

    body = "<p>مرحبا</p>".encode()
    response_block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    request_block = b"GET /ar/1/%D8%AE%D8%A8%D8%B1?page=2 HTTP/1.1\r\nHost: news.example\r\nUser-Agent: arshif/test\r\n\r\n"
    info_block = b"software: arshif/test\r\nisPartOf: site\r\n"
    uri = "https://news.example/ar/1/%D8%AE%D8%A8%D8%B1?page=2"
    expected = (
        (
            "WARC/1.1\r\nWARC-Type: warcinfo\r\n"
            "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000000>\r\n"
            "WARC-Filename: site-20260102030405-00000.warc.gz\r\nWARC-Date: 2026-01-02T03:04:05Z\r\n"
            f"WARC-Block-Digest: {sha1(info_block)}\r\n"
            f"Content-Type: application/warc-fields\r\nContent-Length: {len(info_block)}\r\n\r\n"
        ).encode()
        + info_block
        + b"\r\n\r\n"
        + (
            "WARC/1.1\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
            "WARC-Date: 2026-01-02T03:04:05Z\r\nWARC-IP-Address: 127.0.0.1\r\nWARC-Type: response\r\n"
            f"WARC-Target-URI: {uri}\r\nWARC-Payload-Digest: {sha1(body)}\r\n"
            f"WARC-Block-Digest: {sha1(response_block)}\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(response_block)}\r\n\r\n"
        ).encode()
        + response_block
        + b"\r\n\r\n"
        + (
            "WARC/1.1\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
            "WARC-Date: 2026-01-02T03:04:05Z\r\n"
            "WARC-Concurrent-To: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\nWARC-Type: request\r\n"
            f"WARC-Target-URI: {uri}\r\nWARC-Payload-Digest: {sha1(b'')}\r\n"
            f"WARC-Block-Digest: {sha1(request_block)}\r\n"
            f"Content-Type: application/http; msgtype=request\r\nContent-Length: {len(request_block)}\r\n\r\n"
        ).encode()
        + request_block
        + b"\r\n\r\n"
    )
    assert gzip.decompress(path.read_bytes()) == expected
    assert pointer.payload_digest == sha1(body)
    assert pointer.record_id == "<urn:uuid:00000000-0000-4000-8000-000000000001>"


def test_each_record_is_its_own_gzip_member_at_its_offset(tmp_path):
    with writer(tmp_path) as w:
        first = w.write_exchange(exchange())
        second = w.write_exchange(exchange(body=b"second page"))
    data = (tmp_path / first.filename).read_bytes()
    for pointer, body in [(first, "<p>مرحبا</p>".encode()), (second, b"second page")]:
        member = data[pointer.offset : pointer.offset + pointer.length]
        text = zlib.decompressobj(31).decompress(member)
        assert text.startswith(b"WARC/1.1\r\n") and b"WARC-Type: response" in text
        assert text.endswith(body + b"\r\n\r\n")


def test_gzip_bodies_are_kept_compressed_with_their_header(tmp_path):
    page = "<html>صفحة</html>".encode()
    wire = gzip.compress(page, mtime=0)
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    with writer(tmp_path) as w:
        pointer = w.write_exchange(exchange(body=wire, response_headers=headers))
    (_, _, _, _), (rtype, rheaders, http, payload), _ = records(tmp_path / pointer.filename)
    assert rtype == "response"
    assert http.get_header("Content-Encoding") == "gzip"
    assert payload == wire and gzip.decompress(payload) == page
    assert rheaders["WARC-Payload-Digest"] == sha1(wire)


def test_error_and_redirect_status_lines():
    assert status_line(404) == "404 Not Found"
    assert status_line(301) == "301 Moved Permanently"
    assert status_line(599) == "599"


def test_rotation_starts_a_new_file_with_its_own_warcinfo(tmp_path):
    with writer(tmp_path, max_size=1) as w:
        pointers = [w.write_exchange(exchange(body=b"x" * 100)) for _ in range(3)]
        files = list(w.files)
    assert len(files) == 3 and len({p.filename for p in pointers}) == 3
    for name in files:
        types = [r[0] for r in records(tmp_path / name)]
        assert types == ["warcinfo", "response", "request"]


def test_never_clobbers_an_existing_file(tmp_path):
    (tmp_path / "site-20260102030405-00000.warc.gz").write_bytes(b"earlier run")
    with writer(tmp_path) as w:
        pointer = w.write_exchange(exchange())
    assert pointer.filename == "site-20260102030405-00001.warc.gz"
    assert (tmp_path / "site-20260102030405-00000.warc.gz").read_bytes() == b"earlier run"


def test_metadata_record_refers_to_the_response(tmp_path):
    with writer(tmp_path) as w:
        response = w.write_exchange(exchange())
        meta = w.write_metadata(exchange().url, response, {"title": "خبر"})
    recs = records(tmp_path / meta.filename)
    rtype, headers, _, payload = recs[-1]
    assert rtype == "metadata" and headers["WARC-Concurrent-To"] == response.record_id
    assert payload.decode() == '{"title": "خبر"}'


def test_warcio_check_passes(tmp_path):
    with writer(tmp_path) as w:
        w.write_exchange(exchange())
        w.write_exchange(exchange(status=404, body=b"not found"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", "-v", str(tmp_path / w.files[0])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == 5


def test_warc_date_keeps_microseconds():
    assert warc_date(WHEN.replace(microsecond=120)) == "2026-01-02T03:04:05.000120Z"


def test_revisit_record_points_at_the_original(tmp_path):
    from archive.capture.warc import Revisited, payload_digest

    with writer(tmp_path) as w:
        original = w.write_exchange(exchange())
        revisit = w.write_exchange(
            exchange(), Revisited(original.record_id, exchange().url, original.date)
        )
    recs = records(tmp_path / revisit.filename)
    rtype, headers, http, payload = recs[3]
    assert rtype == "revisit" and payload == b""
    assert (
        headers["WARC-Profile"]
        == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    )
    assert headers["WARC-Refers-To"] == original.record_id
    assert headers["WARC-Refers-To-Target-URI"] == exchange().url
    assert headers["WARC-Refers-To-Date"] == original.date == "2026-01-02T03:04:05Z"
    assert (
        headers["WARC-Payload-Digest"]
        == payload_digest("<p>مرحبا</p>".encode())
        == original.payload_digest
    )
    assert http.get_statuscode() == "200"
    assert recs[4][0] == "request" and recs[4][1]["WARC-Concurrent-To"] == revisit.record_id
