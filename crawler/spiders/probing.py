"""Pages no URL rule knows: fetched within a budget, classified by what they declare.

A site entered without article rules (or as ``cms = "generic"``) still yields
articles: an unknown same-site link is fetched as a *probe*, at most
``ARSHIF_PROBE_BUDGET`` (or the site's ``probe_budget``) per run, and
``archive.discover.pagekind`` says what the page is. An article goes down the spider's
one ``parse_article`` path; any other page is read as a listing. Verdicts are
kept in the archive (``page_kinds``): a later run reuses them, and
``arshif sites suggest`` turns them into rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response, TextResponse

from archive.discover.sites import PageKind
from archive.urls import canonicalize
from crawler.items import ArticlePage

if TYPE_CHECKING:
    from crawler.spiders.news import NewsSpider

# Unknown links fetched and classified per site and run (ARSHIF_PROBE_BUDGET).
PROBE_BUDGET = 200


class ProbingMixin:
    """NewsSpider's handling of unknown links; NewsSpider holds the state it uses."""

    def probe(self: NewsSpider, url: str, *, depth: int, hints: dict[str, Any]) -> Request | None:
        """A request for an unknown on-site URL, to be classified once fetched; what an
        earlier run learned of it is used instead, and the budget bounds the rest."""
        try:
            url = canonicalize(url)
        except ValueError:
            return None
        if url in self._probed or url in self._listings or not self.site.owns(url):
            return None
        if self.site.urls.excluded(url):
            return None
        if self.site.urls.canonical_url(url) in self._articles:
            return None  # requested as an article already
        learned = self.archive.page_kind(self.name, url) if self.archive is not None else None
        known = self.archive is not None and self.archive.known(url) is not None
        if learned == PageKind.ARTICLE or known:
            return self.make_request(url, "article", hints=hints)
        if learned == PageKind.LISTING:
            return self.make_request(url, "listing", depth=depth)
        if self.archive is not None and self.archive.gone(url):
            return None  # a dead link stays dead, and costs the budget nothing
        if len(self._probed) >= self.probe_budget:
            if not self.crawler.stats.get_value("arshif/probe/over_budget"):
                self.logger.info(
                    "%s: probe budget of %d spent; further unknown links wait for the next run",
                    self.name,
                    self.probe_budget,
                )
            self.crawler.stats.inc_value("arshif/probe/over_budget")
            return None
        self._probed.add(url)
        self.crawler.stats.inc_value("arshif/probe/requested")
        request = self.make_request(url, "probe", depth=depth)
        if request is not None:
            request.meta["arshif_hints"] = hints
        return request

    def parse_probe(self: NewsSpider, response: Response) -> Iterator[Request | ArticlePage]:
        if not isinstance(response, TextResponse):
            return
        from archive.discover.pagekind import (
            declared_kind,  # extraction's parser: loaded when probing
        )

        content_type = response.headers.get(b"Content-Type")
        try:
            verdict = declared_kind(
                response.body,
                response.url,
                self.site,
                content_type.decode("latin-1") if content_type else None,
            )
        except Exception as e:  # a page that breaks the classifier must not stop the crawl
            self.logger.warning("%s: %s: cannot classify: %r", self.name, response.url, e)
            return
        self.crawler.stats.inc_value(f"arshif/probe/{verdict.kind.value}")
        if self.archive is not None:
            run_id = self.crawler.stats.get_value("arshif/run_id")
            fetched = [*response.meta.get("redirect_urls", []), response.url]
            for url in dict.fromkeys(canonicalize(u) for u in fetched):
                self.archive.record_page_kind(
                    self.name, url, verdict.kind.value, verdict.reason, run_id
                )
        if verdict.kind is PageKind.ARTICLE:
            key = self.site.urls.canonical_url(response.url)
            self._merge_hints(key, response.meta.get("arshif_hints") or {})
            yield from self.parse_article(response)
        else:
            yield from self.parse_listing(response)
