"""Repairing what ``verify`` finds, without deleting anything.

- A WARC file that ends inside a record (a copy cut short, a disk that filled)
  keeps its whole records; the bytes after the last whole one move to a
  sidecar next to it, ``NAME.warc.gz.torn-<UTC time>``, which no WARC glob
  picks up and nothing deletes.
- An article version whose record is gone (cut off, file missing) is flagged
  in ``lost_records``, not deleted: its row still says what was archived and
  where, and ``verify`` reports it as flagged instead of failing on it.
- A WARC article response that no row points at (a row deleted by hand, a
  crawl killed between writing the WARC and the database) is re-extracted, the
  way ``arshif reextract`` does it; when the crawl died before writing the
  response's metadata record, one is written now (in a new WARC file of the
  site, ``"written_by": "arshif verify --repair"``), so the WARCs still say what
  was read from every stored response.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive import __version__
from archive.capture.warc import WarcFileWriter, WarcPointer
from archive.discover.sites import Registry, load_registry
from archive.store.reextract import rows_from_warc, warc_files
from archive.store.verify import find_tear, version_problems
from archive.store.writer import WARC_DIR, Archive

_COPY_CHUNK = 1 << 20


def move_tail_aside(path: Path, offset: int, now: datetime) -> Path:
    """Move the bytes of path from offset on to a sidecar next to it; returns the sidecar.

    The sidecar is written and synced before the file is cut, so a crash in
    between leaves the bytes in both places, never in neither.
    """
    sidecar = path.with_name(f"{path.name}.torn-{now.strftime('%Y%m%dT%H%M%SZ')}")
    with path.open("r+b") as f, sidecar.open("xb") as out:
        f.seek(offset)
        while data := f.read(_COPY_CHUNK):
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
        f.truncate(offset)
        f.flush()
        os.fsync(f.fileno())
    return sidecar


def _count_records(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in ArchiveIterator(f))


def repair_warc_files(warc_dir: Path, now: datetime) -> list[str]:
    actions = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        tear = find_tear(path)
        if tear is None:
            continue
        offset, reason = tear
        moved = path.stat().st_size - offset
        sidecar = move_tail_aside(path, offset, now)
        actions.append(
            f"{path.name}: {reason}; moved the {moved} bytes from offset {offset} to"
            f" {sidecar.name}, kept {_count_records(path)} whole records"
        )
    return actions


def flag_lost_records(db: sqlite3.Connection, warc_dir: Path, now: datetime) -> list[str]:
    actions = []
    known = {vid for (vid,) in db.execute("SELECT version_id FROM lost_records")}
    for version_id, problem, gone in list(version_problems(db, warc_dir)):
        if not gone or version_id in known:
            continue  # already flagged, or there but different (verify reports that)
        with db:
            db.execute(
                "INSERT OR IGNORE INTO lost_records (version_id, flagged, problem)"
                " VALUES (?, ?, ?)",
                [version_id, now.isoformat(timespec="seconds"), problem],
            )
        actions.append(f"flagged (row kept): {problem}")
    return actions


def reextract_missing(
    archive: Archive, data_dir: Path, sites_files: Iterable[str | Path]
) -> list[str]:
    """Re-extract the article responses no article version points at."""
    files_config = tuple(str(Path(p).resolve()) for p in sites_files)
    registry = load_registry([Path(p) for p in files_config])
    known = {rid for (rid,) in archive.db.execute("SELECT warc_record_id FROM article_versions")}
    actions, unchanged = [], 0
    writers: dict[str, WarcFileWriter] = {}
    try:
        for path in warc_files(data_dir):  # a list: the files written below are not in it
            unchanged += _reextract_file(
                archive, path, registry, files_config, known, writers, actions
            )
    finally:
        for writer in writers.values():
            writer.close()
    if unchanged:
        actions.append(f"{unchanged} responses without a row were re-fetches of stored articles")
    return actions


def _describe(archive: Archive, key: str, writers: dict[str, WarcFileWriter], row: dict) -> str:
    """Write the metadata record the crawl would have written for row; its record id."""
    if key not in writers:
        writers[key] = WarcFileWriter(
            archive.warc_dir,
            key,
            warcinfo={
                "software": f"arshif/{__version__}",
                "format": "WARC File Format 1.1",
                "isPartOf": key,
                "description": "metadata records written by arshif verify --repair",
            },
        )
    pointer = WarcPointer(
        row["warc_filename"], row["warc_offset"], row["warc_length"], row["warc_record_id"],
        row.get("payload_digest"), row["fetched"],
    )  # fmt: skip
    data = {k: v for k, v in row.items() if not k.startswith("_")}
    data["written_by"] = "arshif verify --repair"
    return writers[key].write_metadata(row["fetched_url"], pointer, data).record_id


def _reextract_file(
    archive: Archive,
    path: Path,
    registry: Registry,
    files_config: tuple[str, ...],
    known: set[str],
    writers: dict[str, WarcFileWriter],
    actions: list[str],
) -> int:
    unchanged = 0
    key = path.name.rsplit("-", 2)[0]
    if key not in registry:
        actions.append(f"{path.name}: not re-read: no registered site '{key}' (pass --sites)")
        return 0
    try:
        rows = rows_from_warc(path, files_config)
    except Exception as e:  # one damaged file is a line, not the end of the repair
        actions.append(f"{path.name}: not re-read: {type(e).__name__}: {e}")
        return 0
    for row in rows:
        if row["warc_record_id"] in known:
            continue
        if not row.get("metadata_record_id"):
            row["metadata_record_id"] = _describe(archive, key, writers, row)
        outcome = archive.save_article(row)
        known.add(row["warc_record_id"])
        if outcome == "unchanged":  # a re-fetch that said the same: nothing was missing
            unchanged += 1
            continue
        actions.append(
            f"re-extracted {row['url']} from {path.name} @ {row['warc_offset']} ({outcome})"
        )
    return unchanged


def repair(
    data_dir: str | Path, sites_files: Iterable[str | Path] = (), now: datetime | None = None
) -> list[str]:
    """Repair the archive at data_dir; returns one line per thing done."""
    data_dir = Path(data_dir)
    now = now or datetime.now(UTC)
    warc_dir = data_dir / WARC_DIR
    actions = repair_warc_files(warc_dir, now)
    archive = Archive.open(data_dir)  # migrates: lost_records exists from here on
    try:
        actions += flag_lost_records(archive.db.conn, warc_dir, now)
        actions += reextract_missing(archive, data_dir, sites_files)
    finally:
        archive.close()
    return actions
