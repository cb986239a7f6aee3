"""Spider, middleware and extension logic on hand-made responses (no network, no reactor)."""

from __future__ import annotations

import gzip
import io
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import NotConfigured, UsageError
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from archive.discover.sites import load_registry
from archive.urls import canonicalize
from crawler.extensions import run_figures
from crawler.items import ArticlePage
from crawler.middlewares import WarcCaptureMiddleware, retry_after_seconds
from crawler.spiderloader import SiteSpiderLoader
from crawler.spiders.news import spider_class_for

REGISTRY = load_registry()


def spider_for(key: str, **settings):
    cls = spider_class_for(REGISTRY[key])
    crawler = get_crawler(cls, settings_dict=settings)
    crawler.spider = cls.from_crawler(crawler)
    return crawler.spider


def html(url: str, body: str, **meta) -> HtmlResponse:
    request = Request(url, meta={"arshif_depth": 0, **meta})
    return HtmlResponse(url, body=body.encode(), encoding="utf-8", request=request)


def test_listing_yields_articles_and_next_pages_within_depth():
    spider = spider_for("hafryat")
    body = """<a href="/node/1">1</a><a href="/ar/node/2?utm_source=x">2</a><a href="/user/login">u</a>
    <a href="https://elsewhere.example/node/3">off-site</a><a href="/akhbar?page=1">next</a>
    <link rel="alternate" type="application/rss+xml" href="/taxonomy/term/5/feed">"""
    out = list(spider.parse_listing(html("https://hafryat.com/akhbar", body)))
    by_kind = {(r.meta["arshif_kind"], r.url) for r in out}
    assert by_kind == {
        ("article", "https://hafryat.com/node/1"),
        ("article", "https://hafryat.com/ar/node/2"),
        ("listing", "https://hafryat.com/akhbar?page=1"),
    }  # the feed matches the Drupal preset's exclude rule (/feed$), so it is not fetched
    again = list(spider.parse_listing(html("https://hafryat.com/taqarir", body)))
    assert {r.meta["arshif_kind"] for r in again} == {"listing"}  # articles: once per run
    fresh = spider_for("hafryat")
    deep = list(
        fresh.parse_listing(html("https://hafryat.com/akhbar?page=3", body, arshif_depth=3))
    )
    assert {r.meta["arshif_kind"] for r in deep} == {"article"}  # pagination stops at the depth


def test_listing_autodiscovers_feeds():
    spider = spider_for("lebanontab")
    body = '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
    (feed,) = spider.parse_listing(html("https://www.lebanontab.com/", body))
    assert feed.meta["arshif_kind"] == "feed" and feed.url == "https://www.lebanontab.com/rss.xml"


def test_sitemap_index_and_news_sitemap():
    spider = spider_for("lebanontab")
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://www.lebanontab.com/sitemap-2022-09.xml</loc></sitemap>
    <sitemap><loc>https://evil.example/sitemap.xml</loc></sitemap></sitemapindex>"""
    out = list(spider.parse_xml(XmlResponse("https://www.lebanontab.com/sitemap.xml", body=index)))
    assert [(r.meta["arshif_kind"], r.url) for r in out] == [
        ("sitemap", "https://www.lebanontab.com/sitemap-2022-09.xml")
    ]
    news = """<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
    xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://www.lebanontab.com/ar/9/خبر</loc>
    <news:news><news:publication_date>2022-09-14</news:publication_date><news:title>خبر</news:title></news:news>
    </url><url><loc>https://www.lebanontab.com/ar/category/lebanon</loc></url></urlset>""".encode()
    listing = html("https://www.lebanontab.com/", '<a href="/ar/9/خبر">خبر</a>')
    (article,) = spider.parse_listing(listing)  # found on a listing first ...
    sitemap = XmlResponse("https://www.lebanontab.com/sitemap-news.xml", body=news)
    assert not list(spider.parse_xml(sitemap))  # ... so not requested twice ...
    (item,) = spider.parse_article(html(article.url, "<html><body><p>x</p></body></html>"))
    # ... and the news sitemap's word is kept all the same.
    assert item.discovery["sources"] == ["listing", "news-sitemap"]
    assert item.discovery["published"] == "2022-09-14" and item.discovery["title"] == "خبر"


