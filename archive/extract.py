"""Extraction: the HTML of an article page, its URL and its site's rules, into an article record.

This is the one place trafilatura is called, and the one function both the
live crawl and re-extraction from WARC use. It is pure: bytes in, a record
out, no network, no database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import trafilatura
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode

from archive.sites import Site

EXTRACTOR = f"trafilatura-{trafilatura.__version__}"


@dataclass(frozen=True)
class ArticleRecord:
    url: str
    site: str | None
    title: str | None
    text: str | None
    published: str | None
    language: str | None
    description: str | None
    extractor: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """The page as text: the HTTP charset first, then the page's own declaration, then UTF-8."""
    _, text = html_to_unicode(content_type, body)
    return text


def iso_date(value: str | None) -> str | None:
    """A feed's or sitemap's date (ISO 8601 or RFC 822) as ISO 8601, or None."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:  # a date alone stays a date
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError):
        return None


def _page_language(text: str) -> str | None:
    try:
        doc = lxml_html.document_fromstring(text.encode("utf-8"))
    except (ValueError, lxml_html.etree.ParserError):
        return None
    lang = (doc.get("lang") or doc.get("xml:lang") or "").strip()
    return lang.split("-")[0].lower() or None


def extract_article(
    body: bytes,
    url: str,
    site: Site | None = None,
    *,
    content_type: str | None = None,
    hints: dict[str, str] | None = None,
) -> ArticleRecord:
    """Extract the article in body (the page's bytes, already content-decoded) found at url."""
    text = decode_html(body, content_type)
    doc = trafilatura.bare_extraction(
        text,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        prune_xpath=None,
    )
    hints = hints or {}
    data: dict[str, Any] = doc.as_dict() if doc is not None else {}
    return ArticleRecord(
        url=url,
        site=site.key if site else None,
        title=data.get("title") or hints.get("title"),
        text=data.get("text"),
        published=data.get("date") or iso_date(hints.get("published")),
        language=_page_language(text) or (site.language if site else None),
        description=data.get("description"),
        extractor=EXTRACTOR,
    )
