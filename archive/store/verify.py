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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.limitreader import LimitReader

from archive.capture.warc import payload_digest
from archive.store.db import ArchiveSchemaError, open_read_only
from archive.store.pool import ordered_map
from archive.store.writer import DB_NAME, WARC_DIR

# A file range no shorter than this: below it, a worker spends more time opening and
# seeking than checking.
MIN_RANGE_BYTES = 4 << 20
MAX_VERSIONS_PER_CHUNK = 256
CHUNKS_PER_WORKER = 4


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


_VERSION_SQL = (
    "SELECT v.id, a.url, v.version, v.warc_filename, v.warc_offset, v.warc_record_id,"
    " v.payload_digest FROM article_versions v JOIN articles a ON a.id = v.article_id"
    " ORDER BY v.warc_filename, v.warc_offset, v.id"
)
VersionRow = tuple[int, str, int, str, int, str, str | None]


def version_problems(db: sqlite3.Connection, warc_dir: Path) -> Iterator[tuple[int, str, bool]]:
    """(version id, problem, whether the record is gone) for each article version whose
    WARC record is missing, unreadable or not the one stored. Gone: the file or the
    record is not there (``repair`` flags those); a wrong or changed record is not gone."""
    yield from row_problems(db.execute(_VERSION_SQL).fetchall(), warc_dir)


def row_problems(rows: Iterable[VersionRow], warc_dir: Path) -> Iterator[tuple[int, str, bool]]:
    """version_problems for the given article_versions rows (as _VERSION_SQL selects them)."""
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


def find_tear(
    path: Path, chunk: int = 1 << 20, start: int = 0, end: int | None = None
) -> tuple[int, str] | None:
    """(offset, what is wrong) when path's gzip members stop being whole: the file ends
    inside one, or one is corrupt. Every member before offset is whole. start and end
    (exclusive) check only that range, which must begin at a member.

    warcio stops quietly at a member cut short, so the members are walked here,
    streaming.
    """
    member_start, consumed = start, start
    left = None if end is None else end - start
    decompressor = zlib.decompressobj(31)
    with path.open("rb") as f:
        f.seek(start)
        while data := f.read(chunk if left is None else min(chunk, left)):
            if left is not None:
                left -= len(data)
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


@dataclass(frozen=True)
class _Versions:
    """Article versions whose records a worker reads and checks against their digest."""

    warc_dir: Path
    rows: tuple[VersionRow, ...]


@dataclass(frozen=True)
class _FileRange:
    """A stretch of a WARC file, from a record's start to another's (end None: the end)."""

    path: Path
    start: int
    end: int | None


def _range_sound(part: _FileRange) -> bool:
    """Whether part's gzip members are whole and its records parse. Any doubt is False:
    the whole file is then checked in one pass, which says what is wrong and where."""
    if find_tear(part.path, start=part.start, end=part.end) is not None:
        return False
    try:
        with part.path.open("rb") as f:
            f.seek(part.start)
            stream = f if part.end is None else LimitReader(f, part.end - part.start)
            for record in ArchiveIterator(stream):
                record.raw_stream.read()
    except (ArchiveLoadFailed, OSError, EOFError, ValueError):
        return False
    return True


def _check(task: _Versions | _FileRange) -> list[tuple[int, str, bool]] | bool:
    """One task of verify, in a worker process."""
    if isinstance(task, _Versions):
        return list(row_problems(task.rows, task.warc_dir))
    return _range_sound(task)


def file_ranges(path: Path, starts: Iterable[int], size: int) -> list[_FileRange]:
    """path cut at some of starts (offsets where records begin) into ranges of at least
    size bytes, covering the whole file in order."""
    cuts, last = [0], 0
    length = path.stat().st_size
    for offset in sorted(set(starts)):
        if offset - last >= size and length - offset >= size:
            cuts.append(offset)
            last = offset
    return [_FileRange(path, a, b) for a, b in zip(cuts, [*cuts[1:], None], strict=True)]


def _record_starts(db: sqlite3.Connection) -> dict[str, list[int]]:
    """The record offsets the database knows, per WARC file: where a file may be cut."""
    starts: dict[str, list[int]] = {}
    for filename, offset in db.execute(
        "SELECT warc_filename, warc_offset FROM captures WHERE warc_filename IS NOT NULL"
        " UNION SELECT warc_filename, warc_offset FROM article_versions"
    ):
        starts.setdefault(filename, []).append(offset)
    return starts


def verify(
    data_dir: str | Path,
    *,
    workers: int = 1,
    range_bytes: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[str]:
    """Every problem found in the archive at data_dir (an empty list: none), the same and
    in the same order whatever the number of workers. Versions a repair flagged as lost
    are no problem here; ``flagged_lines`` lists them.

    The work is shared by records: article versions in chunks, and each WARC file
    cut at record starts the database knows into ranges (of range_bytes at least;
    by default enough ranges for every worker), so one large file uses every core.
    on_total is told how many checks (versions and file ranges) there are, on_done
    how many more are done.
    """
    data_dir = Path(data_dir)
    db_path = data_dir / DB_NAME
    if not db_path.is_file():
        return [f"no archive database at {db_path}"]
    warc_dir = data_dir / WARC_DIR
    try:
        db = open_read_only(db_path)
    except ArchiveSchemaError as e:  # not an archive at all: nothing further to check
        return [str(e)]
    try:
        problems = list(check_database(db))
        lost = set()
        if _has_table(db, "lost_records"):
            lost = {vid for (vid,) in db.execute("SELECT version_id FROM lost_records")}
        rows = db.execute(_VERSION_SQL).fetchall()
        starts = _record_starts(db)
    finally:
        db.close()
    files = sorted(warc_dir.glob("*.warc.gz"))
    total_bytes = sum(p.stat().st_size for p in files)
    size = (
        range_bytes
        if range_bytes is not None
        else max(MIN_RANGE_BYTES, total_bytes // (max(1, workers) * CHUNKS_PER_WORKER))
    )
    step = max(1, min(MAX_VERSIONS_PER_CHUNK, len(rows) // (max(1, workers) * CHUNKS_PER_WORKER)))
    tasks: list[_Versions | _FileRange] = [
        _Versions(warc_dir, tuple(rows[i : i + step])) for i in range(0, len(rows), step)
    ]
    for path in files:
        tasks += file_ranges(path, starts.get(path.name, ()), size)
    if on_total is not None:
        on_total(len(rows) + sum(isinstance(t, _FileRange) for t in tasks))
    torn: list[Path] = []
    for task, result in ordered_map(_check, tasks, workers):
        if isinstance(task, _Versions):
            if isinstance(result, Exception):  # the worker itself died: name what it held
                _, _, _, filename, offset, *_ = task.rows[0]
                problems.append(
                    f"{filename} @ {offset}: {len(task.rows)} article versions not checked:"
                    f" {type(result).__name__}: {result}"
                )
            else:
                problems += [problem for vid, problem, _ in result if vid not in lost]
            done = len(task.rows)
        else:
            if result is not True and task.path not in torn:
                torn.append(task.path)
            done = 1
        if on_done is not None:
            on_done(done)
    for path in torn:  # in file order: the one-pass check names the problem
        problems += check_warc_file(path)
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
