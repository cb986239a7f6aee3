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
from typing import Any
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

# Sent to each site still open when a stop is overdue (see arm_stop_deadline): its run
# is recorded as it stands and the extraction workers are killed, then the reactor stops.
stop_overdue = object()
# The seconds a run that has decided to stop may take to end, before it is ended anyway.
STOP_TIMEOUT = "ARSHIF_STOP_TIMEOUT"
# The armed deadline of this process, if any: one, whichever cause came first.
_DEADLINE: list[Any] = []
# The cause of a stop that was overdue and ended without the reactor's shutdown.
OVERDUE: list[str] = []

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
    arm_stop_deadline(crawler, STORAGE_FAILED, f"{name}: {message}")
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
