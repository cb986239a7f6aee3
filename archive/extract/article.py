"""Extraction: an article page's bytes, its URL and its site's rules, into an article record.

The one place trafilatura is called, and the one function both the live crawl
and re-extraction from WARC use. Pure: bytes in, a record out; no network, no
database. The steps, each in its own module:

1. decode the bytes (``encoding``: windows-1256 and ISO-8859-6 included);
2. read the metadata the page declares (``metadata``: JSON-LD, meta tags);
3. choose the title and find its heading;
4. remove furniture (``cleanup``, reading what each element is with ``furniture``): the
   site's rules, then common widgets;
5. find the page's own date line near the title (``dates``), now that no
   widget is left to offer a date; drop it, the bylines and the title headings;
6. drop pull-quotes that repeat the body;
7. let trafilatura take the text of what is left.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import htmldate
import trafilatura
from lxml import etree, html

from archive import __version__
from archive.discover.sites import Site
from archive.extract.cleanup import Cleaner
from archive.extract.dates import FoundDate, parse_date, parse_iso, url_date
from archive.extract.encoding import decode_counted
from archive.extract.furniture import is_lead, is_media
from archive.extract.metadata import PageMetadata, read_metadata, title_segments
from archive.normalize import normalize
from archive.urls import log_dropped

ENGINE = f"arshif-{__version__}+trafilatura-{trafilatura.__version__}"
_DATE_LINE_MAX = 160  # characters: longer blocks are prose that mentions a date, not a date line
_NEAR_TITLE = 800  # characters of text after the title in which the date line must stand
_ARABIC = re.compile("[\u0600-\u06ff]")
_LETTER = re.compile(r"[^\W\d_]")
_ZONE_REACH = timedelta(hours=9)  # the offsets of most of the news-publishing world
_REPUBLISHED = timedelta(days=7)


class PageTooLarge(ValueError):
    """More decoded HTML than extraction is given: parsing it would stall the crawl."""


@dataclass(frozen=True)
class ArticleRecord:
    url: str
    site: str | None
    title: str | None
    text: str | None
    published: str | None
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    word_count: int = 0
    encoding: str | None = None
    extractor: str = ENGINE
    extraction_path: str = ""
    date_source: str | None = None
    # Stray bytes in an otherwise UTF-8 page, each read as U+FFFD. Kept in the WARC
    # metadata record and not in the articles table: clean pages re-extract to
    # identical rows.
    decode_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def iso_date(value: str | None) -> str | None:
    """A feed's or sitemap's date (ISO 8601 or RFC 822) as ISO 8601, or None."""
    text = (value or "").strip()
    if not text:
        return None
    parsed = parse_iso(text)
    if parsed is not None and (len(text) <= 10 or isinstance(parsed, datetime)):
        return parsed.isoformat()
    try:
        return parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError):
        return None


def parse_page(text: str) -> html.HtmlElement:
    # lxml refuses str input that carries an XML encoding declaration: hand it UTF-8 bytes.
    parser = html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        return html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except etree.ParserError:
        # Empty, blank or comment-only: a page with nothing in it, not an error to raise.
        return html.document_fromstring("<html><body></body></html>")


def _site_names(meta: PageMetadata, site: Site | None) -> set[str]:
    names = {meta.site_name or ""}
    if site is not None:
        names |= {site.name, site.key, *(part.strip() for part in re.split(r"[()]", site.name))}
    return {normalize(n).lower() for n in names if n and n.strip()}


def clean_title(title: str, site_names: set[str]) -> str:
    """The title without site name or short section suffixes ("… | أخبار", "… - Site")."""
    segments = title_segments(title)
    if len(segments) < 2:
        return title.strip()
    kept = [s for s in segments if normalize(s).lower() not in site_names]
    while len(kept) > 1 and len(kept[-1].split()) <= 2 < len(kept[0].split()):
        kept.pop()  # a short trailing label: a section or the site
    if len(kept) == len(segments):
        return title.strip()  # nothing recognisable as a suffix: keep the title whole
    return " ".join(kept).strip() if kept else title.strip()


def choose_title(meta: PageMetadata, site: Site | None) -> str | None:
    names = _site_names(meta, site)
    cleaned = [clean_title(t, names) for t in meta.title_candidates]
    cleaned = [t for t in cleaned if normalize(t).lower() not in names]
    if not cleaned:
        return None
    # A title two sources agree on beats any single one; otherwise the first in order.
    counts: dict[str, int] = {}
    for t in cleaned:
        counts[normalize(t)] = counts.get(normalize(t), 0) + 1
    return max(cleaned, key=lambda t: (counts[normalize(t)], -cleaned.index(t)))


def title_headings(
    tree: html.HtmlElement, title: str | None, site_names: set[str]
) -> list[etree._Element]:
    if not title:
        return []
    wanted = normalize(title)
    found = [
        h
        for h in tree.iter("h1", "h2", "h3")
        if normalize(clean_title(h.text_content(), site_names)) == wanted
    ]
    # The page's own heading first: a teaser card that links to this same story
    # (a "trending" list) may come earlier in the page, inside a link.
    return sorted(found, key=lambda h: (any(True for _ in h.iterancestors("a")), h.tag))


def _text_after(start: etree._Element) -> list[etree._Element]:
    """Elements after start in document order, while the text they add stays near it."""
    out, seen_chars, after = [], 0, False
    for el in start.getroottree().iter():
        if el is start:
            after = True
            continue
        if not after or not isinstance(el.tag, str):
            continue
        if start in el.iterancestors():
            continue
        out.append(el)
        seen_chars += len((el.text or "").strip()) + len((el.tail or "").strip())
        if seen_chars > _NEAR_TITLE:
            break
    return out


def find_date_line(
    tree: html.HtmlElement,
    anchor: etree._Element | None,
    now: datetime | None,
    zone: tzinfo | None = None,
) -> tuple[FoundDate, etree._Element] | None:
    """The page's own date line: the first short block near the title that is a date."""
    if anchor is None:
        body = tree.find("body")
        anchor = body if body is not None else tree
        candidates = list(anchor.iter())[:400]
    else:
        # The title's header block first (a date may sit above the title), then what follows.
        header = anchor.getparent()
        while (
            header is not None
            and len(header.text_content()) < 300
            and header.getparent() is not None
        ):
            header = header.getparent()
        candidates = [
            *(el for el in (header.iter() if header is not None else []) if el is not anchor),
            *_text_after(anchor),
        ]
    for el in candidates:
        if not isinstance(el.tag, str) or el.tag in ("p", "blockquote"):
            continue  # a paragraph that mentions a date is not a date line
        text = " ".join(el.text_content().split())
        if not text or len(text) > _DATE_LINE_MAX:
            continue
        found = parse_date(text, now=now, default_tz=zone)
        # A date line is mostly date: a sentence that says "اليوم" or names a day is prose.
        if found is not None and _mostly_date(el, found):
            # The smallest element that still holds the whole date.
            for child in el.iterdescendants():
                child_text = " ".join(child.text_content().split())
                if (
                    isinstance(child.tag, str)
                    and child_text
                    and parse_date(child_text, now=now) == found
                ):
                    el = child
            return found, el
    return None


