"""Real-weight news sites for benchmarks, served by arshif's mirror proxy.

    python tools/realistic_site.py DEST [--sites 4] [--pages 500] [--source auto] [--serve]

``build_sites`` writes a mirror directory of N sites with M article pages each,
a ``robots.txt`` naming a sitemap of every article, and the sites file that
registers them with politeness off (no delay, 8 requests per site at once).
The pages are, with ``source="real"``, the news and article pages of
``../shared/real-pages`` (gunzipped into DEST at run time, never into the
project; each copy made unique so none is a revisit of another), or, with
``source="generated"``, pages built like real news pages: a mega-menu, inline
scripts, JSON-LD and a page-state blob, sidebars of most-read and related
lists, a comment thread, ad slots and a footer, in four layouts, 80-300 KB a
page, around Arabic article text whose paragraphs are the page's truth.
``"auto"`` takes the real pages when the corpus is there.

Pages are stored gzipped and served with ``Content-Encoding: gzip`` as most
news servers do, so the proxy spends no CPU compressing them: on a 2-core
machine it would otherwise take its share from the crawl it serves.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mirror.server import MirrorServer  # noqa: E402
from tools.build_mirror import TOPICS, all_paragraphs  # noqa: E402
from tools.realpages import corpus_dir, load_cases  # noqa: E402

LAYOUTS = ("portal", "wordpress", "divsoup", "nextjs")
MIN_SIZE, MAX_SIZE = 80_000, 300_000
# Real pages below this are unit fixtures or bot walls, not the weight of a news page.
MIN_REAL_SIZE = 20_000
HTML_UTF8 = "text/html; charset=utf-8"
# (url, page number, layout) -> (body, content type, layout or source set, truth paragraphs)
Maker = Callable[[str, int, str], tuple[bytes, str, str, tuple[str, ...]]]


@dataclass(frozen=True)
class BenchPage:
    site: str  # site key in the sites file
    url: str
    file: Path  # the gzipped page in the mirror
    content_type: str
    layout: str  # a generated layout, or the real page's source set
    truth: tuple[str, ...] = ()  # article paragraphs, for generated pages

    def body(self) -> bytes:
        return gzip.decompress(self.file.read_bytes())


@dataclass
class BuiltSites:
    mirror_dir: Path
    sites_file: Path
    sites_toml: str
    source: str  # "real" or "generated"
    pages: list[BenchPage] = field(default_factory=list)

    @property
    def site_keys(self) -> list[str]:
        return sorted({p.site for p in self.pages})


def host_for(n: int) -> str:
    return f"www.realweight{n}.example"


# What an operator adds for a CMS with no semantic elements, as for a real site.
CLEANUP = {"divsoup": ["//div[@class='comments-box']", "//div[@class='most-read-box']"]}


def site_toml(key: str, host: str, layout: str | None = None) -> str:
    cleanup = ", ".join(f'"{rule}"' for rule in CLEANUP.get(layout or "", []))
    return f"""
