"""A site's frontier in Redis: scrapy-redis's Scheduler, resumable after a worker dies.

scrapy-redis keeps the pending requests (a priority queue) and the seen set
(RFPDupeFilter) per site in Redis, so the worker that takes a dead worker's site
resumes where it stopped. Alone it loses the requests the dead worker had taken
from the queue and not finished: they are seen, so never queued again. This
scheduler keeps each request it hands out in an ``inflight`` hash until the
spider's output for it has been consumed (InflightDone), and queues again, on
opening, what a dead worker left there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy_redis.scheduler import Scheduler

from archive.cluster.connection import Keys

INFLIGHT_META = "arshif_inflight"


class ClusterScheduler(Scheduler):
    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.inflight_key = Keys.inflight(spider.name)
        left = self.server.hgetall(self.inflight_key)
        for data in left.values():
            self.queue.push(self.queue._decode_request(data))
        if left:
            spider.logger.info(
                "%s: %d request(s) a stopped worker had taken queued again", spider.name, len(left)
            )
        self.server.delete(self.inflight_key)

    def close(self, reason: str) -> None:
        # Finished: the next run of the site starts from its seeds. Stopped (a signal,
        # a lost lease): everything stays for whoever takes the site next.
        if reason == "finished":
            self.flush()
            self.server.delete(self.inflight_key)

    def next_request(self) -> Request | None:
        request = super().next_request()
        if request is None:
            return None
        fingerprint = self.df.request_fingerprint(request)
        earlier = request.meta.get(INFLIGHT_META)  # a redirect or retry of an earlier one
        pipe = self.server.pipeline(transaction=False)
        if earlier and earlier != fingerprint:
            pipe.hdel(self.inflight_key, earlier)
        pipe.hset(self.inflight_key, fingerprint, self.queue._encode_request(request))
        pipe.execute()
        request.meta[INFLIGHT_META] = fingerprint
        return request

    def done(self, request: Request) -> None:
        fingerprint = request.meta.get(INFLIGHT_META)
        if fingerprint:
            self.server.hdel(self.inflight_key, fingerprint)


class InflightDone:
    """Spider middleware: a request is done once everything its callback yielded has
    gone on (items through the pipelines, requests into the queue)."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("ARSHIF_REDIS_URL"):
            raise NotConfigured("ARSHIF_REDIS_URL is not set: no cluster")
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _done(self, response: Response) -> None:
        scheduler = self.crawler.engine._slot.scheduler if self.crawler.engine._slot else None
        if isinstance(scheduler, ClusterScheduler) and response.request is not None:
            scheduler.done(response.request)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        yield from result
        self._done(response)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for out in result:
            yield out
        self._done(response)
