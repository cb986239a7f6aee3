"""Generated news pages: four layouts of real-world furniture around Arabic article text.

``generated_page`` builds one page as news sites build theirs: a mega-menu,
inline scripts, JSON-LD and a page-state blob, sidebars of most-read and related
lists, a comment thread, ad slots and a footer, around paragraphs drawn from the
seed and mirror text pools, which are the page's truth. Layouts: ``portal``
(semantic HTML5), ``wordpress`` (a theme's markup), ``divsoup`` (an older custom
CMS with classes only: its site needs cleanup rules, ``CLEANUP``) and ``nextjs``
(a React front end whose page state rides along as JSON). Every page weighs
between ``MIN_SIZE`` and ``MAX_SIZE`` bytes: the page-state blob pads it to a
size drawn at random. Used by tools/realistic_site.py.
"""

from __future__ import annotations

import json
import random
from html import escape

from tools.build_mirror import ROOT, TOPICS, all_paragraphs

LAYOUTS = ("portal", "wordpress", "divsoup", "nextjs")
MIN_SIZE, MAX_SIZE = 80_000, 300_000
# What an operator adds for a CMS with no semantic elements, as for a real site.
CLEANUP = {"divsoup": ["//div[@class='comments-box']", "//div[@class='most-read-box']"]}


def text_pool() -> list[str]:
    gold = json.loads((ROOT / "tests" / "golden" / "gold.json").read_text(encoding="utf-8"))
    return all_paragraphs(gold) + [p for ps in TOPICS.values() for p in ps]


def _phrase(r: random.Random, words: list[str], k: int) -> str:
    start = r.randrange(len(words) - k)
    return " ".join(words[start : start + k])


def generated_page(
    layout: str, url: str, n: int, r: random.Random, pool: list[str], words: list[str]
) -> tuple[str, tuple[str, ...]]:
    """(HTML, article paragraphs) of one generated page, between MIN_SIZE and MAX_SIZE bytes."""
    paragraphs = tuple(r.sample(pool, r.randint(5, 12)))
    title = f"{_phrase(r, words, 9)} {n}"
    day = f"20{18 + n % 7}-{1 + n % 12:02d}-{1 + n % 28:02d}"
    target = r.randint(MIN_SIZE + 15_000, MAX_SIZE - 30_000)
    parts = _Furniture(r, words, pool, url, title, day)
    build = {
        "portal": _portal,
        "wordpress": _wordpress,
        "divsoup": _divsoup,
        "nextjs": _nextjs,
    }[layout]
    html = build(parts, title, day, paragraphs, pad=0)
    short = target - len(html.encode("utf-8"))
    if short > 0:
        html = build(parts, title, day, paragraphs, pad=short)
    return html, paragraphs


