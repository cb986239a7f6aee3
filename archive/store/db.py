"""The archive database schema, built and changed only through numbered migrations.

``PRAGMA user_version`` records how far a database has been migrated; opening
an archive applies the missing steps in order, each in one transaction, so an
archive made by an older arshif is upgraded in place and a failed step leaves
the previous version intact.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import weakref
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
logger = logging.getLogger(__name__)


def _m001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE sites (
            key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            cms TEXT NOT NULL,
            language TEXT NOT NULL,
            domains TEXT NOT NULL,          -- JSON list
            home TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE crawl_runs (
            id INTEGER PRIMARY KEY,
            site TEXT NOT NULL REFERENCES sites(key),
            started TEXT NOT NULL,          -- ISO 8601, UTC
            finished TEXT,
            status TEXT NOT NULL,           -- running, ok, partial, unreachable, failed
            requests INTEGER NOT NULL DEFAULT 0,
            responses INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0,
            articles INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            by_status TEXT,                 -- JSON {"200": n, ...}
            error_kinds TEXT,               -- JSON {"DNSLookupError": n, ...}
            warc_files TEXT,                -- JSON list
            message TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE captures (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES crawl_runs(id),
            site TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT,                      -- robots, feed, sitemap, listing, article
            method TEXT NOT NULL DEFAULT 'GET',
            status INTEGER,                 -- NULL when no response came back
            content_type TEXT,
            content_encoding TEXT,
            body_length INTEGER,
            warc_filename TEXT,
            warc_offset INTEGER,
            warc_length INTEGER,
            warc_record_id TEXT,
            payload_digest TEXT,
            fetched TEXT NOT NULL,
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX captures_url ON captures(url)")
    db.execute("CREATE INDEX captures_run ON captures(run_id)")
    db.execute(
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,       -- canonical URL
            site TEXT NOT NULL REFERENCES sites(key),
            title TEXT,
            text TEXT,
            published TEXT,                 -- ISO 8601
            language TEXT,
            description TEXT,
            fetched_url TEXT NOT NULL,      -- the URL whose response holds the page
            fetched TEXT NOT NULL,
            warc_filename TEXT NOT NULL,
            warc_offset INTEGER NOT NULL,   -- where the response record starts
            warc_length INTEGER NOT NULL,
            warc_record_id TEXT NOT NULL,
            payload_digest TEXT NOT NULL,
            capture_id INTEGER REFERENCES captures(id),
            run_id INTEGER REFERENCES crawl_runs(id),
            extractor TEXT,                 -- which extraction path produced the text
            discovery TEXT                  -- JSON: how it was found, what the feed/sitemap said
        )"""
    )
    db.execute("CREATE INDEX articles_site_published ON articles(site, published)")


def _m002_article_metadata(db: sqlite_utils.Database) -> None:
    for column, kind in [
        ("modified", "TEXT"),  # ISO 8601
        ("authors", "TEXT"),  # JSON list
        ("category", "TEXT"),
        ("tags", "TEXT"),  # JSON list
        ("canonical_url", "TEXT"),  # as the page declares it
        ("image", "TEXT"),
        ("word_count", "INTEGER"),
        ("encoding", "TEXT"),  # the page's character encoding
        ("extraction_path", "TEXT"),  # site-rules, generic, fallback-paragraphs
        ("date_source", "TEXT"),  # json-ld, meta, time, page:<calendar>, hint:<source>
        ("metadata_record_id", "TEXT"),  # the WARC metadata record holding the extraction
    ]:
        db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")


def _m003_search(db: sqlite_utils.Database) -> None:
    from archive.normalize import index_text  # the index holds normalised stems (see search.py)

    db.execute("ALTER TABLE articles ADD COLUMN published_month TEXT")  # YYYY-MM, for the facet
    db.execute("UPDATE articles SET published_month = substr(published, 1, 7)")
    db.execute("CREATE INDEX articles_published ON articles(published)")
    # Stock unicode61 over pre-normalised text: stock sqlite3, sqlite-utils and a
    # plain Datasette can open and query it; no custom tokenizer is needed.
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts"
        " USING fts5(title, text, tokenize = 'unicode61 remove_diacritics 2')"
    )
    rows = db.execute("SELECT id, title, text FROM articles").fetchall()
    db.conn.executemany(
        "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
        [(i, index_text(t), index_text(x)) for i, t, x in rows],
    )


