"""Discovery parsers: feeds, sitemaps, robots.txt and HTML pages into links.

Pure functions over bytes, shared by the crawler and tests. XML is parsed with
lxml in its safe mode (no entities, no network); broken documents are read as
far as they go rather than dropped, because real feeds are often malformed.

Google News sitemaps carry ``news:title`` and ``news:publication_date`` that
Scrapy's own sitemap parser flattens away; they are kept on each ``Link`` as
hints for the article record.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree, html

from archive.urls import canonicalize, log_dropped, web_url

MAX_XML_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})


class XmlKind(StrEnum):
    RSS = "rss"
    ATOM = "atom"
    URLSET = "sitemap"
    SITEMAPINDEX = "sitemapindex"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Link:
    """A discovered URL with what the source said about it."""

    url: str
    title: str | None = None
    published: str | None = None
    modified: str | None = None
    source: str = ""

    def hints(self) -> dict[str, str]:
        out = {"source": self.source}
        for name in ("title", "published", "modified"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


@dataclass(frozen=True)
class XmlDocument:
    kind: XmlKind
    links: list[Link] = field(default_factory=list)
    sitemaps: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class HtmlLinks:
    links: list[str]
    feeds: list[str]
    canonical: str | None
    next_pages: list[str]


def maybe_gunzip(body: bytes, limit: int = MAX_XML_BYTES) -> bytes:
    """The body, gunzipped when it is gzip data (``sitemap.xml.gz``); at most limit bytes."""
    if body[:2] != b"\x1f\x8b":
        return body
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
            while chunk := f.read(65536):
                out.write(chunk)
                if out.tell() > limit:
                    raise ValueError(f"gzip data expands beyond {limit} bytes")
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"corrupt gzip data: {e}") from None
    return out.getvalue()


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    value = "".join(el.itertext()).strip()
    return value or None


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _descendant(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el.iter() if _local(c.tag) == name), None)


def parse_xml(body: bytes, base_url: str) -> XmlDocument:
    """Parse a feed or sitemap, recognised by its root element, into links."""
    body = maybe_gunzip(body)
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(body.lstrip(), parser=parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return XmlDocument(XmlKind.UNKNOWN)
    kind = _local(root.tag)
    if kind == "rss" or kind == "rdf":
        return XmlDocument(XmlKind.RSS, _rss_items(root, base_url))
    if kind == "feed":
        return XmlDocument(XmlKind.ATOM, _atom_entries(root, base_url))
    if kind == "urlset":
        return XmlDocument(XmlKind.URLSET, _sitemap_entries(root, base_url, "url"))
    if kind == "sitemapindex":
        return XmlDocument(
            XmlKind.SITEMAPINDEX, sitemaps=_sitemap_entries(root, base_url, "sitemap")
        )
    return XmlDocument(XmlKind.UNKNOWN)


def _web(href: str | None, base_url: str, what: str) -> str | None:
    """href as an http(s) URL, or None (logged, naming the document) when it is none."""
    if not href:
        return None
    url = web_url(href, base_url)
    if url is None:
        log_dropped(base_url, what, href)
    return url


def _rss_items(root: etree._Element, base_url: str) -> list[Link]:
    links = []
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        href = _text(_child(item, "link"))
        guid = _child(item, "guid")
        if not href and guid is not None and guid.get("isPermaLink", "true") != "false":
            href = _text(guid)
        if not (url := _web(href, base_url, "rss item")):
            continue
        links.append(
            Link(
                url=url,
                title=_text(_child(item, "title")),
                published=_text(_child(item, "pubdate")) or _text(_child(item, "date")),
                source="rss",
            )
        )
    return links


def _atom_entries(root: etree._Element, base_url: str) -> list[Link]:
    links = []
    for entry in root:
        if _local(entry.tag) != "entry":
            continue
        href = None
        for link in entry:
            if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate":
                href = link.get("href")
                break
        if not (url := _web(href, base_url, "atom entry")):
            continue
        links.append(
            Link(
                url=url,
                title=_text(_child(entry, "title")),
                published=_text(_child(entry, "published")),
                modified=_text(_child(entry, "updated")),
                source="atom",
            )
        )
    return links


def _sitemap_entries(root: etree._Element, base_url: str, tag: str) -> list[Link]:
    links = []
    for entry in root:
        if _local(entry.tag) != tag:
            continue
        loc = _text(_child(entry, "loc"))
        if not (url := _web(loc, base_url, f"sitemap {tag}")):
            continue
        news = _child(entry, "news")
        links.append(
            Link(
                url=url,
                title=_text(_descendant(news, "title")) if news is not None else None,
                published=_text(_descendant(news, "publication_date"))
                if news is not None
                else None,
                modified=_text(_child(entry, "lastmod")),
                source="news-sitemap" if news is not None else "sitemap",
            )
        )
    return links


def robots_sitemaps(body: bytes, base_url: str) -> list[str]:
    """The ``Sitemap:`` URLs a robots.txt declares, canonicalised."""
    urls = []
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        name, _, value = line.partition(":")
        is_sitemap = name.strip().lower() == "sitemap" and value.strip()
        if is_sitemap and (url := _web(value.strip(), base_url, "robots.txt sitemap")):
            urls.append(url)
    return urls


def parse_html_links(body: bytes | str, base_url: str, encoding: str | None = None) -> HtmlLinks:
    """Links, advertised feeds, the canonical URL and rel=next pages of an HTML page."""
    if isinstance(body, bytes):
        parser = html.HTMLParser(encoding=encoding) if encoding else None
        doc = html.document_fromstring(body, parser=parser) if body.strip() else None
    else:
        doc = html.document_fromstring(body) if body.strip() else None
    if doc is None:
        return HtmlLinks([], [], None, [])
    base = doc.xpath("string(//head/base/@href)") or base_url
    # A <base> that is no http(s) URL is ignored, as a browser would not resolve against it.
    base = web_url(base, base_url) or canonicalize(base_url)

    def resolve(href: str, what: str, level: int = logging.WARNING) -> str | None:
        href = href.strip()
        if not href or href.startswith("#"):
            return None
        url = web_url(href, base)
        if url is None:
            log_dropped(base_url, what, href, level)
        return url

    links, next_pages, feeds = [], [], []
    for a in doc.iter("a"):
        # Debug only: "javascript:void(0)" and mailto: links are on every page of most sites.
        url = resolve(a.get("href", ""), "link", logging.DEBUG)
        if url:
            links.append(url)
            if "next" in (a.get("rel") or "").lower().split():
                next_pages.append(url)
    canonical = None
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        if not rels or not {"alternate", "canonical", "next"} & set(rels):
            continue  # stylesheets, icons: not taken, so not checked either
        url = resolve(link.get("href", ""), f"<link rel={' '.join(rels)}>")
        if not url:
            continue
        if "alternate" in rels and (link.get("type") or "").lower().strip() in FEED_TYPES:
            feeds.append(url)
        elif "canonical" in rels and canonical is None:
            canonical = url
        elif "next" in rels:
            next_pages.append(url)
    return HtmlLinks(_unique(links), _unique(feeds), canonical, _unique(next_pages))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
