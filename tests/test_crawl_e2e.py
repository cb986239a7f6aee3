"""End-to-end: crawls of the offline mirror over loopback sockets, checked against the archive."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import BIN, ROOT, crawl_env, free_port, run

pytestmark = pytest.mark.e2e


def query(data: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql, params).fetchall()


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def open_record(data: Path, filename: str, offset: int):
    """The open file, and an iterator over its records from offset on."""
    f = (data / "warc" / filename).open("rb")
    f.seek(offset)
    return f, iter(ArchiveIterator(f))


def test_demo_archives_every_mirror_site(demo_archive):
    counts = dict(query(demo_archive, "SELECT site, count(*) FROM articles GROUP BY site"))
    assert set(counts) == {"lebanontab", "hoseinmortada", "hafryat", "custom_news", "repost_blog"}
    assert all(n >= 30 for n in counts.values()), counts
    runs = query(demo_archive, "SELECT site, status, articles FROM crawl_runs")
    assert {status for _, status, _ in runs} == {"ok"}, runs


def test_a_normal_crawl_logs_no_error_and_no_traceback(demo_archive):
    # The full log, not only the terminal: an operator reads it when a run looks wrong,
    # and a traceback in every run hides the one that matters. The mirror's failing
    # pages (robots.txt refusals, a 404, a 503 then the page) are WARNINGs of one line.
    (log,) = (demo_archive / "logs").glob("crawl-*.log")
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if " ERROR" in line] == []
    assert "WARNING" in text  # the failing pages are still reported
    assert list((demo_archive / "jobs").iterdir()) == []  # the private queues are gone


def test_the_demo_shows_no_hostile_page_and_more_than_one_subject(demo_archive):
    # The hostile test site (mirror/bundled/test-sites.toml) is for tests that crawl it.
    assert query(demo_archive, "SELECT count(*) FROM articles WHERE title LIKE '%<script%'") == [
        (0,)
    ]
    assert query(demo_archive, "SELECT count(*) FROM captures WHERE url LIKE '%hostile%'") == [(0,)]
    total = query(demo_archive, "SELECT count(*) FROM articles")[0][0]
    about = query(
        demo_archive, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'اذربيج'"
    )[0][0]
    assert 0.6 * total < about < 0.9 * total, (about, total)
    texts = " ".join(t for (t,) in query(demo_archive, "SELECT text FROM articles"))
    for word in ("الدوري", "منخفض", "معرض", "تلقيح", "الدولار"):  # sport, weather, ...
        assert word in texts, word


def test_seed_articles_are_in_the_archive(demo_archive, gold):
    known = [g for g in gold.values() if g["known_url"]]
    assert known, "gold.json names at least one real URL"
    for entry in known:
        from archive.urls import canonicalize

        rows = query(
            demo_archive,
            "SELECT title FROM articles WHERE url = ?",
            canonicalize(entry["known_url"]),
        )
        assert rows, f"seed {entry['seed']} not archived at its real URL"
    texts = [t for (t,) in query(demo_archive, "SELECT text FROM articles")]
    for entry in gold.values():
        # Every seed article, whatever its site: its body paragraphs are in one archived text.
        needles = [p.replace("\xa0", " ").split()[:12] for p in entry["text_paragraphs"][1:4]]
        hits = [
            t
            for t in texts
            if all(" ".join(n) in " ".join(t.replace("\xa0", " ").split()) for n in needles)
        ]
        assert hits, f"seed {entry['seed']} not found in the archive"


def test_every_article_points_at_its_response_record(demo_archive):
    rows = query(
        demo_archive,
        "SELECT url, fetched_url, warc_filename, warc_offset, warc_length, warc_record_id, payload_digest"
        " FROM articles",
    )
    assert len(rows) >= 150
    for url, fetched_url, filename, offset, length, record_id, digest in rows:
        f, records = open_record(demo_archive, filename, offset)
        with f:
            record = next(records)
            assert record.rec_type == "response", url
            assert record.rec_headers.get_header("WARC-Record-ID") == record_id
            assert record.rec_headers.get_header("WARC-Target-URI") == fetched_url
            payload = record.raw_stream.read()
            assert (
                record.rec_headers.get_header("WARC-Payload-Digest") == digest == sha1(payload)
            ), url
        # warc_length bytes from warc_offset are exactly one whole gzip member: the record.
        with (demo_archive / "warc" / filename).open("rb") as raw:
            raw.seek(offset)
            member = zlib.decompressobj(31)
            text = member.decompress(raw.read(length))
        assert member.eof and not member.unused_data and text.startswith(b"WARC/1.1\r\n"), url


def test_every_warc_file_passes_warcio_check_and_starts_with_warcinfo(demo_archive):
    files = sorted((demo_archive / "warc").glob("*.warc.gz"))
    assert {f.name.split("-")[0] for f in files} == {
        "lebanontab", "hoseinmortada", "hafryat", "custom_news", "repost_blog",
    }  # fmt: skip
    result = run([str(BIN / "warcio"), "check", *map(str, files)], crawl_env(None))
    assert result.returncode == 0, result.stdout + result.stderr
    for path in files:
        with path.open("rb") as f:
            first = next(iter(ArchiveIterator(f)))
            assert first.rec_type == "warcinfo"
            info = first.content_stream().read().decode()
            assert "software: arshif/" in info and "robots: obey" in info


def test_gzip_served_pages_are_stored_as_gzip(demo_archive):
    rows = query(
        demo_archive,
        "SELECT warc_filename, warc_offset FROM articles WHERE site = 'hoseinmortada'",
    )
    gzipped = 0
    for filename, offset in rows:
        f, records = open_record(demo_archive, filename, offset)
        with f:
            record = next(records)
            if record.http_headers.get_header("Content-Encoding") == "gzip":
                assert record.raw_stream.read()[:2] == b"\x1f\x8b"
                gzipped += 1
    assert gzipped == len(rows) > 0


def test_every_kind_of_exchange_is_captured(demo_archive):
    kinds = {(k, s) for k, s in query(demo_archive, "SELECT DISTINCT kind, status FROM captures")}
    for expected in [("robots", 200), ("feed", 200), ("sitemap", 200), ("listing", 200),
                     ("article", 200), ("article", 301), ("article", 404), ("listing", 503)]:  # fmt: skip
        assert expected in kinds, expected
    # every capture with a response has its WARC record
    missing = query(
        demo_archive, "SELECT url FROM captures WHERE status IS NOT NULL AND warc_offset IS NULL"
    )
    assert missing == []


def test_robots_txt_is_obeyed(demo_archive):
    rows = query(
        demo_archive,
        "SELECT status, error, warc_filename FROM captures WHERE url LIKE 'https://www.lebanontab.com/ar/99999/%'",
    )
    assert rows == [(None, "IgnoreRequest: Forbidden by robots.txt", None)]


def test_retry_after_is_honoured(demo_archive):
    rows = query(
        demo_archive,
        "SELECT status, fetched FROM captures WHERE url = 'https://hafryat.com/taqarir' ORDER BY id",
    )
    assert [s for s, _ in rows] == [503, 200]
    waited = datetime.fromisoformat(rows[1][1]) - datetime.fromisoformat(rows[0][1])
    assert waited.total_seconds() >= 1.0  # the mirror asked for Retry-After: 1


def test_request_records_keep_the_query_string_and_an_honest_user_agent(demo_archive):
    filename, offset = query(
        demo_archive,
        "SELECT warc_filename, warc_offset FROM captures WHERE url = 'https://hafryat.com/akhbar?page=1'",
    )[0]
    f, records = open_record(demo_archive, filename, offset)
    with f:
        response = next(records)
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request = next(records)
    assert request.rec_type == "request"
    line = f"{request.http_headers.protocol} {request.http_headers.statusline}"
    assert line == "GET /akhbar?page=1 HTTP/1.1"
    assert request.http_headers.get_header("User-Agent").startswith("arshif/")
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response_id


def test_articles_are_found_by_every_discovery_path(demo_archive):
    discovery = [json.loads(d) for (d,) in query(demo_archive, "SELECT discovery FROM articles")]
    sources = {source for d in discovery for source in d["sources"]}
    assert {"rss", "atom", "sitemap", "news-sitemap", "listing"} <= sources
    news = [d for d in discovery if "news-sitemap" in d["sources"]]
    assert news and all(d.get("title") and d.get("published") for d in news)
    later_pages = [
        d for d in discovery if d.get("source") == "listing" and "page" in d.get("listing", "")
    ]
    assert len(later_pages) >= 5 * 15  # the 15 per site that only listing pages 2+ link


def test_one_row_per_article_despite_aliases_and_short_links(demo_archive):
    aliases = query(
        demo_archive,
        "SELECT count(*) FROM articles WHERE fetched_url LIKE 'https://hafryat.com/ar/node/%'",
    )
    assert aliases[0][0] > 0
    assert query(
        demo_archive, "SELECT count(*) FROM articles WHERE url LIKE 'https://hafryat.com/ar/%'"
    ) == [(0,)]
    assert query(demo_archive, "SELECT count(*) FROM articles WHERE url LIKE '%?p=%'") == [(0,)]
    fetched = query(
        demo_archive,
        "SELECT url, count(*) FROM captures WHERE kind = 'article' AND status = 200 GROUP BY url HAVING count(*) > 1",
    )
    assert fetched == []


def test_scrapy_crawl_through_the_proxy(mirror_proxy, tmp_path):
    """The README's command: arshif mirror serve, then scrapy crawl hafryat with the proxy exported."""
    contact = "https://archive.example.org/contact"
    env = crawl_env(
        mirror_proxy,
        ARSHIF_DATA_DIR=str(tmp_path),
        ARSHIF_LOG_LEVEL="WARNING",
        ARSHIF_CONTACT=contact,
    )
    result = run([str(BIN / "scrapy"), "crawl", "hafryat", "-s", "DOWNLOAD_DELAY=0"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and " ERROR" not in result.stderr, result.stderr
    assert "ARSHIF_CONTACT is unset" not in result.stderr
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE site = 'hafryat'")[0][0] >= 30
    assert query(tmp_path, "SELECT status FROM crawl_runs") == [("ok",)]
    (warc,) = (tmp_path / "warc").glob("hafryat-*.warc.gz")
    with warc.open("rb") as f:
        agents = {
            r.http_headers.get_header("User-Agent")
            for r in ArchiveIterator(f)
            if r.rec_type == "request"
        }
    assert agents == {f"arshif/0.1.0 (news archive crawler; +{contact})"}


def test_unreachable_sites_end_with_a_summary_and_nonzero_exit(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every connection is refused
    result = run(
        [str(BIN / "arshif"), "crawl", "--data", str(tmp_path)], crawl_env(dead), timeout=180
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for key in ["lebanontab", "hoseinmortada", "hafryat"]:
        assert any(
            line.startswith(key) and "unreachable" in line for line in result.stdout.splitlines()
        ), key
    assert "3 of 3 site(s) failed" in result.stderr
    assert list((tmp_path / "logs").glob("crawl-*.log"))  # details kept for the operator


def test_status_says_no_articles_or_failed_and_the_crawl_exits_1(mirror_proxy, tmp_path):
    # A WordPress site given article rules that match none of its URLs, and a site whose
    # host the mirror does not hold: every answer is a 502, retried three times each.
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[sites.wrongrules]\ncms = "wordpress"\ndomains = ["www.hoseinmortada.com"]\n'
        "article_urls = ['^/news/\\d+$']\n\n"
        '[sites.down]\ncms = "wordpress"\ndomains = ["www.down.example"]\n',
        encoding="utf-8",
    )
    data = tmp_path / "data"
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
    args = ["--data", str(data), "--sites", str(sites), *fast, "-s", "ARSHIF_RETRY_BACKOFF=0"]
    env = crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org")
    result = run([str(BIN / "arshif"), "crawl", *args, "wrongrules", "down"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    wrong, down = lines["wrongrules"], lines["down"]
    assert wrong.split()[1] == "no-articles", wrong
    assert "no URL matched an article rule: 4 feed(s)/sitemap(s) and 1 listing page(s)" in wrong
    assert "e.g. https://www.hoseinmortada.com/" in wrong
    assert down.split()[1] == "failed" and "(0 revisits)" in down, down
    assert "no page could be fetched: 16 x 502" in down
    assert "2 of 2 site(s) failed: wrongrules, down" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "ARSHIF_CONTACT is unset" not in result.stderr  # it is set
    (log,) = (data / "logs").glob("crawl-*.log")
    assert "Traceback" not in log.read_text(encoding="utf-8")  # each failure is one line
    # The run log says what the summary said.
    stats = run([str(BIN / "arshif"), "stats", "--data", str(data)], env).stdout
    assert "wrongrules       no-articles" in stats and "no URL matched an article rule" in stats
    assert "down             failed" in stats and "0 revisits" in stats
    assert query(data, "SELECT site, status, revisits FROM crawl_runs ORDER BY site") == [
        ("down", "failed", 0),
        ("wrongrules", "no-articles", 0),
    ]
    # A repeated 502 is kept whole, never as a revisit of the first one.
    assert query(
        data, "SELECT DISTINCT record_type FROM captures WHERE site = 'down' AND status = 502"
    ) == [("response",)]


def test_a_crawl_without_contact_warns_once_at_start(mirror_proxy, tmp_path):
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
    result = run(
        [str(BIN / "arshif"), "crawl", "--data", str(tmp_path), *fast, "hafryat"],
        crawl_env(mirror_proxy),  # no ARSHIF_ variable at all
    )
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "ARSHIF_CONTACT is unset" in line]
    assert len(warnings) == 1
    assert result.stderr.splitlines()[0] == warnings[0]  # before the crawl says anything
    (warc,) = (tmp_path / "warc").glob("hafryat-*.warc.gz")
    with warc.open("rb") as f:
        agents = {
            r.http_headers.get_header("User-Agent")
            for r in ArchiveIterator(f)
            if r.rec_type == "request"
        }
    assert agents == {"arshif/0.1.0 (news archive crawler; +contact unset: set ARSHIF_CONTACT)"}


def test_a_crawl_not_on_a_terminal_prints_a_plain_progress_line_per_interval(
    mirror_proxy, tmp_path
):
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]
    every = ["-s", "ARSHIF_PROGRESS_INTERVAL=0.2"]
    result = run(
        [str(BIN / "arshif"), "crawl", "--data", str(tmp_path), *fast, *every, "hafryat"],
        crawl_env(mirror_proxy, ARSHIF_CONTACT="test@example.org"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    done = next(i for i, line in enumerate(lines) if line.startswith("  done: hafryat"))
    progress = [
        i
        for i, line in enumerate(lines)
        if re.fullmatch(
            r"  \d\d:\d\d:\d\d hafryat: \d+ requests, \d+ articles, \d+ errors,"
            r" \d+ requests/min",
            line,
        )
    ]
    # hafryat's 503 asks for a second's wait: several intervals pass before it is done.
    assert len(progress) >= 2, result.stderr  # at least two intervals, even on a loaded machine
    assert all(i < done for i in progress)
    assert "\r" not in result.stderr and "\x1b" not in result.stderr  # plain lines for cron


def test_scrapy_crawl_errors_are_one_clear_line(tmp_path):
    env = crawl_env(None, ARSHIF_DATA_DIR=str(tmp_path))
    unknown = run([str(BIN / "scrapy"), "crawl", "nosuch"], env)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert (
        "error: unknown site 'nosuch'; known sites: lebanontab, hoseinmortada, hafryat"
        in unknown.stderr
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    env["ARSHIF_DATA_DIR"] = str(blocker / "data")
    unwritable = run([str(BIN / "scrapy"), "crawl", "hafryat"], env)
    assert unwritable.returncode == 2 and "Traceback" not in unwritable.stderr
    assert f"error: data directory {blocker / 'data'}: cannot create it" in unwritable.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[sites.hafryat]\nlanguage = 7\n")
    env |= {"ARSHIF_DATA_DIR": str(tmp_path), "ARSHIF_SITES": str(bad)}
    broken = run([str(BIN / "scrapy"), "list"], env)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert "site 'hafryat', field 'language'" in broken.stderr


def test_scrapy_list_includes_user_sites(extra_sites):
    result = run(
        [str(BIN / "scrapy"), "list"], crawl_env(None, ARSHIF_SITES=str(extra_sites)), cwd=ROOT
    )
    assert result.stdout.split() == [
        "custom_news",
        "hafryat",
        "hoseinmortada",
        "lebanontab",
        "repost_blog",
    ]


def test_a_drupal_path_alias_and_its_node_are_one_article(demo_archive):
    # /taqarir links three reports as /تقارير/{nid}/{slug}; the feed and sitemap as /node/{nid}.
    prefix = "https://hafryat.com/%D8%AA%D9%82%D8%A7%D8%B1%D9%8A%D8%B1/"
    rows = query(
        demo_archive,
        "SELECT x.url, a.url FROM article_aliases x JOIN articles a ON a.id = x.article_id"
        " WHERE x.url LIKE ?",
        prefix + "%",
    )
    assert len(rows) == 3, rows
    for alias, url in rows:
        nid = alias[len(prefix) :].split("/")[0]
        assert url == f"https://hafryat.com/node/{nid}"
        fetched = query(
            demo_archive,
            "SELECT count(*) FROM captures WHERE status = 200 AND url IN (?, ?)",
            alias,
            url,
        )
        assert fetched == [(1,)], (alias, fetched)  # one fetch for the pair, not two
    assert query(demo_archive, "SELECT count(*) FROM articles WHERE url LIKE ?", prefix + "%") == [
        (0,)
    ]
