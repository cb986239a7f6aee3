"""Extraction speed: arshif's extractor against plain trafilatura on the same pages.

    python tools/bench_extract.py     (or: make bench)

Three page sets: the mirror's 172 article pages as they are (5-9 KB); the
same pages made "heavy" the way real news pages are, about 50 KB each: a
mega-menu, inline scripts and styles, a sidebar of lists, a comment thread
and a long footer; and "real", every full-text page of ``../shared/real-pages``
(real news and article pages from public extraction suites, where that corpus
is present; synthetic unit fixtures left out). Both extractors are warmed up (imports, language model),
then timed in alternating rounds; the figure is the median round. Plain
trafilatura runs with its default settings. The target: arshif at most 1.25x on
real pages (on the heavy set where the corpus is absent).
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.discover.sites import Site, load_registry  # noqa: E402
from archive.extract.article import extract_article  # noqa: E402
from mirror import BUNDLED, EXTRA_SITES  # noqa: E402
from tools.realpages import corpus_dir, load_cases  # noqa: E402

ROUNDS = int(os.environ.get("ARSHIF_BENCH_ROUNDS", "5"))
Page = tuple[bytes, str, Site | None]
TARGET = 1.25


def chrome(n: int) -> tuple[str, str]:
    """Furniture for page n: what goes before the article and after it."""
    menu = "".join(f'<li><a href="/section/{i}">قسم {i}</a><ul>' + "".join(
        f'<li><a href="/section/{i}/{j}">فرع {j}</a></li>' for j in range(6)) + "</ul></li>" for i in range(25))  # fmt: skip
    scripts = "".join(
        f"<script>var config{i} = {json.dumps({'k': list(range(300))})};</script>" for i in range(8)
    )
    style = (
        "<style>"
        + "".join(f".c{i} {{ margin: {i}px; color: #{i:03d}; }}" for i in range(400))
        + "</style>"
    )
    sidebar = "".join(
        f'<div class="widget"><h3>الأكثر تداولا {k}</h3><ul>'
        + "".join(f'<li><a href="/ar/{n * 100 + k * 10 + i}/x">خبر متداول رقم {i} في القائمة {k}</a></li>' for i in range(10))
        + "</ul></div>"
        for k in range(4)
    )  # fmt: skip
    comments = '<section id="comments">' + "".join(
        f'<div class="comment"><b>قارئ {i}</b><p>تعليق قصير رقم {i} على هذا الخبر، شكرا للموقع.</p></div>' for i in range(25)
    ) + "</section>"  # fmt: skip
    footer = (
        "<footer>" + "".join(f'<a href="/page/{i}">رابط {i}</a> ' for i in range(120)) + "</footer>"
    )
    before = f'{style}{scripts}<header><nav class="mega-menu"><ul>{menu}</ul></nav></header>'
    after = f'<aside class="sidebar">{sidebar}</aside>{comments}{footer}'
    return before, after


def heavy(body: bytes, n: int) -> bytes:
    text = body.decode("utf-8")
    before, after = chrome(n)
    text = text.replace("<body>", "<body>" + before, 1).replace("</body>", after + "</body>", 1)
    return text.encode("utf-8")


def timed(fn: Callable[..., None], pages: list[Page]) -> float:
    start = time.perf_counter()
    for page in pages:
        fn(*page)
    return (time.perf_counter() - start) / len(pages) * 1000


def main() -> int:
    registry = load_registry(EXTRA_SITES)
    truth = json.loads(
        (ROOT / "tests" / "golden" / "mirror-truth.json").read_text(encoding="utf-8")
    )
    utf8 = [t for t in truth if t["encoding"] == "utf-8"]
    sets = {
        "mirror": [
            ((BUNDLED / t["file"]).read_bytes(), t["url"], registry[t["site"]]) for t in utf8
        ],
    }
    sets["heavy"] = [(heavy(b, n), u, s) for n, (b, u, s) in enumerate(sets["mirror"])]
    if (corpus := corpus_dir()) is not None:
        sets["real"] = [
            (gzip.decompress((corpus / c["file"]).read_bytes()), c["url"] or "", None)
            for c in load_cases(corpus)
            if c.get("text") and not c.get("synthetic")
        ]

    def ours(body: bytes, url: str, site: Site | None) -> None:
        extract_article(body, url, site, content_type="text/html; charset=utf-8")

    def plain(body: bytes, url: str, site: Site | None) -> None:
        trafilatura.extract(body, url=url)

    ok = True
    print(f"{'pages':<8} {'KB/page':>8} {'arshif ms':>10} {'trafilatura ms':>15} {'ratio':>6}")
    for name, pages in sets.items():
        for fn in (ours, plain):  # warm up
            timed(fn, pages[:10])
        rounds = {"ours": [], "plain": []}
        for _ in range(ROUNDS):
            rounds["ours"].append(timed(ours, pages))
            rounds["plain"].append(timed(plain, pages))
        a, b = statistics.median(rounds["ours"]), statistics.median(rounds["plain"])
        size = sum(len(p[0]) for p in pages) / len(pages) / 1024
        print(f"{name:<8} {size:>8.1f} {a:>10.2f} {b:>15.2f} {a / b:>6.2f}")
        # The target holds on real pages; on the mirror's 4 KB pages a fixed cost
        # (metadata, language, trafilatura's fallbacks) weighs more than it ever does live.
        ok &= a / b <= TARGET or (name == "mirror" and "real" in sets)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
