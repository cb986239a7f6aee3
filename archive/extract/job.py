"""One page's extraction as a job a worker process runs: the page in, its ArticleRecord
(or PageTooLarge) out, computed by the same ``extract_article`` the crawl runs in
process with ``ARSHIF_EXTRACT_WORKERS=0`` and re-extraction runs from WARC.

Everything a job carries pickles (bytes, str, a frozen Site, a datetime), and so does
what comes back: the crawl process gets the very record it would have computed itself.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from archive.discover.sites import Site
from archive.extract.article import ArticleRecord, extract_article
from archive.store.fingerprint import simhash

# A small page that takes a fresh worker through every lazy load (lxml, trafilatura,
# the language model), so the first real page a worker gets is not the slow one.
_WARM_UP_PAGE = (
    "<html><head><title>خبر</title></head><body><article><h1>خبر</h1>"
    "<p>تسعى روسيا الى وقف القتال بين اذربيجان وارمينيا، وأعلنت وزارة الدفاع.</p>"
    "</article></body></html>"
).encode()


# Seconds between a worker's checks that the crawl process is still there.
ORPHAN_CHECK = 1.0


@dataclass(frozen=True)
class ExtractJob:
    body: bytes = field(repr=False)
    url: str
    site: Site | None
    content_type: str | None = None
    hints: dict[str, Any] = field(default_factory=dict, repr=False)
    fetched: datetime | None = None
    max_size: int | None = None
    # Test-only: seconds the worker sleeps before extracting when the URL matches
    # delay_urls (a regex; empty: every page). How tests get extractions that are in
    # flight at a SIGTERM or that outlast the time bound; a user never sets it.
    delay: float = 0.0
    delay_urls: str = ""


# A log record as the crawl process re-emits it: logger name, level, message.
LogLine = tuple[str, int, str]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, record.getMessage()))


def run_job(job: ExtractJob) -> tuple[ArticleRecord, int | None, list[LogLine], float, float]:
    """Runs in a worker process. What extraction logs (a canonical URL dropped, say)
    comes back with the record, for the crawl's log: a worker has none of its own.
    The text's simhash comes back too: it is most of the writer's work on a long
    article, and the writer is the one process that cannot be spread over cores.
    Last, the CPU and wall seconds extraction took here, for the crawl's stage times."""
    if job.delay > 0 and (not job.delay_urls or re.search(job.delay_urls, job.url)):
        time.sleep(job.delay)
    cpu, start = time.process_time(), time.perf_counter()
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    try:
        record = extract_article(
            job.body,
            job.url,
            job.site,
            content_type=job.content_type,
            hints=job.hints,
            fetched=job.fetched,
            max_size=job.max_size,
        )
    finally:
        root.removeHandler(collect)
    fingerprint = simhash(record.text)
    took = time.process_time() - cpu, time.perf_counter() - start
    return record, fingerprint, collect.lines, *took


def replay(lines: list[LogLine]) -> None:
    """In the crawl process: log what a worker logged, under the same logger names."""
    for name, level, message in lines:
        logging.getLogger(name).log(level, "%s", message)


def start_worker(crawl_pid: int) -> None:
    """A worker's initializer. Ctrl-C on a terminal signals the whole process group, and a
    service manager may SIGTERM every process of the service: the crawl process decides
    what becomes of the pages in flight (finish them within the grace, or record them
    for reextract), so a worker must not die under them first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger().setLevel(logging.INFO)  # what the crawl log shows, by default
    # A worker waits for jobs on a queue whose write end it holds itself, and keeps the
    # fork server (its parent) alive: when the crawl process is killed (SIGKILL) nothing
    # wakes it, and it would stay forever. So it watches the crawl process.
    threading.Thread(target=_exit_with, args=(crawl_pid,), daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a dead process its parent has not reaped yet is a zombie
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: the signal test is what there is


def _exit_with(pid: int) -> None:
    while _alive(pid):
        time.sleep(ORPHAN_CHECK)
    os._exit(1)


def warm_up() -> int:
    """The first task of every worker; returns its pid."""
    extract_article(_WARM_UP_PAGE, "https://warm-up.invalid/")
    return os.getpid()
