"""Tell an article from a listing by what the page itself declares.

A site added without article rules still yields articles: the crawler fetches
unknown links within a budget and asks this module what each page is. The
page's own word counts first (``og:type`` article, a JSON-LD article type,
both read by ``archive.extract.metadata.read_metadata``); a page that says nothing is
an article when it carries a publication date and a long block of running
text, which a list of headlines does not have. Everything else is a listing.

Pure functions over bytes; the crawler records the verdicts so that
``arshif sites suggest`` can turn them into URL rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree, html

from archive.discover.sites import Site
from archive.extract.encoding import decode_html
from archive.extract.metadata import read_metadata
from archive.urls import PageKind

# schema.org types that are articles (not WebPage: every page is one).
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
    }
)
# Characters of running text in one block. The shortest stories in the mirror
# hold about 300; a listing's paragraphs are teasers of a line each, one per
# card (so per parent), and mostly link text, which does not count.
LONG_TEXT = 250


@dataclass(frozen=True)
class Verdict:
    kind: PageKind
    reason: str  # og:type, json-ld, date+text, or none


def _words(el: etree._Element) -> str:
    return " ".join(el.text_content().split())


def longest_text_block(tree: html.HtmlElement) -> int:
    """Characters of the largest run of paragraphs under one parent, link text left out."""
    totals: dict[etree._Element, int] = {}
    for p in tree.iter("p"):
        parent = p.getparent()
        if parent is None:
            continue
        linked = sum(len(_words(a)) for a in p.iter("a"))
        totals[parent] = totals.get(parent, 0) + max(0, len(_words(p)) - linked)
    return max(totals.values(), default=0)


def declared_kind(
    body: bytes, url: str, site: Site | None = None, content_type: str | None = None
) -> Verdict:
    """Whether the page at url is an article or a listing, by what it declares."""
    from archive.extract.article import find_date_line, parse_page  # trafilatura: only when asked

    text, _ = decode_html(body, content_type)
    if not text.strip():
        return Verdict(PageKind.LISTING, "none")
    tree = parse_page(text)
    meta = read_metadata(tree, url)
    if meta.og_type and meta.og_type.split(":")[0] == "article":
        return Verdict(PageKind.ARTICLE, "og:type")
    if any(t.lower() in ARTICLE_TYPES for t in meta.types):
        return Verdict(PageKind.ARTICLE, "json-ld")
    if longest_text_block(tree) >= LONG_TEXT:
        zone = site.tzinfo if site is not None else None
        if meta.published is not None or find_date_line(tree, None, None, zone) is not None:
            return Verdict(PageKind.ARTICLE, "date+text")
    return Verdict(PageKind.LISTING, "none")