def test_article_honours_rel_canonical_on_site_only():
    spider = spider_for("hafryat")
    page = '<html><head><link rel="canonical" href="https://hafryat.com/node/7"></head><body>x</body></html>'
    (item,) = spider.parse_article(html("https://hafryat.com/ar/node/7", page))
    assert isinstance(item, ArticlePage)
    assert (
        item.url == "https://hafryat.com/node/7"
        and item.fetched_url == "https://hafryat.com/ar/node/7"
    )
    assert spider.make_request("https://hafryat.com/node/7", "article") is None  # already have it
    foreign = '<html><head><link rel="canonical" href="https://aljazeera.example/x"></head></html>'
    (item,) = spider.parse_article(html("https://hafryat.com/node/8", foreign))
    assert item.url == "https://hafryat.com/node/8"


def test_a_drupal_alias_and_its_node_are_requested_once_and_stored_as_one():
    spider = spider_for("hafryat")
    alias = "https://hafryat.com/تقارير/60245/عنوان"
    body = f'<a href="/node/60245">n</a><a href="{alias}">a</a><a href="/ar/node/60245">p</a>'
    requests = list(spider.parse_listing(html("https://hafryat.com/taqarir", body)))
    assert [r.url for r in requests] == ["https://hafryat.com/node/60245"]
    # The alias page names itself canonical (as Drupal 7 does), /node/N only as shortlink.
    page = (
        f'<html><head><link rel="canonical" href="{alias}">'
        '<link rel="shortlink" href="https://hafryat.com/node/60245"></head><body>x</body></html>'
    )
    (item,) = spider.parse_article(html(alias, page))
    assert item.url == "https://hafryat.com/node/60245"
    assert canonicalize(alias) in item.aliases
    assert item.discovery["sources"] == ["listing"]


def test_a_shortlink_is_kept_as_an_alias():
    spider = spider_for("lebanontab")
    page = (
        '<html><head><link rel="shortlink" href="https://www.lebanontab.com/?p=9">'
        '<link rel="shortlink" href="https://elsewhere.example/9"></head><body>x</body></html>'
    )
    (item,) = spider.parse_article(html("https://www.lebanontab.com/ar/9/x", page))
    assert item.aliases == ["https://www.lebanontab.com/?p=9"]


GENERIC = """
[sites.plain]
domains = ["plain.example"]
listings = ["/"]
"""


def generic_spider(tmp_path, entry: str = "", **settings):
    path = tmp_path / "plain.toml"
    path.write_text(GENERIC + entry)
    cls = spider_class_for(load_registry(path)["plain"])
    crawler = get_crawler(cls, settings_dict=settings)
    crawler.spider = cls.from_crawler(crawler)
    return crawler.spider


def test_unknown_links_of_a_site_without_article_rules_are_probed(tmp_path):
    spider = generic_spider(tmp_path)
    assert spider.probe_budget == 200  # ARSHIF_PROBE_BUDGET's default
    body = """<a href="/">home</a><a href="/n/1/story">1</a><a href="/n/2/story">2</a>
    <a href="/logo.png">x</a><a href="https://elsewhere.example/n/3">off-site</a>"""
    out = list(spider.parse_listing(html("https://plain.example/", body)))
    assert {(r.meta["arshif_kind"], r.url) for r in out} == {
        ("listing", "https://plain.example/"),
        ("probe", "https://plain.example/n/1/story"),
        ("probe", "https://plain.example/n/2/story"),
    }
    assert all(r.meta["arshif_depth"] == 1 for r in out)
    again = list(spider.parse_listing(html("https://plain.example/?page=2", body)))
    assert {r.meta["arshif_kind"] for r in again} == {"listing"}  # probes: once per run


