"""A site's frontier in Redis: scrapy-redis's Scheduler, resumable after a worker dies.

scrapy-redis keeps the pending requests (a priority queue) and the seen set
(RFPDupeFilter) per site in Redis, so the worker that takes a dead worker's site
resumes where it stopped. Alone it loses the requests the dead worker had taken
from the queue and not finished: they are seen, so never queued again; and a pop
whose reply a restarting Redis never sent loses one too. Here a request moves
from the queue to an ``inflight`` hash in one step (a Lua script), and leaves it
only once what its callback yielded has gone on (InflightDone): items through
the pipelines (so onto the stream), requests into the queue. Whatever sits in
``inflight`` that no live process holds is queued again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy_redis.scheduler import Scheduler

from archive.cluster.connection import Keys

INFLIGHT_META = "arshif_inflight"

# Take the first request of the queue into the in-flight hash, under its digest.
_TAKE = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0)
if #found == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local id = redis.sha1hex(found[1])
redis.call('HSET', KEYS[2], id, found[1])
return {id, found[1]}
"""

# Mark a request seen and queue it in one step: scrapy-redis does SADD then ZADD, and a
# worker killed between the two leaves a URL seen that nobody will ever fetch.
_ENQUEUE = """
local fresh = redis.call('SADD', KEYS[1], ARGV[1])
if fresh == 0 and ARGV[4] == '0' then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ClusterScheduler(Scheduler):
    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.inflight_key = Keys.inflight(spider.name)
        self.held: set[str] = set()  # in-flight entries this process is working on
        self._take = self.server.register_script(_TAKE)
        self._enqueue = self.server.register_script(_ENQUEUE)
        left = self.requeue_orphans()  # a dead worker's: nobody holds them yet
        if left:
            spider.logger.info(
                "%s: %d request(s) a stopped worker had taken queued again", spider.name, left
            )

    def close(self, reason: str) -> None:
        # Finished: the next run of the site starts from its seeds. Stopped (a signal,
        # a lost lease): everything stays for whoever takes the site next.
        if reason == "finished":
            self.flush()
            self.server.delete(self.inflight_key)

    def requeue_orphans(self) -> int:
        """Queue again the in-flight requests no one here holds; how many."""
        orphans = [
            f for f in map(_text, self.server.hkeys(self.inflight_key)) if f not in self.held
        ]
        for field in orphans:
            data = self.server.hget(self.inflight_key, field)
            if data is not None:  # queued before it leaves: a kill between repeats, never loses
                self.queue.push(self.queue._decode_request(data))
            self.server.hdel(self.inflight_key, field)
        return len(orphans)

    def has_pending_requests(self) -> bool:
        return len(self.queue) > 0 or self.requeue_orphans() > 0

    def enqueue_request(self, request: Request) -> bool:
        data = self.queue._encode_request(request)
        args = [self.df.request_fingerprint(request), -request.priority, data]
        if not self._enqueue(
            keys=[self.df.key, self.queue.key], args=[*args, int(request.dont_filter)]
        ):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis", spider=self.spider)
        return True

    def next_request(self) -> Request | None:
        found = self._take(keys=[self.queue.key, self.inflight_key])
        if not found:
            return None
        field, data = _text(found[0]), found[1]
        request = self.queue._decode_request(data)
        earlier = request.meta.get(INFLIGHT_META)  # a redirect or retry of an earlier one
        if earlier and earlier != field:
            self.done(earlier)
        request.meta[INFLIGHT_META] = field
        self.held.add(field)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis", spider=self.spider)
        return request

    def done(self, field: str) -> None:
        self.held.discard(field)
        self.server.hdel(self.inflight_key, field)


class InflightDone:
    """Spider middleware: a request is done once everything its callback yielded has
    gone on: requests into the queue (at once, as they are yielded), items through
    the pipelines (told by the item signals, which may come after the callback ends)."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("ARSHIF_REDIS_URL"):
            raise NotConfigured("ARSHIF_REDIS_URL is not set: no cluster")
        self.crawler = crawler
        self.items: dict[str, int] = {}  # in-flight entry -> its items still in the pipelines
        self.ended: set[str] = set()  # entries whose callback has returned
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_passed, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @staticmethod
    def _field(response: Response | None) -> str | None:
        request = getattr(response, "request", None)
        return request.meta.get(INFLIGHT_META) if request is not None else None

    def _settle(self, field: str) -> None:
        if field in self.ended and not self.items.get(field):
            self.ended.discard(field)
            self.items.pop(field, None)
            engine = self.crawler.engine
            scheduler = engine._slot.scheduler if engine and engine._slot else None
            if isinstance(scheduler, ClusterScheduler):
                scheduler.done(field)

    def item_passed(self, response: Response | None = None, **kwargs: Any) -> None:
        field = self._field(response)
        if field is not None and field in self.items:
            self.items[field] -= 1
            self._settle(field)

    def _yielded(self, field: str | None, out: Any) -> None:
        if field is not None and not isinstance(out, Request):
            self.items[field] = self.items.get(field, 0) + 1

    def _end(self, field: str | None) -> None:
        if field is not None:
            self.ended.add(field)
            self._settle(field)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        field = self._field(response)
        for out in result:
            self._yielded(field, out)
            yield out
        self._end(field)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        field = self._field(response)
        async for out in result:
            self._yielded(field, out)
            yield out
        self._end(field)
