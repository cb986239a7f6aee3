from __future__ import annotations

import json
import sqlite3

import pytest

from archive.capture.warc import WarcPointer
from archive.discover.sites import load_registry
from archive.store import db as schema
from archive.store.writer import Archive, DataDirError, RunFigures, check_data_dir

SITE = load_registry()["hafryat"]
POINTER = WarcPointer(
    "hafryat-x.warc.gz", 120, 900, "<urn:uuid:1>", "sha1:ABC", "2026-01-01T00:00:00Z"
)


def article(**kw) -> dict:
    row = {
        "url": "https://hafryat.com/node/1",
        "site": "hafryat",
        "title": "عنوان",
        "text": "نص",
        "published": "2020-11-01",
        "language": "ar",
        "fetched_url": "https://hafryat.com/ar/node/1",
        "fetched": "2026-01-01T00:00:00+00:00",
        "warc_filename": POINTER.filename,
        "warc_offset": POINTER.offset,
        "warc_length": POINTER.length,
        "warc_record_id": POINTER.record_id,
        "payload_digest": POINTER.payload_digest,
        "discovery": {"source": "rss"},
    }
    return row | kw


def test_new_database_is_migrated_to_the_current_version():
    archive = Archive.in_memory()
    assert archive.db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert {"sites", "crawl_runs", "captures", "articles"} <= set(archive.db.table_names())
    columns = {c.name for c in archive.db.table("articles").columns}
    assert {
        "url",
        "site",
        "title",
        "text",
        "published",
        "language",
        "warc_filename",
        "warc_offset",
    } <= columns


def test_migrate_is_idempotent_and_refuses_newer_schemas(tmp_path):
    path = tmp_path / "a.db"
    first = schema.connect(path)
    assert schema.migrate(first) == 0
    first.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    first.close()
    with pytest.raises(schema.ArchiveSchemaError, match="newer than this arshif"):
        schema.connect(path)


def test_file_archive_uses_wal(tmp_path):
    archive = Archive.open(tmp_path / "data")
    assert archive.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (tmp_path / "data" / "warc").is_dir()


def test_runs_captures_and_articles():
    archive = Archive.in_memory()
    run_id = archive.start_run(SITE)
    capture = archive.add_capture(
        run_id=run_id, site="hafryat", url="https://hafryat.com/node/1", kind="article",
        status=200, fetched="2026-01-01T00:00:00+00:00", pointer=POINTER,
    )  # fmt: skip
    archive.save_article(article(capture_id=capture, run_id=run_id))
    archive.save_article(article(title="عنوان معدل", capture_id=capture, run_id=run_id))
    assert archive.article_count() == 1 == archive.article_count("hafryat")
    row = archive.db.execute("SELECT title, discovery, warc_offset FROM articles").fetchone()
    assert row[0] == "عنوان معدل" and json.loads(row[1]) == {"source": "rss"} and row[2] == 120
    archive.finish_run(
        run_id, RunFigures(status="ok", responses=1, articles=1, by_status={"200": 1})
    )
    run = archive.run(run_id)
    assert run["status"] == "ok" and json.loads(run["by_status"]) == {"200": 1} and run["finished"]


def test_article_needs_a_known_site():
    archive = Archive.in_memory()
    with pytest.raises(sqlite3.IntegrityError):
        archive.save_article(article(site="nowhere"))


def test_data_dir_errors_are_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataDirError) as info:
        check_data_dir(blocker / "data")
    assert str(blocker / "data") in str(info.value) and "\n" not in str(info.value)


def _capture(n: int, **kw) -> dict:
    base = article(
        fetched=f"2026-01-0{n}T00:00:00+00:00",
        warc_offset=100 * n,
        warc_record_id=f"<urn:uuid:{n}>",
        payload_digest=f"sha1:{n}",
    )
    return base | kw


