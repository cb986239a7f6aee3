"""Item pipelines: extract the article from the fetched page, then store it."""

from __future__ import annotations

from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archive.extract import extract_article
from archive.store import Archive
from crawler.items import ArticlePage


class ExtractPipeline:
    """Runs archive.extract on each page: the same code re-extraction from WARC uses."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: ArticlePage) -> ArticlePage:
        spider = self.crawler.spider
        try:
            item.record = extract_article(
                item.body,
                item.url,
                spider.site,
                content_type=item.content_type,
                hints=item.discovery,
            )
        except Exception as e:  # a page that breaks the extractor must not stop the crawl
            self.crawler.stats.inc_value("arshif/extract_errors")
            raise DropItem(f"{item.site}: {item.url}: extraction failed: {e!r}") from e
        if not item.record.text:
            self.crawler.stats.inc_value("arshif/articles_without_text")
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
        record = item.record
        self.archive.save_article(
            {
                "url": item.url,
                "site": item.site,
                "title": record.title,
                "text": record.text,
                "published": record.published,
                "language": record.language,
                "description": record.description,
                "fetched_url": item.fetched_url,
                "fetched": item.fetched,
                "warc_filename": item.warc.filename,
                "warc_offset": item.warc.offset,
                "warc_length": item.warc.length,
                "warc_record_id": item.warc.record_id,
                "payload_digest": item.warc.payload_digest,
                "capture_id": item.capture_id,
                "run_id": self.crawler.stats.get_value("arshif/run_id"),
                "extractor": record.extractor,
                "discovery": item.discovery,
            }
        )
        self.crawler.stats.inc_value("arshif/articles_saved")
        return item
