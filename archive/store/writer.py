"""The archive: a data directory holding ``archive.db`` and ``warc/``.

``Archive`` is the one writer of the database: crawl runs, captures (every
fetched URL) and articles go through it, whoever calls. It imports nothing
from Scrapy, so an archive can be rebuilt from its WARC files alone.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from archive.capture.warc import WarcPointer
from archive.discover.sites import Site
from archive.normalize import index_text
from archive.store import db as schema
from archive.store.fingerprint import MAX_DISTANCE, bands, distance, simhash, to_hex

if TYPE_CHECKING:  # extraction pulls in trafilatura: not needed to open an archive
    from archive.extract.article import ArticleRecord

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


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


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
    new_articles: int = 0
    updated_articles: int = 0
    unchanged_articles: int = 0
    revisits: int = 0
    duration: float | None = None


# The article columns extraction decides; the rest record where the page came from.
EXTRACTED_COLUMNS = (
    "title", "text", "published", "modified", "authors", "language", "category", "tags",
    "description", "canonical_url", "image", "word_count", "encoding", "extractor",
    "extraction_path", "date_source",
)  # fmt: skip


_VERSION_COLUMNS = (
    "fetched", "title", "text", "published", "modified", "warc_filename", "warc_offset",
    "warc_record_id", "payload_digest", "run_id",
)  # fmt: skip


def _same_words(current: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    return all(
        " ".join((current.get(c) or "").split()) == " ".join((row.get(c) or "").split())
        for c in ("title", "text")
    )


def site_row(site: Site) -> dict[str, Any]:
    """A site's row in ``sites``: also what a cluster worker sends its ingest."""
    return {
        "key": site.key,
        "name": site.name,
        "cms": site.cms,
        "language": site.language,
        "domains": json.dumps(list(site.domains)),
        "home": site.home,
    }


