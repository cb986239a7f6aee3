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
``"auto"`` takes the real pages when the corpus is there. The layouts are in
tools/news_layouts.py.

Pages are stored gzipped and served with ``Content-Encoding: gzip`` as most
news servers do, so the proxy spends no CPU compressing them: on a 2-core
machine it would otherwise take its share from the crawl it serves.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mirror.server import MirrorServer  # noqa: E402
from tools.news_layouts import CLEANUP, LAYOUTS, generated_page, text_pool  # noqa: E402
from tools.realpages import corpus_dir, load_cases  # noqa: E402

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


def _generated_pages() -> Maker:
    pool = text_pool()
    words = " ".join(pool).split()

    def make(url: str, n: int, layout: str) -> tuple[bytes, str, str, tuple[str, ...]]:
        r = random.Random(n)
        html, truth = generated_page(layout, url, n, r, pool, words)
        return html.encode("utf-8"), HTML_UTF8, layout, truth

    return make


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
