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
from typing import Any, ClassVar, Self
from weakref import WeakSet

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import _schedule_coro

from archive.store import ballast
from archive.store.writer import DB_NAME

logger = logging.getLogger(__name__)

# What a write to the WARC files or archive.db raises when the disk refuses it:
# ENOSPC, EFBIG, EIO, EROFS; SQLite's "database or disk is full" and "disk I/O error".
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.OperationalError)

# The spider close reason of a run stopped because the archive cannot be written.
STORAGE_FAILED = "storage-failed"
# The stat that holds the one-line cause, for the run's figures.
MESSAGE_STAT = "arshif/storage_failed"

# Sent to each site still open when a stop is overdue (see arm_stop_deadline): its run
# is recorded as it stands and the extraction workers are killed, then the reactor stops.
stop_overdue = object()
# The seconds a run that has decided to stop may take to end, before it is ended anyway.
STOP_TIMEOUT = "ARSHIF_STOP_TIMEOUT"
# The armed deadline of this process, if any: one, whichever cause came first.
_DEADLINE: list[Any] = []
# The cause of a stop that was overdue and ended without the reactor's shutdown.
OVERDUE: list[str] = []

# Data directories whose disk reserve this process gave up: not made again by a site
# opening later in the same run, which would take back the room the failure needs.
_RELEASED: set[str] = set()

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
    # First of all: room for the writes that record the failure (the run rows, the
    # end of the log), which a full disk would refuse as it refused this one.
    release_reserve(crawler)
    if has_failed(crawler):
        return  # the first failure said it; the writes after it fail the same way
    name = crawler.spider.name if crawler.spider else "?"
    logger.error("%s: %s; stopping the crawl", name, message)
    arm_stop_deadline(crawler, STORAGE_FAILED, f"{name}: {message}")
    for other in list(_CRAWLERS):
        if not has_failed(other):
            other.stats.set_value(
                MESSAGE_STAT, message if other is crawler else f"stopped: {name}: {message}"
            )
        _close(other)


def release_reserve(crawler: Crawler) -> int:
    """Delete the data directory's disk reserve (archive/store/ballast.py); the bytes freed."""
    data_dir = crawler.settings.get("ARSHIF_DATA_DIR")
    if not data_dir:
        return 0
    _RELEASED.add(str(data_dir))
    try:
        freed = ballast.release(data_dir)
    except OSError as e:  # a read-only remount, say: nothing to free, the cause is said
        logger.error("cannot delete the disk reserve %s: %s", ballast.ballast_path(data_dir), e)
        return 0
    if freed:
        logger.warning(
            "deleted the disk reserve %s (%d bytes) to record the failure",
            ballast.ballast_path(data_dir), freed,
        )  # fmt: skip
    return freed


def reserve_released(data_dir: str | Path) -> bool:
    return str(data_dir) in _RELEASED


def _close(crawler: Crawler) -> None:
    # `crawler.engine` raises before the crawl starts; Scrapy's own code reads `_engine` then.
    engine = getattr(crawler, "_engine", None)
    # A site that has not opened yet, or has closed already, has nothing to close; one
    # closing already (the run recorder meeting the full disk at its close) is left to it.
    if engine is None or engine.spider is None or getattr(engine, "_slot", None) is None:
        return
    if engine._slot.closing is not None:
        return
    _schedule_coro(engine.close_spider_async(reason=STORAGE_FAILED))


def _is_open(crawler: Crawler) -> bool:
    engine = getattr(crawler, "_engine", None)
    return engine is not None and engine.spider is not None


def arm_stop_deadline(crawler: Crawler, reason: str, cause: str) -> None:
    """Once a run has decided to stop, it ends within ARSHIF_STOP_TIMEOUT seconds.

    A close waits for every request in progress, and one whose handling never ends
    (a Deferred that never fires, a stalled download) held the crawl lock for ever
    at 0% CPU, and every later cron run exited 75. Past the bound each site still
    open records its run as it stands (`reason` as its close reason) and the
    reactor stops: `arshif crawl` then reports, releases the lock and exits 1.
    """
    timeout = crawler.settings.getfloat(STOP_TIMEOUT, 30.0)
    # No reactor running (a component used on its own): no crawl to bound, and no
    # reactor to install by importing it.
    reactor = sys.modules.get("twisted.internet.reactor")
    if _DEADLINE or timeout <= 0 or reactor is None or not reactor.running:
        return
    _DEADLINE.append(reactor.callLater(timeout, _overdue, timeout, reason, cause))


