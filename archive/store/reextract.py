"""Re-extraction: rebuild the articles table from the WARC files alone.

Run it after improving a site's rules or the extractor, and the archive
improves; run it on a data directory whose database was lost, and the rows
come back. No network, no Scrapy. The work is split by records, not files (one
site's crawl writes one file until it reaches 1 GB): the article responses of
each file are indexed first (offsets, cheap), cut into chunks, and each chunk
is read and extracted by a worker process (all cores by default) with the same
``extract_article`` and turned into a row by the same ``article_row`` the crawl
uses. The main process is the one database writer and applies the rows in
capture order, whatever the number of workers, so the latest capture of an
article wins, as in the crawl, and the database comes out the same with one
worker or eight. Running it twice changes nothing the second time.

An article response is a 200 HTML response whose URL belongs to a registered
site and either has a ``metadata`` record (the crawl's own verdict) or is an
article by the site's URL rules now.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.capture.warc import WarcPointer
from archive.discover.sites import PageKind, Registry, load_registry
from archive.store.fingerprint import simhash
from archive.store.pool import default_workers, ordered_map
from archive.store.writer import Archive, article_row

_HTML = ("text/html", "application/xhtml+xml")
# Records per chunk at most: small enough that two workers share even a short
# file, large enough that a chunk's pickling and file opening cost nothing beside
# extraction (tens of milliseconds a page).
MAX_CHUNK = 64
# The key under which a worker hands the parent a row's simhash (not a column).
SIMHASH = "_simhash"
# Chunks per worker at least, when there are records enough: the last chunks to
# finish are then short and no core idles for long at the end.
CHUNKS_PER_WORKER = 4


@dataclass
class Summary:
    files: int = 0
    responses: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)

    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        counts = f"{self.inserted} new rows, {self.updated} updated, {self.unchanged} unchanged"
        return f"{self.files} WARC files, {self.responses} article responses: {counts}"


@dataclass(frozen=True)
class Candidate:
    """One article response to extract: where it is and what the crawl said of it."""

    offset: int
    length: int
    uri: str
    date: str
    record_id: str
    digest: str | None
    # The crawl's metadata record, when there is one: its id and the discovery hints.
    metadata_record_id: str | None = None
    discovery: dict[str, Any] | None = None


@dataclass(frozen=True)
class Chunk:
    """Consecutive article responses of one WARC file, extracted by one worker."""

    path: str
    sites_files: tuple[str, ...]
    records: tuple[Candidate, ...]


@cache
def _registry(sites_files: tuple[str, ...]) -> Registry:
    return load_registry([Path(p) for p in sites_files])


def _scan(
    path: Path, registry: Registry, found: list[Candidate], metadata: dict[str, dict[str, Any]]
) -> None:
    """Pass one: the article response candidates and the crawl's metadata records, added
    to found and metadata as they are read (what precedes a damaged record is kept)."""
    with path.open("rb") as f:
        records = ArchiveIterator(f)
        try:
            for record in records:
                _scan_record(record, records, registry, found, metadata)
        except Exception as e:  # warcio cannot go past a damaged record: say where it is
            raise DamagedWarc(f"{path.name}: {_damage(records.offset, e)}") from e


class DamagedWarc(ValueError):
    """A WARC file that cannot be read past some offset; its message is one line."""


def _damage(offset: int, error: Exception) -> str:
    """One printable line: warcio's message may quote the damaged bytes."""
    detail = str(error).splitlines()[0][:80] if str(error) else ""
    if not detail.isprintable():
        detail = ""
    return f"unreadable from offset {offset}: {type(error).__name__}" + (
        f": {detail}" if detail else ""
    )


