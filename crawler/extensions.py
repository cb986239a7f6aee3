"""The crawl-run recorder: one row in crawl_runs per site per run, with its figures."""

from __future__ import annotations

from typing import Self
from urllib.parse import unquote

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.store import Archive, RunFigures

_STATUS_PREFIX = "downloader/response_status_count/"
_EXCEPTION_PREFIX = "downloader/exception_type_count/"
_DISCOVERY_PREFIX = "arshif/discovery/"


def _discovered(stats: dict) -> str:
    """What discovery read, in words: '2 feeds/sitemaps and 1 listing page fetched, 48 links'."""
    xml = sum(
        v
        for k, v in stats.items()
        if k.startswith(_DISCOVERY_PREFIX) and k != _DISCOVERY_PREFIX + "listing"
    )
    listings = stats.get(_DISCOVERY_PREFIX + "listing", 0)
    links = stats.get("arshif/links_seen", 0)
    return f"{xml} feed(s)/sitemap(s) and {listings} listing page(s) read, {links} on-site link(s)"


def run_figures(stats: dict, reason: str) -> RunFigures:
    """Summarise Scrapy's stats of one spider run into the archive's run figures."""
    by_status = {
        k.removeprefix(_STATUS_PREFIX): v for k, v in stats.items() if k.startswith(_STATUS_PREFIX)
    }
    error_kinds = {
        k.removeprefix(_EXCEPTION_PREFIX).rsplit(".", 1)[-1]: v
        for k, v in stats.items()
        if k.startswith(_EXCEPTION_PREFIX) and not k.endswith("IgnoreRequest")
    }
    # An error is a request given up after its retries, or a page that broke
    # extraction; a 503 that succeeded on retry is not one, nor is a 404.
    errors = stats.get("retry/max_reached", 0) + stats.get("arshif/extract_errors", 0)
    responses = stats.get("arshif/warc_responses", 0) + stats.get("arshif/revisits", 0)
    articles = stats.get("arshif/articles_saved", 0)
    # Whether any rule or probe found an article: a run that found some but already
    # holds them all is an ok run; one that found none has rules that match nothing.
    found = (
        articles
        + stats.get("arshif/article_links", 0)
        + stats.get("arshif/probe/article", 0)
        + stats.get("arshif/extract_errors", 0)
    )
    message = None
    if reason != "finished":
        status, message = "failed", f"closed: {reason}"
    elif responses == 0:
        status = "unreachable" if error_kinds or errors else "empty"
    elif not stats.get("arshif/pages_fetched", 0):
        # The server answered, but only with errors (or only robots.txt came back).
        answers = ", ".join(f"{n} x {code}" for code, n in sorted(by_status.items()))
        refused = stats.get("arshif/ignored", 0)
        status = "failed"
        message = f"no page could be fetched: {answers or 'no answer'}" + (
            f", {refused} refused by robots.txt" if refused else ""
        )
    elif not found:
        status = "no-articles"
        example = stats.get("arshif/unmatched_example")
        message = f"no URL matched an article rule: {_discovered(stats)}" + (
            f", e.g. {unquote(example)}" if example else ""  # Arabic paths read as Arabic
        )
    elif errors:
        status = "partial"
    else:
        status = "ok"
    return RunFigures(
        status=status,
        requests=stats.get("downloader/request_count", 0),
        responses=responses,
        bytes=stats.get("downloader/response_bytes", 0),
        articles=articles,
        errors=errors,
        by_status=by_status,
        error_kinds=error_kinds,
        warc_files=stats.get("arshif/warc_files", []),
        message=message,
        new_articles=stats.get("arshif/articles_new", 0),
        updated_articles=stats.get("arshif/articles_updated", 0),
        unchanged_articles=stats.get("arshif/articles_unchanged", 0),
        revisits=stats.get("arshif/revisits", 0),
        duration=round(stats.get("elapsed_time_seconds", 0.0), 3),
    )


class RunRecorder:
    """Opens a crawl_runs row when a spider opens and fills in its figures when it closes.

    The run id is published in the stats as ``arshif/run_id`` so the WARC
    middleware and the pipelines can tie their rows to the run.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("ARSHIF_DATA_DIR"):
            raise NotConfigured("ARSHIF_DATA_DIR is not set")
        self.crawler = crawler
        self.archive: Archive | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        recorder = cls(crawler)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_opened(self, spider: Spider) -> None:
        self.archive = Archive.open(self.crawler.settings.get("ARSHIF_DATA_DIR"))
        self.run_id = self.archive.start_run(spider.site)
        self.crawler.stats.set_value("arshif/run_id", self.run_id)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.archive is None or self.run_id is None:
            return
        figures = run_figures(self.crawler.stats.get_stats(), reason)
        self.archive.finish_run(self.run_id, figures)
        self.archive.close()
