"""What a page element is, read from its tag, class, id and attributes.

A class or id names what its element is ("related-posts", "article__share",
"sr-only"); these predicates read those names word by word, the way templates
write them (BEM, Tailwind, page builders), and never the element's text. The
``Cleaner`` (``cleanup``) decides what to remove with them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from lxml import etree

# Elements that are never article text. A <form> is not one of them: ASP.NET WebForms
# pages, common among Arabic news sites, hold the whole page in one; its controls go.
DROP_TAGS = (
    "script", "style", "noscript", "iframe", "nav", "footer", "aside", "button",
    "svg", "select", "input", "textarea", "template", "object", "embed", "video", "audio",
)  # fmt: skip
# Class or id words of furniture, matched as whole words of the attribute
# (split on space, '-' and '_'): "related-posts" and "post_related" match,
# "shared-content" does not. Widgets go before the date line is looked for, so
# a widget's date can never be taken for the article's.
WIDGET_WORDS = {
    "breadcrumb", "breadcrumbs", "comment", "comments", "respond", "reply", "share", "sharing",
    "sns", "sharedaddy", "social", "related", "popular", "mostread", "trending", "newsletter",
    "subscribe", "subscription", "ticker", "breaking", "gallery", "videos", "video", "widget",
    "sidebar", "advert", "advertisement", "ads", "sponsored", "promo", "banner", "pagination",
    "pager", "gototop", "backtotop", "totop", "tags", "tagcloud", "cloud", "print", "rating",
    "modal",
}  # fmt: skip
# The article's own furniture: bylines, date lines, category labels. Read first, then removed.
META_WORDS = {"meta", "byline", "submitted", "author", "cat", "cats", "posted", "dateline"}
# A standfirst: the lead paragraph printed under the title, part of the article.
LEAD_WORDS = {
    "lead",
    "standfirst",
    "excerpt",
    "subtitle",
    "subheadline",
    "summary",
    "intro",
    "dek",
    "teaser",
}
# Word pairs that name furniture only together ("go-to-top", "most-read").
FURNITURE_PAIRS = {("go", "to"), ("to", "top"), ("most", "read"), ("back", "to"), ("read", "more")}
# A live blog's running commentary ("live-match-comments") is the article.
_LIVE_WORDS = {"live", "liveblog", "match", "minute"}
_COMMENTARY = {"comment", "comments", "commentary", "updates"}
# A class token's leading word that makes it a state of the page, not a widget:
# "has-sidebar" and "no-comments" describe a layout that holds the article.
# "show-comments" is not among them: an element so named is the comments' button or box.
_STATE_WORDS = {"has", "no", "with", "without", "is", "enable", "disable"}
_SPLIT = re.compile(r"[_\-]+")
# Text for screen readers only ("sr-only", "screen-reader-text", "visually-hidden"): the
# pair must stand in one class token, so Tailwind's "overflow-hidden max-w-screen" is no match.
_SCREEN_READER_PAIRS = ({"screen", "reader"}, {"sr", "only"}, {"visually", "hidden"})
_SCREEN_READER_MAX = 200  # characters: more than that is content, whatever the class says
_INVISIBLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
_MEDIA_TAGS = ("img", "picture", "figure", "figcaption", "video", "iframe", "svg")
_LETTER = re.compile(r"[^\W\d_]")
# A read-also line: a label of at most this many characters, then a link to a headline.
_READ_ALSO_LABEL_MAX = 20
_READ_ALSO_LINK_MIN = 25
_LABEL_ENDS = ":：|»›-–—"
# Page builders' class namespaces (Elementor, Divi, WPBakery, Beaver Builder, SiteOrigin,
# Gutenberg) and the words they put on every block.
_BUILDERS = {"elementor", "et", "vc", "wpb", "fl", "so", "siteorigin", "wp", "jeg", "td", "tdb"}
_BUILDER_WORDS = {"widget", "widgets", "element", "block", "module", "container", "wrap", "pb"}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


@lru_cache(maxsize=4096)
def _token_words(token: str) -> tuple[str, ...]:
    """The words that say what a class or id token names.

    BEM names an element by its last part: "sidebar-grid__content" is the content of
    a "sidebar-grid" block, and "article__share" the share widget of an article; a
    "--modifier" only varies it.
    """
    if ":" in token:
        # A utility under a variant (Tailwind's "print:hidden", "desktop:mx-0") styles
        # the element for a medium or a state; it does not name what the element is.
        return ()
    token = token.split("__")[-1].split("--")[0]
    return tuple(w for w in _SPLIT.split(token) if w)


@lru_cache(maxsize=4096)
def _class_tokens(classes: str) -> tuple[tuple[str, ...], ...]:
    # Templates repeat a handful of class strings over thousands of elements: read each once.
    return tuple(w for w in map(_token_words, classes.lower().split()) if w)


def _tokens(el: etree._Element) -> list[tuple[str, ...]]:
    tokens = list(_class_tokens(el.get("class") or ""))
    ident = _token_words((el.get("id") or "").lower().strip())
    if ident and not _is_heading_anchor(el, ident):
        tokens.append(ident)
    return tokens


_WORD = re.compile(r"\w+")


def _is_heading_anchor(el: etree._Element, ident: tuple[str, ...]) -> bool:
    """An id made from a heading's words ("sharing-with-a-single-developer") names a
    section of the article, not a widget: documentation and Markdown generators
    give each section such an id."""
    if len(ident) < 3:
        return False
    heading = el if el.tag in _HEADINGS else next(el.iter(*_HEADINGS), None)
    if heading is None:
        return False
    said = _WORD.findall("".join(heading.itertext()).lower())
    return tuple(said[: len(ident)]) == ident


def class_words(el: etree._Element) -> list[str]:
    return [w for words in _tokens(el) for w in words]


def _names_widget(words: tuple[str, ...]) -> bool:
    if words[0] in _STATE_WORDS:
        return False
    if words[0] in _BUILDERS:
        # Page builders call every block a widget ("elementor-widget-text-editor"):
        # what the block is comes after the builder's own words.
        words = tuple(w for w in words[1:] if w not in _BUILDER_WORDS)
        if not words:
            return False
    if _LIVE_WORDS & set(words) and _COMMENTARY & set(words):
        return False  # a live blog's running commentary is the article, not readers' comments
    if any(w in WIDGET_WORDS for w in words):
        return True
    return any(pair in FURNITURE_PAIRS for pair in pairwise(words))


def is_widget(el: etree._Element) -> bool:
    return any(_names_widget(words) for words in _tokens(el))


def is_screen_reader_text(el: etree._Element) -> bool:
    return (
        any(pair <= set(words) for words in _tokens(el) for pair in _SCREEN_READER_PAIRS)
        and text_len(el) <= _SCREEN_READER_MAX
    )


def is_hidden(el: etree._Element) -> bool:
    """Markup the page never shows: the ``hidden`` attribute, an inline ``display: none``
    or ``visibility: hidden``, and short ``aria-hidden`` labels (icons, duplicated
    counters). Browsers' reader views drop the same; a long ``aria-hidden`` block may be
    a whole layer (an article behind an open dialog), so it stays."""
    if el.get("hidden") is not None or _INVISIBLE.search(el.get("style") or ""):
        return True
    return el.get("aria-hidden") == "true" and text_len(el) <= _SCREEN_READER_MAX


def is_lead(el: etree._Element) -> bool:
    return any(w in LEAD_WORDS for w in class_words(el))


def is_media(el: etree._Element) -> bool:
    """A picture, video or embed, or a block holding one: "lead-art", "lead-asset"."""
    return el.tag in _MEDIA_TAGS or next(el.iter(*_MEDIA_TAGS), None) is not None


def is_read_also(el: etree._Element) -> bool:
    """A paragraph that only points to another story: a short label and one link.

    "اقرأ أيضا: <a>headline</a>", "Lire aussi : <a>…</a>", "MORE: <a>…</a>". The label
    ends in a colon or an arrow and nothing but punctuation follows the link; a
    sentence that links most of its words ("It also co-ordinates <a>…</a>") has no
    such label and stays.
    """
    if el.tag != "p":
        return False
    links = [a for a in el.iter("a") if a.get("href")]
    if len(links) != 1:
        return False
    href = links[0].get("href", "").strip()
    if not href or href.startswith(("#", "mailto:", "javascript:")):
        return False
    linked = " ".join(links[0].text_content().split())
    said = " ".join(el.text_content().split())
    at = said.find(linked)
    if len(linked) < _READ_ALSO_LINK_MIN or at < 0:
        return False
    label, after = said[:at].strip(), said[at + len(linked) :]
    return (
        0 < len(label) <= _READ_ALSO_LABEL_MAX
        and _LETTER.search(label) is not None
        and label[-1] in _LABEL_ENDS
        and _LETTER.search(after) is None
    )


def is_meta_block(el: etree._Element) -> bool:
    return any(w in META_WORDS for w in class_words(el))


def text_len(el: etree._Element) -> int:
    return len("".join(el.itertext()).strip())
