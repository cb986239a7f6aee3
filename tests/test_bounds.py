"""Bounds on what one page or one site can cost a run: a gzip bomb, a page too large to
parse, a Retry-After of a day. Crawled from a mirror made in the test, over loopback."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from mirror.server import MirrorServer
from tests.conftest import BIN, crawl_env, run
from tests.faults import write_bomb

pytestmark = pytest.mark.e2e

BOMB_MB = 300  # inflated; about 300 KB on the wire
CAP = 8 * 1024 * 1024  # arshif's default DOWNLOAD_MAXSIZE (Scrapy's is 1 GB)
EXTRACT_CAP = 200_000  # ARSHIF_EXTRACT_MAX_SIZE for the crawl
ARTICLE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    + "<p>تسعى روسيا الى وقف القتال بين اذربيجان وارمينيا، وأعلنت وزارة الدفاع.</p>" * 30
    + "{extra}</article></body></html>"
)
LISTING = (
    "<html><body>"
    + "".join(f'<a href="/news/{n}">خبر {n}</a>' for n in (1, 2, 3))
    + "</body></html>"
)
SITES = """
[sites.bounds]
domains = ["www.bounds.example"]
listings = ["/"]
article_urls = ['^/news/\\d+$']

[sites.big]
domains = ["www.big.example"]
listings = ["/"]
article_urls = ['^/news/\\d+$']
politeness = { max_size = 100_000 }