def _m004_versions(db: sqlite_utils.Database) -> None:
    # Every stored version of every article; articles holds the latest.
    db.execute(
        """
        CREATE TABLE article_versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            version INTEGER NOT NULL,
            fetched TEXT NOT NULL,
            title TEXT,
            text TEXT,
            published TEXT,
            modified TEXT,
            warc_filename TEXT NOT NULL,
            warc_offset INTEGER NOT NULL,
            warc_record_id TEXT NOT NULL,
            payload_digest TEXT NOT NULL,
            run_id INTEGER REFERENCES crawl_runs(id),
            UNIQUE (article_id, version)
        )"""
    )
    db.execute(
        "INSERT INTO article_versions (article_id, version, fetched, title, text, published,"
        " modified, warc_filename, warc_offset, warc_record_id, payload_digest, run_id)"
        " SELECT id, 1, fetched, title, text, published, modified, warc_filename, warc_offset,"
        " warc_record_id, payload_digest, run_id FROM articles"
    )
    # Every URL an article is known under: fetched URL, redirect sources, canonical, short links.
    db.execute(
        "CREATE TABLE article_aliases"
        " (url TEXT PRIMARY KEY, article_id INTEGER NOT NULL REFERENCES articles(id))"
    )
    db.execute("INSERT OR IGNORE INTO article_aliases SELECT url, id FROM articles")
    db.execute("INSERT OR IGNORE INTO article_aliases SELECT fetched_url, id FROM articles")
    db.execute("ALTER TABLE articles ADD COLUMN versions INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE articles ADD COLUMN last_checked TEXT")  # last fetch, changed or not
    db.execute("ALTER TABLE articles ADD COLUMN fingerprint TEXT")  # simhash of the normalised text
    db.execute(
        "ALTER TABLE articles ADD COLUMN duplicate_group INTEGER"
    )  # id of the group's first article
    db.execute("UPDATE articles SET last_checked = fetched")
    # Simhash bands: two fingerprints within 3 bits share at least one of four 16-bit bands.
    db.execute(
        "CREATE TABLE fingerprint_bands (band INTEGER NOT NULL, value INTEGER NOT NULL,"
        " article_id INTEGER NOT NULL REFERENCES articles(id))"
    )
    db.execute("CREATE INDEX fingerprint_bands_lookup ON fingerprint_bands(band, value)")
    db.execute("CREATE INDEX captures_url_digest ON captures(url, payload_digest)")
    for column in ("new_articles", "updated_articles", "unchanged_articles", "revisits"):
        db.execute(f"ALTER TABLE crawl_runs ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE crawl_runs ADD COLUMN duration REAL")  # seconds
    db.execute("ALTER TABLE captures ADD COLUMN record_type TEXT")  # response, revisit, or NULL
    db.execute("ALTER TABLE captures ADD COLUMN location TEXT")  # where a redirect pointed


def _m005_page_kinds(db: sqlite_utils.Database) -> None:
    # What pages of unknown URL shape turned out to be, by what they declare: the
    # crawl asks once per URL, and `arshif sites suggest` turns them into rules.
    db.execute(
        """
        CREATE TABLE page_kinds (
            site TEXT NOT NULL,
            url TEXT NOT NULL,              -- as requested (canonical form)
            kind TEXT NOT NULL,             -- article or listing
            reason TEXT,                    -- og:type, json-ld, date+text, none
            run_id INTEGER REFERENCES crawl_runs(id),
            decided TEXT NOT NULL,          -- ISO 8601, UTC
            PRIMARY KEY (site, url)
        )"""
    )


