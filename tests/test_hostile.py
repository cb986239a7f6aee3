"""Hostile pages: URLs a page gives that are no http(s) URL of its site, and the browser side.

A page's markup is a stranger's. Its canonical, shortlink, feeds, image and
links are taken only as http(s) URLs (and, for the ones that name the page
itself, only on the page's site); Datasette's pages carry a Content-Security-
Policy; the original-page route answers a bad WARC pointer with a 404.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

from archive.discover.feeds import parse_html_links, parse_xml, robots_sitemaps
from archive.discover.sites import load_registry
from archive.extract.article import extract_article
from archive.urls import web_url
from mirror import BUNDLED, TEST_SITES

HOSTILE = BUNDLED / "www.hostile.example"
PAGE_URL = "https://www.hostile.example/news/3.html"
JS_CANONICAL = "javascript://www.hostile.example/%0aalert(1)"


def hostile_site():
    return load_registry(TEST_SITES)["hostile"]


# -- taking URLs from a page ---------------------------------------------------


@pytest.mark.parametrize(
    "href",
    [JS_CANONICAL, "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x",
     "vbscript:x", "mailto:a@b.example", "ftp://www.hostile.example/x", "http://"],
)  # fmt: skip
def test_only_http_urls_are_web_urls(href):
    assert web_url(href, PAGE_URL) is None


def test_relative_and_http_urls_are_resolved():
    assert web_url("/news/1.html", PAGE_URL) == "https://www.hostile.example/news/1.html"
    assert web_url("HTTP://www.hostile.example/a") == "http://www.hostile.example/a"


def test_the_site_owns_no_javascript_url_on_its_host():
    site = hostile_site()
    assert site.owns("https://www.hostile.example/news/1.html")
    assert not site.owns(JS_CANONICAL)
    assert site.article_url(PAGE_URL, JS_CANONICAL) == PAGE_URL


def test_a_javascript_canonical_is_dropped_and_logged_once(caplog):
    body = (HOSTILE / "news" / "3.html").read_bytes()
    with caplog.at_level(logging.WARNING):
        record = extract_article(body, PAGE_URL, hostile_site())
    assert record.canonical_url is None
    assert record.image is None  # og:image was javascript:alert(4)
    assert record.title and record.text
    lines = [r.getMessage() for r in caplog.records if "canonical" in r.getMessage()]
    assert len(lines) == 1 and PAGE_URL in lines[0] and "alert(1)" in lines[0], lines
    assert "\n" not in lines[0]


def test_a_canonical_on_another_site_is_dropped(caplog):
    page = b'<html><head><link rel="canonical" href="https://evil.example/x"></head>'
    page += b"<body><article><h1>t</h1><p>" + "نص ".encode() * 60 + b"</p></article></body></html>"
    with caplog.at_level(logging.WARNING):
        record = extract_article(page, PAGE_URL, hostile_site())
    assert record.canonical_url is None
    assert any("https://evil.example/x" in r.getMessage() for r in caplog.records)


def test_html_links_take_only_http_urls(caplog):
    body = (HOSTILE / "news" / "3.html").read_bytes()
    with caplog.at_level(logging.WARNING):
        links = parse_html_links(body, PAGE_URL)
    assert links.canonical is None and links.feeds == []
    assert not any("javascript" in u for u in links.links)
    assert any("alert(3)" in r.getMessage() and PAGE_URL in r.getMessage() for r in caplog.records)


def test_feed_and_sitemap_entries_take_only_http_urls(caplog):
    rss = b"""<rss><channel>
      <item><link>javascript://www.hostile.example/%0aalert(1)</link></item>
      <item><link>https://www.hostile.example/news/1.html</link></item>
    </channel></rss>"""
    sitemap = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>javascript:alert(1)</loc></url>
      <url><loc>https://www.hostile.example/news/2.html</loc></url></urlset>"""
    feed_url = "https://www.hostile.example/feed"
    with caplog.at_level(logging.WARNING):
        assert [x.url for x in parse_xml(rss, feed_url).links] == [
            "https://www.hostile.example/news/1.html"
        ]
        assert [x.url for x in parse_xml(sitemap, feed_url).links] == [
            "https://www.hostile.example/news/2.html"
        ]
        assert robots_sitemaps(b"Sitemap: javascript:alert(1)\n", feed_url) == []
    assert sum(feed_url in r.getMessage() for r in caplog.records) == 3


def test_the_crawled_javascript_canonical_page_is_stored_without_it(browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        row = db.execute(
            "SELECT url, canonical_url, image FROM articles WHERE title LIKE 'أمطار غزيرة%'"
        ).fetchone()
        bad = db.execute(
            "SELECT (SELECT count(*) FROM articles WHERE url || coalesce(canonical_url, '')"
            "  || coalesce(image, '') LIKE '%javascript%')"
            " + (SELECT count(*) FROM article_aliases WHERE url LIKE '%javascript%')"
            " + (SELECT count(*) FROM captures WHERE url LIKE '%javascript%')"
        ).fetchone()[0]
    assert row == (PAGE_URL, None, None)
    assert bad == 0
