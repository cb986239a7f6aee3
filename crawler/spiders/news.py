"""NewsSpider: discovery and fetching for any registered site.

The spider carries all the logic; a site is only data (archive.discover.sites.Site).
It starts from the site's feeds, sitemaps and listing pages, adds the
sitemaps robots.txt declares, follows pagination up to the site's listing
depth, and fetches each article once per run. It yields ArticlePage items;
extraction and storage happen in the pipelines.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.selector import Selector
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from archive.discover.feeds import XmlKind, parse_html_links, parse_xml
from archive.discover.sites import PageKind, Site
from archive.extract.article import iso_date
from archive.store.writer import Archive
from archive.urls import canonicalize
from crawler.cluster import open_archive
from crawler.items import ArticlePage
from crawler.middlewares import Deferred, record_outcome
from crawler.spiders.probing import PROBE_BUDGET, ProbingMixin

# Discovery documents first, so article requests are known early.
_PRIORITY = {"feed": 20, "sitemap": 20, "listing": 10, "probe": 5, "article": 0}


def _when(value: str | None) -> datetime | None:
    """An ISO date or time as an aware datetime (dates at midnight UTC, naive times as UTC)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def spider_class_for(site: Site) -> type[NewsSpider]:
    name = "".join(part.title() for part in site.key.split("_")) + "Spider"
    return type(
        name,
        (NewsSpider,),
        {
            "name": site.key,
            "site": site,
            "allowed_domains": list(site.domains),
            "custom_settings": site.politeness.scrapy_settings(),
            "__module__": __name__,
        },
    )