[sites.waits]
domains = ["www.waits.example"]
listings = ["/"]
article_urls = ['^/news/\\d+$']
"""


@pytest.fixture(scope="module")
def bounds_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("bounds-mirror")
    robots = "User-agent: *\nAllow: /\n"
    for host in ("www.bounds.example", "www.waits.example", "www.big.example"):
        site = root / host
        (site / "news").mkdir(parents=True)
        (site / "robots.txt").write_text(robots, encoding="utf-8")
        (site / "index.html").write_text(LISTING, encoding="utf-8")
        (site / "news" / "1").write_text(ARTICLE.format(title="خبر", extra=""), encoding="utf-8")
    bounds = root / "www.bounds.example"
    write_bomb(bounds / "bomb.gz", BOMB_MB)
    (bounds / "news" / "3").write_text(
        ARTICLE.format(title="خبر طويل", extra="<p>" + "ا " * EXTRACT_CAP + "</p>"),
        encoding="utf-8",
    )
    (bounds / "_mirror.toml").write_text(
        '[[route]]\nurl = "/news/2"\nfile = "bomb.gz"\n'
        'content_type = "text/html; charset=utf-8"\nheaders = { Content-Encoding = "gzip" }\n',
        encoding="utf-8",
    )
    big = root / "www.big.example" / "news" / "2"
    big.write_text(ARTICLE.format(title="كبير", extra="<p>" + "ب " * 60_000 + "</p>"), "utf-8")
    waits = root / "www.waits.example"
    (waits / "news" / "2").write_text(ARTICLE.format(title="ب", extra=""), encoding="utf-8")
    (waits / "_mirror.toml").write_text(
        '[[route]]\nurl = "/news/2"\nfile = "news/2"\nfail_first = 5\nretry_after = 100000\n',
        encoding="utf-8",
    )
    sites = root / "sites.toml"
    sites.write_text(SITES, encoding="utf-8")
    server = MirrorServer(root)
    yield server.start_in_thread(), sites
    server.stop()


# The crawl runs in a child of this small script, which then prints the child's peak
# RSS in kB (Linux): the test process's own other children do not count.
_PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def crawl(proxy: str, sites: Path, data: Path, key: str, *settings: str):
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
    args = ["crawl", "--data", str(data), "--sites", str(sites), *fast, *settings, key]
    command = [sys.executable, "-c", _PEAK_RSS, str(BIN / "arshif"), *args]
    return run(command, crawl_env(proxy, ARSHIF_CONTACT="test@example.org"), timeout=240)


def query(data: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql).fetchall()


def test_a_gzip_bomb_is_recorded_too_large_with_its_wire_bytes_and_bounded_memory(
    bounds_mirror, tmp_path
):
    proxy, sites = bounds_mirror
    data = tmp_path / "data"
    result = crawl(proxy, sites, data, "bounds", "-s", f"ARSHIF_EXTRACT_MAX_SIZE={EXTRACT_CAP}")
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    peak_mb = int(result.stdout.split()[-1]) / 1024
    # Inflated, the bomb alone would be 300 MB; a crawl stays well below it.
    assert peak_mb < BOMB_MB * 0.8, peak_mb

    (bomb,) = query(
        data,
        "SELECT status, error, content_encoding, body_length, warc_filename, warc_offset"
        " FROM captures WHERE url = 'https://www.bounds.example/news/2'",
    )
    status, error, encoding, length, filename, offset = bomb
    assert status == 200 and encoding == "gzip"
    assert error.startswith("too-large: ") and f"DOWNLOAD_MAXSIZE ({CAP} B)" in error
    wire = (sites.parent / "www.bounds.example" / "bomb.gz").read_bytes()
    assert length == len(wire)
    with (data / "warc" / filename).open("rb") as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f)))
        assert record.rec_type == "response"
        assert record.raw_stream.read() == wire  # as received, still compressed

    (big,) = query(
        data, "SELECT status, error FROM captures WHERE url = 'https://www.bounds.example/news/3'"
    )
    assert big[0] == 200 and big[1].startswith("too-large: ARSHIF_EXTRACT_MAX_SIZE: ")
    assert query(data, "SELECT url FROM articles") == [("https://www.bounds.example/news/1",)]
    (figures,) = query(data, "SELECT status, errors, message FROM crawl_runs")
    assert figures == ("partial", 2, "2 page(s) too large, not read (see captures)"), figures
    log = next((data / "logs").glob("crawl-*.log")).read_text(encoding="utf-8")
    assert "bounds: https://www.bounds.example/news/2: too-large: " in log


def test_a_huge_retry_after_defers_the_site_to_the_next_run(bounds_mirror, tmp_path):
    proxy, sites = bounds_mirror
    data = tmp_path / "data"
    started = time.monotonic()
    result = crawl(proxy, sites, data, "waits", "-s", "ARSHIF_RETRY_AFTER_MAX=60")
    assert time.monotonic() - started < 60  # not the 100000 s asked, nor retries' waits
    assert "Traceback" not in result.stdout + result.stderr
    rows = query(
        data, "SELECT status, error FROM captures WHERE url = 'https://www.waits.example/news/2'"
    )
    assert len(rows) == 1, rows  # not retried this run
    assert rows[0][0] == 503 and rows[0][1].startswith("deferred: HTTP 503 with Retry-After 100000")
    ((status, errors, message),) = query(data, "SELECT status, errors, message FROM crawl_runs")
    assert status == "deferred" and errors >= 1
    assert "https://www.waits.example/news/2" in message and "ARSHIF_RETRY_AFTER_MAX" in message
    assert "deferred" in result.stdout


def test_the_dashboard_names_too_large_and_deferred_captures():
    from archive.browse.views import OUTCOMES_SQL

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE captures (site TEXT, status INTEGER, error TEXT)")
    db.executemany(
        "INSERT INTO captures VALUES (?, ?, ?)",
        [("a", 200, "too-large: 300 B compressed inflates past DOWNLOAD_MAXSIZE (9 B)"),
         ("a", 503, "deferred: HTTP 503 with Retry-After 100000 s"), ("a", 200, None),
         ("a", 200, "extract-timeout: ARSHIF_EXTRACT_TIMEOUT: still running after 60 s")],
    )  # fmt: skip
    assert sorted(db.execute(OUTCOMES_SQL).fetchall()) == [
        ("a", "deferred", 1),
        ("a", "extract-timeout", 1),
        ("a", "too-large", 1),
    ]


def test_a_site_cap_refuses_a_plain_page_beyond_it_as_too_large(bounds_mirror, tmp_path):
    # Uncompressed, Content-Length says it all: Scrapy drops the download at once, so
    # only the captures row tells of the page (no WARC record: no body was read).
    proxy, sites = bounds_mirror
    data = tmp_path / "data"
    result = crawl(proxy, sites, data, "big")
    assert "Traceback" not in result.stdout + result.stderr
    (row,) = query(
        data, "SELECT status, error FROM captures WHERE url = 'https://www.big.example/news/2'"
    )
    assert row[0] is None and row[1].startswith("too-large: ") and "(100000)" in row[1]
    assert query(data, "SELECT url FROM articles") == [("https://www.big.example/news/1",)]
    (figures,) = query(data, "SELECT status, errors, message FROM crawl_runs")
    assert figures[:2] == ("partial", 1), figures
