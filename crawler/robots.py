"""A robots.txt parser that also tells which sitemaps the file declares."""

from __future__ import annotations

from scrapy import Spider
from scrapy.robotstxt import ProtegoRobotParser

from archive.discover.feeds import robots_sitemaps


class SitemapAwareRobotParser(ProtegoRobotParser):
    """Protego's parser, keeping the ``Sitemap:`` lines for discovery.

    Sitemaps are read from the robots.txt Scrapy already fetched to obey it, so
    discovery costs no second request (see NewsSpider.robots_parsed).
    """

    def __init__(self, robotstxt_body: bytes, spider: Spider | None) -> None:
        super().__init__(robotstxt_body, spider)
        self.body = robotstxt_body

    def sitemaps(self, base_url: str) -> list[str]:
        return robots_sitemaps(self.body, base_url)