def test_versions_new_updated_unchanged():
    archive = Archive.in_memory()
    archive.register_site(SITE)
    assert archive.save_article(_capture(1)) == "new"
    assert archive.save_article(_capture(2)) == "unchanged"  # a new capture, the same words
    assert (
        archive.save_article(_capture(3, text="نص   ")) == "unchanged"
    )  # white space is not a change
    assert archive.save_article(_capture(4, text="نص معدل")) == "updated"
    row = archive.db.execute(
        "SELECT versions, text, warc_offset, last_checked FROM articles"
    ).fetchone()
    assert row == (2, "نص معدل", 400, "2026-01-04T00:00:00+00:00")
    versions = archive.db.execute(
        "SELECT version, text, warc_offset FROM article_versions ORDER BY version"
    ).fetchall()
    assert versions == [(1, "نص", 100), (2, "نص معدل", 400)]
    # re-reading the first capture (re-extraction) corrects that version in place
    assert archive.save_article(_capture(1, text="نص مصحح")) == "updated"
    assert archive.db.execute("SELECT text FROM article_versions WHERE version = 1").fetchone() == (
        "نص مصحح",
    )
    assert archive.db.execute("SELECT text FROM articles").fetchone() == ("نص معدل",)


def test_aliases_make_one_article():
    archive = Archive.in_memory()
    archive.register_site(SITE)
    archive.save_article(_capture(1), aliases=["https://hafryat.com/?q=node/1"])
    assert archive.save_article(_capture(2, url="https://hafryat.com/?q=node/1")) == "unchanged"
    assert archive.article_count() == 1
    known = archive.known("https://hafryat.com/ar/node/1")  # the fetched URL is an alias too
    assert (
        known is not None and known.versions == 1 and known.first_fetched.startswith("2026-01-01")
    )
    assert archive.known("https://hafryat.com/node/999") is None


def test_near_duplicates_share_a_group():
    archive = Archive.in_memory()
    archive.register_site(SITE)
    story = " ".join(
        f"قالت وزارة الدفاع في بيانها رقم {i} إن القوات تقدمت نحو الحدود الشمالية"
        for i in range(12)
    )
    other = " ".join(
        f"أعلن البنك المركزي في تقريره رقم {i} ارتفاع معدلات التضخم خلال الشهر" for i in range(12)
    )
    archive.save_article(_capture(1, url="https://hafryat.com/node/1", text=story))
    archive.save_article(
        _capture(
            2, url="https://hafryat.com/node/2", text="نقلا عن الجزيرة: " + story + " رابط المصدر"
        )
    )
    archive.save_article(_capture(3, url="https://hafryat.com/node/3", text=other))
    groups = dict(archive.db.execute("SELECT url, duplicate_group FROM articles").fetchall())
    assert groups["https://hafryat.com/node/1"] == groups["https://hafryat.com/node/2"] is not None
    assert groups["https://hafryat.com/node/3"] is None


def test_migration_6_registers_the_index_for_sqlite_utils_and_keeps_it(tmp_path):
    import sqlite_utils

    db = sqlite_utils.Database(tmp_path / "v5.db")
    for number, step in enumerate(schema.MIGRATIONS[:5], start=1):  # an archive as of v5
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(
        "INSERT INTO articles (id, url, site, title, text, fetched_url, fetched, warc_filename,"
        " warc_offset, warc_length, warc_record_id, payload_digest)"
        " VALUES (7, 'u', 'hafryat', 'أذربيجان', 'نص', 'u', 'f', 'w', 0, 1, 'r', 'd')"
    )
    db.execute("INSERT INTO articles_fts (rowid, title, text) VALUES (7, 'اذربيج', 'نص')")
    assert db["articles"].detect_fts() is None  # what `sqlite-utils search` used to meet
    assert schema.migrate(db) == schema.SCHEMA_VERSION - 5  # 6 and any later steps
    assert db["articles"].detect_fts() == "articles_fts"
    assert [r["id"] for r in db["articles"].search("اذربيج")] == [7]  # copied, not rebuilt
    assert "articles_fts_m005" not in db.table_names()
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