def find_lead(anchor: etree._Element | None) -> etree._Element | None:
    """The standfirst printed near the title, which extractors tend to drop with the header."""
    if anchor is None:
        return None
    art: list[etree._Element] = []
    for el in _text_after(anchor)[:20]:
        if not isinstance(el.tag, str) or not is_lead(el) or len(el.text_content().strip()) < 20:
            continue
        if any(a in art for a in el.iterancestors()):
            continue  # a caption inside the lead picture
        if is_media(el) or el.get("itemprop") == "articleBody":
            # "lead-art", "lead-asset": the picture at the top, whose text is its caption;
            # or the body itself, which some themes class "entry-summary".
            art.append(el)
            continue
        return el
    return None


def _mostly_date(el: etree._Element, found: FoundDate) -> bool:
    rest = normalize(el.text_content()).replace(normalize(found.text), " ")
    words = [w for w in re.split(r"[\s:|،,\-/]+", rest) if w]
    # Beside the date: a weekday, a label ("نشر في"), a place or a short byline.
    return len(words) <= 6


@cache
def _langid() -> Any:
    import py3langid  # loads its model: once, and only when language detection is needed

    return py3langid


# Letters other Arabic-script languages use and Arabic does not: their absence
# settles "Arabic" without running the statistical model.
_NON_ARABIC_LETTERS = re.compile("[پچژگکیٹڈڑںہےۓ]")


def detect_language(text: str, fallback: str | None) -> str | None:
    sample = " ".join(text.split())[:3000]
    if len(sample) < 40:
        return fallback
    letters = len(_LETTER.findall(sample))
    arabic_script = len(_ARABIC.findall(sample))
    if letters and arabic_script / letters > 0.6 and len(_NON_ARABIC_LETTERS.findall(sample)) < 3:
        return "ar"
    return _langid().classify(sample)[0]


def _permalink_day(
    url: str, published: date | datetime | None, source: str | None
) -> tuple[date | datetime | None, str | None]:
    """The permalink's day, where the declared date is not the site's own day.

    A CMS writes the permalink's date in the site's time zone when it publishes. It
    wins over a UTC timestamp that a plausible offset (``_ZONE_REACH``) puts on that
    day, and over a declared date weeks away from it (a re-publication). A date line
    the page prints stands: it is the site's own day too.
    """
    day = url_date(url)
    if day is None or (source or "").startswith("page:"):
        return published, source
    if published is None:
        return day, "url"
    declared = published.date() if isinstance(published, datetime) else published
    if declared == day:
        return published, source
    if isinstance(published, datetime) and published.utcoffset() == timedelta(0):
        midnight = datetime.combine(day, time(), published.tzinfo)
        if midnight - _ZONE_REACH <= published < midnight + timedelta(days=1) + _ZONE_REACH:
            return day, "url"
    if abs(declared - day) > _REPUBLISHED:
        return day, "url"
    return published, source


