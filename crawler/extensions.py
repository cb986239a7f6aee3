"""Crawl extensions: the run recorder (one row in crawl_runs per site per run, with its
figures) and the progress lines ``arshif crawl`` prints while sites are crawled."""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, Self, TextIO
from urllib.parse import unquote

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

from archive.store.writer import Archive, RunFigures
from crawler import failure
from crawler.cluster import open_archive
from crawler.failure import MESSAGE_STAT, STORAGE_ERRORS, stop_overdue

logger = logging.getLogger(__name__)

_STATUS_PREFIX = "downloader/response_status_count/"
_EXCEPTION_PREFIX = "downloader/exception_type_count/"
_DISCOVERY_PREFIX = "arshif/discovery/"
# Pages fetched whose extraction was abandoned (ran past ARSHIF_EXTRACT_TIMEOUT, its
# worker died, the run stopped first): in the WARC, for reextract, but not stored.
ABANDONED = ("arshif/extract_timeout", "arshif/extract_failed", "arshif/extract_interrupted")


def _discovered(stats: dict) -> str:
    """What discovery read, in words: '4 feed(s)/sitemap(s) and 1 listing page(s) read,
    40 on-site link(s)', and what probing made of unknown pages when the site probes."""
    xml = sum(
        v
        for k, v in stats.items()
        if k.startswith(_DISCOVERY_PREFIX) and k != _DISCOVERY_PREFIX + "listing"
    )
    listings = stats.get(_DISCOVERY_PREFIX + "listing", 0)
    links = stats.get("arshif/links_seen", 0)
    probed = stats.get("arshif/probe/requested", 0)
    return (
        f"{xml} feed(s)/sitemap(s) and {listings} listing page(s) read, {links} on-site link(s)"
        + (f", {probed} unknown page(s) probed, none an article" if probed else "")
    )


def error_count(stats: dict) -> int:
    """A request given up after its retries, a page that broke extraction, an item the
    archive failed to store, a spider callback that raised, a page too large to keep or
    read, a request deferred to the next run, a redirect loop, an empty article page;
    a 503 that succeeded on retry is not one, nor is a 404."""
    return sum(
        stats.get(key, 0)
        for key in (
            "retry/max_reached",
            "arshif/extract_errors",
            "arshif/item_errors",
            "arshif/spider_errors",
            "arshif/too_large",
            "arshif/deferred",
            *ABANDONED,
            "arshif/redirect_loop",
            "arshif/empty_body",
        )
    )


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
    too_large, deferred = stats.get("arshif/too_large", 0), stats.get("arshif/deferred", 0)
    errors = error_count(stats)
    responses = stats.get("arshif/warc_responses", 0) + stats.get("arshif/revisits", 0)
    articles = stats.get("arshif/articles_saved", 0)
    # Whether any rule or probe found an article: a run that found some but already
    # holds them all is an ok run; one that found none has rules that match nothing.
    found = (
        articles
        + stats.get("arshif/article_links", 0)
        + stats.get("arshif/probe/article", 0)
        + stats.get("arshif/extract_errors", 0)
        + sum(stats.get(key, 0) for key in ABANDONED)
    )
    message = None
    if deferred:
        # First: whatever else came back, most of the site is left for the next run.
        status = "deferred"
        message = stats.get("arshif/deferred_message") or "deferred to the next run"
    elif stats.get(MESSAGE_STAT):
        # The archive could not be written (a full disk): whatever was fetched, the run
        # failed, and the cause is what a person must read.
        status, message = "failed", stats[MESSAGE_STAT]
    elif reason == "shutdown":
        # A signal (SIGTERM, Ctrl-C) stopped it: what was fetched is kept, the rest not.
        status, message = "interrupted", "stopped by a signal before the end"
    elif reason != "finished":
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
        unread = [f"{too_large} page(s) too large, not read"] if too_large else []
        if abandoned := sum(stats.get(key, 0) for key in ABANDONED):
            unread.append(f"{abandoned} page(s) not extracted, left for reextract")
        if unread:
            message = f"{'; '.join(unread)} (see captures)"
    elif stats.get(ERRORS_LOGGED, 0):
        # Something failed that no counter above knows of (Scrapy logged it): the
        # run may have lost pages, so it must not say ok.
        status = "partial"
        message = f"{stats[ERRORS_LOGGED]} error(s) logged, see the crawl log"
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


