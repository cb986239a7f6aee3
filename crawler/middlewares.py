"""Downloader middlewares: WARC capture, bounded decompression and polite retries."""

from __future__ import annotations

import email.utils
import os
import platform
import socket
import sqlite3
import time
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any, Self
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import scrapy
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.defer import _schedule_coro, maybe_deferred_to_future
from twisted.internet.task import deferLater

from archive import __version__
from archive.capture.warc import HttpExchange, Revisited, WarcFileWriter, payload_digest, warc_date
from archive.store.writer import Archive
from archive.urls import canonicalize
from crawler import failure
from crawler.cluster import open_archive

# Never written to a WARC: credentials for the proxy, not part of the exchange with the site.
_PRIVATE_REQUEST_HEADERS = {b"proxy-authorization"}


def _header_pairs(headers: scrapy.http.headers.Headers) -> list[tuple[str, str]]:
    # latin-1 maps every byte to one character, so no header byte is lost.
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        if name.lower() not in _PRIVATE_REQUEST_HEADERS
        for value in values
    ]


def _location(url: str, response: Response) -> str | None:
    """Where a redirect points, canonicalised (so a later run knows where a short link leads)."""
    value = response.headers.get(b"Location")
    if not (300 <= response.status < 400 and value):
        return None
    try:
        return canonicalize(value.decode("latin-1"), url)
    except ValueError:
        return None


def _kind(request: Request) -> str | None:
    kind = request.meta.get("arshif_kind")
    if kind is None and request.url.endswith("/robots.txt"):
        return "robots"
    return kind


# The WARC writer of each running crawler, for components that add records
# about a capture (the archive pipeline's metadata records).
_WRITERS: WeakKeyDictionary[Crawler, WarcFileWriter] = WeakKeyDictionary()


def warc_writer(crawler: Crawler) -> WarcFileWriter | None:
    return _WRITERS.get(crawler)


# The capture middleware of each running crawler, for components that later learn
# what became of a response it recorded (too large to keep, deferred).
_CAPTURES: WeakKeyDictionary[Crawler, WarcCaptureMiddleware] = WeakKeyDictionary()

# What the download handler says when a body (or its Content-Length) passes DOWNLOAD_MAXSIZE.
_MAXSIZE_MESSAGE = "larger than download max size"


class TooLarge(IgnoreRequest):
    """A response beyond DOWNLOAD_MAXSIZE: its wire bytes are kept, the page is not read."""


class Deferred(IgnoreRequest):
    """A site that asked for a longer wait than a run gives it: left for the next run."""


def record_outcome(crawler: Crawler, capture_id: int | None, outcome: str, detail: str) -> None:
    """Count a capture's outcome (too-large, deferred) and write it on its captures row."""
    crawler.stats.inc_value(f"arshif/{outcome.replace('-', '_')}")
    capture = _CAPTURES.get(crawler)
    if capture is None or capture.archive is None or capture_id is None:
        return
    if failure.has_failed(crawler):
        return  # the run is stopping: its cause was said once already
    try:
        capture.archive.set_capture_error(capture_id, f"{outcome}: {detail}")
    except failure.STORAGE_ERRORS as e:
        # Raised here, it would surface as one traceback per page from the middleware
        # chain while the crawl went on writing nothing: stop the run cleanly instead.
        failure.storage_failed(crawler, capture.db_name(), e)


def run_stopping(crawler: Crawler) -> bool:
    """Whether the crawler's run is ending (a SIGTERM, a full disk, a deferred site):
    closing waits for the work in progress, so long waits must cut themselves short."""
    engine = crawler.engine
    slot = getattr(engine, "_slot", None)
    return engine is not None and (
        getattr(engine, "_stopping", False) or getattr(slot, "closing", None) is not None
    )


