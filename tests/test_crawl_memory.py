"""What the crawl process holds on to: each page only as long as it is being worked on.

Peak memory itself is measured by benchmarks (make bench-crawl), not here: these
tests check the mechanisms that keep it bounded.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy import Request
from scrapy.core.scraper import Slot
from scrapy.http import HtmlResponse

from crawler.runner import project_settings
from tests.test_crawler_units import html, spider_for

ALIAS = "https://hafryat.com/تقارير/60245/عنوان"
PAGE = (
    f'<html><head><link rel="canonical" href="{ALIAS}">'
    '<link rel="shortlink" href="https://hafryat.com/node/60245"></head>'
    "<body><p>نص المقال</p></body></html>"
)


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    """Only reference counting frees objects meanwhile: what a crawl gets between
    full collections, which with real-weight pages came every 100 to 200 pages."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_an_article_response_is_freed_once_its_page_is_handed_on():
    spider = spider_for("hafryat")
    with no_cycle_collector():
        response = html(ALIAS, PAGE)
        gone = weakref.ref(response)
        (item,) = spider.parse_article(response)
        # The head was read: canonical and shortlink both taken into account.
        assert item.url == "https://hafryat.com/node/60245"
        assert item.body == PAGE.encode()
        del response
        # The item keeps the body; the response, its decoded text and its parsed
        # tree must go with the last reference, not wait for the cycle collector.
        assert gone() is None


def test_a_site_pauses_its_downloads_once_a_few_real_weight_pages_wait():
    # Scrapy's scraper slot, as each site's crawler builds it from the settings.
    slot = Slot(project_settings(Path("data")).getint("SCRAPER_SLOT_MAX_ACTIVE_SIZE"))
    page = b"<html><body>" + b"x" * 290_000 + b"</body></html>"  # a mean real-weight page
    waiting = 0
    while not slot.needs_backout():
        response = HtmlResponse(f"https://example.org/news/{waiting}", body=page)
        slot.add_response_request(response, Request(response.url))
        waiting += 1
    # Each waiting page holds its body and the text Scrapy decodes from it: with
    # Scrapy's 5 MB it was 18 pages a site. A few keep the extraction workers fed.
    assert 2 <= waiting <= 4
