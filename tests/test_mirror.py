from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import time

import pytest

from mirror import BUNDLED
from mirror.layout import Mirror
from mirror.server import MirrorServer


@pytest.fixture()
def site(tmp_path):
    host = tmp_path / "news.example"
    (host / "ar" / "1").mkdir(parents=True)
    (host / "ar" / "1" / "خبر").write_text("<p>خبر</p>", encoding="utf-8")
    (host / "index.html").write_text("home", encoding="utf-8")
    (host / "old.html").write_bytes("<p>قديم</p>".encode("cp1256"))
    (host / "_mirror.toml").write_text(
        """
[host]
gzip = true
headers = { Server = "test" }

[[route]]
url = "/list?page=2"
file = "index.html"

[[route]]
url = "/?p=1"
redirect = "/ar/1/خبر"
status = 301

[[route]]
url = "/old.html"
file = "old.html"
content_type = "text/html"

[[route]]
url = "/busy"
file = "index.html"
fail_first = 1
retry_after = 2

[[route]]
url = "/slow-down"
file = "index.html"
fail_first = 1
fail_status = 429
retry_after = 100000

[[route]]
url = "/reset"
file = "index.html"
fault = "reset"

[[route]]
url = "/cut"
file = "old.html"
fault = "truncate"

[[route]]
url = "/stall"
file = "index.html"
fault = "stall"
""",
        encoding="utf-8",
    )
    return tmp_path


def test_layout_resolution(site):
    mirror = Mirror(site)
    assert (
        mirror.answer("GET", "news.example", "/ar/1/%D8%AE%D8%A8%D8%B1").body
        == "<p>خبر</p>".encode()
    )
    assert mirror.answer("GET", "news.example", "/").body == b"home"
    assert mirror.answer("GET", "news.example", "/list?page=2").body == b"home"
    assert mirror.answer("GET", "news.example", "/list?page=3").status == 404
    assert mirror.answer("GET", "news.example", "/../../etc/passwd").status in (403, 404)
    assert mirror.answer("GET", "other.example", "/").status == 502
    assert mirror.answer("GET", "news.example", "/_mirror.toml").status == 404
    redirect = mirror.answer("GET", "news.example", "/?p=1")
    assert redirect.status == 301
    assert dict(redirect.headers)["Location"] == "https://news.example/ar/1/%D8%AE%D8%A8%D8%B1"
    legacy = mirror.answer("GET", "news.example", "/old.html")
    assert dict(legacy.headers)["Content-Type"] == "text/html"
    assert legacy.body.decode("cp1256") == "<p>قديم</p>"
    busy = [mirror.answer("GET", "news.example", "/busy") for _ in range(2)]
    assert [a.status for a in busy] == [503, 200]
    assert dict(busy[0].headers)["Retry-After"] == "2"


@pytest.fixture()
def server(site):
    srv = MirrorServer(site)
    srv.start_in_thread()
    yield srv
    srv.stop()


def test_plain_http_proxy_request_with_gzip(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "http://news.example/", headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.status == 200
    assert (
        response.getheader("Content-Encoding") == "gzip" and response.getheader("Server") == "test"
    )
    assert gzip.decompress(response.read()) == b"home"
    # the same connection is kept alive for the next request
    conn.request("GET", "http://news.example/ar/1/%D8%AE%D8%A8%D8%B1")
    assert conn.getresponse().read() == "<p>خبر</p>".encode()


def test_https_through_connect_tunnel(server):
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    raw.sendall(b"CONNECT news.example:443 HTTP/1.1\r\nHost: news.example:443\r\n\r\n")
    assert raw.recv(1024).startswith(b"HTTP/1.1 200")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tls = context.wrap_socket(raw, server_hostname="news.example")
    tls.sendall(b"GET /?p=1 HTTP/1.1\r\nHost: news.example\r\nConnection: close\r\n\r\n")
    data = b""
    deadline = time.monotonic() + 5
    while chunk := tls.recv(65536):
        data += chunk
        if time.monotonic() > deadline:
            break
    assert data.startswith(b"HTTP/1.1 301 Moved Permanently\r\n")
    assert b"Location: https://news.example/ar/1/%D8%AE%D8%A8%D8%B1\r\n" in data
    tls.close()


def test_bundled_mirror_has_every_host():
    hosts = Mirror(BUNDLED).hosts()
    assert hosts == sorted(
        ["hafryat.com", "www.custom-news.example", "www.hoseinmortada.com", "www.lebanontab.com",
         "www.repost-blog.example", "www.hostile.example"]
    )  # fmt: skip


def test_a_route_can_answer_429_first(site):
    mirror = Mirror(site)
    first, then = (mirror.answer("GET", "news.example", "/slow-down") for _ in range(2))
    assert (first.status, dict(first.headers)["Retry-After"], then.status) == (429, "100000", 200)


def _raw_get(server: MirrorServer, path: str, timeout: float = 5) -> bytes:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    head = f"GET http://news.example{path} HTTP/1.1\r\nHost: news.example\r\nConnection: close"
    conn.sendall(head.encode() + b"\r\n\r\n")
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    finally:
        conn.close()
    return data


def test_faults_are_served_as_a_broken_server_would(server):
    with pytest.raises(ConnectionResetError):
        _raw_get(server, "/reset")
    head, _, body = _raw_get(server, "/cut").partition(b"\r\n\r\n")
    length = int(dict(h.split(": ", 1) for h in head.decode().split("\r\n")[1:])["Content-Length"])
    assert head.startswith(b"HTTP/1.1 200") and 0 < len(body) < length
    with pytest.raises(TimeoutError):
        _raw_get(server, "/stall", timeout=0.5)
    assert _raw_get(server, "/").endswith(b"home")  # the server itself goes on


def test_an_unknown_fault_is_refused(tmp_path):
    host = tmp_path / "news.example"
    host.mkdir()
    (host / "_mirror.toml").write_text('[[route]]\nurl = "/"\nfault = "melt"\n', "utf-8")
    with pytest.raises(ValueError, match="fault must be one of"):
        Mirror(tmp_path).answer("GET", "news.example", "/")
