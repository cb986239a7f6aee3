"""Article metadata from the page's machine-readable parts: JSON-LD, <meta>, <time>, <link>.

Read from the untouched tree, before any cleanup, because a category label or
a byline is furniture for the text but metadata for the record. Each field
takes the first source that has it, in the order publishers mean them to be
read: JSON-LD, then Open Graph / article:*, then other <meta>, then markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from lxml import html

from archive.extract.dates import parse_iso
from archive.urls import log_dropped, web_url

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "blogposting",
    "analysisnewsarticle",
    "webpage",
}
_TITLE_SEPARATORS = re.compile(r"\s+[|–—•»:]\s+|\s+-\s+")


@dataclass
class PageMetadata:
    title_candidates: list[str] = field(default_factory=list)
    site_name: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    published: date | datetime | None = None
    modified: date | datetime | None = None
    published_source: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    canonical: str | None = None
    image: str | None = None
    html_lang: str | None = None
    og_type: str | None = None  # og:type, lower-cased ("article", "website")
    types: list[str] = field(default_factory=list)  # every JSON-LD @type on the page


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


_JSON_WRAPPERS = re.compile(r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?://\s*)?(?:\]\]>|-->)\s*$")


def _json_ld_objects(tree: html.HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page, @graph members included."""
    for script in tree.xpath("//script[@type='application/ld+json']"):
        # Many CMSs wrap the JSON in CDATA or comment markers for old XHTML parsers.
        text = _JSON_WRAPPERS.sub("", script.text or "").strip().rstrip(";")
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError, RecursionError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            stack.extend(item.get("@graph", []) if isinstance(item.get("@graph"), list) else [])
            yield item