def _scan_record(
    record: Any,
    records: ArchiveIterator,
    registry: Registry,
    found: list[Candidate],
    metadata: dict[str, dict[str, Any]],
) -> None:
    """Index one record: a metadata record's verdict, or an article response candidate."""
    headers = record.rec_headers
    if record.rec_type == "metadata" and headers.get_header("WARC-Concurrent-To"):
        try:
            data = json.loads(record.content_stream().read())
        except ValueError:
            data = {}
        discovery = data.get("discovery") if isinstance(data, dict) else None
        # Only what a row takes from it: the record also holds the page's text.
        metadata[headers.get_header("WARC-Concurrent-To")] = {
            "_record_id": headers.get_header("WARC-Record-ID"),
            "discovery": discovery or {},
        }
    elif record.rec_type == "response" and record.http_headers is not None:
        status = record.http_headers.get_statuscode()
        content_type = (record.http_headers.get_header("Content-Type") or "").lower()
        uri = headers.get_header("WARC-Target-URI")
        if status == "200" and content_type.startswith(_HTML) and registry.site_for_url(uri):
            records.read_to_end(record)
            found.append(
                Candidate(
                    offset=records.get_record_offset(),
                    length=records.get_record_length(),
                    uri=uri,
                    date=headers.get_header("WARC-Date"),
                    record_id=headers.get_header("WARC-Record-ID"),
                    digest=headers.get_header("WARC-Payload-Digest"),
                )
            )


def _articles(
    found: list[Candidate], metadata: dict[str, dict[str, Any]], registry: Registry
) -> list[Candidate]:
    """The candidates that are articles: the crawl said so, or the site's URL rules do."""
    articles = []
    for c in found:
        meta = metadata.get(c.record_id)
        site = registry.site_for_url(c.uri)
        if site is None or (meta is None and site.classify(c.uri) is not PageKind.ARTICLE):
            continue
        if meta is not None:
            c = replace(c, metadata_record_id=meta["_record_id"], discovery=meta["discovery"])
        articles.append(c)
    return articles


def index_warc(path: str | Path, sites_files: tuple[str, ...] = ()) -> list[Candidate]:
    """The article responses of one WARC file, in file order. Raises on a damaged file."""
    registry = _registry(sites_files)
    found: list[Candidate] = []
    metadata: dict[str, dict[str, Any]] = {}
    _scan(Path(path), registry, found, metadata)
    return _articles(found, metadata, registry)


def chunk_records(records: list[Candidate], size: int) -> Iterator[tuple[Candidate, ...]]:
    """records cut into consecutive runs of at most size, in order."""
    for start in range(0, len(records), size):
        yield tuple(records[start : start + size])


def chunk_size(total: int, workers: int) -> int:
    """Records per chunk for total records over workers: at least CHUNKS_PER_WORKER
    chunks a worker when there are records enough, never more than MAX_CHUNK records."""
    return max(1, min(MAX_CHUNK, math.ceil(total / (max(1, workers) * CHUNKS_PER_WORKER))))


def rows_from_chunk(chunk: Chunk) -> list[dict[str, Any] | str]:
    """The article row of each record of chunk, in order, or one line saying why a record
    gave none. Runs in a worker process, which also computes each text's simhash (the
    writer's costliest step) under the row's SIMHASH key."""
    from archive.extract.article import extract_article  # heavy: only where extraction happens

    registry = _registry(chunk.sites_files)
    path = Path(chunk.path)
    out: list[dict[str, Any] | str] = []
    with path.open("rb") as f:
        for c in chunk.records:
            try:
                site = registry.site_for_url(c.uri)
                if site is None:  # the registry changed under us: say so, do not drop it
                    raise ValueError("no registered site for this URL")
                f.seek(c.offset)
                record = next(iter(ArchiveIterator(f)))
                body = record.content_stream().read()  # Content-Encoding undone
                discovery = c.discovery or {}
                fetched = datetime.fromisoformat(c.date.replace("Z", "+00:00"))
                result = extract_article(
                    body,
                    c.uri,
                    site,
                    content_type=record.http_headers.get_header("Content-Type"),
                    hints=discovery,
                    fetched=fetched,
                )
                pointer = WarcPointer(path.name, c.offset, c.length, c.record_id, c.digest, c.date)
                row = article_row(
                    result,
                    url=site.article_url(c.uri, result.canonical_url),
                    fetched_url=c.uri,
                    fetched=fetched.isoformat(),
                    pointer=pointer,
                    discovery=discovery if c.metadata_record_id is not None else None,
                    metadata_record_id=c.metadata_record_id,
                )
                out.append(row | {SIMHASH: simhash(row["text"])})
            except Exception as e:  # one bad record is a line, not the end of its chunk
                out.append(f"{path.name} @ {c.offset} ({c.uri}): {type(e).__name__}: {e}")
    return out


