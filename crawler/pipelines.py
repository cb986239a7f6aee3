"""Item pipelines: extract the article from the fetched page, then store it."""

from __future__ import annotations

import copy
import logging
import os
import sqlite3
from datetime import UTC, datetime
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.asyncio import is_asyncio_available

from archive.extract.article import ArticleRecord, PageTooLarge, extract_article
from archive.extract.job import ExtractJob, replay, run_job, start_worker, warm_up
from archive.store.pool import default_workers
from archive.store.writer import Archive, article_row
from crawler import failure
from crawler.cluster import open_archive
from crawler.items import ArticlePage
from crawler.middlewares import record_outcome, run_stopping, warc_writer
from crawler.timing import add_time, timed
from crawler.workers import (
    Interrupted,
    JobTimeout,
    PoolUnavailable,
    SharedPool,
    WorkerDied,
    WorkerPool,
)

logger = logging.getLogger(__name__)


# What became of a page whose extraction was abandoned, as its capture says it.
TIMEOUT, WORKER_DIED, INTERRUPTED = "extract-timeout", "extract-failed", "extract-interrupted"

_POOL = SharedPool()

# Pages a site may have waiting for or in the workers before its downloads pause.
# Scrapy's own bound (SCRAPER_SLOT_MAX_ACTIVE_SIZE, 1 MB of bodies here) counts a
# small page as 1 KB: a thousand of them, each with its request, response and item.
PAGES_PER_WORKER = 4


def _workers(crawler: Crawler) -> int:
    value = crawler.settings.get("ARSHIF_EXTRACT_WORKERS")
    if value in (None, ""):
        return default_workers()
    try:
        workers = int(value)
        if workers < 0:
            raise ValueError
    except (TypeError, ValueError):
        logger.warning(
            "ARSHIF_EXTRACT_WORKERS=%r is not a number of processes (0 or more);"
            " using %d, the number of cores", value, default_workers(),
        )  # fmt: skip
        return default_workers()
    return workers


