"""reextract and verify split one WARC file's records among workers, and the outcome is
the same whatever their number."""

from __future__ import annotations

import io
import shutil
import sqlite3
from itertools import pairwise
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.store.fingerprint import simhash, to_hex
from archive.store.reextract import chunk_records, chunk_size, index_warc, reextract
from archive.store.verify import file_ranges, verify

WARC_NAME = "hafryat-20201001000000000-00000.warc.gz"
ARTICLES = 24


def page(n: int, edition: int = 0) -> bytes:
    words = " ".join(f"كلمة{n}_{i}" for i in range(120))
    extra = f"<p>تحديث رقم {edition} للخبر {n} مع تفاصيل جديدة عن الموضوع.</p>" if edition else ""
    return (
        f"<html lang='ar'><head><meta charset='utf-8'><title>خبر رقم {n}</title></head><body>"
        f"<article><h1>خبر رقم {n}</h1><p>نشر في 2020-10-{n % 28 + 1:02d}</p>"
        f"<p>{words}.</p><p>فقرة ثانية عن الخبر {n} تقول ما جرى بالتفصيل.</p>{extra}"
        "</article></body></html>"
    ).encode()


def write_archive(data: Path, articles: int = ARTICLES) -> Path:
    """A one-site archive of one WARC file: articles responses, a few of them fetched
    again later with changed text (new versions), plus a non-article page."""
    (data / "warc").mkdir(parents=True)
    path = data / "warc" / WARC_NAME
    captures = [(n, 0, f"2020-10-02T00:{n // 60:02d}:{n % 60:02d}Z") for n in range(articles)]
    captures += [(n, 1, f"2020-10-03T00:00:{n:02d}Z") for n in range(0, articles, 5)]
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for n, edition, date in captures:
            body = page(n, edition)
            headers = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                f"https://hafryat.com/node/{1000 + n}",
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(record)
    return path


