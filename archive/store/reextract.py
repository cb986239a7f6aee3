"""Re-extraction: rebuild the articles table from the WARC files alone.

Run it after improving a site's rules or the extractor, and the archive
improves; run it on a data directory whose database was lost, and the rows
come back. No network, no Scrapy: each WARC file is read by a worker process
(all cores by default), every article response in it is extracted with the
same ``extract_article`` and turned into a row by the same ``article_row`` the
crawl uses, and the main process applies the rows in capture order, so the
latest capture of an article wins, as in the crawl. Running it twice changes
nothing the second time.

An article response is a 200 HTML response whose URL belongs to a registered
site and either has a ``metadata`` record (the crawl's own verdict) or is an
article by the site's URL rules now.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.capture.warc import WarcPointer
from archive.discover.sites import PageKind, Registry, load_registry
from archive.store.writer import Archive, article_row

_HTML = ("text/html", "application/xhtml+xml")


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
class _Candidate:
    offset: int
    length: int
    uri: str
    date: str
    record_id: str
    digest: str | None


@cache
def _registry(sites_files: tuple[str, ...]) -> Registry:
    return load_registry([Path(p) for p in sites_files])


def _scan(path: Path, registry: Registry) -> tuple[list[_Candidate], dict[str, dict[str, Any]]]:
    """Pass one: the article response candidates and the crawl's metadata records."""
    candidates, metadata = [], {}
    with path.open("rb") as f:
        records = ArchiveIterator(f)
        for record in records:
            headers = record.rec_headers
            if record.rec_type == "metadata" and headers.get_header("WARC-Concurrent-To"):
                try:
                    data = json.loads(record.content_stream().read())
                except ValueError:
                    data = {}
                data["_record_id"] = headers.get_header("WARC-Record-ID")
                metadata[headers.get_header("WARC-Concurrent-To")] = data
            elif record.rec_type == "response" and record.http_headers is not None:
                status = record.http_headers.get_statuscode()
                content_type = (record.http_headers.get_header("Content-Type") or "").lower()
                uri = headers.get_header("WARC-Target-URI")
                if (
                    status == "200"
                    and content_type.startswith(_HTML)
                    and registry.site_for_url(uri)
                ):
                    records.read_to_end(record)
                    candidates.append(
                        _Candidate(
                            offset=records.get_record_offset(),
                            length=records.get_record_length(),
                            uri=uri,
                            date=headers.get_header("WARC-Date"),
                            record_id=headers.get_header("WARC-Record-ID"),
                            digest=headers.get_header("WARC-Payload-Digest"),
                        )
                    )
    return candidates, metadata


def rows_from_warc(path: str | Path, sites_files: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The article rows one WARC file yields, in capture order. Runs in a worker process."""
    from archive.extract.article import extract_article  # heavy: only where extraction happens

    path = Path(path)
    registry = _registry(sites_files)
    candidates, metadata = _scan(path, registry)
    rows = []
    with path.open("rb") as f:
        for c in candidates:
            site = registry.site_for_url(c.uri)
            meta = metadata.get(c.record_id)
            if site is None or (meta is None and site.classify(c.uri) is not PageKind.ARTICLE):
                continue
            f.seek(c.offset)
            record = next(iter(ArchiveIterator(f)))
            body = record.content_stream().read()  # Content-Encoding undone
            discovery = (meta or {}).get("discovery") or {}
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
            rows.append(
                article_row(
                    result,
                    url=site.article_url(c.uri, result.canonical_url),
                    fetched_url=c.uri,
                    fetched=fetched.isoformat(),
                    pointer=pointer,
                    discovery=discovery if meta is not None else None,
                    metadata_record_id=(meta or {}).get("_record_id"),
                )
            )
    return rows


def warc_files(data_dir: Path, site: str | None = None) -> list[Path]:
    """The archive's WARC files in capture order (their names carry the UTC time)."""
    files = sorted(
        (data_dir / "warc").glob("*.warc.gz"), key=lambda p: (p.name.rsplit("-", 2)[-2], p.name)
    )
    return [p for p in files if site is None or p.name.startswith(f"{site}-")]


def _iter_results(
    files: list[Path], sites_files: tuple[str, ...], jobs: int
) -> Iterator[tuple[Path, list[dict[str, Any]] | Exception]]:
    if jobs <= 1:
        for path in files:
            try:
                yield path, rows_from_warc(path, sites_files)
            except Exception as e:  # a damaged file is reported, not fatal
                yield path, e
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [(path, pool.submit(rows_from_warc, path, sites_files)) for path in files]
        for path, future in futures:  # in submission order: capture order is kept
            try:
                yield path, future.result()
            except Exception as e:
                yield path, e


def reextract(
    data_dir: str | Path,
    *,
    site: str | None = None,
    sites_files: Iterable[str | Path] = (),
    jobs: int | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> Summary:
    """Rebuild (insert or update) the article rows of data_dir from its WARC files."""
    data_dir = Path(data_dir)
    files_config = tuple(str(Path(p).resolve()) for p in sites_files)
    registry = _registry(files_config)
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
    try:
        for path, result in _iter_results(files, files_config, jobs or os.cpu_count() or 1):
            if isinstance(result, Exception):
                summary.failed.append(f"{path.name}: {result}")
            else:
                for row in result:
                    if site is None or row["site"] == site:
                        summary.responses += 1
                        _apply(archive, row, summary)
            if on_file is not None:
                on_file(path)
    finally:
        archive.close()
    return summary


def _apply(archive: Archive, row: dict[str, Any], summary: Summary) -> None:
    outcome = archive.save_article(row)
    if outcome == "new":
        summary.inserted += 1
    elif outcome == "updated":
        summary.updated += 1
    else:
        summary.unchanged += 1
