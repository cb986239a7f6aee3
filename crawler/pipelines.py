"""Item pipelines: extract the article from the fetched page, then store it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archive.extract.article import PageTooLarge, extract_article
from archive.store.writer import Archive, article_row
from crawler import failure
from crawler.items import ArticlePage
from crawler.middlewares import record_outcome, warc_writer
from crawler.timing import timed


class ExtractPipeline:
    """Runs archive.extract.article on each page: the same code re-extraction from WARC uses."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_size = crawler.settings.getint("ARSHIF_EXTRACT_MAX_SIZE") or None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @timed("extract")
    def process_item(self, item: ArticlePage) -> ArticlePage:
        spider = self.crawler.spider
        try:
            item.record = extract_article(
                item.body,
                item.url,
                spider.site,
                content_type=item.content_type,
                hints=item.discovery,
                fetched=datetime.fromisoformat(item.fetched),
                max_size=self.max_size,
            )
        except PageTooLarge as e:
            # The response stays in the WARC; a later reextract with a higher cap reads it.
            record_outcome(
                self.crawler, item.capture_id, "too-large", f"ARSHIF_EXTRACT_MAX_SIZE: {e}"
            )
            raise DropItem(f"{item.site}: {item.url}: too-large: {e}") from None
        except Exception as e:  # a page that breaks the extractor must not stop the crawl
            self.crawler.stats.inc_value("arshif/extract_errors")
            raise DropItem(f"{item.site}: {item.url}: extraction failed: {e!r}") from e
        if not item.record.text:
            self.crawler.stats.inc_value("arshif/articles_without_text")
        if item.record.decode_errors:
            self.crawler.stats.inc_value("arshif/decode_errors", item.record.decode_errors)
            spider.logger.warning(
                "%s: %s: %d stray byte sequence(s) in UTF-8 text, replaced by U+FFFD",
                item.site, item.url, item.record.decode_errors,
            )  # fmt: skip
        return item


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
        self.archive = Archive.open(self.data_dir)

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
        if writer is not None and not item.revisit:
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
            row.pop("metadata_record_id", None)
            row["last_checked"] = datetime.now(UTC).isoformat()
        outcome = self.archive.save_article(row, aliases=item.aliases)
        self.crawler.stats.inc_value(f"arshif/articles_{outcome}")
        self.crawler.stats.inc_value("arshif/articles_saved")
        return item