def test_the_probe_budget_bounds_the_probes(tmp_path):
    body = "".join(f'<a href="/n/{i}/story">{i}</a>' for i in range(20))
    spider = generic_spider(tmp_path, ARSHIF_PROBE_BUDGET=3)
    probes = [r for r in spider.parse_listing(html("https://plain.example/", body))]
    assert len(probes) == 3 and spider.crawler.stats.get_value("arshif/probe/over_budget") == 17
    # A site's own probe_budget wins over the setting; 0 turns probing off.
    assert len(list(generic_spider(tmp_path, "probe_budget = 5\n").parse_listing(
        html("https://plain.example/", body)))) == 5  # fmt: skip
    assert not list(
        generic_spider(tmp_path, "probe_budget = 0\n").parse_listing(
            html("https://plain.example/", body)
        )
    )
    # A site with article rules does not probe unless it asks to, generic or not.
    assert spider_for("hafryat").probe_budget == 0
    assert spider_for("lebanontab").probe_budget == 0  # cms = "generic"


def test_a_generic_site_stops_probing_once_it_has_article_rules(tmp_path):
    # What docs/adding-a-site.md promises once sites suggest's rules are pasted in.
    body = '<a href="/n/1/story">1</a><a href="/about">about</a>'
    spider = generic_spider(tmp_path, "article_urls = ['^/n/\\d+/']\n")
    assert spider.probe_budget == 0
    out = list(spider.parse_listing(html("https://plain.example/", body)))
    assert [(r.meta["arshif_kind"], r.url) for r in out] == [
        ("article", "https://plain.example/n/1/story")
    ]
    rules_and_budget = "article_urls = ['^/n/\\d+/']\nprobe_budget = 7\n"
    assert generic_spider(tmp_path, rules_and_budget).probe_budget == 7


def test_a_probed_page_is_an_article_or_a_listing_by_what_it_declares(tmp_path):
    spider = generic_spider(tmp_path)
    listing = list(spider.parse_listing(html("https://plain.example/", '<a href="/n/1/x">1</a>')))
    (probe,) = listing
    story = "<p>" + " ".join(["كلمة"] * 80) + "</p>"
    article = html(
        probe.url,
        '<html><head><meta property="og:type" content="article"></head>'
        f"<body><h1>t</h1>{story}</body></html>",
        arshif_kind="probe",
        arshif_depth=1,
        arshif_hints=probe.meta["arshif_hints"],
    )
    (item,) = spider.parse_probe(article)
    assert isinstance(item, ArticlePage) and item.url == "https://plain.example/n/1/x"
    assert item.discovery["sources"] == ["listing"]
    section = html(
        "https://plain.example/n/2/x",
        '<html><body><a href="/n/3/y">3</a><a href="/n/1/x">1</a></body></html>',
        arshif_kind="probe",
        arshif_depth=1,
    )
    (follow,) = spider.parse_probe(section)  # its links probed in turn; /n/1/x is known
    assert (follow.meta["arshif_kind"], follow.url) == ("probe", "https://plain.example/n/3/y")
    broken = html("https://plain.example/n/4/x", "", arshif_kind="probe", arshif_depth=1)
    assert list(spider.parse_probe(broken)) == []


