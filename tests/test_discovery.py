from __future__ import annotations

import gzip

import pytest

from archive.discover.feeds import (
    XmlKind,
    maybe_gunzip,
    parse_html_links,
    parse_xml,
    robots_sitemaps,
)

BASE = "https://news.example/"

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>أخبار</title>
<item><title>خبر أول</title><link>https://news.example/2024/01/02/خبر/?utm_source=rss</link>
<pubDate>Tue, 02 Jan 2024 10:00:00 +0000</pubDate><guid isPermaLink="false">https://news.example/?p=5</guid></item>
<item><title>بلا رابط</title><guid>https://news.example/guid-only/</guid></item>
<item><title>لا شيء</title></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>مقال</title><link rel="alternate" href="/a/1"/><link rel="replies" href="/a/1#comments"/>
<published>2023-09-19T10:00:00+03:00</published><updated>2023-09-20T08:00:00+03:00</updated></entry>
</feed>"""

NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example/ar/1/خبر</loc><lastmod>2022-09-14T10:30:00+00:00</lastmod>
<news:news><news:publication><news:name>N</news:name><news:language>ar</news:language></news:publication>
<news:publication_date>2022-09-14T10:30:00+03:00</news:publication_date>
<news:title>مساعي لتطويق المواجهة</news:title></news:news></url>
<url><loc>https://news.example/ar/2/x</loc></url>
</urlset>"""

INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example/sitemap-1.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
<sitemap><loc>https://news.example/sitemap-2.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_rss_items_with_guid_fallback():
    doc = parse_xml(RSS.encode(), BASE)
    assert doc.kind is XmlKind.RSS
    assert [link.url for link in doc.links] == [
        "https://news.example/2024/01/02/%D8%AE%D8%A8%D8%B1/",
        "https://news.example/guid-only/",
    ]
    first = doc.links[0]
    assert first.title == "خبر أول" and first.published == "Tue, 02 Jan 2024 10:00:00 +0000"
    assert first.hints() == {"source": "rss", "title": "خبر أول", "published": first.published}


def test_atom_entries_resolve_relative_links():
    doc = parse_xml(ATOM.encode(), BASE)
    assert doc.kind is XmlKind.ATOM
    assert [(link.url, link.published, link.modified) for link in doc.links] == [
        ("https://news.example/a/1", "2023-09-19T10:00:00+03:00", "2023-09-20T08:00:00+03:00")
    ]


def test_google_news_sitemap_keeps_title_and_publication_date():
    doc = parse_xml(NEWS_SITEMAP.encode(), BASE)
    assert doc.kind is XmlKind.URLSET
    news, plain = doc.links
    assert news.source == "news-sitemap"
    assert news.title == "مساعي لتطويق المواجهة"
    assert news.published == "2022-09-14T10:30:00+03:00"
    assert news.modified == "2022-09-14T10:30:00+00:00"
    assert plain.source == "sitemap" and plain.title is None


def test_sitemap_index_and_gzipped_sitemaps():
    doc = parse_xml(gzip.compress(INDEX.encode()), BASE)
    assert doc.kind is XmlKind.SITEMAPINDEX
    assert [s.url for s in doc.sitemaps] == [
        "https://news.example/sitemap-1.xml",
        "https://news.example/sitemap-2.xml.gz",
    ]
    assert doc.links == []


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"\0" * 2_000_000)
    with pytest.raises(ValueError, match="expands beyond"):
        maybe_gunzip(bomb, limit=1_000_000)
    with pytest.raises(ValueError, match="corrupt gzip"):
        maybe_gunzip(b"\x1f\x8b\x08garbage")


@pytest.mark.parametrize("body", [b"", b"<html><body>not xml", b"\xff\xfe\x00", b"<foo/>"])
def test_non_feeds_are_unknown_not_errors(body):
    assert parse_xml(body, BASE).kind is XmlKind.UNKNOWN


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = f"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>
<rss><channel><item><title>&x;</title><link>https://news.example/a</link></item></channel></rss>"""
    doc = parse_xml(xxe.encode(), BASE)
    assert all("TOPSECRET" not in (link.title or "") for link in doc.links)


def test_truncated_feed_keeps_what_it_can():
    doc = parse_xml(RSS.encode()[: RSS.encode().index(b"<item><title>\xd8\xa8")], BASE)
    assert doc.kind is XmlKind.RSS
    assert len(doc.links) == 1


def test_robots_sitemap_lines():
    body = b"User-agent: *\nDisallow: /admin/\nsitemap: /s1.xml  # relative\nSITEMAP:https://news.example/s2.xml\n"
    assert robots_sitemaps(body, "https://news.example/robots.txt") == [
        "https://news.example/s1.xml",
        "https://news.example/s2.xml",
    ]


def test_html_links_feeds_canonical_and_next():
    page = """<html><head>
    <link rel="canonical" href="/node/5">
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="alternate" type="application/atom+xml" href="https://news.example/feed/atom/">
    <link rel="alternate" hreflang="en" href="/en/node/5">
    <link rel="next" href="?page=2">
    </head><body>
    <a href="/ar/node/5#comments">مقال</a> <a href="javascript:void(0)">x</a> <a href="mailto:a@b">m</a>
    <a href="/ar/node/5">again</a> <a rel="next" href="/akhbar?page=3">التالي</a>
    </body></html>""".encode()
    links = parse_html_links(page, "https://news.example/akhbar")
    assert links.canonical == "https://news.example/node/5"
    assert links.feeds == ["https://news.example/rss.xml", "https://news.example/feed/atom/"]
    assert links.links == ["https://news.example/ar/node/5", "https://news.example/akhbar?page=3"]
    assert links.next_pages == [
        "https://news.example/akhbar?page=3",
        "https://news.example/akhbar?page=2",
    ]


def test_html_links_of_an_empty_page():
    assert parse_html_links(b"   ", BASE).links == []
