"""Scheduled crawls: incremental, versioned, locked, verified, exported.

Each test crawls hafryat from a copy of the mirror that it may edit between
runs, through a proxy on loopback, as cron would run arshif.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.capture.lock import LOCKED_EXIT, CrawlLock
from archive.cli import cli
from mirror import BUNDLED
from mirror.server import MirrorServer
from tests.conftest import BIN, crawl_env, run

pytestmark = pytest.mark.e2e
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]


@pytest.fixture()
def site(tmp_path):
    """A private copy of the mirror, served, and a data directory."""
    copy = tmp_path / "mirror"
    shutil.copytree(BUNDLED, copy)
    server = MirrorServer(copy)
    proxy = server.start_in_thread()
    yield copy / "hafryat.com", proxy, tmp_path / "data"
    server.stop()


def crawl(proxy: str, data: Path) -> subprocess.CompletedProcess[str]:
    result = run(
        [str(BIN / "arshif"), "crawl", "hafryat", "--data", str(data), *FAST], crawl_env(proxy)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def query(data: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql, params).fetchall()


def warc_records(data: Path, run_id: int) -> list[tuple[str, str]]:
    """(record type, URI) of every response or revisit record written by a run."""
    files = json.loads(query(data, "SELECT warc_files FROM crawl_runs WHERE id = ?", run_id)[0][0])
    out = []
    for name in files:
        with (data / "warc" / name).open("rb") as f:
            out += [
                (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                for r in ArchiveIterator(f)
                if r.rec_type in ("response", "revisit")
            ]
    return out


def is_article(uri: str) -> bool:
    return re.search(r"/node/\d+$", uri) is not None


def test_second_crawl_of_an_unchanged_site_fetches_no_article(site):
    _, proxy, data = site
    crawl(proxy, data)
    rows_before = query(data, "SELECT count(*) FROM articles")[0][0]
    result = crawl(proxy, data)
    assert query(data, "SELECT count(*) FROM articles")[0][0] == rows_before >= 34
    assert not any(is_article(uri) for _, uri in warc_records(data, 2))
    assert query(data, "SELECT count(*) FROM captures WHERE run_id = 2 AND kind = 'article'") == [
        (0,)
    ]
    new, updated, unchanged, revisits = query(
        data,
        "SELECT new_articles, updated_articles, unchanged_articles, revisits FROM crawl_runs WHERE id = 2",
    )[0]
    assert (new, updated, unchanged) == (0, 0, 0) and revisits > 0
    assert "0 new   0 updated" in result.stdout


def test_edits_become_versions_and_additions_new_articles(site):
    host, proxy, data = site
    crawl(proxy, data)
    sitemap = (host / "sitemap.xml").read_text(encoding="utf-8")
    in_sitemap = re.findall(r"<loc>https://hafryat.com(/node/\d+)</loc>", sitemap)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    edited = in_sitemap[:3]
    for path in edited:
        page = (host / path.lstrip("/")).read_text(encoding="utf-8")
        page = page.replace("<p>", "<p>تصحيح: ", 1)
        (host / path.lstrip("/")).write_text(page, encoding="utf-8")
        sitemap = re.sub(
            rf"(<loc>https://hafryat.com{path}</loc><lastmod>)[^<]+", rf"\g<1>{now}", sitemap
        )
    template = (host / edited[0].lstrip("/")).read_text(encoding="utf-8")
    added = []
    for n in range(5):
        path = f"/node/{99901 + n}"
        title = f"خبر جديد رقم {n + 1} عن المفاوضات بين الجانبين"
        page = re.sub(r'<h1 class="page-title">[^<]*', f'<h1 class="page-title">{title}', template)
        page = re.sub(r'<h2 class="node-title">[^<]*', f'<h2 class="node-title">{title}', page)
        page = re.sub(
            r'href="https://hafryat.com/node/\d+"', f'href="https://hafryat.com{path}"', page
        )
        page = page.replace("<p>", f"<p>الخبر {n + 1}: ", 1)
        (host / path.lstrip("/")).write_text(page, encoding="utf-8")
        added.append(path)
        sitemap = sitemap.replace(
            "</urlset>",
            f"<url><loc>https://hafryat.com{path}</loc><lastmod>{now}</lastmod></url></urlset>",
        )
    (host / "sitemap.xml").write_text(sitemap, encoding="utf-8")

    crawl(proxy, data)
    new, updated, unchanged = query(
        data,
        "SELECT new_articles, updated_articles, unchanged_articles FROM crawl_runs WHERE id = 2",
    )[0]
    assert (new, updated, unchanged) == (5, 3, 0)
    fetched = sorted(
        uri.removeprefix("https://hafryat.com")
        for kind, uri in warc_records(data, 2)
        if is_article(uri)
    )
    assert fetched == sorted(edited + added)  # no other article got a record, full or revisit
    for path in edited:
        article_id, versions, text = query(
            data,
            "SELECT id, versions, text FROM articles WHERE url = ?",
            f"https://hafryat.com{path}",
        )[0]
        assert versions == 2 and text.startswith("تصحيح: ")
        old, new_version = query(
            data,
            "SELECT text, warc_record_id FROM article_versions WHERE article_id = ? ORDER BY version",
            article_id,
        )
        assert not old[0].startswith("تصحيح") and new_version[0].startswith("تصحيح")
    assert query(data, "SELECT count(*) FROM articles")[0][0] == 34 + 5
    result = CliRunner().invoke(cli, ["verify", "--data", str(data)])
    assert result.exit_code == 0, result.output


def test_two_crawls_started_together(site):
    _, proxy, data = site
    env = crawl_env(proxy)
    first = subprocess.Popen(
        [str(BIN / "arshif"), "crawl", "hafryat", "--data", str(data), *FAST],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = data / "crawl.lock"
    deadline = time.monotonic() + 30
    while not (lock.exists() and lock.read_text().startswith("pid")):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    started = time.monotonic()
    second = run([str(BIN / "arshif"), "crawl", "hafryat", "--data", str(data), *FAST], env)
    assert time.monotonic() - started < 15  # at once: it does not wait for the first
    assert second.returncode == LOCKED_EXIT
    assert (
        "another arshif crawl is running on" in second.stderr and "Traceback" not in second.stderr
    )
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    assert query(data, "SELECT count(*) FROM crawl_runs") == [(1,)]


def test_lock_is_released_and_reports_its_holder(tmp_path):
    with CrawlLock(tmp_path):
        result = CliRunner().invoke(cli, ["crawl", "hafryat", "--data", str(tmp_path)])
        assert result.exit_code == LOCKED_EXIT and "pid" in result.output
    with CrawlLock(tmp_path):  # free again
        pass


def test_verify_finds_truncation_and_missing_records(site):
    _, proxy, data = site
    crawl(proxy, data)
    assert CliRunner().invoke(cli, ["verify", "--data", str(data)]).exit_code == 0
    broken = data.parent / "broken"
    shutil.copytree(data, broken)
    (warc,) = (broken / "warc").glob("*.warc.gz")
    content = warc.read_bytes()
    warc.write_bytes(content[: len(content) * 2 // 3])
    result = CliRunner().invoke(cli, ["verify", "--data", str(broken)])
    assert result.exit_code == 1
    assert f"{warc.name}: unreadable after offset" in result.output
    assert re.search(
        rf"(unreadable record|no record|wrong record) at {re.escape(warc.name)} @ \d+ \(article https://hafryat.com/node/\d+, version 1\)",
        result.output,
    )
    missing = data.parent / "missing"
    shutil.copytree(data, missing)
    with sqlite3.connect(missing / "archive.db") as db:
        db.execute("UPDATE article_versions SET warc_offset = warc_offset + 7 WHERE id = 1")
        url = db.execute(
            "SELECT a.url FROM article_versions v JOIN articles a ON a.id = v.article_id WHERE v.id = 1"
        ).fetchone()[0]
    result = CliRunner().invoke(cli, ["verify", "--data", str(missing)])
    assert result.exit_code == 1 and f"(article {url}, version 1)" in result.output
    assert len([line for line in result.output.splitlines() if "article " in line]) == 1


def test_export_formats_and_filters(site):
    _, proxy, data = site
    crawl(proxy, data)
    runner = CliRunner()
    jsonl = runner.invoke(cli, ["export", "--data", str(data), "--format", "jsonl"])
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(records) == 34 and all(r["site"] == "hafryat" and r["text"] for r in records)
    assert isinstance(records[0]["authors"], list)
    october = runner.invoke(
        cli,
        [
            "export",
            "--data",
            str(data),
            "--format",
            "csv",
            "--since",
            "2020-10-01",
            "--until",
            "2020-10-31",
        ],
    )
    lines = october.stdout.splitlines()
    assert lines[0].startswith("\ufeffid,url,site,title,text,published")  # BOM for Excel
    dates = [r["published"] for r in records if "2020-10-01" <= r["published"][:10] <= "2020-10-31"]
    import csv
    import io

    assert len(list(csv.DictReader(io.StringIO(october.stdout)))) == len(dates) > 0
    parquet = data.parent / "a.parquet"
    result = runner.invoke(
        cli, ["export", "--data", str(data), "--format", "parquet", "-o", str(parquet)]
    )
    assert result.exit_code == 0
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    assert table.num_rows == 34 and "text" in table.schema.names
    assert runner.invoke(cli, ["export", "--data", str(data), "--format", "parquet"]).exit_code == 2


def test_stats_shows_the_run_log(site):
    _, proxy, data = site
    crawl(proxy, data)
    crawl(proxy, data)
    result = CliRunner().invoke(cli, ["stats", "--data", str(data)])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("run")]
    assert (
        len(lines) == 2 and "34 new" in lines[0] and "0 new" in lines[1] and "revisits" in lines[1]
    )
    runs = json.loads(CliRunner().invoke(cli, ["stats", "--data", str(data), "--json"]).output)
    assert {
        "requests",
        "by_status",
        "bytes",
        "new_articles",
        "revisits",
        "error_kinds",
        "duration",
    } <= set(runs[0])


def test_crawl_log_file_is_under_the_data_directory(site):
    _, proxy, data = site
    result = crawl(proxy, data)
    (log,) = (data / "logs").glob("crawl-*.log")
    assert str(log) in result.stderr and "Spider closed (finished)" in log.read_text()
    assert gzip  # the WARC files, not the log, are gzipped


def test_an_article_first_stored_from_a_revisit_gets_its_metadata_record(site):
    # A run killed between a page's capture and its save leaves the capture (and its
    # digest) without an article: the next run's fetch is a revisit of it, and the
    # article stored then must carry a metadata record like any first capture.
    _, proxy, data = site
    crawl(proxy, data)
    lost = [row[0] for row in query(data, "SELECT id FROM articles ORDER BY id LIMIT 3")]
    marks = ",".join("?" * len(lost))
    with sqlite3.connect(data / "archive.db") as db:
        for table in ("article_versions", "article_aliases", "fingerprint_bands"):
            db.execute(f"DELETE FROM {table} WHERE article_id IN ({marks})", lost)
        db.execute(f"DELETE FROM articles_fts WHERE rowid IN ({marks})", lost)
        urls = [r[0] for r in db.execute(f"SELECT url FROM articles WHERE id IN ({marks})", lost)]
        db.execute(f"DELETE FROM articles WHERE id IN ({marks})", lost)
    crawl(proxy, data)
    back = query(
        data,
        f"SELECT url, metadata_record_id FROM articles WHERE url IN ({','.join('?' * len(urls))})",
        *urls,
    )
    assert sorted(u for u, _ in back) == sorted(urls)
    assert all(record_id for _, record_id in back), back
    described = set()
    for name in sorted((data / "warc").iterdir()):
        with name.open("rb") as f:
            described |= {
                r.rec_headers.get_header("WARC-Record-ID")
                for r in ArchiveIterator(f)
                if r.rec_type == "metadata"
            }
    assert {record_id for _, record_id in back} <= described
