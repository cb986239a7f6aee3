"""Checking an archive: the database, every article version's WARC record, every WARC file.

An archive kept for years meets disks that fill, copies cut short and hands
that delete the wrong file. ``verify`` reports each problem it finds, one line
each, naming the file, offset, record or row; an archive is sound when there
are none. ``arshif verify --repair`` (archive/store/repair.py) mends what can be
mended without deleting anything, and flags what cannot.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.capture.warc import payload_digest
from archive.store.db import ArchiveSchemaError, open_read_only
from archive.store.writer import DB_NAME, WARC_DIR


def check_database(db: sqlite3.Connection) -> Iterator[str]:
    result = db.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        for (line,) in result:
            yield f"database: integrity: {line}"
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
        yield f"database: {table} row {rowid} points at a missing {parent} row"
    missing = db.execute(
        "SELECT a.id, a.url FROM articles a LEFT JOIN article_versions v"
        " ON v.article_id = a.id AND v.warc_record_id = a.warc_record_id WHERE v.id IS NULL"
    ).fetchall()
    for article_id, url in missing:
        yield f"database: article {article_id} ({url}) has no version for its current capture"
    indexed = db.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
    articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    if indexed != articles:
        yield (
            f"database: the search index holds {indexed} articles, the table {articles}"
            " (arshif reindex)"
        )


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [name]).fetchone() is not None


def version_problems(db: sqlite3.Connection, warc_dir: Path) -> Iterator[tuple[int, str, bool]]:
    """(version id, problem, whether the record is gone) for each article version whose
    WARC record is missing, unreadable or not the one stored. Gone: the file or the
    record is not there (``repair`` flags those); a wrong or changed record is not gone."""
    rows = db.execute(
        "SELECT v.id, a.url, v.version, v.warc_filename, v.warc_offset, v.warc_record_id,"
        " v.payload_digest FROM article_versions v JOIN articles a ON a.id = v.article_id"
        " ORDER BY v.warc_filename, v.warc_offset"
    ).fetchall()
    for version_id, url, version, filename, offset, record_id, digest in rows:
        where = f"{filename} @ {offset} (article {url}, version {version})"
        path = warc_dir / filename
        if not path.is_file():
            yield version_id, f"missing WARC file: {where}", True
            continue
        try:
            with path.open("rb") as f:
                f.seek(offset)
                record = next(iter(ArchiveIterator(f)), None)
                if record is None:
                    yield version_id, f"no record at {where}", True
                    continue
                if (
                    record.rec_type != "response"
                    or record.rec_headers.get_header("WARC-Record-ID") != record_id
                ):
                    found = record.rec_headers.get_header("WARC-Record-ID")
                    yield (
                        version_id,
                        f"wrong record at {where}: {record.rec_type} {found}, not {record_id}",
                        False,
                    )
                    continue
                actual = payload_digest(record.raw_stream.read())
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as e:
            yield version_id, f"unreadable record at {where}: {e}", True
            continue
        if actual != digest:
            yield (
                version_id,
                f"digest mismatch at {where}: stored {digest}, record holds {actual}",
                False,
            )


def check_versions(db: sqlite3.Connection, warc_dir: Path) -> Iterator[str]:
    """The problems of version_problems, but for versions a repair flagged as lost."""
    lost = set()
    if _has_table(db, "lost_records"):
        lost = {vid for (vid,) in db.execute("SELECT version_id FROM lost_records")}
    for version_id, problem, _ in version_problems(db, warc_dir):
        if version_id not in lost:
            yield problem


def flagged(db: sqlite3.Connection) -> Iterator[str]:
    """One line per article version a repair flagged as having lost its record."""
    if not _has_table(db, "lost_records"):
        return
    for flagged_at, problem in db.execute(
        "SELECT flagged, problem FROM lost_records ORDER BY version_id"
    ):
        yield f"flagged: {problem} (record lost, found by the repair of {flagged_at})"


def find_tear(path: Path, chunk: int = 1 << 20) -> tuple[int, str] | None:
    """(offset, what is wrong) when path's gzip members stop being whole: the file ends
    inside one, or one is corrupt. Every member before offset is whole.

    warcio stops quietly at a member cut short, so the members are walked here,
    streaming.
    """
    member_start, consumed = 0, 0
    decompressor = zlib.decompressobj(31)
    with path.open("rb") as f:
        while data := f.read(chunk):
            while data:
                try:
                    decompressor.decompress(data)
                except zlib.error as e:
                    return member_start, f"corrupt gzip member at offset {member_start}: {e}"
                if decompressor.eof:
                    rest = decompressor.unused_data
                    consumed += len(data) - len(rest)
                    member_start = consumed
                    decompressor = zlib.decompressobj(31)
                    data = rest
                else:
                    consumed += len(data)
                    data = b""
    if consumed > member_start:
        return member_start, (
            f"unreadable after offset {member_start}: the file ends inside a record"
        )
    return None


def check_warc_file(path: Path, chunk: int = 1 << 20) -> Iterator[str]:
    """Read path to its end: every gzip member whole, every record parseable."""
    tear = find_tear(path, chunk)
    if tear is not None:
        yield f"{path.name}: {tear[1]} (arshif verify --repair moves it aside)"
        return
    offset = 0
    try:
        with path.open("rb") as f:
            records = ArchiveIterator(f)
            for record in records:
                offset = records.get_record_offset()
                record.raw_stream.read()
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as e:
        yield f"{path.name}: unreadable after offset {offset}: {type(e).__name__}: {e}"


def verify(data_dir: str | Path, on_step: Callable[[str], None] | None = None) -> list[str]:
    """Every problem found in the archive at data_dir (an empty list: none). Versions a
    repair flagged as lost are no problem here; ``flagged_lines`` lists them."""
    data_dir = Path(data_dir)
    db_path = data_dir / DB_NAME
    if not db_path.is_file():
        return [f"no archive database at {db_path}"]
    problems: list[str] = []
    try:
        db = open_read_only(db_path)
    except ArchiveSchemaError as e:  # not an archive at all: nothing further to check
        return [str(e)]
    try:
        problems += check_database(db)
        problems += check_versions(db, data_dir / WARC_DIR)
    finally:
        db.close()
    for path in sorted((data_dir / WARC_DIR).glob("*.warc.gz")):
        problems += check_warc_file(path)
        if on_step is not None:
            on_step(path.name)
    return problems


def flagged_lines(data_dir: str | Path) -> list[str]:
    """The article versions a repair flagged as having lost their record."""
    db_path = Path(data_dir) / DB_NAME
    if not db_path.is_file():
        return []
    db = open_read_only(db_path)
    try:
        return list(flagged(db))
    finally:
        db.close()