def rows_from_warc(path: str | Path, sites_files: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The article rows one WARC file yields, in capture order, in this process.
    Raises on a damaged file or record."""
    records = index_warc(path, sites_files)
    rows = []
    for item in rows_from_chunk(Chunk(str(path), sites_files, tuple(records))):
        if isinstance(item, str):
            raise ValueError(item)
        item.pop(SIMHASH)
        rows.append(item)
    return rows


def warc_files(data_dir: Path, site: str | None = None) -> list[Path]:
    """The archive's WARC files in capture order (their names carry the UTC time)."""
    files = sorted(
        (data_dir / "warc").glob("*.warc.gz"), key=lambda p: (p.name.rsplit("-", 2)[-2], p.name)
    )
    return [p for p in files if site is None or p.name.startswith(f"{site}-")]


def _index_file(path: Path, registry: Registry, damaged: list[str]) -> list[Candidate]:
    found: list[Candidate] = []
    metadata: dict[str, dict[str, Any]] = {}
    try:
        _scan(path, registry, found, metadata)
    except DamagedWarc as e:  # its records before the damage still count
        damaged.append(f"{e} (arshif verify --repair moves the rest aside)")
    except OSError as e:
        damaged.append(f"{path.name}: cannot read it: {e.strerror or e}")
    return _articles(found, metadata, registry)


def _chunks(
    files: list[Path],
    files_config: tuple[str, ...],
    workers: int,
    damaged: list[str],
    on_total: Callable[[int], None] | None,
) -> Iterator[Chunk]:
    """The chunks of every file, each file indexed only when the workers reach it, so
    memory holds one file's index, not the archive's. Until the last file is indexed
    the total told on_total is an estimate, from the records per byte seen so far."""
    registry = _registry(files_config)
    sizes = [p.stat().st_size for p in files]
    seen_bytes = seen_records = 0
    for n, path in enumerate(files):
        records = _index_file(path, registry, damaged)
        seen_bytes += sizes[n]
        seen_records += len(records)
        if on_total is not None:
            last = n == len(files) - 1
            on_total(
                seen_records if last else round(seen_records * sum(sizes) / max(1, seen_bytes))
            )
        for part in chunk_records(records, chunk_size(len(records), workers)):
            yield Chunk(str(path), files_config, part)


def reextract(
    data_dir: str | Path,
    *,
    site: str | None = None,
    sites_files: Iterable[str | Path] = (),
    workers: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> Summary:
    """Rebuild (insert or update) the article rows of data_dir from its WARC files.

    on_total is told how many article responses there are (estimated until every
    file is indexed); on_done how many more were handled, as chunks come back.
    """
    data_dir = Path(data_dir)
    files_config = tuple(str(Path(p).resolve()) for p in sites_files)
    registry = _registry(files_config)
    workers = workers or default_workers()
    archive = Archive.open(data_dir)
    for registered in registry.values():
        archive.register_site(registered)
    files = warc_files(data_dir, site)
    summary = Summary()
    for path in list(files):
        key = path.name.rsplit("-", 2)[0]
        if key not in registry:
            summary.skipped.append(
                f"{path.name}: no registered site '{key}' (pass the crawl's --sites)"
            )
            files.remove(path)
    summary.files = len(files)
    damaged: list[str] = []
    if on_total is not None and not files:
        on_total(0)
    chunks = _chunks(files, files_config, workers, damaged, on_total)
    try:
        for chunk, result in ordered_map(rows_from_chunk, chunks, workers):
            if isinstance(result, Exception):  # the worker itself died: every record is named
                first, last = chunk.records[0].offset, chunk.records[-1].offset
                summary.failed.append(
                    f"{Path(chunk.path).name} @ {first}..{last} ({len(chunk.records)} records):"
                    f" {type(result).__name__}: {result}"
                )
            else:
                for item in result:
                    if isinstance(item, str):
                        summary.failed.append(item)
                    elif site is None or item["site"] == site:
                        summary.responses += 1
                        _apply(archive, item, summary)
            if on_done is not None:
                on_done(len(chunk.records))
    finally:
        archive.close()
    # Damaged files first, then records, whatever the order the index and the workers met them.
    summary.failed = damaged + summary.failed
    return summary


def _apply(archive: Archive, row: dict[str, Any], summary: Summary) -> None:
    known = (row["text"], row.pop(SIMHASH))
    outcome = archive.save_article(row, known_simhash=known)
    if outcome == "new":
        summary.inserted += 1
    elif outcome == "updated":
        summary.updated += 1
    else:
        summary.unchanged += 1
