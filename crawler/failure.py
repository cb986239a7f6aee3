"""Fail fast when the archive cannot be written: a full disk (or a file-size limit, a
read-only remount, a broken SQLite file) ends every running site at once, in one line.

Without this, a failed WARC or SQLite write surfaced as an error per response: the
crawl went on writing nothing, logged a traceback each time, and could end `ok` or
hang with the crawl lock held.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from weakref import WeakSet

from scrapy.crawler import Crawler
from scrapy.utils.defer import _schedule_coro

from archive.store.writer import DB_NAME

logger = logging.getLogger(__name__)

# What a write to the WARC files or archive.db raises when the disk refuses it:
# ENOSPC, EFBIG, EIO, EROFS; SQLite's "database or disk is full" and "disk I/O error".
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.OperationalError)

# The spider close reason of a run stopped because the archive cannot be written.
STORAGE_FAILED = "storage-failed"
# The stat that holds the one-line cause, for the run's figures.
MESSAGE_STAT = "arshif/storage_failed"

# Every crawler of this process: the disk is shared, so when one site cannot
# write, none can, and all stop rather than fail one write at a time.
_CRAWLERS: WeakSet[Crawler] = WeakSet()


def db_name(data_dir: str | Path | None) -> str:
    return str(Path(data_dir) / DB_NAME) if data_dir else DB_NAME


def register(crawler: Crawler) -> None:
    _CRAWLERS.add(crawler)


def has_failed(crawler: Crawler) -> bool:
    return crawler.stats.get_value(MESSAGE_STAT) is not None


def describe(error: BaseException) -> str:
    """'No space left on device', not '[Errno 28] No space left on device: '/x'': the
    path is said by the caller, once."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def storage_failed(crawler: Crawler, what: str, error: BaseException) -> None:
    """Record why `crawler` cannot write `what` and close every running site."""
    message = f"cannot write {what}: {describe(error)}"
    if has_failed(crawler):
        return  # the first failure said it; the writes after it fail the same way
    name = crawler.spider.name if crawler.spider else "?"
    logger.error("%s: %s; stopping the crawl", name, message)
    for other in list(_CRAWLERS):
        if not has_failed(other):
            other.stats.set_value(
                MESSAGE_STAT, message if other is crawler else f"stopped: {name}: {message}"
            )
        _close(other)


def _close(crawler: Crawler) -> None:
    # `crawler.engine` raises before the crawl starts; Scrapy's own code reads `_engine` then.
    engine = getattr(crawler, "_engine", None)
    # A site that has not opened yet, or has closed already, has nothing to close.
    if engine is None or engine.spider is None or getattr(engine, "_slot", None) is None:
        return
    _schedule_coro(engine.close_spider_async(reason=STORAGE_FAILED))


@contextmanager
def log_file_failures(log_file: Path) -> Iterator[None]:
    """While it lasts, a log file that cannot be written (on the same full disk as the
    archive) costs one line on stderr, not logging's traceback for every record."""
    original = logging.FileHandler.handleError
    said: list[BaseException] = []

    def handle_error(handler: logging.Handler, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not said and error is not None:
            said.append(error)
            print(f"arshif: cannot write the log {log_file}: {describe(error)};"
                  " its lines are lost from here", file=sys.stderr)  # fmt: skip

    logging.FileHandler.handleError = handle_error  # type: ignore[method-assign]
    try:
        yield
    finally:
        logging.FileHandler.handleError = original  # type: ignore[method-assign]