[sites.{key}]
name = "Real-weight benchmark site {key}"
domains = ["{host}"]
article_urls = ['^/news/\\d+$']
listing_urls = ['^/$']
robots_sitemaps = true
autodiscover_feeds = false
politeness = {{ delay = 0, concurrency = 8 }}
""" + (f"cleanup = [{cleanup}]\n" if cleanup else "")


def build_sites(
    dest: str | Path,
    n_sites: int = 4,
    pages_per_site: int = 500,
    source: str = "auto",
    seed: int = 12,
) -> BuiltSites:
    """Write the mirror and sites file under dest; see the module docstring."""
    if source not in ("auto", "real", "generated"):
        raise ValueError(f"source must be auto, real or generated, not {source!r}")
    corpus = corpus_dir()
    if source == "real" and corpus is None:
        raise FileNotFoundError("../shared/real-pages not found (set ARSHIF_REAL_PAGES)")
    real = source == "real" or (source == "auto" and corpus is not None)
    dest = Path(dest)
    mirror = dest / "mirror"
    mirror.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    make = _real_pages(corpus, rng) if real and corpus else _generated_pages()
    built = BuiltSites(mirror, dest / "sites.toml", "", "real" if real else "generated")
    for s in range(1, n_sites + 1):
        key, host = f"realweight{s}", host_for(s)
        # One layout a site, as on the web; four sites cover the four layouts.
        site_layout = LAYOUTS[(s - 1) % len(LAYOUTS)]
        folder = mirror / host
        (folder / "news").mkdir(parents=True, exist_ok=True)
        routes, urls = [], []
        for n in range(1, pages_per_site + 1):
            url = f"https://{host}/news/{n}"
            body, content_type, layout, truth = make(url, s * 100_000 + n, site_layout)
            file = folder / "news" / f"{n}.gz"
            file.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
            routes.append(
                f'[[route]]\nurl = "/news/{n}"\nfile = "news/{n}.gz"\n'
                f'content_type = "{content_type}"\nheaders = {{ "Content-Encoding" = "gzip" }}\n'
            )
            urls.append(url)
            built.pages.append(BenchPage(key, url, file, content_type, layout, truth))
        (folder / "_mirror.toml").write_text("\n".join(routes), encoding="utf-8")
        entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
        (folder / "sitemap.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
            encoding="utf-8",
        )
        (folder / "robots.txt").write_text(
            f"User-agent: *\nSitemap: https://{host}/sitemap.xml\n", encoding="utf-8"
        )
        (folder / "index.html").write_text(
            f"<html><body><h1>{key}</h1></body></html>", encoding="utf-8"
        )
        built.sites_toml += site_toml(key, host, None if real else site_layout)
    built.sites_file.write_text(built.sites_toml, encoding="utf-8")
    return built


@contextlib.contextmanager
def serve(built: BuiltSites) -> Iterator[MirrorServer]:
    """The mirror proxy for built sites, in a thread; its URL is ``server.proxy_url``."""
    server = MirrorServer(built.mirror_dir)
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop()


# -- real pages ----------------------------------------------------------------


def real_cases(corpus: Path) -> list[tuple[Path, dict]]:
    """The corpus's news and article pages: those with article truth, fixtures left out."""
    out = []
    for case in load_cases(corpus):
        if case.get("synthetic") or not (case.get("text") or case.get("with")):
            continue
        path = corpus / case["file"]
        out.append((path, case))
    return out


def _real_pages(corpus: Path, rng: random.Random) -> Maker:
    pages = []
    for path, case in real_cases(corpus):
        body = gzip.decompress(path.read_bytes())
        if len(body) >= MIN_REAL_SIZE:
            pages.append((body, case["set"]))
    rng.shuffle(pages)
    counter = iter(range(10**9))

    def make(url: str, n: int, _: str) -> tuple[bytes, str, str, tuple[str, ...]]:
        body, layout = pages[next(counter) % len(pages)]
        # A copy served twice must not be a WARC revisit: a marker makes each unique.
        marker = f"<!-- arshif bench copy {n} -->\n".encode()
        # No charset in the header: the page's own meta (or sniffing) decides, as on its site.
        return marker + body, "text/html", layout, ()

    return make


# -- generated pages -----------------------------------------------------------


def text_pool() -> list[str]:
    gold = json.loads((ROOT / "tests" / "golden" / "gold.json").read_text(encoding="utf-8"))
    return all_paragraphs(gold) + [p for ps in TOPICS.values() for p in ps]


def _generated_pages() -> Maker:
    pool = text_pool()
    words = " ".join(pool).split()

    def make(url: str, n: int, layout: str) -> tuple[bytes, str, str, tuple[str, ...]]:
        r = random.Random(n)
        html, truth = generated_page(layout, url, n, r, pool, words)
        return html.encode("utf-8"), HTML_UTF8, layout, truth

    return make


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--pages", type=int, default=500, help="pages per site")
    parser.add_argument("--source", choices=("auto", "real", "generated"), default="auto")
    parser.add_argument("--serve", action="store_true", help="then serve them until Ctrl-C")
    args = parser.parse_args()
    built = build_sites(args.dest, args.sites, args.pages, args.source)
    size = sum(len(p.body()) for p in built.pages) / len(built.pages)
    print(f"{len(built.pages)} {built.source} pages, {size / 1000:.0f} KB mean, in {args.dest}")
    print(f"sites file: {built.sites_file}")
    if args.serve:
        import time

        with serve(built) as server:
            print(f"proxy: {server.proxy_url} (Ctrl-C stops it)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