def test_warc_capture_keeps_the_compressed_body(tmp_path):
    spider = spider_for("hoseinmortada", ARSHIF_DATA_DIR=str(tmp_path))
    crawler = spider.crawler
    middleware = WarcCaptureMiddleware.from_crawler(crawler)
    crawler.stats.open_spider()
    import asyncio

    asyncio.run(middleware.spider_opened(spider))
    page = "<html><body>مقال</body></html>".encode()
    wire = gzip.compress(page, mtime=0)
    request = Request("https://www.hoseinmortada.com/?p=5&x=1", meta={"arshif_kind": "article"})
    request.headers[b"User-Agent"] = b"arshif/test"
    middleware.process_request(request)
    response = Response(
        request.url,
        status=200,
        headers={"Content-Type": "text/html; charset=UTF-8", "Content-Encoding": "gzip"},
        body=wire,
        request=request,
        protocol="HTTP/1.1",
    )
    assert middleware.process_response(request, response) is response
    pointer = request.meta["arshif_warc"]
    middleware.spider_closed(spider)
    with (tmp_path / "warc" / pointer.filename).open("rb") as f:
        f.seek(pointer.offset)
        records = iter(ArchiveIterator(f))
        record = next(records)
        assert record.rec_type == "response"
        assert record.http_headers.get_header("Content-Encoding") == "gzip"
        assert record.raw_stream.read() == wire
        request_record = next(records)
    assert request_record.rec_type == "request"
    http = request_record.http_headers
    assert f"{http.protocol} {http.statusline}" == "GET /?p=5&x=1 HTTP/1.1"
    assert request_record.rec_headers.get_header("WARC-Concurrent-To") == pointer.record_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"120", 120.0), (None, None), (b"soon", None), (b"", None)],
)
def test_retry_after_seconds(value, expected):
    assert retry_after_seconds(value) == expected


def test_retry_after_http_date():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True).encode()
    assert retry_after_seconds(later, now=now) == 30.0
    assert (
        retry_after_seconds(
            format_datetime(now - timedelta(hours=1), usegmt=True).encode(), now=now
        )
        == 0.0
    )


def test_run_figures_tell_unreachable_from_partial_and_ok():
    unreachable = run_figures(
        {
            "downloader/exception_type_count/scrapy.exceptions.CannotResolveHostError": 8,
            "retry/max_reached": 2,
        },
        "finished",
    )
    assert unreachable.status == "unreachable" and unreachable.error_kinds == {
        "CannotResolveHostError": 8
    }
    retried_ok = {
        "arshif/warc_responses": 5,
        "arshif/pages_fetched": 4,
        "arshif/article_links": 3,
        "downloader/response_status_count/503": 1,
        "retry/count": 1,
    }
    assert run_figures(retried_ok, "finished").status == "ok"
    assert run_figures(retried_ok | {"retry/max_reached": 1}, "finished").status == "partial"
    assert run_figures(retried_ok, "warc_unavailable").status == "failed"


def test_run_figures_say_failed_when_only_errors_came_back():
    all_502 = {
        "arshif/warc_responses": 16,
        "arshif/error_responses": 16,
        "downloader/response_status_count/502": 16,
        "retry/max_reached": 4,
    }
    figures = run_figures(all_502, "finished")
    assert figures.status == "failed" and figures.revisits == 0
    assert figures.message == "no page could be fetched: 16 x 502"


def test_run_figures_say_no_articles_when_no_link_matched_an_article_rule():
    stats = {
        "arshif/warc_responses": 6,
        "arshif/pages_fetched": 5,
        "arshif/discovery/rss": 1,
        "arshif/discovery/sitemap": 3,
        "arshif/discovery/listing": 1,
        "arshif/links_seen": 40,
        "arshif/unmatched_example": "https://www.example.com/2022/09/%D8%AE%D8%A8%D8%B1/",
    }
    figures = run_figures(stats, "finished")
    assert figures.status == "no-articles"
    assert figures.message == (
        "no URL matched an article rule: 4 feed(s)/sitemap(s) and 1 listing page(s) read,"
        " 40 on-site link(s), e.g. https://www.example.com/2022/09/خبر/"
    )
    # Every article already held (so none saved this run) is no failure: links matched.
    assert run_figures(stats | {"arshif/article_links": 10}, "finished").status == "ok"
    probing = run_figures(stats | {"arshif/probe/requested": 7}, "finished")
    assert "40 on-site link(s), 7 unknown page(s) probed, none an article, e.g." in probing.message
    assert run_figures(stats | {"arshif/probe/article": 1}, "finished").status == "ok"