def dump(data: Path) -> dict[str, list[tuple]]:
    """Every table's rows, rowids included where a table has them: ids must match too,
    not only contents."""
    out = {}
    with sqlite3.connect(data / "archive.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            try:
                out[t] = db.execute(f'SELECT rowid, * FROM "{t}" ORDER BY rowid').fetchall()
            except sqlite3.OperationalError:  # WITHOUT ROWID: its primary key orders it
                out[t] = sorted(db.execute(f'SELECT * FROM "{t}"').fetchall())
    return out


@pytest.fixture()
def archive_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write_archive(data)
    return data


def test_a_one_file_archive_is_cut_into_chunks_covering_each_record_once(archive_dir):
    records = index_warc(archive_dir / "warc" / WARC_NAME)
    assert len(records) == ARTICLES + len(range(0, ARTICLES, 5))
    chunks = list(chunk_records(records, chunk_size(len(records), workers=2)))
    assert len(chunks) >= 2
    offsets = [c.offset for chunk in chunks for c in chunk]
    assert offsets == [c.offset for c in records]  # every record once, in file order
    assert len(set(offsets)) == len(offsets)
    # One worker still gets several chunks (progress moves); many cores, never empty ones.
    assert len(list(chunk_records(records, chunk_size(len(records), workers=1)))) >= 2
    assert all(list(chunk_records(records, chunk_size(len(records), workers=64))))


def test_reextract_with_one_and_two_workers_gives_the_same_database(archive_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(archive_dir, other)
    one = reextract(archive_dir, workers=1)
    two = reextract(other, workers=2)
    assert one == two and not one.failed
    assert one.inserted == ARTICLES and one.updated == len(range(0, ARTICLES, 5))
    first, second = dump(archive_dir), dump(other)
    assert first["articles"] and first["article_versions"] and first["articles_fts"]
    assert first == second
    # The simhash the workers computed is the one the writer would have.
    with sqlite3.connect(archive_dir / "archive.db") as db:
        stored = db.execute("SELECT text, fingerprint FROM articles").fetchall()
    assert all(fp == to_hex(simhash(text)) for text, fp in stored)


def test_reextract_on_the_demo_archive_with_one_and_two_workers(demo_archive, tmp_path):
    dirs = []
    for workers in (1, 2):
        data = tmp_path / f"w{workers}"
        shutil.copytree(demo_archive, data)
        for name in ("archive.db", "archive.db-wal", "archive.db-shm"):
            (data / name).unlink(missing_ok=True)
        summary = reextract(data, workers=workers, sites_files=[EXTRA])
        assert summary.inserted > 20 and not summary.failed
        dirs.append(dump(data))
    assert dirs[0] == dirs[1]


EXTRA = Path(__file__).resolve().parent.parent / "mirror" / "bundled" / "extra-sites.toml"


def test_a_damaged_record_fails_its_file_from_there_and_keeps_what_precedes(archive_dir):
    path = archive_dir / "warc" / WARC_NAME
    records = index_warc(path)
    content = bytearray(path.read_bytes())
    victim = records[7]
    content[victim.offset + victim.length // 2] ^= 0xFF  # inside its gzip member
    path.write_bytes(bytes(content))
    summary = reextract(archive_dir, workers=2)
    # warcio cannot read past a corrupt gzip member: what precedes it is kept, the rest
    # is one failure naming where (verify --repair moves it aside), in one clean line.
    (failure,) = summary.failed
    assert failure.startswith(f"{WARC_NAME}: unreadable from offset {victim.offset}: ")
    assert failure.isprintable()
    assert summary.responses == summary.inserted == 7


def corrupt(data: Path) -> tuple[int, int]:
    """A byte flipped inside one record and a stored digest changed for another; returns
    their offsets."""
    path = data / "warc" / WARC_NAME
    records = index_warc(path)
    damaged, changed = records[5], records[15]
    content = bytearray(path.read_bytes())
    content[damaged.offset + damaged.length // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with sqlite3.connect(data / "archive.db") as db:
        db.execute(
            "UPDATE article_versions SET payload_digest = 'sha1:WRONG' WHERE warc_offset = ?",
            [changed.offset],
        )
    return damaged.offset, changed.offset


def test_verify_finds_the_same_problems_with_one_and_two_workers(archive_dir):
    reextract(archive_dir, workers=1)
    assert verify(archive_dir, workers=2, range_bytes=0) == []
    damaged, changed = corrupt(archive_dir)
    one = verify(archive_dir, workers=1)  # the whole file as one range
    two = verify(archive_dir, workers=2, range_bytes=0)  # cut at every record
    assert one == two
    assert any(f"@ {damaged}" in p for p in one)
    assert any(f"digest mismatch at {WARC_NAME} @ {changed}" in p for p in one)
    assert f"{WARC_NAME}: corrupt gzip member at offset {damaged}" in "\n".join(one)


def test_verify_cuts_a_file_at_record_starts_into_ranges_covering_it(archive_dir):
    path = archive_dir / "warc" / WARC_NAME
    starts = [c.offset for c in index_warc(path)]
    ranges = file_ranges(path, starts, size=path.stat().st_size // 4)
    assert 2 <= len(ranges) <= 4
    assert ranges[0].start == 0 and ranges[-1].end is None
    assert all(a.end == b.start for a, b in pairwise(ranges))
    assert all(r.start in [0, *starts] for r in ranges)
    assert len(file_ranges(path, starts, size=path.stat().st_size)) == 1


def test_verify_reports_a_truncated_file_the_same_with_one_and_two_workers(archive_dir):
    reextract(archive_dir, workers=1)
    path = archive_dir / "warc" / WARC_NAME
    records = index_warc(path)
    path.write_bytes(path.read_bytes()[: records[-3].offset + 100])
    one = verify(archive_dir, workers=1)
    two = verify(archive_dir, workers=2, range_bytes=0)
    assert one == two
    assert f"{WARC_NAME}: unreadable after offset {records[-3].offset}" in "\n".join(one)
