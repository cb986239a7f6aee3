"""Scrapy's scheduler, with a failed write of its disk queue handled as a full disk.

Pending requests wait on disk (a private JOBDIR under DATA/jobs). On a full
disk the queue's write fails first, or alone: Scrapy let the OSError out of
the engine's scheduling, the error went to a log file on the same full disk,
and the crawl sat idle at 0% CPU holding the crawl lock, its queue counting
requests it could never pop. Here such a failure stops every site the way a
failed WARC or archive.db write does (crawler/failure.py): status failed, one
line naming the queue, the lock released.

The seen-requests file (JOBDIR/requests.seen, Scrapy's dupefilter) fails the same
way, from `enqueue_request`, out of `engine.crawl`, out of the scraper's handling
of a sitemap's requests. There each error killed one of Scrapy's CONCURRENT_ITEMS
(100) output workers, which assume nothing raises; past 100 the sitemap's output
was never consumed, its request never left the engine's slot, and the spider's
close waited for it for ever (the full-disk hang of issue 11).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.core.scheduler import Scheduler

from crawler import failure


class StorageAwareScheduler(Scheduler):
    def enqueue_request(self, request: Request) -> bool:
        try:
            return super().enqueue_request(request)
        except OSError as e:
            # Only the dupefilter's write raises here (the queue's is caught below). Its
            # fingerprint is kept in memory, so duplicates are still dropped; the
            # request waits in memory until the run stops.
            seen = getattr(getattr(self.df, "file", None), "name", "requests.seen")
            self._failed(e, f"seen-requests file {seen}")
            self._mqpush(request)
            return True

    def _dqpush(self, request: Request) -> bool:
        try:
            return super()._dqpush(request)
        except OSError as e:
            self._failed(e, f"request queue {self.dqdir}")
            return False  # into the memory queue instead, until the run stops

    def _dqpop(self) -> Request | None:
        try:
            return super()._dqpop()
        except OSError as e:
            self._failed(e, f"request queue {self.dqdir}")
            return None

    def _failed(self, error: OSError, what: str) -> None:
        if self.crawler is not None:
            failure.storage_failed(self.crawler, what, error)
