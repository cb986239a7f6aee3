"""The real-weight site generator (tools/realistic_site.py) that `make bench-crawl` crawls:
generated pages must weigh what real news pages weigh, come in several layouts, and still
hold their own article, which arshif's extractor finds; the mirror must serve them."""

from __future__ import annotations

import gzip
import sys
import urllib.request
from collections import defaultdict
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.discover.sites import load_registry  # noqa: E402
from archive.extract.article import extract_article  # noqa: E402
from tools import news_layouts, realistic_site  # noqa: E402
from tools.realpages import prf  # noqa: E402

PAGES = 8  # per site: 4 sites, one layout each


def _built(tmp_path: Path) -> realistic_site.BuiltSites:
    return realistic_site.build_sites(tmp_path, n_sites=4, pages_per_site=PAGES, source="generated")


def test_generated_pages_weigh_like_news_pages_in_four_layouts(tmp_path):
    built = _built(tmp_path)
    assert built.source == "generated" and len(built.pages) == 4 * PAGES
    assert {p.layout for p in built.pages} == set(news_layouts.LAYOUTS)
    assert len(news_layouts.LAYOUTS) >= 4
    for page in built.pages:
        body = page.body()
        assert news_layouts.MIN_SIZE <= len(body) <= news_layouts.MAX_SIZE, page.url
        html = body.decode("utf-8")
        # The furniture the benchmark is about, on every page.
        for part in (
            'type="application/ld+json"',
            "<script>",
            "ad-slot",
            "الأكثر قراءة",
            "comment",
        ):
            assert part in html, (page.url, part)
        assert all(escape(p) in html for p in page.truth)
    # Pages differ: the same page served twice would be a WARC revisit, never extracted.
    assert len({p.body() for p in built.pages}) == len(built.pages)


def test_each_generated_page_extracts_to_its_own_article(tmp_path):
    built = _built(tmp_path)
    registry = load_registry([built.sites_file])
    scores = defaultdict(list)
    for page in built.pages:
        record = extract_article(
            page.body(), page.url, registry[page.site], content_type=page.content_type
        )
        scores[page.layout].append(prf(record.text, "\n".join(page.truth))[2])
    for layout, f1 in scores.items():
        assert min(f1) >= 0.85, (layout, f1)
        assert sum(f1) / len(f1) >= 0.95, (layout, f1)


def test_sites_file_turns_politeness_off_and_the_mirror_serves_the_pages(tmp_path):
    built = _built(tmp_path)
    registry = load_registry([built.sites_file])
    for key in built.site_keys:
        assert registry[key].politeness.delay == 0
        assert registry[key].politeness.concurrency == 8
    page = built.pages[-1]
    with realistic_site.serve(built) as server:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": server.proxy_url})
        )
        http_url = page.url.replace("https://", "http://")
        with opener.open(http_url, timeout=10) as answer:
            assert answer.headers["Content-Encoding"] == "gzip"
            wire = answer.read()
        with opener.open(http_url.rsplit("/", 1)[0].replace("/news", "/robots.txt")) as robots:
            assert "sitemap.xml" in robots.read().decode()
    assert gzip.decompress(wire) == page.body()