class WarcCaptureMiddleware:
    """Writes every exchange to the site's WARC files and records it in ``captures``.

    It sits at 950, nearest the downloader, so it sees what came off the wire:
    bodies still compressed, redirects before they are followed, errors before
    they are retried. Responses replayed from Scrapy's HTTP cache are skipped.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("ARSHIF_WARC_ENABLED", True):
            raise NotConfigured
        self.crawler = crawler
        self.data_dir = settings.get("ARSHIF_DATA_DIR")
        self.max_size = settings.getint("ARSHIF_WARC_MAX_SIZE")
        self.archive: Archive | None = None
        self.writer: WarcFileWriter | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def warcinfo(self, spider: Spider) -> dict[str, str]:
        settings = self.crawler.settings
        return {
            "software": (
                f"arshif/{__version__} (Scrapy {scrapy.__version__}; warcio {version('warcio')};"
                f" Python {platform.python_version()})"
            ),
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "isPartOf": spider.name,
            "description": f"arshif crawl of {getattr(spider, 'site', None) and spider.site.name}",
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": settings.get("USER_AGENT"),
            "operator": settings.get("ARSHIF_CONTACT") or "unset",
        }

    async def spider_opened(self, spider: Spider) -> None:
        try:
            self.archive = open_archive(self.crawler)
            # Workers on several machines share one warc/ folder: host and pid keep
            # their file names apart.
            prefix = spider.name
            if self.crawler.settings.get("ARSHIF_REDIS_URL"):
                prefix = f"{spider.name}-{socket.gethostname()}-{os.getpid()}"
            self.writer = WarcFileWriter(
                self.archive.warc_dir,
                prefix,
                warcinfo=self.warcinfo(spider),
                max_size=self.max_size,
            )
        except Exception as e:
            # Crawling without a WARC would lose every response: stop instead.
            spider.logger.error(
                "%s: cannot write WARC files in %s: %s", spider.name, self.data_dir, e
            )
            await self.crawler.engine.close_spider_async(reason="warc_unavailable")
            return
        _WRITERS[self.crawler] = self.writer
        _CAPTURES[self.crawler] = self
        failure.register(self.crawler)
        # The writer's own list: it grows as files rotate, and the run recorder reads it.
        self.crawler.stats.set_value("arshif/warc_files", self.writer.files)

    def spider_closed(self, spider: Spider) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except failure.STORAGE_ERRORS as e:  # the last bytes could not be flushed
                failure.storage_failed(self.crawler, self.warc_name(), e)
        if self.archive is not None:
            self.archive.close()

    def warc_name(self) -> str:
        """'WARC data/warc/site-….warc.gz': the file a failed write was meant for."""
        files = self.writer.files if self.writer is not None else []
        return f"WARC {self.archive.warc_dir / files[-1]}" if files and self.archive else "WARC"

    def db_name(self) -> str:
        return failure.db_name(self.data_dir)

    def process_request(self, request: Request) -> None:
        request.meta["arshif_started"] = datetime.now(UTC)

    def process_response(self, request: Request, response: Response) -> Response:
        if "cached" in response.flags:
            return response
        if self.writer is None or self.archive is None:
            raise IgnoreRequest(f"{request.url}: no WARC writer, response not kept")
        if failure.has_failed(self.crawler):
            raise IgnoreRequest(f"{request.url}: the archive cannot be written, not kept")
        try:
            return self._capture(request, response)
        except failure.STORAGE_ERRORS as e:
            # One clean stop of the run, not one traceback per response after it.
            failure.storage_failed(self.crawler, self._failed_target(e), e)
            raise IgnoreRequest(f"{request.url}: the archive cannot be written") from None

    def _failed_target(self, error: BaseException) -> str:
        return self.db_name() if isinstance(error, sqlite3.Error) else self.warc_name()

    def _capture(self, request: Request, response: Response) -> Response:
        assert self.writer is not None and self.archive is not None
        started = request.meta.get("arshif_started") or datetime.now(UTC)
        host = request.headers.get(b"Host") or urlsplit(request.url).netloc.encode("latin-1")
        exchange = HttpExchange(
            url=request.url,
            method=request.method,
            request_headers=[("Host", host.decode("latin-1")), *_header_pairs(request.headers)],
            request_body=request.body,
            protocol=response.protocol or "HTTP/1.1",
            status=response.status,
            response_headers=_header_pairs(response.headers),
            body=response.body,
            date=started,
            ip_address=str(response.ip_address) if response.ip_address else None,
        )
        # The same payload as an earlier capture of this URL: a revisit record, not a second
        # copy. Not for an error answer: a 502 repeated on each retry is no page seen again,
        # and its small body is kept whole.
        error = response.status >= 400
        earlier = (
            None
            if error
            else self.archive.earlier_capture(request.url, payload_digest(response.body))
        )
        revisit = None
        if earlier is not None:
            when = datetime.fromisoformat(earlier.date)
            revisit = Revisited(earlier.record_id, request.url, warc_date(when))
        pointer = self.writer.write_exchange(exchange, revisit)
        content_type = response.headers.get(b"Content-Type")
        encoding = response.headers.get(b"Content-Encoding")
        capture_id = self.archive.add_capture(
            run_id=self.crawler.stats.get_value("arshif/run_id"),
            site=self.crawler.spider.name,
            url=request.url,
            kind=_kind(request),
            method=request.method,
            status=response.status,
            fetched=started.isoformat(),
            pointer=pointer,
            record_type="revisit" if earlier is not None else "response",
            location=_location(request.url, response),
            content_type=content_type.decode("latin-1") if content_type else None,
            content_encoding=encoding.decode("latin-1") if encoding else None,
            body_length=len(response.body),
        )
        # Pages point at a full response record: for a revisit, the earlier one.
        request.meta["arshif_warc"] = earlier or pointer
        request.meta["arshif_revisit"] = earlier is not None
        request.meta["arshif_capture_id"] = capture_id
        request.meta["arshif_fetched"] = (
            datetime.fromisoformat(earlier.date).isoformat() if earlier else started.isoformat()
        )
        stats = self.crawler.stats
        stats.inc_value("arshif/revisits" if earlier else "arshif/warc_responses")
        if error:
            stats.inc_value("arshif/error_responses")
        elif _kind(request) != "robots":
            stats.inc_value("arshif/pages_fetched")  # the run's status asks whether any came
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if self.archive is None or failure.has_failed(self.crawler):
            return None
        error = f"{type(exception).__name__}: {exception}"
        if isinstance(exception, IgnoreRequest):
            # Not a failure of the site: robots.txt said no, or a filter dropped it.
            self.crawler.stats.inc_value("arshif/ignored")
        elif _MAXSIZE_MESSAGE in str(exception):
            # Content-Length or the bytes received passed DOWNLOAD_MAXSIZE: the download
            # handler dropped the body, so only this row tells of the page.
            self.crawler.stats.inc_value("arshif/too_large")
            error = f"too-large: {exception}"
            self.crawler.spider.logger.warning(
                "%s: %s: too-large: %s", self.crawler.spider.name, request.url, exception
            )
        try:
            self.archive.add_capture(
                run_id=self.crawler.stats.get_value("arshif/run_id"),
                site=self.crawler.spider.name,
                url=request.url,
                kind=_kind(request),
                method=request.method,
                status=None,
                fetched=(request.meta.get("arshif_started") or datetime.now(UTC)).isoformat(),
                error=error,
            )
        except failure.STORAGE_ERRORS as e:
            failure.storage_failed(self.crawler, self.db_name(), e)
        return None


class BoundedCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, with a body that inflates past DOWNLOAD_MAXSIZE recorded.

    Scrapy stops inflating at the cap (a gzip bomb costs memory up to the cap, not
    its gigabytes) and drops the response as an IgnoreRequest, the answer a robots.txt
    refusal gets: the page would vanish from a run that says ok. Here it is a
    ``too-large`` capture, its wire bytes in the WARC (the capture middleware wrote
    them before decompression), and an error of the run.
    """

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        middleware.crawler = crawler
        return middleware

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as e:
            if not isinstance(e.__cause__, _DecompressionMaxSizeExceeded):
                raise
            limit = request.meta.get("download_maxsize", self._max_size)
            detail = f"{len(response.body)} B compressed inflates past DOWNLOAD_MAXSIZE ({limit} B)"
            record_outcome(self.crawler, request.meta.get("arshif_capture_id"), "too-large", detail)
            # The spider's errback logs it, naming the site and URL.
            raise TooLarge(f"too-large: {detail}") from None


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for: delta-seconds or an HTTP-date."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, spaced out: Retry-After when the server sends one, else exponential.

    The wait is also applied to the site's download slot, so while a site asks
    us to slow down, no other request to it goes out either; each successful
    response after that halves the slot's delay back towards the configured one,
    so one 503 does not slow the site for the rest of the run (AutoThrottle off).
    A Retry-After beyond ARSHIF_RETRY_AFTER_MAX defers the site to the next run.
    """

    def __init__(self, settings: scrapy.settings.BaseSettings) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("ARSHIF_RETRY_BACKOFF")
        self.max_delay = settings.getfloat("ARSHIF_RETRY_MAX_DELAY")
        self.retry_after_max = settings.getfloat("ARSHIF_RETRY_AFTER_MAX", 300.0)
        # Slots this middleware slowed down, and the delay each had before.
        self.slowed: dict[str, float] = {}
        self.deferring = False

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status < 400:
            self._recover_slot(request)
            return response
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.retry_after_max:
            self._defer(request, response, asked)
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        attempt = request.meta.get("retry_times", 0)
        # A Retry-After within the maximum is honoured whole: coming back earlier than
        # asked is what gets a crawler blocked.
        delay = asked if asked is not None else min(self.backoff * (2**attempt), self.max_delay)
        if delay > 0:
            self._slow_slot(request, delay)
            self.crawler.stats.inc_value("arshif/retry_wait_seconds", int(delay))
            if not await self._wait(delay):
                return response  # the run is stopping: no retry would be sent anyway
        return retry

    async def _wait(self, delay: float) -> bool:
        """Sleep `delay` seconds, or less if the run stops meanwhile (a SIGTERM, a full
        disk): closing waits for the downloads in progress, this wait among them, and a
        Retry-After of minutes must not hold a shutdown that long. False if cut short."""
        # Imported here: importing the reactor at module level would install one.
        from twisted.internet import reactor

        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            if run_stopping(self.crawler):
                self._release_slots()
                return False
            await maybe_deferred_to_future(deferLater(reactor, min(left, 0.5), lambda: None))
        return True

    def _defer(self, request: Request, response: Response, asked: float) -> None:
        """Give up on the site for this run: waiting would hold the whole run, and
        coming back sooner than asked is impolite. The next run fetches it again."""
        detail = (
            f"HTTP {response.status} with Retry-After {asked:.0f} s, more than"
            f" ARSHIF_RETRY_AFTER_MAX ({self.retry_after_max:.0f} s)"
        )
        record_outcome(self.crawler, request.meta.get("arshif_capture_id"), "deferred", detail)
        stats = self.crawler.stats
        if not stats.get_value("arshif/deferred_message"):
            stats.set_value(
                "arshif/deferred_message", f"deferred to the next run: {request.url}: {detail}"
            )
        if not self.deferring and self.crawler.engine is not None:
            self.deferring = True
            # Not awaited: closing waits for the downloads in progress, this one included.
            _schedule_coro(self.crawler.engine.close_spider_async(reason="arshif_deferred"))
        raise Deferred(f"deferred: {detail}")

    def _slot(self, request: Request) -> tuple[str, Any] | None:
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        if downloader is None:
            return None
        key = request.meta.get("download_slot") or downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        return (key, slot) if slot is not None else None

    def _release_slots(self) -> None:
        """The run is stopping: the requests queued behind a slowed slot go now (or are
        dropped), not after the wait; closing waits for them, and would sit it out."""
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        for key, base in list(self.slowed.items()):
            slot = downloader.slots.get(key) if downloader is not None else None
            del self.slowed[key]
            if slot is None:
                continue
            slot.delay = base
            if getattr(slot, "latercall", None) is not None:
                slot.close()  # cancels the pending wakeup of the slot's queue
                downloader._process_queue(slot)

    def _slow_slot(self, request: Request, delay: float) -> None:
        if (found := self._slot(request)) is None:
            return
        key, slot = found
        if slot.delay < delay:
            self.slowed.setdefault(key, slot.delay)
            slot.delay = delay

    def _recover_slot(self, request: Request) -> None:
        if not self.slowed or (found := self._slot(request)) is None:
            return
        key, slot = found
        if key not in self.slowed:
            return
        base = self.slowed[key]
        slot.delay = max(base, slot.delay / 2)
        if slot.delay <= base:
            del self.slowed[key]