@dataclass(frozen=True)
class KnownArticle:
    id: int
    published: str | None
    last_checked: str | None
    versions: int
    first_fetched: str | None


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
        self._in_unit = False

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

    def register_site(self, site: Site | Mapping[str, Any]) -> None:
        row = dict(site) if isinstance(site, Mapping) else site_row(site)
        self.db.table("sites").upsert(row, pk="key")

    def start_run(
        self,
        site: Site | Mapping[str, Any],
        *,
        started: str | None = None,
        pid: int | None = None,
        host: str | None = None,
    ) -> int:
        """A new ``running`` row for site. A cluster's ingest passes the worker's own
        start time, pid and host: the run is the worker's, not the ingest's."""
        self.register_site(site)
        self.close_interrupted_runs()
        with self._transaction():
            table = self.db.table("crawl_runs").insert(
                {
                    "site": site["key"] if isinstance(site, Mapping) else site.key,
                    "started": started or utcnow(),
                    "status": "running",
                    "pid": pid if pid is not None else os.getpid(),
                    "host": host or socket.gethostname(),
                }
            )
        return int(table.last_pk)

    def close_interrupted_runs(self) -> list[int]:
        """Mark as interrupted every run still ``running`` whose process is gone.

        A killed crawl never reaches finish_run; left alone its row would say
        ``running`` for ever. A run of this host whose pid is not alive, or one
        recorded before runs kept their pid, is over. A run of another host (an
        archive on shared storage) cannot be checked from here and is left.
        """
        host = socket.gethostname()
        closed = []
        with self._transaction():
            for run_id, pid, run_host in self.db.execute(
                "SELECT id, pid, host FROM crawl_runs WHERE status = 'running'"
            ).fetchall():
                if pid is not None and (run_host != host or _alive(pid)):
                    continue
                who = f"process {pid} on {run_host}" if pid is not None else "its process"
                self.db.execute(
                    "UPDATE crawl_runs SET status = 'interrupted', finished = ?, message = ?"
                    " WHERE id = ?",
                    [utcnow(), f"{who} ended before the run finished", run_id],
                )
                closed.append(run_id)
        return closed

    def finish_run(self, run_id: int, figures: RunFigures) -> None:
        row: dict[str, Any] = asdict(figures)
        for name in ("by_status", "error_kinds"):
            row[name] = json.dumps(dict(row[name] or {}), sort_keys=True)
        row["warc_files"] = json.dumps(list(figures.warc_files))
        row["finished"] = utcnow()
        with self._joined():
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
        record_type: str | None = None,
        location: str | None = None,
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
            "record_type": record_type if pointer is not None else None,
            "location": location,
        }
        if pointer is not None:
            row |= {
                "warc_filename": pointer.filename,
                "warc_offset": pointer.offset,
                "warc_length": pointer.length,
                "warc_record_id": pointer.record_id,
                "payload_digest": pointer.payload_digest,
            }
        with self._joined():
            table = self.db.table("captures").insert(row)
        return int(table.last_pk)

    def set_capture_error(self, capture_id: int, error: str) -> None:
        """Say what became of a recorded response: too large to keep, or deferred."""
        with self._joined():
            self.db.table("captures").update(capture_id, {"error": error})

    def save_article(
        self,
        article: Mapping[str, Any],
        aliases: Iterable[str] = (),
        *,
        known_simhash: tuple[str | None, int | None] | None = None,
    ) -> str:
        """Store one capture of an article; returns "new", "updated" or "unchanged".

        The article is found by its URL or any alias. A capture whose title or
        text differs from the article's latest version becomes a new version
        (the earlier ones stay in article_versions with their WARC pointers); one
        that says the same only marks the article checked. Re-reading a capture
        already stored (re-extraction) updates that version in place. The search
        index, aliases and near-duplicate group follow in the same transaction:
        a process killed half-way leaves none of them, so the next run stores
        the article afresh instead of tripping over half of it.

        known_simhash: (text, simhash(text)) computed elsewhere (a worker process),
        used when the article's text is that text: the simhash is most of the
        writer's work for a long article.
        """
        row = dict(article)
        if isinstance(row.get("discovery"), dict):
            row["discovery"] = json.dumps(row["discovery"], ensure_ascii=False, sort_keys=True)
        if "published" in row:
            row["published_month"] = (row["published"] or "")[:7] or None
        url = row["url"]
        with self._transaction():
            article_id = self.article_id(url, aliases)
            if article_id is None:
                row |= {"versions": 1, "last_checked": row["fetched"]}
                article_id = int(self.db.table("articles").insert(row).last_pk)
                self._add_version(article_id, 1, row)
                outcome = "new"
            else:
                current = self.db.table("articles").get(article_id)
                outcome = self._merge(article_id, current, row)
            for alias in {url, row.get("fetched_url"), *aliases} - {None}:
                self.db.execute(
                    "INSERT OR IGNORE INTO article_aliases (url, article_id) VALUES (?, ?)",
                    [alias, article_id],
                )
            if outcome != "unchanged":
                self._index(article_id)
                self._fingerprint(article_id, known_simhash)
        return outcome

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One explicit transaction: everything inside commits together or not at all.

        Not ``with self.db.conn:``: in legacy isolation mode it opens no transaction,
        so sqlite-utils committed each statement on its own. Inside an explicit one,
        sqlite-utils (4.x) nests its writes in savepoints, but a ``with conn:`` (or
        ``conn.commit()``) would still commit it half-way: the check below turns such
        a mistake into an error instead of a silently half-written article.
        IMMEDIATE takes the write lock up front, so a concurrent writer waits at
        BEGIN (busy_timeout) rather than failing half-way through.
        """
        if self._in_unit:  # part of the enclosing unit(): it commits, or not, with it
            yield
            return
        conn = self.db.conn
        if conn.in_transaction:
            raise RuntimeError("a transaction is already open: this one would not be atomic")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            if not conn.in_transaction:
                raise RuntimeError("the transaction was committed before its end")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def unit(self) -> Iterator[None]:
        """Several writes as one transaction: each write inside joins it instead of
        committing on its own. The cluster's ingest applies a stream entry and notes it
        applied in one unit, so a kill between the two cannot apply it twice."""
        with self._transaction():
            self._in_unit = True
            try:
                yield
            finally:
                self._in_unit = False

    def _joined(self) -> AbstractContextManager[Any]:
        """One write: its own commit, or none inside a unit() (the unit commits it)."""
        return nullcontext() if self._in_unit else self.db.conn

    def _merge(self, article_id: int, current: dict[str, Any], row: dict[str, Any]) -> str:
        row.pop("url", None)  # an article keeps the URL it was first archived under
        if current["warc_record_id"] == row.get("warc_record_id"):  # the same capture, read again
            changed = any(current.get(c) != row.get(c) for c in EXTRACTED_COLUMNS if c in row)
            self.db.table("articles").update(article_id, row)
            self._update_version(row)
            return "updated" if changed else "unchanged"
        if row.get("fetched", "") < current["fetched"]:  # an earlier capture, read again
            return "updated" if self._update_version(row) else "unchanged"
        if _same_words(current, row):
            self.db.table("articles").update(article_id, {"last_checked": row["fetched"]})
            return "unchanged"
        version = current["versions"] + 1
        self.db.table("articles").update(
            article_id, row | {"versions": version, "last_checked": row["fetched"]}
        )
        self._add_version(article_id, version, row)
        return "updated"

    def _add_version(self, article_id: int, version: int, row: Mapping[str, Any]) -> None:
        self.db.table("article_versions").insert(
            {"article_id": article_id, "version": version}
            | {c: row.get(c) for c in _VERSION_COLUMNS}
        )

    def _update_version(self, row: Mapping[str, Any]) -> bool:
        found = self.db.execute(
            "SELECT id, title, text, published, modified FROM article_versions"
            " WHERE warc_record_id = ?",
            [row.get("warc_record_id")],
        ).fetchone()
        if found is None:
            return False
        values = [row.get(c) for c in ("title", "text", "published", "modified")]
        if list(found[1:]) == values:
            return False
        self.db.execute(
            "UPDATE article_versions SET title = ?, text = ?, published = ?, modified = ?"
            " WHERE id = ?",
            [*values, found[0]],
        )
        return True

    def article_id(self, url: str, aliases: Iterable[str] = ()) -> int | None:
        for candidate in (url, *aliases):
            found = self.db.execute(
                "SELECT article_id FROM article_aliases WHERE url = ?", [candidate]
            ).fetchone()
            if found:
                return int(found[0])
        # An archive written before saves were one transaction may hold an article row
        # whose aliases never made it: find it by its URL rather than insert it twice.
        found = self.db.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
        return int(found[0]) if found else None

    def add_alias(self, url: str, alias: str) -> bool:
        """Record alias as one more URL of the article stored under url (or any of its
        aliases); False when no such article is stored yet."""
        article_id = self.article_id(url)
        if article_id is None:
            return False
        with self._joined():
            self.db.execute(
                "INSERT OR IGNORE INTO article_aliases (url, article_id) VALUES (?, ?)",
                [alias, article_id],
            )
        return True

    def record_page_kind(
        self, site: str, url: str, kind: str, reason: str | None, run_id: int | None = None
    ) -> None:
        """What the page at url declared itself to be (the latest word wins)."""
        with self._joined():
            self.db.execute(
                "INSERT OR REPLACE INTO page_kinds (site, url, kind, reason, run_id, decided)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [site, url, kind, reason, run_id, utcnow()],
            )

    def page_kind(self, site: str, url: str) -> str | None:
        found = self.db.execute(
            "SELECT kind FROM page_kinds WHERE site = ? AND url = ?", [site, url]
        ).fetchone()
        return found[0] if found else None

    def earlier_capture(self, url: str, digest: str) -> WarcPointer | None:
        """The latest full response for url whose payload had this digest, or None.
        Error answers (4xx, 5xx) are not offered: a page must not be replayed as one."""
        found = self.db.execute(
            "SELECT warc_filename, warc_offset, warc_length, warc_record_id, payload_digest,"
            " fetched FROM captures WHERE url = ? AND payload_digest = ?"
            " AND record_type = 'response' AND status < 400 ORDER BY id DESC LIMIT 1",
            [url, digest],
        ).fetchone()
        return WarcPointer(*found) if found else None

    def known(self, url: str, hops: int = 3) -> KnownArticle | None:
        """What the archive knows of the article at url (under any of its URLs, or where it
        last redirected), or None."""
        found = self._known(url)
        while found is None and hops > 0:
            redirect = self.db.execute(
                "SELECT location FROM captures WHERE url = ? AND status BETWEEN 300 AND 399"
                " AND location IS NOT NULL ORDER BY id DESC LIMIT 1",
                [url],
            ).fetchone()
            if redirect is None:
                return None
            url, hops = redirect[0], hops - 1
            found = self._known(url)
        return found

    def gone(self, url: str) -> bool:
        """Whether the last answer for url was 404 Not Found or 410 Gone."""
        last = self.db.execute(
            "SELECT status FROM captures WHERE url = ? AND status IS NOT NULL"
            " ORDER BY id DESC LIMIT 1",
            [url],
        ).fetchone()
        return last is not None and last[0] in (404, 410)

    def _known(self, url: str) -> KnownArticle | None:
        found = self.db.execute(
            "SELECT a.id, a.published, a.last_checked, a.versions,"
            " (SELECT min(fetched) FROM article_versions v WHERE v.article_id = a.id)"
            " FROM article_aliases x JOIN articles a ON a.id = x.article_id WHERE x.url = ?",
            [url],
        ).fetchone()
        return KnownArticle(*found) if found else None

    def _fingerprint(
        self, article_id: int, known: tuple[str | None, int | None] | None = None
    ) -> None:
        text = self.db.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()[0]
        fingerprint = known[1] if known is not None and known[0] == text else simhash(text)
        self.db.execute("DELETE FROM fingerprint_bands WHERE article_id = ?", [article_id])
        if fingerprint is None:
            self.db.execute(
                "UPDATE articles SET fingerprint = NULL, duplicate_group = NULL WHERE id = ?",
                [article_id],
            )
            return
        group = None
        for band, value in bands(fingerprint):
            for other, other_fp, other_group in self.db.execute(
                "SELECT a.id, a.fingerprint, a.duplicate_group FROM fingerprint_bands b"
                " JOIN articles a ON a.id = b.article_id"
                " WHERE b.band = ? AND b.value = ? AND b.article_id != ?",
                [band, value, article_id],
            ):
                if other_fp and distance(fingerprint, int(other_fp, 16)) <= MAX_DISTANCE:
                    candidate = other_group or other
                    group = candidate if group is None else min(group, candidate)
        self.db.conn.executemany(
            "INSERT INTO fingerprint_bands (band, value, article_id) VALUES (?, ?, ?)",
            [(band, value, article_id) for band, value in bands(fingerprint)],
        )
        if group is not None:
            # Everyone already in the group, and this article, take the group's first id.
            self.db.execute(
                "UPDATE articles SET duplicate_group = ? WHERE id = ? OR duplicate_group = ?"
                " OR id = ?",
                [min(group, article_id), article_id, group, group],
            )
        self.db.execute(
            "UPDATE articles SET fingerprint = ? WHERE id = ?", [to_hex(fingerprint), article_id]
        )

    def _index(self, article_id: int) -> None:
        title, text = self.db.execute(
            "SELECT title, text FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        self.db.execute("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        self.db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            [article_id, index_text(title), index_text(text)],
        )

    def reindex(
        self,
        on_total: Callable[[int], None] | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> int:
        """Rebuild the whole full-text index (after a change to the normalisation), in
        one transaction: interrupted, it leaves the old index whole, not half of one.
        on_total is told how many articles there are, on_done each one indexed."""
        with self._transaction():
            self.db.execute("DELETE FROM articles_fts")
            ids = [r[0] for r in self.db.execute("SELECT id FROM articles")]
            if on_total is not None:
                on_total(len(ids))
            for article_id in ids:
                self._index(article_id)
                if on_done is not None:
                    on_done(1)
        return len(ids)

    def article_count(self, site: str | None = None) -> int:
        if site is None:
            return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        return self.db.execute("SELECT count(*) FROM articles WHERE site = ?", [site]).fetchone()[0]