class _Furniture:
    """The parts real news pages wrap around an article, drawn from one page's rng."""

    def __init__(
        self, r: random.Random, words: list[str], pool: list[str], url: str, title: str, day: str
    ) -> None:
        self.r, self.words, self.pool, self.url, self.title, self.day = (
            r,
            words,
            pool,
            url,
            title,
            day,
        )
        self.sections = [_phrase(r, words, 1) for _ in range(14)]
        self.teasers = [
            (f"/news/{r.randint(1, 99999)}", _phrase(r, words, r.randint(6, 12))) for _ in range(60)
        ]

    def menu(self, cls: str = "menu") -> str:
        items = "".join(
            f'<li class="menu-item"><a href="/section/{i}">{escape(s)}</a><ul class="sub-menu">'
            + "".join(
                f'<li><a href="/section/{i}/{j}">{escape(_phrase(self.r, self.words, 2))}</a></li>'
                for j in range(8)
            )
            + "</ul></li>"
            for i, s in enumerate(self.sections)
        )
        return f'<ul class="{cls}">{items}</ul>'

    def links(self, start: int, count: int, with_summary: bool = False) -> str:
        out = []
        for href, text in self.teasers[start : start + count]:
            summary = (
                f'<span class="teaser">{escape(_phrase(self.r, self.words, 18))}</span>'
                if with_summary
                else ""
            )
            out.append(f'<li><a href="{href}">{escape(text)}</a>{summary}</li>')
        return "".join(out)

    def comments(self, tag: str = "li") -> str:
        out = []
        for i in range(self.r.randint(4, 25)):
            who = escape(_phrase(self.r, self.words, 2))
            said = escape(_phrase(self.r, self.words, self.r.randint(8, 40)))
            out.append(
                f'<{tag} class="comment" id="comment-{i}"><div class="comment-author">{who}</div>'
                f'<div class="comment-date">{self.day}</div><div class="comment-body">{said}</div>'
                f'<a class="reply" href="#respond">رد</a></{tag}>'
            )
        return "".join(out)

    def ad(self, slot: str) -> str:
        return (
            f'<div class="ad-slot" id="ad-{slot}" data-slot="/1234/news/{slot}">'
            f"<script>googletag.cmd.push(function(){{googletag.display('ad-{slot}');}});</script>"
            "</div>"
        )

    def json_ld(self, paragraphs: tuple[str, ...]) -> str:
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": self.title,
            "datePublished": f"{self.day}T08:30:00+03:00",
            "mainEntityOfPage": self.url,
            "author": {"@type": "Person", "name": _phrase(self.r, self.words, 2)},
            "publisher": {"@type": "Organization", "name": "realweight"},
            "description": paragraphs[0][:150],
        }
        return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'

    def scripts(self) -> str:
        tracking = (
            "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':"
            "new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],"
            "j=d.createElement(s);j.async=true;j.src='https://tags.example/gtm.js?id='+i;"
            "f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-X');</script>"
        )
        config = {"sections": self.sections, "ads": {f"slot{i}": [300, 250] for i in range(12)}}
        return (
            tracking
            + f"<script>window.siteConfig = {json.dumps(config, ensure_ascii=False)};</script>"
        )

    def state(self, pad: int) -> str:
        """A page-state blob of story teasers about pad bytes long (React/Next.js pages carry one)."""
        stories, size = [], 0
        while size < pad:
            href, text = self.r.choice(self.teasers)
            story = {"url": href, "title": text, "summary": _phrase(self.r, self.words, 30)}
            stories.append(story)
            size += len(json.dumps(story, ensure_ascii=False).encode("utf-8")) + 1
        return json.dumps({"stories": stories}, ensure_ascii=False)

    def style(self) -> str:
        rules = "".join(
            f".c{i}{{margin:{i % 17}px;color:#{i % 999:03d};}}"
            for i in range(self.r.randint(80, 300))
        )
        return f"<style>{rules}</style>"

    def footer_links(self) -> str:
        return "".join(
            f'<div class="footer-col"><h4>{escape(s)}</h4><ul>{self.links(k * 5 % 50, 6)}</ul></div>'
            for k, s in enumerate(self.sections[:6])
        )


def _head(f: _Furniture, paragraphs: tuple[str, ...], extra: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        f"<title>{escape(f.title)} | realweight</title>"
        f'<meta property="article:published_time" content="{f.day}T08:30:00+03:00">'
        f'<link rel="canonical" href="{f.url}">{f.style()}{f.json_ld(paragraphs)}{f.scripts()}'
        f"{extra}</head>"
    )


def _body_paragraphs(paragraphs: tuple[str, ...]) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def _portal(f: _Furniture, title: str, day: str, paragraphs: tuple[str, ...], pad: int) -> str:
    state = f"<script>window.__INITIAL_STATE__ = {f.state(pad)};</script>" if pad else ""
    return (
        _head(f, paragraphs)
        + '<body class="article-page"><header class="site-header"><div class="logo">realweight</div>'
        + f"<nav>{f.menu()}</nav>"
        + f'<div class="ticker"><span>عاجل</span><ul>{f.links(0, 8)}</ul></div></header>{f.ad("top")}'
        + '<main><article class="article">'
        + f'<h1>{escape(title)}</h1><div class="meta"><time datetime="{day}">{day}</time></div>'
        + f'<div class="article-body">{_body_paragraphs(paragraphs)}</div>'
        + f'<div class="tags">{f.links(10, 5)}</div></article>'
        + f'<section class="related"><h2>أخبار ذات صلة</h2><ul>{f.links(15, 8, True)}</ul></section>'
        + f'<section id="comments"><h2>التعليقات</h2><ul>{f.comments()}</ul></section></main>'
        + f'<aside class="sidebar">{f.ad("side")}<div class="most-read"><h3>الأكثر قراءة</h3>'
        + f"<ol>{f.links(23, 10)}</ol></div></aside>"
        + f"<footer>{f.footer_links()}<p>جميع الحقوق محفوظة</p></footer>{state}</body></html>"
    )


