"""Propose a registry entry for a news site from its home URL (``arshif add-site``).

It looks at the site the way the crawl will: robots.txt, the home page, the
feeds and sitemaps it finds (parsed by ``archive.discover.feeds``, the crawl's own
parsers), the CMS behind it (``archive.discover.cms``), then turns the article URLs it
saw into URL rules (``archive.discover.patterns``) only where the CMS preset's rules do
not already cover them, finds the section pages that list articles, and
extracts a few articles with ``archive.extract.article.extract_article``, the code the
crawl runs, so what it prints is what the crawl will store.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from archive.discover.cms import Detection, detect_cms
from archive.discover.feeds import Link, XmlKind, parse_html_links, parse_xml, robots_sitemaps
from archive.discover.fetch import Fetcher, FetchError, Page
from archive.discover.patterns import (
    article_patterns,
    listing_patterns,
    pagination,
    strip_paging,
    target,
)
from archive.discover.sites import BUNDLED_SITES, PageKind, Site, SiteConfigError, build_site
from archive.extract.article import extract_article, parse_page
from archive.extract.encoding import decode_html
from archive.extract.metadata import language_code, read_metadata, title_segments
from archive.urls import canonicalize, display_url

FEED_PATHS = ("/feed/", "/rss.xml")
SITEMAP_PATHS = ("/sitemap.xml", "/wp-sitemap.xml")
MAX_CHILD_SITEMAPS = 6
MAX_SECTION_FETCHES = 6
MIN_LISTING_ARTICLES = 3  # a page linking fewer articles is not a section page
# Child sitemaps of things that are not articles (WordPress core, Yoast, Rank Math).
_NOT_ARTICLES = re.compile(r"taxonom|categor|tag|author|user|-page-|page-sitemap", re.I)
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "edu", "ac"}
_ASSET = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|pdf|mp[34]|zip|css|js|xml|json|ico)$", re.I)


class AddSiteError(Exception):
    """The site cannot be proposed; the message is one line naming the URL and the problem."""


@dataclass(frozen=True)
class Sample:
    url: str
    title: str | None = None
    published: str | None = None
    first_line: str | None = None
    words: int = 0
    language: str | None = None
    error: str | None = None


@dataclass
class Proposal:
    """What add-site saw and the entry it proposes."""

    home: str
    key: str
    name: str
    detection: Detection
    domains: list[str]
    language: str
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # not declared in robots.txt
    robots_sitemaps: list[str] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)
    article_urls: list[str] = field(default_factory=list)  # beyond the preset's
    listing_urls: list[str] = field(default_factory=list)  # [] when the preset's do
    article_examples: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def entry(self) -> dict[str, Any]:
        """The TOML entry's fields, in the order a person reads them."""
        entry: dict[str, Any] = {
            "name": self.name,
            "cms": self.detection.preset,
            "domains": self.domains,
            "language": self.language,
            "feeds": [self._path(u) for u in self.feeds],
            "sitemaps": [self._path(u) for u in self.sitemaps],
            "listings": [self._path(u) for u in self.listings],
        }
        if self.article_urls:
            entry["article_urls"] = self.article_urls
        if self.listing_urls:
            entry["listing_urls"] = self.listing_urls
        return entry

    def _path(self, url: str) -> str:
        """A URL on the first domain as a readable path (Arabic shown); others in full."""
        parts = urlsplit(display_url(url))
        if parts.hostname == self.domains[0]:
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return display_url(url)


def bundled_presets() -> dict[str, dict[str, Any]]:
    with BUNDLED_SITES.open("rb") as f:
        return tomllib.load(f).get("presets", {})


def key_for(host: str) -> str:
    """A registry key from a host: www.lebanontab.com -> lebanontab, news.bbc.co.uk -> bbc."""
    labels = [x for x in host.lower().split(".") if x]
    if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        labels = labels[:-1]  # bbc.co.uk, ahram.org.eg: the name is before co/org
    name = labels[-2] if len(labels) >= 2 else labels[0]
    key = re.sub(r"[^a-z0-9]+", "_", name).strip("_")[:40]
    return key if re.match(r"^[a-z]", key) else f"site_{key}"[:40]