def test_spider_loader_errors_are_usage_errors(tmp_path):
    bad = tmp_path / "sites.toml"
    bad.write_text('[sites.x]\ndomains = ["bad host"]\n')
    with pytest.raises(UsageError, match="site 'x', field 'domains'"):
        SiteSpiderLoader(Settings({"ARSHIF_SITES": str(bad)})).list()
    loader = SiteSpiderLoader(Settings({"ARSHIF_DATA_DIR": str(tmp_path / "d")}))
    assert loader.list() == ["lebanontab", "hoseinmortada", "hafryat"]
    with pytest.raises(UsageError, match="unknown site 'nosuch'"):
        loader.load("nosuch")
    assert loader.load("hafryat").name == "hafryat"
    assert loader.find_by_request(Request("https://hafryat.com/node/1")) == ["hafryat"]


def test_politeness_is_the_default():
    from crawler.runner import project_settings

    settings = project_settings(Path("data"))
    assert settings.getbool("ROBOTSTXT_OBEY") and settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1.0
    assert {429, 503} <= set(settings.getlist("RETRY_HTTP_CODES"))
    assert settings["DOWNLOADER_MIDDLEWARES"]["crawler.middlewares.WarcCaptureMiddleware"] > 600
    site = REGISTRY["lebanontab"]
    assert spider_class_for(site).custom_settings == {"CONCURRENT_REQUESTS_PER_DOMAIN": 1}


def test_a_page_is_bounded_by_default():
    from crawler.runner import project_settings

    settings = project_settings(Path("data"))
    # Scrapy's own 1 GB let a gzip bomb take a crawl past a gigabyte of memory.
    assert 1_000_000 <= settings.getint("DOWNLOAD_MAXSIZE") <= 16 * 1024 * 1024
    assert 0 < settings.getint("DOWNLOAD_WARNSIZE") < settings.getint("DOWNLOAD_MAXSIZE")
    assert 0 < settings.getint("ARSHIF_EXTRACT_MAX_SIZE") <= settings.getint("DOWNLOAD_MAXSIZE")
    assert settings.getfloat("ARSHIF_RETRY_AFTER_MAX") == 300
    middlewares = settings["DOWNLOADER_MIDDLEWARES"]
    assert middlewares["crawler.middlewares.BoundedCompressionMiddleware"] == 590


class _Slot:
    def __init__(self, delay: float) -> None:
        self.delay = delay


def _retry_middleware(**settings):
    from types import SimpleNamespace

    from crawler.middlewares import BackoffRetryMiddleware

    crawler = get_crawler(settings_dict={"ARSHIF_RETRY_BACKOFF": 0, **settings})
    crawler.stats.open_spider()
    middleware = BackoffRetryMiddleware.from_crawler(crawler)
    slot = _Slot(1.0)
    downloader = SimpleNamespace(slots={"a.example": slot}, get_slot_key=lambda r: "a.example")
    crawler.engine = SimpleNamespace(downloader=downloader)
    crawler.spider = Spider.from_crawler(crawler, "a")
    return middleware, slot


def test_one_503_slows_the_site_only_until_responses_succeed_again():
    import asyncio

    middleware, slot = _retry_middleware()
    request = Request("https://a.example/x")
    busy = Response(request.url, status=503, headers={"Retry-After": "0"}, request=request)
    middleware._slow_slot(request, 40.0)  # what a Retry-After: 40 does before its wait
    assert slot.delay == 40.0
    ok = Response(request.url, status=200, request=request)
    delays = []
    for _ in range(7):
        assert asyncio.run(middleware.process_response(request, ok)) is ok
        delays.append(slot.delay)
    assert delays == [20.0, 10.0, 5.0, 2.5, 1.25, 1.0, 1.0]  # halved back to the configured 1 s
    assert middleware.slowed == {}
    retry = asyncio.run(middleware.process_response(request, busy))
    assert isinstance(retry, Request) and slot.delay == 1.0  # Retry-After: 0 slows nothing


