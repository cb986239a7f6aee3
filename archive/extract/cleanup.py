"""Removing page furniture from an article page's tree, element by element.

Nothing here matches text: a "most read" block goes because of what it is
(its element, class or id, its place, the fact that it only repeats the
article), never because it reads "الأكثر قراءة". A site's own cleanup rules
(XPath or CSS, from the registry) run first; then the furniture common to
news sites: navigation, comment and share widgets, related and most-read
lists, "read also" lines, tickers, video and photo strips, subscription calls,
dialogs, breadcrumbs, back-to-top buttons, markup the page never shows,
pull-quotes that repeat the body, and the other stories a page runs after its
own (an infinite scroll's next article).

No rule takes the article. An element holding the title heading, or more than
``MAX_SHARE`` of the page's prose (alone or with its same-class siblings), is
never removed, by a common rule or by a site's own (a site rule written for an
old template is skipped with a warning naming it); common rules also never take
``<main>`` whole, whatever its class says.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Iterable

from lxml import etree, html

from archive.discover.sites import compile_cleanup_rule
from archive.extract.furniture import (
    DROP_TAGS,
    class_words,
    is_hidden,
    is_meta_block,
    is_read_also,
    is_screen_reader_text,
    is_widget,
    text_len,
)
from archive.normalize import content_words, normalize

log = logging.getLogger(__name__)

# No common rule removes an element that holds more than this share of the page's
# paragraph text: that element is the article or wraps it.
MAX_SHARE = 0.3
_STORY_MIN = 400  # characters of prose that make an <article> a story, not a card
_COMMON_WORD_BLOCKS = 50  # a word in more blocks than this is the page's vocabulary
_PROSE_TAGS = ("p", "div", "td", "section", "article", "main", "form", "span", "font", "center")
_PROSE_MIN = 100  # characters of a block's own text that make it prose, not a label or menu


def _in_article(el: etree._Element) -> bool:
    return any(a.tag in ("article", "main") for a in el.iterancestors())


def _drop(el: etree._Element) -> None:
    """Remove el but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


