"""Search latency on a large archive: N synthetic articles made of the seed paragraphs.

    python tools/bench_search.py [--articles 1000000] [--data DIR] [--queries 200]
    (make bench-search)

Builds (once; reused when DIR already holds N articles) an archive whose
articles are 3 to 6 seed paragraphs each, over five sites and ten years, inserted
in publication order as a crawl would. The seed paragraphs use few words, so
common words match most of the archive: the hard case for ranking. Then it
times arshif's search (query parsing, the FTS5 query, bm25 over the newest
matches, snippets) for one-word and two-word queries drawn from the
paragraphs' own words, after one warm-up pass, and prints p50, p95 and max.
Target: p95 under 100 ms for both.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.discover.sites import load_registry  # noqa: E402
from archive.normalize import index_text, tokens  # noqa: E402
from archive.store.db import readonly_uri  # noqa: E402
from archive.store.search import search  # noqa: E402
from archive.store.writer import Archive  # noqa: E402

SITES = ["lebanontab", "hoseinmortada", "hafryat", "custom_news", "repost_blog"]


def paragraphs() -> list[str]:
    gold = json.loads((ROOT / "tests" / "golden" / "gold.json").read_text(encoding="utf-8"))
    return [p for g in gold.values() for p in g["text_paragraphs"]]


def build(data: Path, count: int, seed: int = 7) -> None:
    pool = paragraphs()
    indexed = [index_text(p) for p in pool]  # the seed paragraphs repeat: normalise each once
    titles = [" ".join(p.split()[:9]) for p in pool]
    rng = random.Random(seed)
    data.mkdir(parents=True, exist_ok=True)
    archive = Archive.open(data)
    for site in load_registry(ROOT / "mirror" / "bundled" / "extra-sites.toml").values():
        archive.register_site(site)
    conn = archive.db.conn
    conn.execute("PRAGMA synchronous = OFF")
    start = datetime(2016, 1, 1, tzinfo=UTC)
    step = timedelta(days=3650) / count
    batch, fts = [], []
    began = time.perf_counter()
    for n in range(1, count + 1):
        chosen = rng.sample(range(len(pool)), rng.randint(3, 6))
        text = "\n\n".join(pool[i] for i in chosen)
        title = f"{titles[chosen[0]]} {n}"
        published = (start + step * n).isoformat(timespec="seconds")
        site = SITES[n % len(SITES)]
        url = f"https://{site}.example/a/{n}"
        batch.append((n, url, site, title, text, published, published[:7], "ar", url, published,
                      "bench.warc.gz", n * 1000, 1000, f"<urn:uuid:{n}>", "sha1:BENCH"))  # fmt: skip
        fts.append((n, index_text(title), " ".join(indexed[i] for i in chosen)))
        if len(batch) == 20000 or n == count:
            with conn:
                conn.executemany(
                    "INSERT INTO articles (id, url, site, title, text, published, published_month, language,"
                    " fetched_url, fetched, warc_filename, warc_offset, warc_length, warc_record_id,"
                    " payload_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                conn.executemany(
                    "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", fts
                )
            batch, fts = [], []
            rate = n / (time.perf_counter() - began)
            print(
                f"\r  {n:,} / {count:,} articles ({rate:,.0f}/s)",
                end="",
                file=sys.stderr,
                flush=True,
            )
    print(file=sys.stderr)
    with conn:
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
    archive.close()


def queries(count: int, seed: int = 11) -> tuple[list[str], list[str]]:
    pool = paragraphs()
    rng = random.Random(seed)
    words = [w for p in pool for w in p.split() if len(tokens(w)) == 1 and len(w) > 2]
    ones = rng.sample(sorted(set(words)), count)
    twos = []
    while len(twos) < count:
        p = rng.choice(pool).split()
        i = rng.randrange(len(p) - 1)
        if all(len(tokens(w)) == 1 for w in p[i : i + 2]):
            twos.append(" ".join(p[i : i + 2]))
    return ones, twos


def timings(conn: sqlite3.Connection, qs: list[str]) -> list[float]:
    out = []
    for q in qs:
        start = time.perf_counter()
        search(conn, q, limit=20)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/arshif-bench-search"))
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    db_path = args.data / "archive.db"
    have = 0
    if db_path.exists():
        with sqlite3.connect(db_path) as conn:
            have = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if have != args.articles:
        if db_path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        print(f"building {args.articles:,} articles in {args.data}", file=sys.stderr)
        began = time.perf_counter()
        build(args.data, args.articles)
        print(f"  built in {time.perf_counter() - began:,.0f} s", file=sys.stderr)
    conn = sqlite3.connect(readonly_uri(db_path), uri=True)
    ones, twos = queries(args.queries)
    size = db_path.stat().st_size / 1e9
    print(
        f"{args.articles:,} articles, {size:.1f} GB; {len(ones)} one-word and {len(twos)} two-word queries"
    )
    ok = True
    for name, qs in (("one word", ones), ("two words", twos)):
        timings(conn, qs)  # warm the page cache
        t = sorted(timings(conn, qs))
        p95 = t[int(0.95 * (len(t) - 1))]
        print(
            f"{name:<10} p50 {statistics.median(t):6.1f} ms   p95 {p95:6.1f} ms   max {t[-1]:6.1f} ms"
        )
        ok &= p95 < 100
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
