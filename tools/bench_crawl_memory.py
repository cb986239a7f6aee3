"""Crawl memory: peak RSS of arshif crawl on a generated mirror of 2,000 and 20,000 articles.

    python tools/bench_crawl_memory.py [--sizes 2000 20000]     (make bench-memory)

Each size gets its own generated mirror (one site, a sitemap index over
sitemaps of 5,000 URLs, article pages of seed paragraphs) served by arshif's
mirror proxy, and an empty data directory; ``arshif crawl`` runs in a child
process, and its peak resident memory is read from the kernel (wait4) when it
exits. A second crawl of the same mirror (nothing new) is measured too. The
target: peak memory at 20,000 within 50 MB of peak memory at 2,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mirror.server import MirrorServer  # noqa: E402

HOST = "www.bench.example"
SITES = f"""
[sites.bench]
name = "Generated benchmark site"
domains = ["{HOST}"]
article_urls = ['^/news/\\d+$']
listing_urls = ['^/$']
robots_sitemaps = true
autodiscover_feeds = false
"""


def build_mirror(root: Path, count: int, seed: int = 3) -> None:
    gold = json.loads((ROOT / "tests" / "golden" / "gold.json").read_text(encoding="utf-8"))
    pool = [p for g in gold.values() for p in g["text_paragraphs"]]
    rng = random.Random(seed)
    site = root / HOST
    (site / "news").mkdir(parents=True)
    urls = []
    for n in range(1, count + 1):
        paragraphs = rng.sample(pool, 4)
        title = f"{' '.join(paragraphs[0].split()[:8])} {n}"
        day = f"20{10 + n % 14:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}"
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        (site / "news" / str(n)).write_text(
            f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta property="article:published_time" content="{day}T09:00:00+03:00"></head>'
            f"<body><article><h1>{escape(title)}</h1>{body}</article></body></html>",
            encoding="utf-8",
        )
        urls.append((f"https://{HOST}/news/{n}", day))
    sitemaps = []
    for i in range(0, count, 5000):
        name = f"sitemap-{i // 5000 + 1}.xml"
        entries = "".join(
            f"<url><loc>{u}</loc><lastmod>{d}</lastmod></url>" for u, d in urls[i : i + 5000]
        )
        (site / name).write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
            encoding="utf-8",
        )
        sitemaps.append(f"https://{HOST}/{name}")
    index = "".join(f"<sitemap><loc>{s}</loc></sitemap>" for s in sitemaps)
    (site / "sitemap.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}</sitemapindex>',
        encoding="utf-8",
    )
    (site / "robots.txt").write_text(
        f"User-agent: *\nSitemap: https://{HOST}/sitemap.xml\n", encoding="utf-8"
    )
    (site / "index.html").write_text("<html><body><h1>bench</h1></body></html>", encoding="utf-8")
    (root / "sites.toml").write_text(SITES, encoding="utf-8")


def crawl(proxy: str, sites: Path, data: Path) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, summary line) of one arshif crawl in a child process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and not k.startswith("ARSHIF_")
    }
    env |= {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy}
    args = [
        str(Path(sys.executable).parent / "arshif"), "crawl", "bench", "--sites", str(sites), "--data", str(data),
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    ]  # fmt: skip
    start = time.monotonic()
    child = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    line = next((x for x in out.splitlines() if x.startswith("bench")), out.strip()[-200:])
    if child.returncode != 0:
        raise SystemExit(f"crawl failed ({child.returncode}): {out}")
    return usage.ru_maxrss / 1024, seconds, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/arshif-bench-memory"))
    args = parser.parse_args()
    results = {}
    for size in args.sizes:
        work = args.work / str(size)
        shutil.rmtree(work, ignore_errors=True)
        build_mirror(work / "mirror", size)
        server = MirrorServer(work / "mirror")
        proxy = server.start_in_thread()
        try:
            first = crawl(proxy, work / "mirror" / "sites.toml", work / "data")
            again = crawl(proxy, work / "mirror" / "sites.toml", work / "data")
        finally:
            server.stop()
        results[size] = (first, again)
        print(f"{size:>6} articles: first crawl peak {first[0]:6.1f} MB in {first[1]:5.0f} s;"
              f" second crawl peak {again[0]:6.1f} MB in {again[1]:4.0f} s", flush=True)  # fmt: skip
        print(f"        {first[2]}\n        {again[2]}", flush=True)
    sizes = sorted(results)
    if len(sizes) >= 2:
        growth = results[sizes[-1]][0][0] - results[sizes[0]][0][0]
        print(
            f"peak growth from {sizes[0]:,} to {sizes[-1]:,} articles: {growth:+.1f} MB (target: within 50 MB)"
        )
        return 0 if growth <= 50 else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