class NewsSpider(ProbingMixin, Spider):
    site: ClassVar[Site]

    archive: Archive | None = None
    recheck = timedelta(hours=48)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Canonical URL of each article requested this run -> what every source said of it.
        self._articles: dict[str, dict[str, Any]] = {}
        # Unknown URLs fetched this run to be classified by what the page declares.
        self._probed: set[str] = set()
        self._listings: set[str] = set()
        self.probe_budget = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if cls.site.discovery.robots_sitemaps:
            crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider.open_archive, signal=signals.spider_opened)
        crawler.signals.connect(spider.close_archive, signal=signals.spider_closed)
        # Not on spider_closed: Scrapy's SpiderState writes spider.state into JOBDIR
        # on that same signal, and would find the folder gone (a traceback per run).
        # engine_stopped comes after every component that writes there is done.
        crawler.signals.connect(spider.remove_job_dir, signal=signals.engine_stopped)
        spider.recheck = timedelta(hours=crawler.settings.getfloat("ARSHIF_RECHECK_HOURS", 48))
        if cls.site.probes:
            budget = cls.site.discovery.probe_budget
            if budget is None:
                try:
                    budget = max(0, crawler.settings.getint("ARSHIF_PROBE_BUDGET", PROBE_BUDGET))
                except ValueError:
                    value = crawler.settings.get("ARSHIF_PROBE_BUDGET")
                    spider.logger.warning(
                        "%s: ARSHIF_PROBE_BUDGET=%r is not a whole number; probing %d pages",
                        cls.name,
                        value,
                        PROBE_BUDGET,
                    )
                    budget = PROBE_BUDGET
            spider.probe_budget = budget
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        data = settings.get("ARSHIF_DATA_DIR")
        if settings.getbool("ARSHIF_DISK_QUEUE", True) and data and not settings.get("JOBDIR"):
            # Pending requests on disk, not in memory: a sitemap of 100,000 articles
            # costs the crawl no more memory than one of 1,000. Private to this run.
            job = Path(data) / "jobs" / f"{cls.name}-{os.getpid()}-{time.time_ns()}"
            settings.set("JOBDIR", str(job), priority="spider")

    # -- what the archive already holds ------------------------------------------

    def open_archive(self) -> None:
        # The known URLs live in the database, not in this process: memory stays flat.
        self.archive = open_archive(self.crawler)
        job = self.settings.get("JOBDIR")
        if job:  # queues left by a run that was killed: the crawl lock says none is running
            for stale in Path(job).parent.glob(f"{self.name}-*"):
                if stale != Path(job):
                    shutil.rmtree(stale, ignore_errors=True)

    def close_archive(self) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def remove_job_dir(self) -> None:
        # The disk queue is private to this run: a later run starts afresh from its seeds.
        job = self.settings.get("JOBDIR")
        if job and Path(job).parent.name == "jobs":
            shutil.rmtree(job, ignore_errors=True)

    def wanted(self, url: str, hints: dict[str, Any]) -> bool:
        """Whether to fetch an article: unknown, said to have changed since, or young and
        checked only once."""
        known = self.archive.known(url) if self.archive is not None else None
        if known is None:
            if self.archive is not None and self.archive.gone(url) and not hints.get("modified"):
                self.crawler.stats.inc_value("arshif/gone_skipped")  # a dead link stays dead
                return False
            return True
        last = _when(known.last_checked)
        for key in ("modified", "published"):
            said = _when(iso_date(hints.get(key)))
            if said is not None and last is not None and said > last:
                self.crawler.stats.inc_value("arshif/refetch/changed")
                return True
        born = _when(known.published) or _when(known.first_fetched)
        now = datetime.now(UTC)
        if (
            born is not None
            and now - born < self.recheck
            and known.last_checked == known.first_fetched
        ):
            self.crawler.stats.inc_value("arshif/refetch/recheck")
            return True
        self.crawler.stats.inc_value("arshif/known_skipped")
        return False

    # -- requests --------------------------------------------------------------

    def make_request(
        self, url: str, kind: str, *, depth: int = 0, hints: dict[str, Any] | None = None
    ) -> Request | None:
        """A request for url as kind, or None when it is off-site or already requested."""
        try:
            url = canonicalize(url)
        except ValueError:
            self.logger.warning("%s: unusable URL %r", self.name, url)
            return None
        if not self.site.owns(url):
            self.crawler.stats.inc_value("arshif/offsite_skipped")
            return None
        if kind == "listing":
            self._listings.add(url)  # a probe of it would be dropped as a duplicate request
        if kind == "article":
            # One article under several URLs (a path alias and /node/N) is fetched once.
            key = self.site.urls.canonical_url(url)
            if key != url and self.archive is not None:
                self.archive.add_alias(key, url)  # stored already: this run or an earlier one
            if key in self._articles:  # already requested this run: keep what this source said
                merged = self._merge_hints(key, hints or {})
                if url != key and url not in merged.setdefault("aliases", []):
                    merged["aliases"].append(url)
                return None
            if not self.wanted(key, hints or {}):
                return None
            self._merge_hints(key, hints or {})
        callback = {
            "feed": self.parse_xml,
            "sitemap": self.parse_xml,
            "listing": self.parse_listing,
            "probe": self.parse_probe,
            "article": self.parse_article,
        }[kind]
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=_PRIORITY[kind],
            meta={"arshif_kind": kind, "arshif_depth": depth},
        )

    def _merge_hints(self, url: str, hints: dict[str, Any]) -> dict[str, Any]:
        """Keep what every source said of an article: the first word on each field wins,
        and ``sources`` lists them all (a news sitemap's date is kept even when a listing
        page led to the article first)."""
        merged = self._articles.setdefault(url, {"sources": []})
        source = hints.get("source")
        if source and source not in merged["sources"]:
            merged["sources"].append(source)
        for key, value in hints.items():
            merged.setdefault(key, value)
        return merged

    async def start(self) -> AsyncIterator[Request]:
        discovery = self.site.discovery
        seeds = (
            [(u, "feed") for u in discovery.feeds]
            + [(u, "sitemap") for u in discovery.sitemaps]
            + [(u, "listing") for u in discovery.listings]
        )
        for url, kind in seeds:
            if request := self.make_request(url, kind):
                yield request

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """Schedule the sitemaps a site's robots.txt declares (it was fetched to obey it)."""
        if not self.site.owns(request.url) or not hasattr(robotparser, "sitemaps"):
            return
        for url in robotparser.sitemaps(request.url):
            if sitemap := self.make_request(url, "sitemap", hints={"source": "robots.txt"}):
                self.crawler.engine.crawl(sitemap)

    # -- callbacks -------------------------------------------------------------

    def parse_xml(self, response: Response) -> Iterator[Request]:
        try:
            doc = parse_xml(response.body, response.url)
        except ValueError as e:
            self.logger.warning(
                "%s: %s: unreadable feed or sitemap: %s", self.name, response.url, e
            )
            return
        if doc.kind is XmlKind.UNKNOWN:
            self.logger.warning("%s: %s: neither a feed nor a sitemap", self.name, response.url)
            return
        self.crawler.stats.inc_value(f"arshif/discovery/{doc.kind.value}")
        for sitemap in doc.sitemaps:
            if request := self.make_request(sitemap.url, "sitemap"):
                yield request
        for link in doc.links:
            kind = self.site.classify(link.url)
            self._saw_link(link.url, kind)
            request = None
            if kind is PageKind.ARTICLE:
                request = self.make_request(link.url, "article", hints=link.hints())
            elif kind is None and self.probe_budget:
                # A page a feed or sitemap lists but no rule knows: ask the page. One
                # that is no article is read as a listing, without going deeper.
                depth = self.site.discovery.listing_depth
                request = self.probe(link.url, depth=depth, hints=link.hints())
            if request is not None:
                yield request

    def parse_listing(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        page = parse_html_links(response.body, response.url, encoding=response.encoding)
        depth = response.meta.get("arshif_depth", 0)
        self.crawler.stats.inc_value("arshif/discovery/listing")
        if self.site.discovery.autodiscover_feeds:
            for feed in page.feeds:
                if not self.site.urls.excluded(feed) and (
                    request := self.make_request(feed, "feed", hints={"source": "autodiscovery"})
                ):
                    yield request
        for url in page.links + page.next_pages:
            kind = self.site.classify(url)
            self._saw_link(url, kind)
            request = None
            if kind is PageKind.ARTICLE:
                hints = {"source": "listing", "listing": response.url}
                request = self.make_request(url, "article", hints=hints)
            elif kind is PageKind.LISTING and depth < self.site.discovery.listing_depth:
                request = self.make_request(url, "listing", depth=depth + 1)
            elif kind is None and self.probe_budget and depth < self.site.discovery.listing_depth:
                hints = {"source": "listing", "listing": response.url}
                request = self.probe(url, depth=depth + 1, hints=hints)
            if request is not None:
                yield request

    def _saw_link(self, url: str, kind: PageKind | None) -> None:
        """Count an on-site link a feed, sitemap or listing offered, for the run's status:
        a site whose article rules match none of them says so, with an example."""
        if not self.site.owns(url):
            return
        stats = self.crawler.stats
        stats.inc_value("arshif/links_seen")
        if kind is PageKind.ARTICLE:
            stats.inc_value("arshif/article_links")
        elif (
            kind is None
            and not stats.get_value("arshif/unmatched_example")
            and not self.site.urls.excluded(url)
        ):
            stats.set_value("arshif/unmatched_example", url)

    def parse_article(self, response: Response) -> Iterator[ArticlePage]:
        if not isinstance(response, TextResponse):
            self.logger.warning("%s: %s: not an HTML page, skipped", self.name, response.url)
            return
        if not response.body.strip():
            # Nothing came: not an article without text, but one still to be had. Not
            # stored, so the next run asks again; an error of this one, so it is not ok.
            detail = f"HTTP {response.status} with an empty body"
            self.logger.warning("%s: %s: empty-body: %s", self.name, response.url, detail)
            record_outcome(
                self.crawler, response.meta.get("arshif_capture_id"), "empty-body", detail
            )
            return
        declared, shortlinks = self._head_links(response)
        url = self.site.article_url(response.url, declared)
        # The article may have been requested under another URL: a short link that
        # redirected here, an alias whose page names this canonical URL, or one the
        # site's canonical_urls map here. Drupal's rel=shortlink (/node/N) is one more.
        fetched = canonicalize(response.url)
        requested = [canonicalize(u) for u in response.meta.get("redirect_urls", [])]
        discovery = self._articles.get(url) or self._merge_hints(url, {})
        for alias in [*requested, fetched, *shortlinks]:
            key = self.site.urls.canonical_url(alias)
            if alias != url:
                self._merge_hints(url, self._articles.get(key, self._articles.get(alias, {})))
                if alias not in discovery.setdefault("aliases", []):
                    discovery["aliases"].append(alias)
        pointer = response.meta.get("arshif_warc")
        content_type = response.headers.get(b"Content-Type")
        yield ArticlePage(
            site=self.site.key,
            url=url,
            fetched_url=response.url,
            body=response.body,
            content_type=content_type.decode("latin-1") if content_type else None,
            fetched=response.meta.get("arshif_fetched") or datetime.now(UTC).isoformat(),
            warc=pointer,
            capture_id=response.meta.get("arshif_capture_id"),
            discovery=discovery,
            aliases=[a for a in discovery.get("aliases", []) if a != url],
            revisit=bool(response.meta.get("arshif_revisit")),
        )

    def _head_links(self, response: TextResponse) -> tuple[str | None, list[str]]:
        """The page's rel=canonical and its own rel=shortlink URLs.

        Read with a selector of our own, dropped on return, not response.xpath: that
        one is cached on the response and refers back to it (scrapy/scrapy#2977), so
        every article's body, text and lxml tree (1.6 MB at real weight) stayed until
        a full garbage collection, which came every 100 to 200 pages."""
        head = Selector(response)
        declared = head.xpath(
            "//head/link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"
        ).get()
        shortlinks = []
        for href in head.xpath(
            "//head/link[contains(concat(' ', normalize-space(@rel), ' '), ' shortlink ')]/@href"
        ).getall():
            if link := self.site.own_url(href, response.url, "shortlink"):
                shortlinks.append(link)
        return declared, shortlinks

    def on_error(self, failure: Failure) -> None:
        if failure.check(Deferred) and self.crawler.stats.get_value("arshif/deferred", 0) > 1:
            return  # the first deferral said so: one line for the site, not one per request
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        self.logger.warning("%s: %s: %s", self.name, url, failure.getErrorMessage())