def disarm_stop_deadline() -> None:
    """At the end of a crawl: a deadline left armed must not fire in the next one, and
    a crawl ended by one has its reactor's threads stopped (no shutdown did it)."""
    while _DEADLINE:
        call = _DEADLINE.pop()
        if call.active():
            call.cancel()
    if OVERDUE:
        OVERDUE.clear()
        from twisted.internet import reactor

        if (threads := getattr(reactor, "threadpool", None)) is not None:
            threads.stop()


def _overdue(timeout: float, reason: str, cause: str) -> None:
    from twisted.internet import reactor

    _DEADLINE.clear()
    late = [c for c in list(_CRAWLERS) if _is_open(c)]
    if not late:
        return  # every site closed: the process is ending by itself
    names = ", ".join(c.spider.name for c in late if c.spider)
    print(
        f"arshif: {cause}; {names} did not stop within {timeout:g} s ({STOP_TIMEOUT}),"
        " ended without waiting further",
        file=sys.stderr,
        flush=True,
    )
    for crawler in late:
        crawler.signals.send_catch_log(stop_overdue, reason=reason)
    OVERDUE.append(cause)
    # Not reactor.stop(): its shutdown first stops every crawler gracefully, which
    # waits for the very close that hangs. crash() returns from reactor.run() at once.
    reactor.crash()


class DiskReserve:
    """Keeps ARSHIF_DISK_RESERVE bytes (archive/store/ballast.py) in the data directory
    while sites are crawled; failure.storage_failed deletes them when the disk refuses a
    write, so the run rows can still be written ``failed`` with the cause.

    A disk that cannot give the reserve does not stop the crawl: a run that fetches
    little (revisits, a quiet site) may well fit in what is left, and a news archive
    that skips a run loses the pages that changed meanwhile. It is said on one line,
    and without the reserve a full disk may leave the run's row to the next run
    (which closes it ``interrupted``). Off for cluster workers (ARSHIF_REDIS_URL),
    which never write archive.db; 0 turns it off.
    """

    warned: ClassVar[set[str]] = set()  # once a process per data directory, not once per site

    def __init__(self, crawler: Crawler, size: int) -> None:
        self.crawler = crawler
        self.size = size
        self.data_dir = crawler.settings.get("ARSHIF_DATA_DIR")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.get("ARSHIF_DATA_DIR") or settings.get("ARSHIF_REDIS_URL"):
            raise NotConfigured("no archive.db written here")
        try:
            size = settings.getint("ARSHIF_DISK_RESERVE", ballast.DEFAULT_SIZE)
        except ValueError:
            value = settings.get("ARSHIF_DISK_RESERVE")
            logger.warning("ARSHIF_DISK_RESERVE=%r is not a number of bytes; no reserve", value)
            raise NotConfigured("ARSHIF_DISK_RESERVE is not a number") from None
        if size <= 0:
            raise NotConfigured("ARSHIF_DISK_RESERVE is 0")
        reserve = cls(crawler, size)
        crawler.signals.connect(reserve.spider_opened, signal=signals.spider_opened)
        return reserve

    def spider_opened(self, spider: Spider) -> None:
        if reserve_released(self.data_dir) or has_failed(self.crawler):
            return  # a site of this run freed it for its failure: that room is not ours
        try:
            ballast.reserve(self.data_dir, self.size)
        except OSError as e:
            if self.data_dir in DiskReserve.warned:
                return
            DiskReserve.warned.add(self.data_dir)
            line = (
                f"cannot keep a disk reserve of {self.size} bytes in"
                f" {ballast.ballast_path(self.data_dir)}: {describe(e)};"
                " crawling without it (ARSHIF_DISK_RESERVE)"
            )
            logger.warning(line)
            print(f"arshif: warning: {line}", file=sys.stderr, flush=True)


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
