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