def _m006_fts_for_stock_tools(db: sqlite_utils.Database) -> None:
    # sqlite-utils (`sqlite-utils search`, Table.search) and Datasette find a
    # table's index by a `content=[table]` in the index's CREATE statement. A real
    # content=articles would make FTS5 read the original words back when a row is
    # deleted or replaced, while the index holds stems: every update would corrupt
    # it. So the marker is a comment, which SQLite keeps in sqlite_master, and the
    # index stays as it is: copied under the new declaration, not rebuilt.
    db.execute("ALTER TABLE articles_fts RENAME TO articles_fts_m005")
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5"
        " /* the index of content=[articles]: its title and text as stems,"
        " rowid = articles.id (see archive/store/search.py) */"
        " (title, text, tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.execute(
        "INSERT INTO articles_fts (rowid, title, text)"
        " SELECT rowid, title, text FROM articles_fts_m005"
    )
    db.execute("DROP TABLE articles_fts_m005")


def _m007_run_process(db: sqlite_utils.Database) -> None:
    # Which process runs a crawl: a row left 'running' by a killed process can then be
    # told from one still at work, and closed as 'interrupted' by the next run.
    db.execute("ALTER TABLE crawl_runs ADD COLUMN pid INTEGER")
    db.execute("ALTER TABLE crawl_runs ADD COLUMN host TEXT")


def _m008_lost_records(db: sqlite_utils.Database) -> None:
    # Versions whose WARC record a repair found gone (cut off, file missing). A table of
    # its own: the version rows stay as they were, and stock tools see them unchanged.
    db.execute(
        """
        CREATE TABLE lost_records (
            version_id INTEGER PRIMARY KEY REFERENCES article_versions(id),
            flagged TEXT NOT NULL,          -- ISO 8601, UTC: when the repair found it gone
            problem TEXT NOT NULL           -- what verify said, naming file and offset
        )"""
    )


MIGRATIONS: list[Migration] = [
    _m001_initial,
    _m002_article_metadata,
    _m003_search,
    _m004_versions,
    _m005_page_kinds,
    _m006_fts_for_stock_tools,
    _m007_run_process,
    _m008_lost_records,
]
SCHEMA_VERSION = len(MIGRATIONS)


class ArchiveSchemaError(RuntimeError):
    """The database is newer than this arshif, or not an archive at all."""


def migrate(db: sqlite_utils.Database) -> int:
    """Bring db to SCHEMA_VERSION; returns how many steps ran."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise ArchiveSchemaError(
            f"archive schema version {current} is newer than this arshif knows ({SCHEMA_VERSION})"
        )
    for number in range(current, SCHEMA_VERSION):
        with db.conn:  # one transaction per step
            MIGRATIONS[number](db)
            db.execute(f"PRAGMA user_version = {number + 1}")
    return SCHEMA_VERSION - current


def readonly_uri(path: str | Path, *, immutable: bool = False) -> str:
    """The SQLite URI opening path read-only (``sqlite3.connect(..., uri=True)``).

    Percent-encoded: written as ``file:{path}?mode=ro``, a ``#`` or ``?`` in a folder's
    name would end the path there, and SQLite would create an empty file at what is left.
    immutable: for read-only media, where SQLite cannot create the WAL's -shm file.
    """
    return Path(path).resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")


class NotAnArchiveError(ArchiveSchemaError):
    """archive.db is missing its content: not SQLite, truncated, empty, a directory."""


_SQLITE_HEADER = b"SQLite format 3\x00"
_HEADER_SIZE = 100


class _Connection(sqlite3.Connection):
    """A connection this process can find again (the C type takes no weak references)."""


# The connections this process holds to each archive file. POSIX drops every lock a
# process holds on a file when it closes any descriptor of that file: reading the
# header with open() while a connection is open would silently release SQLite's
# locks, and another process (`arshif stats` during a crawl) could then take itself
# for the last connection, checkpoint, and delete the WAL the crawl still writes to.
_LIVE: dict[str, weakref.WeakSet[_Connection]] = {}


def _track(path: str | Path, conn: _Connection) -> _Connection:
    _LIVE.setdefault(os.path.realpath(path), weakref.WeakSet()).add(conn)
    return conn


def held(path: str | Path) -> bool:
    """Whether this process has an open connection to the archive at path."""
    for conn in list(_LIVE.get(os.path.realpath(path), ())):
        try:
            conn.total_changes  # noqa: B018 - raises once the connection is closed
        except sqlite3.ProgrammingError:
            continue
        return True
    return False


def check_file(path: str | Path, *, allow_empty: bool = False) -> None:
    """Raise NotAnArchiveError, in one line naming path, unless path looks like a whole
    SQLite database. allow_empty: a zero-byte file is taken as a database not yet
    written (only the crawl, which creates archives, may say so)."""
    path = Path(path)
    if held(path):
        return  # checked when it was first opened; open() now would drop SQLite's locks
    if path.is_dir():
        raise NotAnArchiveError(f"{path}: a directory, not an archive database")
    size = path.stat().st_size
    if size == 0:
        if allow_empty:
            return
        raise NotAnArchiveError(f"{path}: an empty file (0 bytes), not an archive")
    with path.open("rb") as f:
        header = f.read(_HEADER_SIZE)
    if not header.startswith(_SQLITE_HEADER):
        raise NotAnArchiveError(f"{path}: not an arshif archive (not an SQLite database)")
    if len(header) < _HEADER_SIZE:
        raise NotAnArchiveError(f"{path}: truncated ({size} bytes), not a whole archive")
    if Path(f"{path}-wal").exists():
        # A checkpoint may be growing the file right now: sizes prove nothing then.
        return
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    pages_valid = header[24:28] == header[92:96]  # the header's page count is current
    if size % page_size or (pages_valid and pages * page_size > size):
        raise NotAnArchiveError(
            f"{path}: truncated ({size} bytes, {pages * page_size} expected), not a whole archive"
        )


def writable_dir(path: Path) -> bool:
    """Whether SQLite can create the WAL's side files next to the database."""
    return os.access(path.parent, os.W_OK | os.X_OK)