def test_a_retry_after_beyond_the_maximum_is_not_retried_but_deferred():
    import asyncio

    from crawler.middlewares import Deferred

    middleware, slot = _retry_middleware(ARSHIF_RETRY_AFTER_MAX=300)
    closed = []

    async def close_spider_async(reason):
        closed.append(reason)

    middleware.crawler.engine.close_spider_async = close_spider_async
    request = Request("https://a.example/x")
    busy = Response(request.url, status=503, headers={"Retry-After": "100000"}, request=request)

    async def respond():
        with pytest.raises(
            Deferred, match=r"Retry-After 100000 s, more than ARSHIF_RETRY_AFTER_MAX"
        ):
            await middleware.process_response(request, busy)
        await asyncio.sleep(0)  # the scheduled close runs

    asyncio.run(respond())
    assert closed == ["arshif_deferred"] and slot.delay == 1.0
    stats = middleware.crawler.stats
    assert stats.get_value("arshif/deferred") == 1 and not stats.get_value("retry/count")
    figures = run_figures(
        {"arshif/warc_responses": 3, "arshif/pages_fetched": 2, **stats.get_stats()},
        "arshif_deferred",
    )
    assert figures.status == "deferred" and figures.errors == 1
    assert figures.message.startswith("deferred to the next run: https://a.example/x: HTTP 503")


def test_run_figures_count_too_large_pages_as_errors():
    stats = {"arshif/warc_responses": 5, "arshif/pages_fetched": 4, "arshif/article_links": 3}
    figures = run_figures(stats | {"arshif/too_large": 1}, "finished")
    assert (figures.status, figures.errors) == ("partial", 1)
    assert "too large" in figures.message


def test_which_known_articles_are_fetched_again(tmp_path):
    from datetime import UTC, datetime, timedelta

    from archive.store.writer import Archive

    spider = spider_for("hafryat")
    spider.archive = Archive.in_memory()
    spider.archive.register_site(REGISTRY["hafryat"])
    now = datetime.now(UTC)

    def store(url: str, published: datetime, fetched: datetime) -> None:
        spider.archive.save_article(
            {
                "url": url,
                "site": "hafryat",
                "title": "t",
                "text": "x",
                "published": published.isoformat(),
                "fetched_url": url,
                "fetched": fetched.isoformat(),
                "warc_filename": "f",
                "warc_offset": 1,
                "warc_length": 1,
                "warc_record_id": f"<{url}>",
                "payload_digest": "d",
            }
        )

    old, young = "https://hafryat.com/node/1", "https://hafryat.com/node/2"
    store(old, now - timedelta(days=30), now - timedelta(days=29))
    store(young, now - timedelta(hours=5), now - timedelta(hours=4))
    assert spider.wanted("https://hafryat.com/node/3", {})  # unknown
    assert not spider.wanted(
        old, {"modified": (now - timedelta(days=30)).isoformat()}
    )  # not changed since
    assert spider.wanted(old, {"modified": now.isoformat()})  # the sitemap says it changed
    assert spider.wanted(young, {})  # young and checked once: once more
    spider.archive.db.execute(
        "UPDATE articles SET last_checked = ? WHERE url = ?", [now.isoformat(), young]
    )
    assert not spider.wanted(young, {})  # ... but only once


