"""A small, polite HTTP client for looking at a site outside a crawl (``arshif add-site``).

The crawl fetches through Scrapy; this is for a dozen requests from a command,
so it is stdlib ``urllib`` with the same manners: the crawler's User-Agent,
robots.txt obeyed, a delay between requests (robots ``Crawl-delay`` when it
asks for more), one wait for ``Retry-After`` on 429/503, a timeout and a byte
limit on every response. Proxies come from ``--proxy`` or the usual
``HTTPS_PROXY``/``HTTP_PROXY``. Failures are ``FetchError`` with one line.
"""

from __future__ import annotations

import gzip
import io
import socket
import ssl
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from email.message import Message
from http.client import HTTPException
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from archive import user_agent

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = 20.0
MAX_RETRY_AFTER = 10.0  # seconds: a longer wait is not worth it for a look at a site


class FetchError(Exception):
    """A URL could not be fetched; the message is one line naming the URL and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes  # content-decoded
    headers: Message = field(repr=False, default_factory=Message)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_html(self) -> bool:
        kind = self.content_type.split(";")[0].strip().lower()
        if kind in ("text/html", "application/xhtml+xml"):
            return True
        # No type at all: judge by the bytes, as browsers do.
        return not kind and self.body.lstrip()[:15].lower().startswith(
            (b"<!doctype html", b"<html")
        )


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, BaseException) else error
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({error.verify_message}; see --ca-file)"
    if isinstance(error, socket.timeout | TimeoutError):
        return "unreachable (timed out)"
    if isinstance(error, ConnectionRefusedError):
        return "unreachable (connection refused)"
    if isinstance(error, socket.gaierror):
        return "unreachable (host not found)"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return f"unreachable ({text})"


class Fetcher:
    """Fetches URLs politely and remembers what it was refused, for the report."""

    def __init__(
        self,
        *,
        proxy: str | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
        delay: float = 1.0,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
        contact: str = "",
    ) -> None:
        context = ssl.create_default_context(cafile=ca_file)
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # None: urllib reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment.
        proxies = {"http": proxy, "https": proxy} if proxy else None
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies), urllib.request.HTTPSHandler(context=context)
        )
        self.user_agent = user_agent(contact)
        self.delay = delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.robots: dict[str, RobotFileParser | None] = {}
        self.robots_pages: dict[str, Page] = {}
        self.refused: list[str] = []  # URLs robots.txt kept us from
        self.requests = 0
        self._last = 0.0

    def _wait(self, origin: str) -> None:
        robots = self.robots.get(origin)
        asked = robots.crawl_delay(self.user_agent) if robots is not None else None
        delay = max(self.delay, float(asked or 0))
        pause = self._last + delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.robots:
            self.robots[origin] = None  # while robots.txt itself is fetched
            page = self._get(f"{origin}/robots.txt", origin)
            self.robots_pages[origin] = page
            parser = RobotFileParser()
            if page.ok:
                parser.parse(page.body.decode("utf-8", "replace").splitlines())
            else:
                parser.parse([])  # no robots.txt (or an error page): everything allowed
            self.robots[origin] = parser
        parser = self.robots[origin]
        return parser is None or parser.can_fetch(self.user_agent, url)

    def robots_txt(self, origin: str) -> Page:
        """robots.txt of origin, fetched once: the same answer decides what may be fetched."""
        self.allowed(f"{origin}/")
        return self.robots_pages[origin]

    def get(self, url: str) -> Page | None:
        """The page at url, or None when robots.txt disallows it. Raises FetchError."""
        if not self.allowed(url):
            self.refused.append(url)
            return None
        parts = urlsplit(url)
        return self._get(url, f"{parts.scheme}://{parts.netloc}")

    def _get(self, url: str, origin: str, retried: bool = False) -> Page:
        self._wait(origin)
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": self.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "ar,en;q=0.5",
                "Accept-Encoding": "gzip",
            },
        )
        self.requests += 1
        try:
            try:
                response = self._opener.open(request, timeout=self.timeout)
            except urllib.error.HTTPError as e:
                response = e  # an answer all the same: its status tells the caller
            with response:
                status = response.status if response.status is not None else response.code
                headers = response.headers
                body = self._read(response, url)
                final = response.geturl()
        except FetchError:
            raise
        except (OSError, ValueError, HTTPException) as e:  # HTTPException: a broken answer
            raise FetchError(url, f"{_reason(e)}") from None
        finally:
            self._last = time.monotonic()
        if status in (429, 503) and not retried:
            wait = _retry_after(headers.get("Retry-After"))
            if wait is not None and wait <= MAX_RETRY_AFTER:
                time.sleep(wait)
                return self._get(url, origin, retried=True)
        if headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"):
            body = self._gunzip(body, url)
        return Page(final, status, headers.get("Content-Type", ""), body, headers)

    def _read(self, response: object, url: str) -> bytes:
        chunks, size = [], 0
        while chunk := response.read(65536):  # type: ignore[attr-defined]
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(url, f"larger than {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _gunzip(self, body: bytes, url: str) -> bytes:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
                out = f.read(self.max_bytes + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise FetchError(url, f"corrupt gzip body ({e})") from None
        if len(out) > self.max_bytes:
            raise FetchError(url, f"larger than {self.max_bytes} bytes once decompressed")
        return out


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date: not worth parsing for one retry
