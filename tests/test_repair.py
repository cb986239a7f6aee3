"""`arshif verify --repair`: a torn WARC tail moved aside, lost records flagged, missing rows
re-extracted; nothing deleted."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.cli import cli


def verify(data: Path, *args: str):
    return CliRunner().invoke(cli, ["verify", "--data", str(data), *args])


def query(data: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(data / "archive.db") as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture()
def data(demo_archive: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(demo_archive, copy)
    return copy


def record_offsets(path: Path) -> list[int]:
    with path.open("rb") as f:
        records = ArchiveIterator(f)
        return [records.get_record_offset() for _ in records]


def test_repair_moves_a_torn_tail_aside_and_flags_the_rows_in_it(data):
    # The WARC file with the most article versions; cut inside the last but one of them.
    (filename, _), *_ = query(
        data,
        "SELECT warc_filename, count(*) AS n FROM article_versions"
        " GROUP BY warc_filename ORDER BY n DESC",
    )
    warc = data / "warc" / filename
    offsets = [o for (o,) in query(
        data, "SELECT warc_offset FROM article_versions WHERE warc_filename = ?"
        " ORDER BY warc_offset", filename)]  # fmt: skip
    cut_record = offsets[-2]
    content = warc.read_bytes()
    torn = content[: cut_record + 300]  # inside that record's gzip member
    warc.write_bytes(torn)
    rows_before = query(data, "SELECT count(*) FROM articles")

    result = verify(data)
    assert result.exit_code == 1
    assert f"{filename}: unreadable after offset {cut_record}" in result.output

    result = verify(data, "--repair")
    assert result.exit_code == 0, result.output
    (sidecar,) = (data / "warc").glob(f"{filename}.torn-*")
    assert f"moved the 300 bytes from offset {cut_record} to {sidecar.name}" in result.output
    # Nothing lost: the file keeps every whole record, the sidecar the rest, byte for byte.
    assert warc.read_bytes() == content[:cut_record]
    assert warc.read_bytes() + sidecar.read_bytes() == torn
    assert record_offsets(warc) == [o for o in record_offsets_of(content) if o < cut_record]
    # The rows whose records were cut off are flagged and reported, never deleted.
    cut_rows = [o for o in offsets if o >= cut_record]
    flagged = [line for line in result.output.splitlines() if line.startswith("flagged")]
    assert len(flagged) == len(cut_rows) and all(filename in line for line in flagged)
    assert query(data, "SELECT count(*) FROM articles") == rows_before
    assert query(data, "SELECT count(*) FROM lost_records") == [(len(cut_rows),)]

    again = verify(data)
    assert again.exit_code == 0, again.output
    still = [line for line in again.output.splitlines() if line.startswith("flagged")]
    assert len(still) == len(cut_rows), again.output
    assert all("record lost" in line and filename in line for line in still)
    others = [line for line in again.output.splitlines() if not line.startswith("flagged")]
    assert not any(filename in line for line in others), again.output
    # A second repair finds nothing left to do.
    second = verify(data, "--repair")
    assert second.exit_code == 0 and "flagged (row kept)" not in second.output
    assert "moved" not in second.output and len(list((data / "warc").glob("*.torn-*"))) == 1


def record_offsets_of(content: bytes) -> list[int]:
    records = ArchiveIterator(io.BytesIO(content))
    return [records.get_record_offset() for _ in records]


def test_repair_reextracts_a_deleted_article_from_its_warc(data):
    (article_id, url, title, record_id), *_ = query(
        data, "SELECT id, url, title, warc_record_id FROM articles ORDER BY id DESC"
    )
    with sqlite3.connect(data / "archive.db") as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM article_aliases WHERE article_id = ?", [article_id])
        db.execute("DELETE FROM article_versions WHERE article_id = ?", [article_id])
        db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        db.execute("DELETE FROM fingerprint_bands WHERE article_id = ?", [article_id])
        db.execute("DELETE FROM articles WHERE id = ?", [article_id])
    assert query(data, "SELECT count(*) FROM articles WHERE url = ?", url) == [(0,)]

    result = verify(data, "--repair")
    assert result.exit_code == 0, result.output
    assert f"re-extracted {url} from " in result.output
    assert query(data, "SELECT title, warc_record_id FROM articles WHERE url = ?", url) == [
        (title, record_id)
    ]
    assert verify(data).exit_code == 0


def test_repair_of_a_sound_archive_changes_nothing(data):
    before = query(data, "SELECT id, url, title, warc_offset FROM articles ORDER BY id")
    result = verify(data, "--repair")
    assert result.exit_code == 0, result.output
    assert "re-extracted" not in result.output and "moved" not in result.output
    assert query(data, "SELECT id, url, title, warc_offset FROM articles ORDER BY id") == before
    assert list((data / "warc").glob("*.torn-*")) == []


def test_repair_waits_for_no_crawl(data):
    from archive.capture.lock import LOCKED_EXIT, CrawlLock

    warc = sorted((data / "warc").glob("*.warc.gz"))[0]
    content = warc.read_bytes()
    warc.write_bytes(content[:-100])  # what a crawl's WARC looks like mid-write
    with CrawlLock(data):
        result = verify(data, "--repair")
    assert result.exit_code == LOCKED_EXIT and "another arshif crawl" in result.output
    assert warc.read_bytes() == content[:-100] and list((data / "warc").glob("*.torn-*")) == []


def test_a_response_whose_metadata_record_never_got_written_gets_one(data):
    # A crawl killed between a page's response record and its metadata record (and
    # before its row): repair re-extracts it and writes the record the crawl would have.
    (filename, _), *_ = query(
        data,
        "SELECT warc_filename, max(warc_offset) FROM article_versions"
        " GROUP BY warc_filename ORDER BY count(*) DESC",
    )
    path = data / "warc" / filename
    with path.open("rb") as f:
        records = ArchiveIterator(f)
        last = [
            (
                records.get_record_offset(),
                r.rec_type,
                r.rec_headers.get_header("WARC-Concurrent-To"),
            )
            for r in records
        ][-1]
    assert last[1] == "metadata"  # written after its page's response and request
    ((article_id, url, record_id),) = query(
        data, "SELECT id, url, warc_record_id FROM articles WHERE warc_record_id = ?", last[2]
    )
    with path.open("r+b") as f:
        f.truncate(last[0])  # as if the process died before writing it
    with sqlite3.connect(data / "archive.db") as db:
        for table, key in (
            ("article_aliases", "article_id"),
            ("article_versions", "article_id"),
            ("articles_fts", "rowid"),
            ("fingerprint_bands", "article_id"),
            ("articles", "id"),
        ):
            db.execute(f"DELETE FROM {table} WHERE {key} = ?", [article_id])

    result = verify(data, "--repair")
    assert result.exit_code == 0, result.output
    assert f"re-extracted {url} from " in result.output
    ((meta_id,),) = query(data, "SELECT metadata_record_id FROM articles WHERE url = ?", url)
    assert meta_id
    described = {}
    for name in (data / "warc").glob("*.warc.gz"):
        with name.open("rb") as f:
            for r in ArchiveIterator(f):
                if r.rec_type == "metadata":
                    described[r.rec_headers.get_header("WARC-Record-ID")] = (
                        r.rec_headers.get_header("WARC-Concurrent-To")
                    )
    assert described[meta_id] == record_id
    assert verify(data).exit_code == 0
