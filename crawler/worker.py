"""``arshif crawl --redis``: one cluster worker, crawling one leased site at a time.

The same cron line runs on every machine: each worker queues the sites it was given
(unless queued, taken, or crawled within the last ``every`` seconds), then takes
sites under a lease until none is due. While another worker still holds a lease it
waits, to take the site over should that worker die. Sites run one after another
in one Scrapy process (its reactor cannot restart).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from archive.cluster.connection import ClusterError, connect
from archive.cluster.sites import Renewer, SiteQueue
from archive.cluster.stream import worker_name
from archive.discover.sites import Site
from archive.store.writer import check_data_dir
from crawler.cluster import cluster_settings, stream_of
from crawler.runner import SiteResult, project_settings

logger = logging.getLogger(__name__)


def _result(key: str, crawler: Any) -> SiteResult:
    stream = stream_of(crawler)
    figures = stream.figures if stream is not None else None
    if figures is None:
        return SiteResult(key, "failed", message="the crawl did not start")
    return SiteResult(
        key=key,
        status=figures.status,
        articles=figures.articles,
        responses=figures.responses,
        bytes=figures.bytes,
        errors=figures.errors,
        message=figures.message,
        new=figures.new_articles,
        updated=figures.updated_articles,
        unchanged=figures.unchanged_articles,
        revisits=figures.revisits,
        duration=figures.duration,
    )


def run_worker(
    url: str,
    sites: list[Site],
    data_dir: Path,
    *,
    sites_files: Iterable[str | Path] = (),
    overrides: Mapping[str, Any] | None = None,
    lease_seconds: float,
    every_seconds: float,
    on_site_done: Callable[[SiteResult], None] | None = None,
) -> list[SiteResult]:
    """Take and crawl due sites until none is left; one result per site crawled."""
    from scrapy.crawler import AsyncCrawlerProcess

    check_data_dir(data_dir)
    client = connect(url)
    registry = {site.key: site for site in sites}
    queue = SiteQueue(client, worker_name(), lease_seconds, every_seconds)
    queue.heartbeat()
    queued = queue.push_due(registry)
    if queued:
        logger.info("queued %d due site(s): %s", len(queued), ", ".join(queued))
    settings = project_settings(
        data_dir, sites_files, {**(overrides or {}), **cluster_settings(url)}
    )
    process = AsyncCrawlerProcess(settings)
    from twisted.internet import reactor  # only now: the process installed the asyncio one

    results: list[SiteResult] = []
    errors: list[BaseException] = []

    async def drive() -> None:
        while True:
            lease = queue.take()
            if lease is None:
                if not queue.busy():
                    return
                queue.heartbeat()  # another worker holds a site: wait to take it over
                await asyncio.sleep(max(lease_seconds / 3, 0.2))
                continue
            if lease.site not in registry:
                queue.release(lease)
                raise ClusterError(
                    f"site {lease.site!r} is queued in {url} but not registered here"
                    " (the same --sites on every machine?)"
                )
            crawler = process.create_crawler(lease.site)
            renewer = Renewer(
                queue, lease, on_lost=lambda c=crawler: reactor.callFromThread(c.stop)
            )
            renewer.start()
            try:
                await process.crawl(crawler)
            finally:
                renewer.stop()
            reason = crawler.stats.get_value("finish_reason")
            result = _result(lease.site, crawler)
            if reason == "finished" and not lease.lost:
                queue.finish(lease, result.status)
            else:  # stopped part-way: the frontier stays for the next taker
                queue.release(lease)
            results.append(result)
            if on_site_done is not None:
                on_site_done(result)
            if reason != "finished":
                return

    def start() -> None:
        task = asyncio.ensure_future(drive())

        def stop(done: asyncio.Future) -> None:
            if not done.cancelled() and done.exception() is not None:
                errors.append(done.exception())
            if reactor.running:
                reactor.stop()

        task.add_done_callback(stop)

    reactor.callWhenRunning(start)
    process.start(stop_after_crawl=False)
    if errors:
        raise errors[0]
    return results