class ExtractPipeline:
    """Runs archive.extract.article on each page: the same code re-extraction from WARC uses.

    With ARSHIF_EXTRACT_WORKERS >= 1 (the default: one per core) it runs in worker
    processes, so the reactor keeps downloading meanwhile; 0 runs it here, on the
    reactor thread, where ARSHIF_EXTRACT_TIMEOUT cannot be enforced (nothing can stop
    a running extraction but killing the process that runs it).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.max_size = settings.getint("ARSHIF_EXTRACT_MAX_SIZE") or None
        self.timeout = settings.getfloat("ARSHIF_EXTRACT_TIMEOUT") or None
        self.grace = settings.getfloat("ARSHIF_EXTRACT_SHUTDOWN_GRACE", 10.0)
        self.delay = settings.getfloat("ARSHIF_EXTRACT_TEST_DELAY", 0.0)
        self.delay_urls = settings.get("ARSHIF_EXTRACT_TEST_DELAY_URLS") or ""
        self.workers = _workers(crawler)
        if self.workers and not is_asyncio_available():
            logger.warning("extraction runs in process: worker processes need the asyncio reactor")
            self.workers = 0
        self.pool: WorkerPool | None = None
        self.in_flight = 0
        self.paused = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.stop_overdue, signal=failure.stop_overdue)
        return pipeline

    def stop_overdue(self, reason: str) -> None:
        # The run is ended without waiting for its jobs: no worker may outlive it (a
        # process running a job would hold the interpreter's exit).
        if self.pool is not None:
            self.pool.kill()

    def open_spider(self, spider: Spider | None = None) -> None:
        if self.workers:
            self.pool = _POOL.open(
                lambda: WorkerPool(
                    self.workers,
                    initializer=start_worker,
                    initargs=(os.getpid(),),
                    warm_up=warm_up,
                    preload=["archive.extract.job"],
                )
            )
            self.pool.start()
        name = self.crawler.spider.name if self.crawler.spider else "?"
        where = f"{self.workers} worker process(es)" if self.pool else "the crawl process"
        logger.info("%s: extracting pages in %s", name, where)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.pool is not None:
            self.pool = None
            _POOL.release()

    async def process_item(self, item: ArticlePage) -> ArticlePage:
        if self.pool is not None:
            try:
                item.record = await self._extract_in_worker(item)
            except PoolUnavailable as e:
                # Slower, but every page is still extracted and stored.
                logger.warning("%s: %s; extracting in the crawl process", item.site, e)
                self.close_spider()
        if item.record is None:
            item.record = self._extract_here(item)
        if not item.record.text:
            self.crawler.stats.inc_value("arshif/articles_without_text")
        if item.record.decode_errors:
            self.crawler.stats.inc_value("arshif/decode_errors", item.record.decode_errors)
            self.crawler.spider.logger.warning(
                "%s: %s: %d stray byte sequence(s) in UTF-8 text, replaced by U+FFFD",
                item.site, item.url, item.record.decode_errors,
            )  # fmt: skip
        return item

    @timed("extract")
    def _extract_here(self, item: ArticlePage) -> ArticleRecord:
        try:
            return extract_article(
                item.body,
                item.url,
                self.crawler.spider.site,
                content_type=item.content_type,
                hints=item.discovery,
                fetched=datetime.fromisoformat(item.fetched),
                max_size=self.max_size,
            )
        except PageTooLarge as e:
            raise self._too_large(item, e) from None
        except Exception as e:  # a page that breaks the extractor must not stop the crawl
            self.crawler.stats.inc_value("arshif/extract_errors")
            raise DropItem(f"{item.site}: {item.url}: extraction failed: {e!r}") from e

    async def _extract_in_worker(self, item: ArticlePage) -> ArticleRecord:
        assert self.pool is not None
        job = ExtractJob(
            body=item.body,
            url=item.url,
            site=self.crawler.spider.site,
            content_type=item.content_type,
            # A copy: the job is pickled in the executor's feeder thread, while the
            # spider may add to the page's discovery (an alias found meanwhile).
            hints=copy.deepcopy(item.discovery),
            fetched=datetime.fromisoformat(item.fetched),
            max_size=self.max_size,
            delay=self.delay,
            delay_urls=self.delay_urls,
        )
        self._hold(+1)
        try:
            record, fingerprint, log_lines, cpu, wall = await self.pool.run(
                run_job,
                job,
                timeout=self.timeout,
                stopping=lambda: run_stopping(self.crawler),
                grace=self.grace,
            )
        except PageTooLarge as e:
            raise self._too_large(item, e) from None
        except JobTimeout as e:
            raise self._abandoned(item, TIMEOUT, f"ARSHIF_EXTRACT_TIMEOUT: {e}") from None
        except WorkerDied as e:
            raise self._abandoned(item, WORKER_DIED, str(e)) from None
        except Interrupted as e:
            raise self._abandoned(item, INTERRUPTED, str(e)) from None
        except PoolUnavailable:
            raise
        except Exception as e:  # as in process: the crawl goes on
            self.crawler.stats.inc_value("arshif/extract_errors")
            raise DropItem(f"{item.site}: {item.url}: extraction failed: {e!r}") from e
        finally:
            self._hold(-1)
        replay(log_lines)
        add_time(self.crawler, "extract", cpu, wall)  # in the worker: its own clock
        item.fingerprint = (record.text, fingerprint)
        return record

    def _hold(self, change: int) -> None:
        """Pause the site's downloads while its backlog of pages is full, and resume
        them at half. Scrapy sends the next request when an item completes, so the
        page whose completion lowers the count restarts them."""
        self.in_flight += change
        engine = self.crawler.engine
        if engine is None:
            return
        limit = PAGES_PER_WORKER * self.workers
        if not self.paused and self.in_flight >= limit:
            engine.pause()
            self.paused = True
            self.crawler.stats.inc_value("arshif/extract_backlog_pauses")
        elif self.paused and self.in_flight <= limit // 2:
            engine.unpause()
            self.paused = False

    def _too_large(self, item: ArticlePage, e: PageTooLarge) -> DropItem:
        # The response stays in the WARC; a later reextract with a higher cap reads it.
        record_outcome(self.crawler, item.capture_id, "too-large", f"ARSHIF_EXTRACT_MAX_SIZE: {e}")
        return DropItem(f"{item.site}: {item.url}: too-large: {e}")

    def _abandoned(self, item: ArticlePage, outcome: str, detail: str) -> DropItem:
        """The page was fetched but not extracted: its capture says so, and a metadata
        record next to its response says it is an article, so `arshif reextract` (which
        reads the WARC alone) redoes it even where the URL rules do not name it one."""
        record_outcome(self.crawler, item.capture_id, outcome, detail)
        writer = warc_writer(self.crawler)
        if writer is not None and item.warc is not None and not item.revisit:
            data = {"discovery": item.discovery, "extract_error": f"{outcome}: {detail}"}
            try:
                writer.write_metadata(item.fetched_url, item.warc, data)
            except failure.STORAGE_ERRORS as e:
                where = writer.directory / writer.files[-1] if writer.files else writer.directory
                failure.storage_failed(self.crawler, f"WARC {where}", e)
        return DropItem(f"{item.site}: {item.url}: {outcome}: {detail}")


class ArchivePipeline:
    """Stores one row per article, pointing at the WARC response record that holds it."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.data_dir = crawler.settings.get("ARSHIF_DATA_DIR")
        self.archive: Archive | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.archive = open_archive(self.crawler)

    def spider_closed(self, spider: Spider) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def process_item(self, item: ArticlePage) -> ArticlePage:
        assert self.archive is not None and item.record is not None
        if item.warc is None:
            raise DropItem(f"{item.site}: {item.url}: no WARC record, not stored")
        if failure.has_failed(self.crawler):
            raise DropItem(f"{item.site}: {item.url}: the archive cannot be written")
        writer = warc_writer(self.crawler)
        try:
            return self._store(item)
        except failure.STORAGE_ERRORS as e:
            # One clean stop of the run, not one traceback per article after it.
            what = failure.db_name(self.data_dir)
            if not isinstance(e, sqlite3.Error) and writer is not None and writer.files:
                what = f"WARC {writer.directory / writer.files[-1]}"
            failure.storage_failed(self.crawler, what, e)
            raise DropItem(f"{item.site}: {item.url}: the archive cannot be written") from None

    @timed("store")
    def _store(self, item: ArticlePage) -> ArticlePage:
        assert self.archive is not None and item.record is not None and item.warc is not None
        metadata_id = None
        writer = warc_writer(self.crawler)
        # A revisit of a page the archive has no article for (a run killed between
        # the capture and its save) stores the article for the first time: it gets
        # the metadata record a first capture gets, or nothing in the WARCs says
        # what was read from it.
        first = item.revisit and self.archive.known(item.url) is None
        if writer is not None and (not item.revisit or first):
            # The archive carries its own interpretation of each page, next to the capture.
            data = {**item.record.as_dict(), "discovery": item.discovery}
            metadata_id = writer.write_metadata(item.fetched_url, item.warc, data).record_id
        row = article_row(
            item.record,
            url=item.url,
            fetched_url=item.fetched_url,
            fetched=item.fetched,
            pointer=item.warc,
            discovery=item.discovery,
            metadata_record_id=metadata_id,
        )
        row |= {
            "capture_id": item.capture_id,
            "run_id": self.crawler.stats.get_value("arshif/run_id"),
        }
        if item.revisit:  # the stored capture stands; note that it was checked now
            if not first:
                row.pop("metadata_record_id", None)
            row["last_checked"] = datetime.now(UTC).isoformat()
        # Aliases found while the page was being extracted count too: the spider adds
        # them to the page's discovery, and add_alias only reaches stored articles.
        later = [a for a in item.discovery.get("aliases", []) if a != item.url]
        aliases = list(dict.fromkeys([*item.aliases, *later]))
        outcome = self.archive.save_article(row, aliases=aliases, known_simhash=item.fingerprint)
        self.crawler.stats.inc_value(f"arshif/articles_{outcome}")
        self.crawler.stats.inc_value("arshif/articles_saved")
        return item
