"""Where a crawl's time goes: seconds per stage, kept in the crawl's Scrapy stats.

Each stage has two stats, summed over the run: ``arshif/time/<stage>``, CPU time of
the thread that ran it (what the stage costs, whatever else the machine runs), and
``arshif/wall/<stage>``, wall time (CPU plus waits: fsync, a lock, the scheduler
giving the core to another process). The stages:

- ``extract``: ``ExtractPipeline.process_item``, decoding to fingerprint-ready record;
- ``store``: ``ArchivePipeline._store``, the WARC metadata record, the SQLite row,
  its search index entry and its fingerprint;
- ``warc``: every WARC record written (responses, requests and metadata: gzip and
  digests), and ``warc_metadata``, the metadata records' share of it, which
  ``store`` holds too.

Whatever the crawl process spends beyond these (the proxy or TLS connection,
reading and gunzipping responses, scheduling, discovery) is its total CPU time
less them: ``make bench-crawl`` reads the total from the kernel. The timers are
four clock reads a stage, microseconds against the tens of milliseconds spent
extracting a page, so they stay on. With ``ARSHIF_STATS_FILE`` set, each spider's
stats are also written there as one JSON line when it closes (the benchmark reads them).

A stage whose method is a coroutine (an extraction awaited from worker
processes) has only its wall time: from call to result, the wait, not CPU here.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self, TypeVar

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

PREFIX, WALL_PREFIX = "arshif/time/", "arshif/wall/"
F = TypeVar("F", bound=Callable[..., Any])


def add_time(crawler: Crawler, stage: str, cpu: float | None, wall: float) -> None:
    if cpu is not None:
        crawler.stats.inc_value(PREFIX + stage, cpu, start=0.0)
    crawler.stats.inc_value(WALL_PREFIX + stage, wall, start=0.0)


def timed(stage: str) -> Callable[[F], F]:
    """Decorate a method of a component that has ``self.crawler``: its CPU and wall
    time are added to the stage's stats, whether it returns or raises."""

    def decorate(method: F) -> F:
        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def timed_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await method(self, *args, **kwargs)
                finally:
                    add_time(self.crawler, stage, None, time.perf_counter() - start)

            return timed_async  # type: ignore[return-value]

        @functools.wraps(method)
        def timed_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            cpu, start = time.thread_time(), time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                wall = time.perf_counter() - start
                add_time(self.crawler, stage, time.thread_time() - cpu, wall)

        return timed_sync  # type: ignore[return-value]

    return decorate


class StageTimes:
    """Adds the WARC writer's seconds to the stats when a spider closes, and writes the
    spider's stats to ``ARSHIF_STATS_FILE`` (one JSON line a spider) when that is set."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ARSHIF_STAGE_TIMES", True):
            raise NotConfigured("ARSHIF_STAGE_TIMES is off")
        self.crawler = crawler
        path = crawler.settings.get("ARSHIF_STATS_FILE")
        self.stats_file = Path(path) if path else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider, reason: str) -> None:
        from crawler.middlewares import warc_writer

        writer = warc_writer(self.crawler)
        if writer is not None:
            for kind, (cpu, wall) in writer.seconds.items():
                add_time(self.crawler, "warc", cpu, wall)
                if kind == "metadata":
                    add_time(self.crawler, "warc_metadata", cpu, wall)
        if self.stats_file is None:
            return
        stats = self.crawler.stats.get_stats()
        line = {"spider": spider.name, "reason": reason}
        line |= {k: v for k, v in stats.items() if isinstance(v, int | float | str)}
        try:
            with self.stats_file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as e:
            spider.logger.warning("cannot write the stats to %s: %s", self.stats_file, e)