def search_date(tree: html.HtmlElement, url: str, fetched: datetime | None) -> date | None:
    """The publication date by htmldate (URL, markup, then text patterns): the last
    resort for a page that declares no date and prints none arshif's rules read.

    The markup search runs first. Its free-text search runs only when that finds
    nothing, and its answer is refused when it is a 1 January: that search turns a
    bare year ("© 2019 - 2024", "2021") into one, and no date beats a made-up one.
    """
    latest = (fetched or datetime.now(UTC)).date().isoformat()
    for extensive in (False, True):
        try:
            found = htmldate.find_date(
                tree,
                url=url or None,
                original_date=True,
                extensive_search=extensive,
                max_date=latest,
            )
        except (ValueError, TypeError, OverflowError, RecursionError, etree.LxmlError):
            return None
        if found:
            day = date.fromisoformat(found)
            if extensive and (day.month, day.day) == (1, 1):
                return None
            return day
    return None


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def extract_article(
    body: bytes,
    url: str,
    site: Site | None = None,
    *,
    content_type: str | None = None,
    hints: dict[str, Any] | None = None,
    fetched: datetime | None = None,
    max_size: int | None = None,
) -> ArticleRecord:
    """Extract the article in body (the page's bytes, content-decoded) found at url.

    Raises PageTooLarge when the decoded HTML has more than max_size characters.
    """
    hints = hints or {}
    text_html, encoding, decode_errors = decode_counted(body, content_type)
    if max_size is not None and len(text_html) > max_size:
        raise PageTooLarge(f"{len(text_html)} characters of HTML, more than {max_size}")
    tree = parse_page(text_html)
    meta = read_metadata(tree, url)
    if site is not None and meta.canonical and not site.owns(meta.canonical):
        # The canonical stands for the page itself: another site's URL would credit
        # this capture to a page it is not (and link readers there).
        log_dropped(url, "canonical", meta.canonical)
        meta.canonical = None
    names = _site_names(meta, site)
    title = choose_title(meta, site) or hints.get("title")
    headings = title_headings(tree, title, names)

    # htmldate reads the page as published, so it gets a copy from before the cleanup;
    # only pages that declare no date need it.
    pristine = deepcopy(tree) if meta.published is None else None
    cleaner = Cleaner(tree, protect=headings[:1])
    if site is not None:
        cleaner.site_rules(site.cleanup)
    cleaner.common()
    anchor = headings[0] if headings else None
    cleaner.other_stories(anchor)
    line = find_date_line(tree, anchor, fetched, site.tzinfo if site is not None else None)
    lead = find_lead(anchor)
    cleaner.drop([lead] if lead is not None else [], "lead")
    cleaner.meta_blocks()
    cleaner.drop(headings, "title")
    if line is not None:
        cleaner.drop([line[1]], "date-line")
    cleaner.repeated_quotes()

    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True, fast=False
    )
    path = "site-rules" if site is not None and site.cleanup else "generic"
    raw = doc.text if doc is not None and doc.text else ""
    if not raw:
        raw = "\n".join(" ".join(p.text_content().split()) for p in tree.iter("p"))
        path = "fallback-paragraphs"
    wanted = normalize(title) if title else None
    paragraphs = [p for p in (" ".join(line_.split()) for line_ in raw.splitlines()) if p]
    if lead is not None:
        standfirst = " ".join(lead.text_content().split())
        if standfirst and standfirst not in paragraphs:
            paragraphs.insert(0, standfirst)
    paragraphs = [p for p in paragraphs if normalize(p) != wanted]
    text = "\n\n".join(paragraphs) or None

    published, date_source = meta.published, meta.published_source
    modified = meta.modified
    if line is not None:
        found = line[0]
        if found.kind == "modified":
            modified = modified or found.value
        elif published is None:
            published, date_source = found.value, f"page:{found.calendar}"
    if published is None and (hinted := iso_date(hints.get("published"))):
        published, date_source = parse_iso(hinted), f"hint:{hints.get('source', 'discovery')}"
    published, date_source = _permalink_day(url, published, date_source)
    if published is None and pristine is not None:
        published = search_date(pristine, url, fetched)
        date_source = "htmldate" if published is not None else None

    return ArticleRecord(
        url=url,
        site=site.key if site else None,
        title=title,
        text=text,
        published=_iso(published),
        modified=_iso(modified),
        authors=meta.authors,
        language=detect_language(
            text or title or "", meta.html_lang or (site.language if site else None)
        ),
        category=meta.category,
        tags=meta.tags,
        description=meta.description,
        canonical_url=meta.canonical,
        image=meta.image,
        word_count=len(text.split()) if text else 0,
        encoding=encoding,
        extraction_path=path,
        decode_errors=decode_errors,
        date_source=date_source,
    )