class Cleaner:
    """Removes furniture from one page; ``protect`` are elements no common rule may take."""

    def __init__(
        self,
        tree: html.HtmlElement,
        protect: Iterable[etree._Element] = (),
        max_share: float = MAX_SHARE,
    ) -> None:
        self.tree = tree
        self.max_share = max_share
        self.protected = set()
        for el in protect:
            self.protected.update(el.iterancestors())
            self.protected.add(el)
        # Prose held by each element, computed once bottom-up: the text of paragraphs,
        # and text written straight into a block between <br>s when it runs to sentences.
        self._p_text: dict[etree._Element, int] = {}
        for el in tree.iter(*_PROSE_TAGS):
            if el.tag == "p":
                length = text_len(el)
            else:
                own = (el.text or "") + "".join(child.tail or "" for child in el)
                length = len(own.strip())
                if length < _PROSE_MIN:
                    continue
            for holder in (el, *el.iterancestors()):
                self._p_text[holder] = self._p_text.get(holder, 0) + length
        self.body_text = self._p_text.get(tree, 0) or 1
        self._groups: dict[tuple[etree._Element, str, str], int] = {}
        self.removed: list[str] = []
        self.skipped: list[str] = []  # removals refused because they would take the article

    def _guarded(self, el: etree._Element, by_tag: bool = True) -> bool:
        if el in self.protected or el.tag in ("html", "body"):
            return True
        if by_tag and el.tag == "main":
            return True  # the page's content area: no common rule takes it whatever its class
        # An element holding much of the page's paragraph text is (or wraps) the article,
        # whatever its tag or class: ASP.NET pages sit whole inside a <form>, and lxml
        # may close a stray <aside> around the article.
        if max(self._p_text.get(el, 0), self._group_text(el)) > self.max_share * self.body_text:
            self.skipped.append(f"{el.tag}.{'.'.join(class_words(el))}")
            log.debug(
                "kept %s.%s: it holds %d of %d characters of paragraph text",
                el.tag,
                ".".join(class_words(el)),
                self._p_text.get(el, 0),
                self.body_text,
            )
            return True
        return False

    def _group_text(self, el: etree._Element) -> int:
        """Prose held by el and its siblings of the same tag and class: an article told in
        repeated blocks (slides, live-blog entries, layout columns) is the content together,
        though no one block holds much of it."""
        parent = el.getparent()
        if parent is None or not el.get("class"):
            return 0
        key = (parent, str(el.tag), el.get("class") or "")
        if key not in self._groups:
            self._groups[key] = sum(
                self._p_text.get(s, 0)
                for s in parent
                if s.tag == el.tag and s.get("class") == el.get("class")
            )
        return self._groups[key]

    def site_rules(self, rules: Iterable[str]) -> None:
        for rule in rules:
            for el in self.tree.xpath(compile_cleanup_rule(rule)):
                if not isinstance(el, etree._Element) or el.getparent() is None:
                    continue
                if self._guarded(el, by_tag=False):
                    # A rule written for the site's old template, or a preset's rule on a
                    # page built otherwise: say so, and keep the article.
                    log.warning(
                        "cleanup rule %r would remove the article's text (%s); skipped",
                        rule,
                        el.tag,
                    )
                    continue
                self.removed.append(f"rule:{rule}")
                _drop(el)

    def common(self) -> None:
        for el in list(self.tree.iter(*DROP_TAGS)):
            if el.getparent() is not None and not self._guarded(el):
                _drop(el)
        for el in list(self.tree.iter()):
            if not isinstance(el.tag, str) or el.getparent() is None:
                continue
            if isinstance(el, etree._Comment):
                continue
            if el.tag == "header" and not _in_article(el) and not self._guarded(el):
                # The site's banner; an <article>'s own header holds its title and standfirst.
                _drop(el)
            elif is_widget(el) and not self._guarded(el):
                self.removed.append(f"furniture:{el.tag}.{'.'.join(class_words(el))}")
                _drop(el)
            elif is_screen_reader_text(el) and not self._guarded(el):
                _drop(el)  # text for screen readers only ("زر الذهاب إلى الأعلى")
            elif is_hidden(el) and not self._guarded(el):
                self.removed.append(f"hidden:{el.tag}")
                _drop(el)
            elif is_read_also(el) and not self._guarded(el):
                self.removed.append("read-also")
                _drop(el)
        for comment in self.tree.xpath("//comment()"):
            _drop(comment)

    def meta_blocks(self) -> None:
        """Drop bylines, date lines and category labels (after metadata has been read)."""
        for el in list(self.tree.iter()):
            parent = el.getparent()
            if (
                isinstance(el.tag, str)
                and parent is not None
                and is_meta_block(el)
                and not self._guarded(el)
            ):
                self.removed.append(f"meta:{el.tag}.{'.'.join(class_words(el))}")
                _drop(el)

    def repeated_quotes(self, min_words: int = 6, repeated: float = 0.75) -> None:
        """Drop pull-quotes: quote blocks that only repeat the article.

        A quote block goes when its text stands verbatim in another block (not one
        around it), or when most of its words (``repeated``, after normalisation) come
        from one or two of the article's paragraphs: pull-quotes paraphrase the body,
        a quoted statement or a reply brings words of its own.
        """
        quotes = list(self.tree.iter("blockquote", "figure", "q"))
        if not quotes:
            return
        blocks = list(self.tree.iter("p", "li", "h2", "h3", "h4"))
        texts = {b: normalize(" ".join(b.itertext())) for b in blocks}
        # The blocks each content word stands in, so each quote's test is a lookup
        # and a subtraction, not a pass over the page: linear in the page for any
        # count of quotes.
        block_words = {b: content_words(t) for b, t in texts.items()}
        place = {b: i for i, b in enumerate(blocks)}
        postings: dict[str, list[etree._Element]] = {}
        for b, found in block_words.items():
            for w in found:
                postings.setdefault(w, []).append(b)
        for quote in quotes:
            said = normalize(" ".join(quote.itertext()))
            if not said or len(said) > 400:
                continue
            inside = {b for b in quote.iter("p", "li", "h2", "h3", "h4") if b in texts}
            # A block around the quote holds it verbatim: an inline <q> in its sentence.
            inside.update(b for b in quote.iterancestors("p", "li", "h2", "h3", "h4"))
            own: Counter[str] = Counter()
            for b in inside:
                own.update(block_words[b])
            verbatim = any(
                said in text
                for b, text in texts.items()
                if len(text) > len(said) and b not in inside
            )
            words = content_words(said)
            echoed = sum(1 for w in words if len(postings.get(w, ())) - own[w] > 0)
            # A pull-quote restates a paragraph or two; words met here and there over a
            # long article do not make a reply or a quoted statement one. Words that
            # stand in many blocks say nothing of where the quote comes from.
            common = 0
            hits: Counter[etree._Element] = Counter()
            for w in words:
                holders = postings.get(w, ())
                if len(holders) > _COMMON_WORD_BLOCKS:
                    common += 1
                    continue
                hits.update(b for b in holders if b not in inside)
            nearest: set[str] = set()
            # Ties go to the earlier block: most_common would break them by the order
            # the words' set was iterated, which differs between processes.
            for b in heapq.nsmallest(2, hits, key=lambda b: (-hits[b], place[b])):
                nearest |= words & block_words[b]
            echoed = min(echoed, common + len(nearest))
            echo = len(words) >= min_words and echoed >= repeated * len(words)
            if verbatim or echo:
                self.removed.append("pull-quote")
                _drop(quote)

    def other_stories(self, anchor: etree._Element | None) -> None:
        """Drop the stories a page runs beside or after its own (an infinite scroll's next
        article, teaser cards): every <article> outside the one that holds the title.

        Only when that article is one: a title in a small cover block, with the text in
        another <article>, says nothing of which is the story.
        """
        if anchor is None:
            return
        main = next(anchor.iterancestors("article"), None)
        if main is None or self._p_text.get(main, 0) < _STORY_MIN:
            return
        outer = set(main.iterancestors("article"))
        for el in list(self.tree.iter("article")):
            if el is main or el in outer or el.getparent() is None:
                continue
            if any(a is main for a in el.iterancestors("article")):
                continue  # the story's own parts
            self.removed.append(f"other-story:{'.'.join(class_words(el))}")
            _drop(el)

    def drop(self, elements: Iterable[etree._Element], why: str) -> None:
        for el in elements:
            if el.getparent() is not None:
                self.removed.append(why)
                _drop(el)
