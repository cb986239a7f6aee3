"""Scrapy's scheduler, with a failed write of its disk queue handled as a full disk.

Pending requests wait on disk (a private JOBDIR under DATA/jobs). On a full
disk the queue's write fails first, or alone: Scrapy let the OSError out of
the engine's scheduling, the error went to a log file on the same full disk,
and the crawl sat idle at 0% CPU holding the crawl lock, its queue counting
requests it could never pop. Here such a failure stops every site the way a
failed WARC or archive.db write does (crawler/failure.py): status failed, one
line naming the queue, the lock released.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.core.scheduler import Scheduler

from crawler import failure


class StorageAwareScheduler(Scheduler):
    def _dqpush(self, request: Request) -> bool:
        try:
            return super()._dqpush(request)
        except OSError as e:
            self._failed(e)
            return False  # into the memory queue instead, until the run stops

    def _dqpop(self) -> Request | None:
        try:
            return super()._dqpop()
        except OSError as e:
            self._failed(e)
            return None

    def _failed(self, error: OSError) -> None:
        if self.crawler is not None:
            failure.storage_failed(self.crawler, f"request queue {self.dqdir}", error)
