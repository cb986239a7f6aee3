"""Extraction as the crawl and re-extraction apply it, checked on the demo archive."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.cli import cli
from archive.urls import canonicalize
from tests.conftest import BIN, crawl_env, run
from tests.test_golden import GOLD, SEEDS, TRUTH, ws

pytestmark = pytest.mark.e2e


def rows(data: Path, sql: str, *params) -> list[sqlite3.Row]:
    with sqlite3.connect(data / "archive.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchall()


def test_seed_articles_in_the_archive_match_gold(demo_archive):
    for seed, gold in GOLD.items():
        (row,) = rows(demo_archive, "SELECT * FROM articles WHERE url = ?", SEEDS[seed]["url"])
        assert ws(row["text"]) == ws(" ".join(gold["text_paragraphs"])), seed
        assert row["title"] == gold["title"] and row["published"][:10] == gold["published"]
        assert row["language"] == "ar" and row["word_count"] > 100
    assert (
        rows(demo_archive, "SELECT category FROM articles WHERE site = 'hoseinmortada' LIMIT 1")[0][
            0
        ]
        == "تقدير موقف"
    )


def test_every_archived_article_matches_its_truth(demo_archive):
    archived = {
        r["url"]: r for r in rows(demo_archive, "SELECT url, title, text, published FROM articles")
    }
    assert len(archived) == len(TRUTH)
    for entry in TRUTH:
        row = archived[canonicalize(entry["url"])]
        assert ws(row["text"]) == ws(" ".join(entry["text_paragraphs"])), entry["file"]
        assert row["title"] == entry["title"] and row["published"][:10] == entry["published"]


def test_single_byte_arabic_pages_are_archived_as_arabic(demo_archive):
    legacy = [t for t in TRUTH if t["encoding"] != "utf-8"]
    assert {t["encoding"] for t in legacy} == {"cp1256", "iso8859-6"}
    for entry in legacy:
        (row,) = rows(
            demo_archive, "SELECT text, encoding FROM articles WHERE url = ?", entry["url"]
        )
        assert row["encoding"] == entry["encoding"]
        assert ws(row["text"]) == ws(" ".join(entry["text_paragraphs"]))
    (capture,) = rows(
        demo_archive, "SELECT content_type FROM captures WHERE url = ?", legacy[0]["url"]
    )
    assert capture["content_type"] == "text/html"  # no charset from the server


def test_each_article_response_has_a_metadata_record(demo_archive):
    for row in rows(
        demo_archive,
        "SELECT url, warc_filename, warc_record_id, metadata_record_id, title FROM articles",
    ):
        assert row["metadata_record_id"], row["url"]
    by_file: dict[str, dict[str, dict]] = {}
    for path in (demo_archive / "warc").glob("*.warc.gz"):
        with path.open("rb") as f:
            by_file[path.name] = {
                r.rec_headers.get_header("WARC-Record-ID"): {
                    "type": r.rec_type,
                    "to": r.rec_headers.get_header("WARC-Concurrent-To"),
                    "body": r.content_stream().read() if r.rec_type == "metadata" else b"",
                    "ctype": r.rec_headers.get_header("Content-Type"),
                }
                for r in ArchiveIterator(f)
            }
    for row in rows(demo_archive, "SELECT * FROM articles"):
        records = by_file[row["warc_filename"]]
        meta = records[row["metadata_record_id"]]
        assert meta["type"] == "metadata" and meta["ctype"] == "application/json"
        assert meta["to"] == row["warc_record_id"]
        data = json.loads(meta["body"])
        assert data["title"] == row["title"] and data["published"] == row["published"]


@pytest.fixture()
def archive_copy(demo_archive, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(demo_archive, target)
    return target


def reextract(data: Path, *extra: str) -> str:
    result = run(
        [str(BIN / "arshif"), "reextract", "--data", str(data), "--sites", str(EXTRA), *extra],
        crawl_env(None),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


EXTRA = Path(__file__).resolve().parent.parent / "mirror" / "bundled" / "extra-sites.toml"
COLUMNS = "url, site, title, text, published, modified, language, category, warc_filename, warc_offset, metadata_record_id, discovery"


def test_reextract_reproduces_the_crawls_rows_and_is_idempotent(archive_copy):
    before = rows(archive_copy, f"SELECT {COLUMNS} FROM articles ORDER BY url")
    assert reextract(archive_copy).endswith(f"0 new rows, 0 updated, {len(before)} unchanged")
    assert [
        tuple(r) for r in rows(archive_copy, f"SELECT {COLUMNS} FROM articles ORDER BY url")
    ] == [tuple(r) for r in before]


def test_reextract_rebuilds_a_lost_database_from_warc_alone(archive_copy):
    before = rows(archive_copy, f"SELECT {COLUMNS} FROM articles ORDER BY url")
    for name in ("archive.db", "archive.db-wal", "archive.db-shm"):
        (archive_copy / name).unlink(missing_ok=True)
    assert f"{len(before)} new rows" in reextract(archive_copy, "-j", "2")
    assert [
        tuple(r) for r in rows(archive_copy, f"SELECT {COLUMNS} FROM articles ORDER BY url")
    ] == [tuple(r) for r in before]


def test_reextract_applies_a_changed_rule(archive_copy, tmp_path):
    rule = tmp_path / "rule.toml"
    rule.write_text(
        "[sites.lebanontab]\ncleanup = [\"//*[contains(@class, 'article-lead')]\", \"//*[contains(@class, 'latest-videos')]\"]\n"
    )
    seed = SEEDS["000_6b939b76667bada4.txt"]
    lead = GOLD["000_6b939b76667bada4.txt"]["text_paragraphs"][0]
    assert rows(archive_copy, "SELECT text FROM articles WHERE url = ?", seed["url"])[0][
        0
    ].startswith(lead)
    result = run(
        [
            str(BIN / "arshif"),
            "reextract",
            "--data",
            str(archive_copy),
            "--site",
            "lebanontab",
            "--sites",
            str(rule),
        ],
        crawl_env(None),
    )
    assert result.returncode == 0, result.stderr
    assert "36 updated" in result.stdout
    text = rows(archive_copy, "SELECT text FROM articles WHERE url = ?", seed["url"])[0][0]
    assert not text.startswith(lead) and ws(text) == ws(
        " ".join(GOLD["000_6b939b76667bada4.txt"]["text_paragraphs"][1:])
    )
    # the other sites are untouched
    assert (
        rows(archive_copy, "SELECT count(*) FROM articles WHERE site != 'lebanontab'")[0][0]
        == len(TRUTH) - 36
    )


def test_extract_command_prints_the_record(tmp_path):
    seed = SEEDS["004_5d4b8b73bcb36329.txt"]
    page = Path(__file__).resolve().parent.parent / "mirror" / "bundled" / seed["file"]
    result = CliRunner().invoke(cli, ["extract", str(page), "--url", seed["url"]])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    for key in [
        "url",
        "site",
        "title",
        "text",
        "published",
        "modified",
        "authors",
        "language",
        "category",
        "description",
    ]:
        assert key in record
    assert record["site"] == "hafryat" and record["published"] == "2020-11-01"
    generic = CliRunner().invoke(cli, ["extract", str(page), "--url", "https://unknown.example/a"])
    assert json.loads(generic.output)["site"] is None
    unknown = CliRunner().invoke(
        cli, ["extract", str(page), "--url", seed["url"], "--site", "nope"]
    )
    assert unknown.exit_code == 1 and "unknown site 'nope'" in unknown.output


def test_the_wire_story_and_its_repost_share_a_duplicate_group(demo_archive):
    groups = rows(
        demo_archive,
        "SELECT duplicate_group, group_concat(site) AS sites, count(*) AS n FROM articles"
        " WHERE duplicate_group IS NOT NULL GROUP BY duplicate_group",
    )
    assert [(set(g["sites"].split(",")), g["n"]) for g in groups] == [
        ({"repost_blog", "custom_news"}, 2)
    ]


def test_verify_passes_on_the_demo_archive(demo_archive):
    result = CliRunner().invoke(cli, ["verify", "--data", str(demo_archive)])
    assert result.exit_code == 0, result.output


def test_reextract_finds_the_sites_files_the_crawl_used(archive_copy):
    # The demo crawled the mirror's extra .example sites from a file of its own; a later
    # reextract on the same data directory needs no --sites to know them.
    assert (archive_copy / "sites-files.txt").read_text().splitlines() == [str(EXTRA.resolve())]
    before = rows(archive_copy, f"SELECT {COLUMNS} FROM articles ORDER BY url")
    result = run([str(BIN / "arshif"), "reextract", "--data", str(archive_copy)], crawl_env(None))
    assert result.returncode == 0, result.stderr
    assert "skipped" not in result.stderr
    assert result.stdout.strip().endswith(f"0 updated, {len(before)} unchanged")


def test_a_recorded_sites_file_that_is_gone_is_named(tmp_path):
    from archive.discover.sites import record_sites_files, recorded_sites_files

    kept, gone = tmp_path / "kept.toml", tmp_path / "gone.toml"
    kept.write_text("")
    gone.write_text("")
    record_sites_files(tmp_path, [kept, gone])
    record_sites_files(tmp_path, [kept])  # a later crawl adds nothing twice
    gone.unlink()
    missing: list[Path] = []
    assert recorded_sites_files(tmp_path, missing=missing.append) == [kept.resolve()]
    assert missing == [gone.resolve()]