def _start_url(url: str) -> str:
    url = url.strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.I):
        url = "https://" + url
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise AddSiteError(f"{url}: not an http(s) URL")
    return canonicalize(url)


class _Look:
    """One look at a site: the fetches and what each one found."""

    def __init__(self, url: str, fetcher: Fetcher, presets: dict[str, dict[str, Any]]) -> None:
        self.url = url
        self.fetcher = fetcher
        self.presets = presets
        self.notes: list[str] = []  # what went wrong on the way, for the report
        self.home = url

    def get(self, url: str) -> Page | None:
        """The page at url, None when it failed or robots.txt forbids it (noted either way)."""
        try:
            return self.fetcher.get(url)
        except FetchError as e:
            self.notes.append(str(e))
            return None

    def xml(self, url: str) -> Any:
        page = self.get(url)
        if page is None or not page.ok:
            return None
        try:
            doc = parse_xml(page.body, page.url)
        except ValueError:
            return None
        return None if doc.kind is XmlKind.UNKNOWN else doc

    def run(self, key: str | None, samples: int) -> Proposal:
        start = _start_url(self.url)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
        try:
            robots = self.fetcher.robots_txt(origin)
            home = self.fetcher.get(start)
        except FetchError as e:
            fetching = f" (fetching {e.url})" if e.url != start else ""
            raise AddSiteError(f"{start}: {e.reason}{fetching}") from None
        if home is None:
            raise AddSiteError(f"{start}: robots.txt forbids fetching the home page")
        if not home.ok:
            raise AddSiteError(f"{start}: the home page answered HTTP {home.status}")
        if not home.is_html:
            kind = home.content_type.split(";")[0] or "no content type"
            raise AddSiteError(f"{start}: not HTML ({kind})")
        self.home = canonicalize(home.url)
        host = urlsplit(self.home).hostname or ""
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.home))
        if self.origin != origin:  # redirected to another host: its robots.txt counts there
            try:
                robots = self.fetcher.robots_txt(self.origin)
            except FetchError as e:
                raise AddSiteError(f"{start}: {e.reason} (fetching {e.url})") from None
        robots_text = robots.body.decode("utf-8", "replace") if robots.ok else ""
        text, _ = decode_html(home.body, home.content_type)
        links = parse_html_links(text, self.home)
        tree = parse_page(text)
        meta = read_metadata(tree, self.home)

        feeds, feed_links = self.feeds(links.feeds)
        declared = robots_sitemaps(robots.body, self.home) if robots.ok else []
        sitemaps, sitemap_links, wp_sitemap = self.sitemaps(declared)
        detection = detect_cms(text, home.headers, robots_text, wp_sitemap)
        key = key or key_for(host)
        declared_lang = language_code(meta.html_lang)
        proposal = Proposal(
            home=self.home,
            key=key,
            name=_site_name(meta.site_name, tree.findtext(".//title"), host),
            detection=detection,
            domains=[host],
            language=declared_lang or "ar",  # until the samples are read
            feeds=feeds,
            sitemaps=[s for s in sitemaps if s not in declared],
            robots_sitemaps=[s for s in sitemaps if s in declared],
        )
        self.rules_for_articles(proposal, feed_links + sitemap_links, links.links)
        seen = [link.url for link in feed_links] + links.links + [s.url for s in sitemap_links]
        has_rule = proposal.article_urls or self.presets[detection.preset].get("article_urls")
        site = self.site(proposal) if has_rule else None
        articles = [u for u in dict.fromkeys(seen) if site and site.classify(u) is PageKind.ARTICLE]
        if site is None or not articles:
            raise AddSiteError(
                f"{self.home}: no articles found ({len(feeds)} feed(s), {len(sitemaps)} sitemap(s),"
                f" {len(links.links)} links on the home page, CMS: {detection.summary()})"
            )
        proposal.article_examples = articles
        pages = self.sample(proposal, site, articles, samples)
        self.listings(proposal, site, links.links + links.next_pages, pages)
        if proposal.samples and all(s.error for s in proposal.samples):
            self.notes.append("no sample article could be read: check article_urls")
        langs = Counter(filter(None, (language_code(s.language) for s in proposal.samples)))
        if langs and langs.most_common(1)[0][0] != proposal.language:
            read = langs.most_common(1)[0][0]
            if declared_lang:
                self.notes.append(
                    f"<html lang> says {proposal.language!r}, the articles read as {read!r}"
                )
            proposal.language = read
        proposal.notes = self.notes + [f"robots.txt forbids {u}" for u in self.fetcher.refused]
        self.site(proposal)  # the entry must load; a failure here is a bug, not the site's
        return proposal

    def feeds(self, advertised: list[str]) -> tuple[list[str], list[Link]]:
        found, links = [], []
        candidates = [u for u in advertised if "comment" not in u.lower()]
        candidates += [canonicalize(p, self.home) for p in FEED_PATHS]
        for url in dict.fromkeys(candidates):
            if not self._owned(url):
                continue
            doc = self.xml(url)
            if doc is not None and doc.kind in (XmlKind.RSS, XmlKind.ATOM) and doc.links:
                found.append(url)
                links += [link for link in doc.links if self._owned(link.url)]
        return found, links

    def sitemaps(self, declared: list[str]) -> tuple[list[str], list[Link], bool]:
        found, links, children, wp = [], [], [], False
        for url in dict.fromkeys(declared + [canonicalize(p, self.home) for p in SITEMAP_PATHS]):
            if not self._owned(url):
                continue
            doc = self.xml(url)
            if doc is None or doc.kind not in (XmlKind.URLSET, XmlKind.SITEMAPINDEX):
                continue
            found.append(url)
            wp = wp or url.endswith("/wp-sitemap.xml")
            links += doc.links
            children += [s.url for s in doc.sitemaps if not _NOT_ARTICLES.search(s.url)]
        for url in list(dict.fromkeys(children))[:MAX_CHILD_SITEMAPS]:
            doc = self.xml(url)
            if doc is not None:
                links += doc.links
        return found, [link for link in links if self._owned(link.url)], wp

    def _owned(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        domain = urlsplit(self.home).hostname or ""
        return host == domain or host.endswith("." + domain)

    def site(self, proposal: Proposal) -> Site:
        try:
            return build_site(proposal.key, proposal.entry(), self.presets, "add-site")
        except SiteConfigError as e:
            raise AddSiteError(f"{self.home}: the proposed entry does not load: {e}") from None

    def rules_for_articles(
        self, proposal: Proposal, discovered: list[Link], home_links: list[str]
    ) -> None:
        """article_urls for the URLs the preset's rules leave out. Feeds and sitemaps list
        articles; the home page's links are used only when neither was found."""
        entry = proposal.entry()
        if not self.presets[proposal.detection.preset].get("article_urls"):
            entry["article_urls"] = ["(?!)"]  # generic: no article rule yet, nothing matches
        preset_site = build_site(proposal.key, entry, self.presets)
        urls = [link.url for link in discovered]
        if not urls:
            urls = [u for u in home_links if self._owned(u) and target(u) != "/"]
            min_count = 3
        else:
            min_count = 2
        kinds = {u: preset_site.classify(u) for u in urls}
        uncovered = [u for u, k in kinds.items() if k is None]
        if proposal.detection.preset != "generic" and len(uncovered) < 0.1 * len(kinds):
            return  # the preset's rules already take (nearly) all of them
        proposal.article_urls = article_patterns(uncovered, min_count=min_count)

    def sample(
        self, proposal: Proposal, site: Site, articles: list[str], count: int
    ) -> list[tuple[str, bytes]]:
        """Extract up to count articles; the pages also show which sections they link."""
        pages = []
        for url in articles:
            if len(proposal.samples) >= count:
                break
            page = self.get(url)
            if page is None:
                continue
            if not page.ok or not page.is_html:
                why = f"HTTP {page.status}" if not page.ok else "not HTML"
                proposal.samples.append(Sample(url, error=why))
                continue
            record = extract_article(
                page.body, canonicalize(page.url), site, content_type=page.content_type
            )
            first = (record.text or "").split("\n", 1)[0]
            proposal.samples.append(
                Sample(
                    url=record.url,
                    title=record.title,
                    published=record.published,
                    first_line=first[:160] or None,
                    words=record.word_count,
                    language=record.language,
                    error=None if record.word_count else "no text extracted",
                )
            )
            pages.append((page.url, page.body))
        return pages

    def listings(
        self,
        proposal: Proposal,
        site: Site,
        home_links: list[str],
        pages: list[tuple[str, bytes]],
    ) -> None:
        """Section pages: pages the home page and the sample articles link to that list
        articles themselves, and how they page; listing_urls when the preset's miss them."""
        counts: Counter[str] = Counter()
        for url, body in [(self.home, b""), *pages]:
            links = home_links if not body else parse_html_links(body, url).links
            for link in dict.fromkeys(strip_paging(u) for u in links):
                path = urlsplit(link).path
                if (
                    self._owned(link)
                    and target(link) != "/"
                    and not _ASSET.search(path)
                    and not site.urls.excluded(link)
                    and site.classify(link) is not PageKind.ARTICLE
                    and link not in proposal.feeds
                ):
                    counts[link] += 1
        # Those the preset calls listings first, then the most linked (a menu is on every page).
        ranked = sorted(
            counts, key=lambda u: (site.classify(u) is not PageKind.LISTING, -counts[u])
        )
        sections, paged = [], [u for u in home_links if strip_paging(u) == self.home != u]
        for url in ranked[:MAX_SECTION_FETCHES]:
            page = self.get(url)
            if page is None or not page.ok or not page.is_html:
                continue
            links = parse_html_links(page.body, canonicalize(page.url))
            listed = {u for u in links.links if site.classify(u) is PageKind.ARTICLE}
            if len(listed) >= MIN_LISTING_ARTICLES:
                sections.append(url)
                more = links.links + links.next_pages
                paged += [u for u in more if strip_paging(u) == url != u]
        proposal.listings = [self.home, *sections]
        everything = proposal.listings + paged
        missed = [u for u in everything if site.classify(u) is not PageKind.LISTING]
        if not missed:
            return
        style = pagination(paged)
        examples = set(proposal.article_examples)
        added = [
            p
            for p in listing_patterns(proposal.listings, style)
            if any(re.search(p, target(u)) for u in missed)
            and not any(re.search(p, target(u)) for u in examples)
        ]
        if added:
            preset = self.presets[proposal.detection.preset].get("listing_urls", [])
            if any(re.search(p, "/") for p in added):  # a paged home page replaces '^/$'
                preset = [p for p in preset if p != "^/$"]
            proposal.listing_urls = list(dict.fromkeys([*preset, *added]))


def _site_name(site_name: str | None, title: str | None, host: str) -> str:
    """og:site_name, else the first part of the home page's title ("Name | tagline")."""
    if site_name and site_name.strip():
        return " ".join(site_name.split())
    parts = [" ".join(p.split()) for p in title_segments(title or "")]
    return next((p for p in parts if p), host)


def propose(
    url: str,
    fetcher: Fetcher,
    *,
    key: str | None = None,
    samples: int = 5,
    presets: dict[str, dict[str, Any]] | None = None,
) -> Proposal:
    """Look at the site at url and propose its registry entry. Raises AddSiteError."""
    return _Look(url, fetcher, presets or bundled_presets()).run(key, samples)