# This site's ERROR log records. Not Scrapy's log_count/ERROR: its handler counts every
# record of the process, so one site's failed retry made each site crawled beside it
# say "partial".
ERRORS_LOGGED = "arshif/errors_logged"


class SiteErrorCounter(logging.Handler):
    """Counts the ERROR records of one crawler's site into its stats.

    Scrapy tags a site's records with its spider (``extra={"spider": …}``, every
    ``spider.logger`` call); a record tagged with another site's spider is that
    site's. An untagged one could be anyone's, so it counts for every site: a run
    must not say ok over an error it may have had.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(logging.ERROR)
        self.crawler = crawler

    def emit(self, record: logging.LogRecord) -> None:
        spider = getattr(record, "spider", None)
        if spider is None and (crawler := getattr(record, "crawler", None)) is not None:
            spider = crawler.spider
        if spider is None or spider is self.crawler.spider:
            self.crawler.stats.inc_value(ERRORS_LOGGED)


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
        self.errors = SiteErrorCounter(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        recorder = cls(crawler)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        # A stop that did not end in time: the run is recorded as it stands.
        crawler.signals.connect(recorder.stop_overdue, signal=stop_overdue)
        # A pipeline that raised (say, the archive refused a save) or a callback that
        # raised lost a page: counted, so the run cannot say ok.
        crawler.signals.connect(recorder.item_error, signal=signals.item_error)
        crawler.signals.connect(recorder.spider_error, signal=signals.spider_error)
        return recorder

    def item_error(self, *args: Any, **kwargs: Any) -> None:
        self.crawler.stats.inc_value("arshif/item_errors")

    def spider_error(self, *args: Any, **kwargs: Any) -> None:
        self.crawler.stats.inc_value("arshif/spider_errors")

    def spider_opened(self, spider: Spider) -> None:
        logging.root.addHandler(self.errors)
        self.archive = open_archive(self.crawler)
        self.run_id = self.archive.start_run(spider.site)
        self.crawler.stats.set_value("arshif/run_id", self.run_id)

    def stop_overdue(self, reason: str) -> None:
        if self.crawler.spider is None:
            return
        # Scrapy's core stats set the run's length only at a close that never came.
        if isinstance(started := self.crawler.stats.get_value("start_time"), datetime):
            elapsed = (datetime.now(started.tzinfo) - started).total_seconds()
            self.crawler.stats.set_value("elapsed_time_seconds", elapsed)
        self.spider_closed(self.crawler.spider, reason)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        logging.root.removeHandler(self.errors)
        if self.archive is None or self.run_id is None:
            return
        archive, self.archive = self.archive, None  # recorded once, whichever comes first
        try:
            try:
                archive.finish_run(self.run_id, run_figures(self.crawler.stats.get_stats(), reason))
            except STORAGE_ERRORS as e:
                # The end of the run is the first write the disk refused: the run failed
                # on it, and freeing the disk reserve makes room to say so. SQLite has
                # rolled the update back (ENOSPC) and the connection stays usable.
                data_dir = self.crawler.settings.get("ARSHIF_DATA_DIR")
                failure.storage_failed(self.crawler, failure.db_name(data_dir), e)
                if isinstance(archive, Archive) and archive.db.conn.in_transaction:
                    archive.db.conn.rollback()
                figures = run_figures(self.crawler.stats.get_stats(), reason)
                archive.finish_run(self.run_id, figures)
        except STORAGE_ERRORS as e:
            # The row stays 'running'; the runner reports the site failed, and the next
            # run closes the row as interrupted (this process is gone by then).
            logger.error("%s: cannot record the end of run %s: %s", spider.name, self.run_id, e)
        finally:
            archive.close()


# How often a terminal's live line is redrawn; the plain line's period is the setting.
LIVE_REFRESH = 1.0
# The rate is taken over this window: a long crawl's pace now, not its average.
RATE_WINDOW = 60.0


class _LiveLines:
    """A block of terminal lines, one per running site, redrawn in place.

    Several crawlers run in one process; each updates its own line. A site that
    finishes clears the block first, so the summary line printed next starts on
    a clean line, and the next update draws the remaining sites below it.
    """

    def __init__(self) -> None:
        self.parts: dict[str, str] = {}
        self.drawn = 0  # lines on screen, the cursor at the end of the last one

    def _home(self) -> str:
        # Back to the first line of the block, and erase it all: lines never wrap
        # (they are cut to the width), so the count of lines drawn is exact.
        up = f"\x1b[{self.drawn - 1}A" if self.drawn > 1 else ""
        return up + "\r\x1b[J" if self.drawn else ""

    def show(self, stream: TextIO, key: str, text: str) -> None:
        self.parts[key] = text
        width = max(shutil.get_terminal_size().columns - 1, 10)
        lines = [t if len(t) <= width else t[: width - 1] + "…" for t in self.parts.values()]
        stream.write(self._home() + "\n".join(lines))
        stream.flush()
        self.drawn = len(lines)

    def remove(self, stream: TextIO, key: str) -> None:
        self.parts.pop(key, None)
        if self.drawn:
            stream.write(self._home())
            stream.flush()
            self.drawn = 0


_LIVE = _LiveLines()


class Progress:
    """What each site is doing while it is crawled: requests, articles, errors and rate.

    On a terminal, a line per site rewritten in place every second; otherwise (cron, a
    pipe) one plain line per site every ``ARSHIF_PROGRESS_INTERVAL`` seconds, so a
    long crawl is not silent between its start and its summary. 0 turns it off, as
    for ``scrapy crawl``, whose log on stderr already says as much.
    """

    def __init__(self, crawler: Crawler, interval: float, stream: TextIO) -> None:
        self.crawler = crawler
        self.stream = stream
        self.live = stream.isatty()
        self.interval = LIVE_REFRESH if self.live else interval
        self.samples: deque[tuple[float, int]] = deque()
        self.task: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        try:
            interval = crawler.settings.getfloat("ARSHIF_PROGRESS_INTERVAL", 0)
        except ValueError:
            value = crawler.settings.get("ARSHIF_PROGRESS_INTERVAL")
            logger.warning("ARSHIF_PROGRESS_INTERVAL=%r is not a number of seconds", value)
            raise NotConfigured("ARSHIF_PROGRESS_INTERVAL is not a number") from None
        if interval <= 0:
            raise NotConfigured("ARSHIF_PROGRESS_INTERVAL is 0")
        progress = cls(crawler, interval, sys.stderr)
        crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        return progress

    def spider_opened(self, spider: Spider) -> None:
        self.samples.append((time.monotonic(), 0))  # the first line has a rate too
        self.task = create_looping_call(self.report)
        # now=False: the first report after one interval, when there is something to say.
        self.task.start(self.interval, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if self.live:
            _LIVE.remove(self.stream, self.crawler.spider.name)

    def figures(self, now: float | None = None) -> str:
        """'hafryat: 43 requests, 34 articles, 0 errors, 120 requests/min'."""
        stats = self.crawler.stats
        requests = stats.get_value("downloader/request_count", 0)
        now = time.monotonic() if now is None else now
        self.samples.append((now, requests))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW:
            self.samples.popleft()
        then, before = self.samples[0]
        rate = (requests - before) * 60 / (now - then) if now > then else 0.0
        errors = error_count(stats.get_stats())
        return (
            f"{self.crawler.spider.name}: {requests} requests,"
            f" {stats.get_value('arshif/articles_saved', 0)} articles, {errors} errors,"
            f" {rate:.0f} requests/min"
        )

    def report(self) -> None:
        text = self.figures()
        if self.live:
            _LIVE.show(self.stream, self.crawler.spider.name, text)
        else:
            self.stream.write(f"  {datetime.now(UTC):%H:%M:%S} {text}\n")
            self.stream.flush()


class ContactWarning:
    """Warns once a process, as the crawl starts, that ARSHIF_CONTACT is unset: the
    User-Agent then says 'contact unset' and a site's operator cannot reach whoever runs
    the crawl. ``arshif crawl`` says so on the terminal itself; this covers ``scrapy
    crawl``, whose log is the terminal."""

    warned = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.settings.get("ARSHIF_CONTACT") or ContactWarning.warned:
            raise NotConfigured
        ContactWarning.warned = True
        logger.warning(
            "ARSHIF_CONTACT is unset, so the User-Agent says 'contact unset'; set"
            " ARSHIF_CONTACT=https://your.org/contact before crawling real sites"
        )
        return cls()