def test_progress_is_off_at_0_and_redraws_one_line_per_site_on_a_terminal():
    from crawler.extensions import Progress, _LiveLines

    with pytest.raises(NotConfigured):
        Progress.from_crawler(get_crawler(settings_dict={"ARSHIF_PROGRESS_INTERVAL": 0}))
    screen = io.StringIO()
    live = _LiveLines()
    live.show(screen, "a", "a: 1 requests")
    live.show(screen, "b", "b: 2 requests")
    live.show(screen, "a", "a: 3 requests")
    live.remove(screen, "a")  # a site is done: the block is cleared for its summary line
    assert screen.getvalue() == (
        "a: 1 requests"
        "\r\x1b[Ja: 1 requests\nb: 2 requests"
        "\x1b[1A\r\x1b[Ja: 3 requests\nb: 2 requests"
        "\x1b[1A\r\x1b[J"
    )
    assert live.parts == {"b": "b: 2 requests"} and live.drawn == 0


def test_scrapy_crawl_without_a_contact_warns_once(caplog, monkeypatch):
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from crawler.extensions import ContactWarning

    monkeypatch.setattr(ContactWarning, "warned", False)
    with caplog.at_level(logging.WARNING, logger="crawler.extensions"):
        ContactWarning.from_crawler(get_crawler(settings_dict={"ARSHIF_CONTACT": ""}))
        with pytest.raises(NotConfigured):  # a second site in the same process: said already
            ContactWarning.from_crawler(get_crawler(settings_dict={"ARSHIF_CONTACT": ""}))
    assert caplog.text.count("ARSHIF_CONTACT is unset") == 1
    monkeypatch.setattr(ContactWarning, "warned", False)
    with pytest.raises(NotConfigured):
        ContactWarning.from_crawler(get_crawler(settings_dict={"ARSHIF_CONTACT": "https://x.org"}))


def test_pages_fetched_but_not_extracted_make_a_run_partial_and_say_so():
    fetched = {"arshif/warc_responses": 5, "arshif/pages_fetched": 5, "arshif/articles_saved": 3}
    for stat in ("extract_timeout", "extract_failed", "extract_interrupted"):
        figures = run_figures(fetched | {f"arshif/{stat}": 2}, "finished")
        assert (figures.status, figures.errors) == ("partial", 2), (stat, figures)
        assert figures.message == "2 page(s) not extracted, left for reextract (see captures)"
    both = run_figures(fetched | {"arshif/extract_timeout": 1, "arshif/too_large": 1}, "finished")
    assert both.message == (
        "1 page(s) too large, not read; 1 page(s) not extracted, left for reextract (see captures)"
    )
    # Every page fetched was an article whose extraction was abandoned: found, not empty.
    only = {"arshif/warc_responses": 2, "arshif/pages_fetched": 2, "arshif/extract_timeout": 2}
    assert run_figures(only, "finished").status == "partial"


def test_a_failed_write_of_a_capture_outcome_stops_the_run_in_one_line(tmp_path, caplog):
    import sqlite3

    from crawler import failure
    from crawler.middlewares import _CAPTURES, record_outcome

    class FullDisk:
        def set_capture_error(self, capture_id: int, error: str) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    crawler = get_crawler(settings_dict={"ARSHIF_DATA_DIR": str(tmp_path)})
    capture = WarcCaptureMiddleware.from_crawler(crawler)
    capture.archive = FullDisk()  # type: ignore[assignment]
    _CAPTURES[crawler] = capture
    failure.register(crawler)  # as the middleware's spider_opened does
    with caplog.at_level(logging.ERROR):
        record_outcome(crawler, 7, "too-large", "300 B inflates past DOWNLOAD_MAXSIZE")
        record_outcome(crawler, 8, "deferred", "HTTP 503 with Retry-After 100000 s")
    message = crawler.stats.get_value(failure.MESSAGE_STAT)
    assert message == f"cannot write {tmp_path / 'archive.db'}: database or disk is full"
    assert crawler.stats.get_value("arshif/too_large") == 1
    assert crawler.stats.get_value("arshif/deferred") == 1
    assert len([r for r in caplog.records if "cannot write" in r.getMessage()]) == 1