def open_read_only(path: str | Path) -> sqlite3.Connection:
    """Open the archive at path read-only, also on read-only media, or raise
    NotAnArchiveError in one line when it is not a readable arshif archive.

    A WAL database opened mode=ro needs its -shm file, which SQLite cannot create
    in a read-only directory: there, unless the -shm is already there, the archive
    is opened immutable, which reads the main file and ignores the -wal (on a copy
    of a cleanly closed archive the -wal is gone or empty).
    """
    path = Path(path)
    check_file(path)
    immutable = not writable_dir(path) and not Path(f"{path}-shm").exists()
    wal = Path(f"{path}-wal")
    if immutable and wal.exists() and wal.stat().st_size > 0:
        # Not hidden: what the last crawl wrote after its last checkpoint is not shown.
        logger.warning(
            "arshif: warning: %s cannot be read on read-only media without its -shm file:"
            " showing the archive as of its last checkpoint",
            wal,
        )
    conn = _track(
        path,
        sqlite3.connect(readonly_uri(path, immutable=immutable), uri=True, factory=_Connection),
    )
    try:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        conn.close()
        raise NotAnArchiveError(f"{path}: damaged, not a readable archive ({e})") from None
    if not {"articles", "crawl_runs"} <= names:
        conn.close()
        raise NotAnArchiveError(f"{path}: an SQLite database, but not an arshif archive")
    if version > SCHEMA_VERSION:
        conn.close()
        raise ArchiveSchemaError(
            f"{path}: archive schema version {version} is newer than this arshif knows"
            f" ({SCHEMA_VERSION})"
        )
    return conn


def connect(path: str | Path, *, read_only: bool = False) -> sqlite_utils.Database:
    """Open (creating and migrating unless read_only) the archive at path."""
    if str(path) == ":memory:":
        db = sqlite_utils.Database(memory=True)
    elif read_only:
        return sqlite_utils.Database(open_read_only(path))
    else:
        if Path(path).exists():  # a new archive is made here; a file that is none is refused
            check_file(path, allow_empty=True)
        db = sqlite_utils.Database(
            _track(path, sqlite3.connect(str(path), timeout=30, factory=_Connection))
        )
        try:
            db.enable_wal()
        except sqlite3.DatabaseError as e:
            db.close()
            raise NotAnArchiveError(f"{path}: damaged, not a readable archive ({e})") from None
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 30000")
    migrate(db)
    return db
