"""Hostile pages: URLs a page gives that are no http(s) URL of its site, and the browser side.

A page's markup is a stranger's. Its canonical, shortlink, feeds, image and
links are taken only as http(s) URLs (and, for the ones that name the page
itself, only on the page's site); Datasette's pages carry a Content-Security-
Policy; the original-page route answers a bad WARC pointer with a 404.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

from archive.browse.views import SANDBOX
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
    # The crawl's log says so once, naming the page and the value.
    log = "".join(p.read_text(encoding="utf-8") for p in (browse_archive / "logs").glob("*.log"))
    dropped = [line for line in log.splitlines() if "dropped canonical" in line]
    assert len(dropped) == 1 and PAGE_URL in dropped[0] and JS_CANONICAL in dropped[0]


# -- Datasette: the policy, links ------------------------------------------------


def get(ds: Datasette, path: str):
    return asyncio.run(ds.client.get(path))


@pytest.fixture(scope="module")
def ds(browse_archive):
    return Datasette([str(browse_archive / "archive.db")])


def _script_sources(policy: str) -> list[str]:
    directive = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    return directive.split()[1:]


def _inline_hash(body: str) -> str:
    digest = hashlib.sha256(body.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def test_every_page_sends_a_policy_that_runs_only_known_scripts(ds, browse_archive):
    with sqlite3.connect(browse_archive / "archive.db") as db:
        (article_id,) = db.execute(
            "SELECT id FROM articles WHERE title LIKE '%<script>%'"
        ).fetchone()
    pages = ["/", "/archive", "/archive?sql=select+1", "/archive/articles",
             f"/archive/articles/{article_id}", "/archive/search?q=بوتين",
             "/archive/articles?_search=بوتين", "/-/arshif/dashboard"]  # fmt: skip
    for path in pages:
        response = get(ds, path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        sources = _script_sources(policy)
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, path
        assert "object-src 'none'" in policy and "base-uri 'none'" in policy
        # Every inline script Datasette itself put on the page is allowed by its hash...
        for m in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S):
            assert _inline_hash(m[1]) in sources, (path, m[1][:80])
        # ...and the hostile page's script, were it ever rendered as markup, is not.
        assert _inline_hash('alert("arshif")') not in sources
    for path in [
        f"/-/arshif/original/archive/{article_id}",
        f"/-/arshif/page/archive/{article_id}",
    ]:
        policy = get(ds, path).headers["content-security-policy"]
        assert "script-src" not in policy and "default-src 'none'" in policy, path
    assert (
        get(ds, f"/-/arshif/original/archive/{article_id}").headers["content-security-policy"]
        == SANDBOX
    )


@pytest.fixture()
def tampered(browse_archive: Path, tmp_path: Path) -> tuple[Path, int, int, int]:
    """A copy of the archive's database (the WARCs linked) and one article to spoil:
    (data dir, article id, its WARC record's offset, the WARC's size)."""
    shutil.copy(browse_archive / "archive.db", tmp_path / "archive.db")
    (tmp_path / "warc").symlink_to(browse_archive / "warc")
    with sqlite3.connect(tmp_path / "archive.db") as db:
        article_id, filename, offset = db.execute(
            "SELECT id, warc_filename, warc_offset FROM articles WHERE title LIKE '%<script>%'"
        ).fetchone()
    return tmp_path, article_id, offset, (browse_archive / "warc" / filename).stat().st_size


def test_a_javascript_url_in_a_url_column_is_no_link(tampered):
    data, article_id, _, _ = tampered
    with sqlite3.connect(data / "archive.db") as db:
        db.execute(
            "UPDATE articles SET url = ?, canonical_url = ?, fetched_url = ?, image = ?"
            " WHERE id = ?",
            [JS_CANONICAL, JS_CANONICAL, "javascript:alert(2)", "javascript:alert(3)", article_id],
        )
    ds = Datasette([str(data / "archive.db")])
    for path in [f"/archive/articles/{article_id}", f"/archive/articles?id={article_id}",
                 "/archive/search?q=بوتين", f"/-/arshif/page/archive/{article_id}",
                 f"/archive/articles/{article_id}.json"]:  # fmt: skip
        response = get(ds, path)
        assert response.status_code == 200, path
        assert not re.search(r"""href=["']?\s*javascript""", response.text, re.I), path
    # The value is still shown, as text: nothing is hidden from the reader.
    assert "alert(1)" in get(ds, f"/archive/articles?id={article_id}").text


@pytest.mark.parametrize("kind", ["past the end", "inside a record", "negative", "not a number"])
def test_a_bad_offset_is_a_404_with_one_log_line(tampered, kind, caplog):
    data, article_id, offset, size = tampered
    bad = {"past the end": size + 10, "inside a record": offset + 200, "negative": -5,
           "not a number": "12abc"}[kind]  # fmt: skip
    with sqlite3.connect(data / "archive.db") as db:
        db.execute("UPDATE articles SET warc_offset = ? WHERE id = ?", [bad, article_id])
    ds = Datasette([str(data / "archive.db")])
    with caplog.at_level(logging.WARNING):
        response = get(ds, f"/-/arshif/original/archive/{article_id}")
    assert response.status_code == 404, kind
    lines = [r for r in caplog.records if r.name.startswith("archive")]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert f"/-/arshif/original/archive/{article_id}" in lines[0].getMessage()
    assert str(bad) in lines[0].getMessage() and lines[0].exc_info is None
    assert "Traceback" not in caplog.text and "Traceback" not in response.text
    # The banner page around it still answers: it reads no record.
    assert get(ds, f"/-/arshif/page/archive/{article_id}").status_code == 200


def test_the_search_box_reads_a_huge_query_only_as_far_as_the_bounds():
    from archive.browse import arabic_match
    from archive.store.search import MAX_QUERY_WORDS, parse_query

    words = [f"كلمة{i}" for i in range(2000)]
    match = arabic_match(" ".join(words))
    assert match.count(" AND ") == MAX_QUERY_WORDS - 1  # the first 32 words, not 2,000
    assert match == parse_query(" ".join(words[:MAX_QUERY_WORDS]))[0]
    short = "وأذربيجان قره باغ"
    assert arabic_match(short) == parse_query(short)[0]  # within the bounds: read whole