def _types(item: dict[str, Any]) -> list[str]:
    kinds = item.get("@type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return [k for k in kinds if isinstance(k, str)] if isinstance(kinds, list) else []


def _json_ld(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The JSON-LD objects of an article-like type."""
    for item in objects:
        if any(k.lower() in _ARTICLE_TYPES for k in _types(item)):
            yield item


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in [_clean(value)] if v]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


class MetaTags:
    """The page's <meta> tags, read once: name (property, name or itemprop) -> contents."""

    def __init__(self, tree: html.HtmlElement) -> None:
        self.values: dict[str, list[str]] = {}
        for el in tree.iter("meta"):
            content = _clean(el.get("content"))
            if not content:
                continue
            for attr in ("property", "name", "itemprop"):
                if key := el.get(attr):
                    self.values.setdefault(key.strip().lower(), []).append(content)

    def first(self, *names: str) -> str | None:
        for name in names:
            if found := self.values.get(name.lower()):
                return found[0]
        return None

    def all(self, name: str) -> list[str]:
        return self.values.get(name.lower(), [])


def read_metadata(tree: html.HtmlElement, url: str) -> PageMetadata:
    meta = PageMetadata()
    objects = list(_json_ld_objects(tree))
    ld = list(_json_ld(objects))
    tags = MetaTags(tree)
    # What the page says it is, for telling an article from a listing by its own word.
    meta.og_type = (tags.first("og:type") or "").lower() or None
    meta.types = _dedupe([k for item in objects for k in _types(item)])

    def first_ld(*keys: str) -> Any:
        for item in ld:
            for key in keys:
                if item.get(key):
                    return item[key]
        return None

    # Dates: JSON-LD, then article:*/og:*, then itemprop and other meta, then <time datetime>.
    candidates = [
        (parsed, source)
        for value, source in [
            (first_ld("datePublished"), "json-ld"),
            (tags.first("article:published_time", "og:published_time", "datePublished"), "meta"),
            (
                tags.first(
                    "pubdate",
                    "publishdate",
                    "date",
                    "DC.date.issued",
                    "dc.date",
                    "sailthru.date",
                    "parsely-pub-date",
                ),
                "meta",
            ),
            (first_ld("dateCreated"), "json-ld"),
            (_first_time(tree), "time"),
        ]
        if isinstance(value, str) and (parsed := parse_iso(value))
    ]
    if candidates:
        meta.published, meta.published_source = _local_first(candidates)
    for value in [
        first_ld("dateModified"),
        tags.first("article:modified_time", "og:updated_time", "dateModified", "last-modified"),
    ]:
        if isinstance(value, str) and (parsed := parse_iso(value)):
            meta.modified = parsed
            break

    titles = [
        _clean(first_ld("headline", "name")),
        tags.first("og:title", "twitter:title"),
        *[_clean(h.text_content()) for h in tree.xpath("//h1")[:2]],
        _clean(tree.findtext(".//title")),
    ]
    meta.title_candidates = [t for t in titles if t]
    meta.site_name = tags.first("og:site_name", "application-name") or next(
        iter(_names(first_ld("publisher"))), None
    )
    meta.description = tags.first("og:description", "description", "twitter:description") or _clean(
        first_ld("description")
    )
    meta.authors = _names(first_ld("author")) or tags.all("author") or tags.all("article:author")
    meta.authors = [a for a in meta.authors if not a.startswith("http")]
    section = first_ld("articleSection")
    meta.category = (
        (_clean(section) if isinstance(section, str) else next(iter(_names(section)), None))
        or tags.first("article:section")
        or _breadcrumb_leaf(tree)
    )
    keywords = first_ld("keywords")
    if isinstance(keywords, str):
        keywords = [k.strip() for k in re.split(r"[,،]", keywords)]
    tag_links = tree.xpath("//a[contains(concat(' ', @rel, ' '), ' tag ')]")
    meta.tags = _dedupe(
        [
            *(k for k in (keywords or []) if isinstance(k, str) and k),
            *tags.all("article:tag"),
            *(_clean(a.text_content()) or "" for a in tag_links),
        ]
    )
    canonical = tree.xpath(
        "string(//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href)"
    )
    # Only http(s): the page's own markup decides this value and it is rendered as a
    # link later. Whether it is on the page's site, extract_article checks.
    meta.canonical = web_url(canonical, url) if canonical.strip() else None
    if canonical.strip() and meta.canonical is None:
        log_dropped(url, "canonical", canonical)
    image = first_ld("image")
    image = (
        image.get("url")
        if isinstance(image, dict)
        else image[0]
        if isinstance(image, list) and image
        else image
    )
    meta.image = tags.first("og:image", "twitter:image") or (
        image if isinstance(image, str) else None
    )
    if meta.image:
        found, meta.image = meta.image, web_url(meta.image, url)
        if meta.image is None:
            log_dropped(url, "image", found)
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    meta.html_lang = language_code(lang)
    return meta


def language_code(lang: str | None) -> str | None:
    """The language of an ``<html lang>`` such as ``ar``, ``ar-LB`` or ``ar_SA``: ``ar``,
    whatever the separator; None when it is no language code the registry takes."""
    code = re.split(r"[-_]", (lang or "").strip(), maxsplit=1)[0].strip().lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def _local_first(
    candidates: list[tuple[date | datetime, str]],
) -> tuple[date | datetime, str]:
    """The first candidate, told in the publisher's own offset when another source gives
    the same instant with it: a CMS often writes UTC in one tag and local time in
    another, and the day the site printed is the local one."""
    first, source = candidates[0]
    if isinstance(first, datetime) and first.utcoffset() == timedelta(0):
        for other, other_source in candidates[1:]:
            if (
                isinstance(other, datetime)
                and other.utcoffset() not in (None, timedelta(0))
                and other == first
            ):
                return other, other_source
    return first, source


def _first_time(tree: html.HtmlElement) -> str | None:
    for value in tree.xpath(
        "//article//time/@datetime | //time[contains(@class, 'published')]/@datetime"
    ):
        if _clean(value):
            return value
    return None


def _breadcrumb_leaf(tree: html.HtmlElement) -> str | None:
    """The last named step of a breadcrumb or the post's category label, when the page has one."""
    for xpath in (
        "//*[contains(@class, 'post-cat')]//a",
        "//*[contains(@class, 'breadcrumb')]//a[position() = last()]",
        "//a[contains(concat(' ', @rel, ' '), ' category ')]",
    ):
        for a in tree.xpath(xpath):
            text = _clean(a.text_content())
            if text and a.get("href") not in ("/", "", None):
                return text
    return None


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def title_segments(title: str) -> list[str]:
    return [s for s in _TITLE_SEPARATORS.split(title) if s.strip()]
