"""The archive: a data directory holding ``archive.db`` and ``warc/``.

``Archive`` is the one writer of the database: crawl runs, captures (every
fetched URL) and articles go through it, whoever calls. It imports nothing
from Scrapy, so an archive can be rebuilt from its WARC files alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from archive import db as schema
from archive.normalize import index_text
from archive.sites import Site
from archive.warc import WarcPointer

if TYPE_CHECKING:  # extraction pulls in trafilatura: not needed to open an archive
    from archive.extract import ArticleRecord

DB_NAME = "archive.db"
WARC_DIR = "warc"


class DataDirError(OSError):
    """The data directory cannot be created or written."""


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_data_dir(path: str | Path) -> Path:
    """Create the data directory and its warc/ folder, or say in one line why not."""
    path = Path(path)
    try:
        (path / WARC_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataDirError(f"data directory {path}: cannot create it: {e.strerror}") from None
    for folder in (path, path / WARC_DIR):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DataDirError(f"data directory {folder}: not writable")
    return path


@dataclass(frozen=True)
class RunFigures:
    """What a crawl run did, for its row in crawl_runs."""

    status: str
    requests: int = 0
    responses: int = 0
    bytes: int = 0
    articles: int = 0
    errors: int = 0
    by_status: Mapping[str, int] | None = None
    error_kinds: Mapping[str, int] | None = None
    warc_files: Iterable[str] = ()
    message: str | None = None


# The article columns extraction decides; the rest record where the page came from.
EXTRACTED_COLUMNS = (
    "title", "text", "published", "modified", "authors", "language", "category", "tags",
    "description", "canonical_url", "image", "word_count", "encoding", "extractor",
    "extraction_path", "date_source",
)  # fmt: skip


def article_row(
    record: ArticleRecord,
    *,
    url: str,
    fetched_url: str,
    fetched: str,
    pointer: WarcPointer,
    discovery: Mapping[str, Any] | None = None,
    metadata_record_id: str | None = None,
) -> dict[str, Any]:
    """One articles row, the same whether built by the crawl or by re-extraction from WARC."""
    data = record.as_dict()
    row: dict[str, Any] = {name: data[name] for name in EXTRACTED_COLUMNS}
    row["authors"] = json.dumps(data["authors"], ensure_ascii=False)
    row["tags"] = json.dumps(data["tags"], ensure_ascii=False)
    row |= {
        "url": url,
        "site": record.site,
        "fetched_url": fetched_url,
        "fetched": fetched,
        "warc_filename": pointer.filename,
        "warc_offset": pointer.offset,
        "warc_length": pointer.length,
        "warc_record_id": pointer.record_id,
        "payload_digest": pointer.payload_digest,
    }
    if discovery is not None:
        row["discovery"] = json.dumps(dict(discovery), ensure_ascii=False, sort_keys=True)
    if metadata_record_id is not None:
        row["metadata_record_id"] = metadata_record_id
    return row


class Archive:
    """A connection to one archive database."""

    def __init__(self, db: sqlite_utils.Database, data_dir: Path | None = None) -> None:
        self.db = db
        self.data_dir = data_dir

    @classmethod
    def open(cls, data_dir: str | Path) -> Archive:
        data_dir = check_data_dir(data_dir)
        return cls(schema.connect(data_dir / DB_NAME), data_dir)

    @classmethod
    def in_memory(cls) -> Archive:
        return cls(schema.connect(":memory:"))

    @property
    def warc_dir(self) -> Path:
        if self.data_dir is None:
            raise ValueError("an in-memory archive has no WARC directory")
        return self.data_dir / WARC_DIR

    def close(self) -> None:
        self.db.close()

    # -- sites and runs --------------------------------------------------------

    def register_site(self, site: Site) -> None:
        self.db.table("sites").upsert(
            {
                "key": site.key,
                "name": site.name,
                "cms": site.cms,
                "language": site.language,
                "domains": json.dumps(list(site.domains)),
                "home": site.home,
            },
            pk="key",
        )

    def start_run(self, site: Site) -> int:
        self.register_site(site)
        with self.db.conn:
            table = self.db.table("crawl_runs").insert(
                {"site": site.key, "started": utcnow(), "status": "running"}
            )
        return int(table.last_pk)

    def finish_run(self, run_id: int, figures: RunFigures) -> None:
        row: dict[str, Any] = asdict(figures)
        for name in ("by_status", "error_kinds"):
            row[name] = json.dumps(dict(row[name] or {}), sort_keys=True)
        row["warc_files"] = json.dumps(list(figures.warc_files))
        row["finished"] = utcnow()
        with self.db.conn:
            self.db.table("crawl_runs").update(run_id, row)

    def run(self, run_id: int) -> dict[str, Any]:
        return self.db.table("crawl_runs").get(run_id)

    # -- captures and articles -------------------------------------------------

    def add_capture(
        self,
        *,
        run_id: int | None,
        site: str,
        url: str,
        kind: str | None,
        status: int | None,
        fetched: str,
        pointer: WarcPointer | None = None,
        method: str = "GET",
        content_type: str | None = None,
        content_encoding: str | None = None,
        body_length: int | None = None,
        error: str | None = None,
    ) -> int:
        row = {
            "run_id": run_id,
            "site": site,
            "url": url,
            "kind": kind,
            "method": method,
            "status": status,
            "content_type": content_type,
            "content_encoding": content_encoding,
            "body_length": body_length,
            "fetched": fetched,
            "error": error,
        }
        if pointer is not None:
            row |= {
                "warc_filename": pointer.filename,
                "warc_offset": pointer.offset,
                "warc_length": pointer.length,
                "warc_record_id": pointer.record_id,
                "payload_digest": pointer.payload_digest,
            }
        with self.db.conn:
            table = self.db.table("captures").insert(row)
        return int(table.last_pk)

    def save_article(self, article: Mapping[str, Any]) -> int:
        """Insert or update the article with this canonical URL (one row per article),
        and its full-text index entry in the same transaction. Returns its id."""
        row = dict(article)
        if isinstance(row.get("discovery"), dict):
            row["discovery"] = json.dumps(row["discovery"], ensure_ascii=False, sort_keys=True)
        if "published" in row:
            row["published_month"] = (row["published"] or "")[:7] or None
        with self.db.conn:
            existing = self.db.execute(
                "SELECT id FROM articles WHERE url = ?", [row["url"]]
            ).fetchone()
            if existing:
                article_id = existing[0]
                self.db.table("articles").update(article_id, row)
            else:
                article_id = int(self.db.table("articles").insert(row).last_pk)
            if "title" in row or "text" in row:
                self._index(article_id)
        return article_id

    def _index(self, article_id: int) -> None:
        title, text = self.db.execute(
            "SELECT title, text FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        self.db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        self.db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            [article_id, index_text(title), index_text(text)],
        )

    def reindex(self) -> int:
        """Rebuild the whole full-text index (after a change to the normalisation)."""
        with self.db.conn:
            self.db.execute("DELETE FROM articles_fts")
            ids = [r[0] for r in self.db.execute("SELECT id FROM articles")]
            for article_id in ids:
                self._index(article_id)
        return len(ids)

    def article_count(self, site: str | None = None) -> int:
        if site is None:
            return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        return self.db.execute("SELECT count(*) FROM articles WHERE site = ?", [site]).fetchone()[0]