def _wordpress(f: _Furniture, title: str, day: str, paragraphs: tuple[str, ...], pad: int) -> str:
    state = f'<script id="wp-data-js-extra">var wpData = {f.state(pad)};</script>' if pad else ""
    return (
        _head(f, paragraphs)
        + '<body class="post-template-default single single-post"><div id="page" class="site">'
        + '<header id="masthead" class="site-header">'
        + f'<nav id="site-navigation" class="main-navigation">{f.menu("primary-menu")}</nav></header>'
        + '<div id="content" class="site-content"><div id="primary" class="content-area">'
        + '<main id="main" class="site-main"><article class="post type-post status-publish">'
        + f'<header class="entry-header"><h1 class="entry-title">{escape(title)}</h1>'
        + f'<span class="posted-on"><time class="entry-date published" datetime="{day}">{day}</time></span>'
        + f'</header><div class="entry-content">{_body_paragraphs(paragraphs)}{f.ad("in-content")}</div>'
        + '<footer class="entry-footer"><span class="cat-links">'
        + f"{f.links(10, 3)}</span></footer></article>"
        + f'<div class="jp-relatedposts"><h3>مقالات ذات صلة</h3><ul>{f.links(13, 6, True)}</ul></div>'
        + '<div id="comments" class="comments-area"><h2 class="comments-title">التعليقات</h2>'
        + f'<ol class="comment-list">{f.comments()}</ol></div></main></div>'
        + '<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries">'
        + f'<h2 class="widget-title">الأكثر قراءة</h2><ul>{f.links(20, 10)}</ul></section>'
        + f'<section class="widget">{f.ad("sidebar")}</section></aside></div>'
        + f'<footer id="colophon" class="site-footer">{f.footer_links()}</footer></div>'
        + f"{state}</body></html>"
    )


def _divsoup(f: _Furniture, title: str, day: str, paragraphs: tuple[str, ...], pad: int) -> str:
    # An older custom CMS: no semantic elements at all, only classes to go by.
    state = f"<script>var pageData = {f.state(pad)};</script>" if pad else ""
    return (
        _head(f, paragraphs)
        + '<body><div class="top-bar"><div class="container">'
        + f'<div class="main-menu">{f.menu("nav-list")}</div></div></div>{f.ad("leaderboard")}'
        + '<div class="container"><div class="row"><div class="col-md-8"><div class="news-details">'
        + f'<h1 class="news-title">{escape(title)}</h1><div class="news-date">{day}</div>'
        + f'<div id="NewsBody" class="news-body">{_body_paragraphs(paragraphs)}</div>'
        + f'<div class="share-bar">{f.links(5, 4)}</div></div>'
        + f'<div class="comments-box"><div class="box-title">التعليقات</div>{f.comments("div")}</div>'
        + '</div><div class="col-md-4"><div class="most-read-box"><div class="box-title">الأكثر قراءة</div>'
        + f'<ul class="list">{f.links(30, 10, True)}</ul></div>{f.ad("mpu")}</div></div></div>'
        + f'<div class="footer"><div class="container">{f.footer_links()}</div></div>{state}</body></html>'
    )


def _nextjs(f: _Furniture, title: str, day: str, paragraphs: tuple[str, ...], pad: int) -> str:
    # A React front end: the page state, article included, rides along as JSON.
    data = f.state(pad) if pad else "{}"
    return (
        _head(f, paragraphs)
        + '<body><div id="__next"><header role="banner">'
        + f'<nav aria-label="main">{f.menu("nav")}</nav></header>'
        + '<main><div data-testid="article" class="story">'
        + f'<h1 class="story-headline">{escape(title)}</h1><time datetime="{day}T08:30:00+03:00">{day}</time>'
        + f'<div class="story-body">{_body_paragraphs(paragraphs)}</div></div>'
        + f'<aside aria-label="related"><h2>اقرأ أيضا</h2><ul>{f.links(40, 8, True)}</ul></aside>'
        + f'<aside aria-label="most-read"><h2>الأكثر قراءة</h2><ol>{f.links(50, 10)}</ol></aside>'
        + f'{f.ad("inline")}<section class="comments"><h2>التعليقات</h2><ul>{f.comments()}</ul></section></main>'
        + f'<footer role="contentinfo">{f.footer_links()}</footer></div>'
        + f'<script id="__NEXT_DATA__" type="application/json">{data}</script></body></html>'
    )
