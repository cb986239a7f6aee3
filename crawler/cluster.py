"""How the crawler's components find their archive: archive.db, or the cluster's stream.

With ``ARSHIF_REDIS_URL`` set (``arshif crawl --redis``), the run recorder, the WARC
middleware, the pipeline and the spider share one StreamArchive per crawl: their
rows go to the stream the ingest applies, and never to archive.db.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler

from archive.cluster.connection import Keys, connect, redis_params
from archive.cluster.stream import StreamArchive
from archive.store.writer import Archive

_STREAMS: WeakKeyDictionary[Crawler, StreamArchive] = WeakKeyDictionary()


def open_archive(crawler: Crawler) -> Any:
    """The crawl's archive: archive.db, or with ARSHIF_REDIS_URL the cluster's stream."""
    settings = crawler.settings
    url = settings.get("ARSHIF_REDIS_URL")
    if not url:
        return Archive.open(settings.get("ARSHIF_DATA_DIR"))
    if crawler not in _STREAMS:
        _STREAMS[crawler] = StreamArchive(connect(url), settings.get("ARSHIF_DATA_DIR"))
    return _STREAMS[crawler]


def stream_of(crawler: Crawler) -> StreamArchive | None:
    return _STREAMS.get(crawler)


def cluster_settings(url: str) -> dict[str, Any]:
    """Scrapy settings that make a crawl a cluster worker's."""
    return {
        "ARSHIF_REDIS_URL": url,
        # The frontier lives in Redis, not in a private JOBDIR.
        "ARSHIF_DISK_QUEUE": False,
        "SCHEDULER": "crawler.frontier.ClusterScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": Keys.requests("%(spider)s"),
        "SCHEDULER_DUPEFILTER_KEY": Keys.seen("%(spider)s"),
        "REDIS_URL": url,
        "REDIS_PARAMS": redis_params(url),
    }
