"""Connecting to the cluster's Redis, and the names of everything arshif keeps there."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import BusyLoadingError, ResponseError
from redis.retry import Retry

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Redis restarted (or a network blip): each command is retried with back-off for
# about two minutes before the error reaches the caller.
RETRIES = 30
BACKOFF_CAP = 5.0


class ClusterError(Exception):
    """The cluster's Redis cannot be used: one line, naming the URL and the problem."""


class LoggingRetry(Retry):
    """redis-py's retry with back-off that says so once per outage, not once per attempt."""

    def __init__(self, url: str) -> None:
        supported = (
            redis.ConnectionError,
            redis.TimeoutError,
            socket.timeout,
            BusyLoadingError,  # a restarted server still reading its append-only file
        )
        super().__init__(ExponentialBackoff(cap=BACKOFF_CAP, base=0.05), RETRIES, supported)
        self.url = url

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        def noisy_fail(error: Exception, *count: int) -> Any:
            if not count or count[0] == 1:
                logger.warning("redis %s: %s; retrying with back-off", self.url, error)
            return fail(error, *count)

        return super().call_with_retry(do, noisy_fail, is_retryable, with_failure_count)


def redis_params(url: str) -> dict[str, Any]:
    """Connection options for every client of the cluster (scrapy-redis's too)."""
    return {
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
        "retry": LoggingRetry(url),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError, BusyLoadingError],
    }


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ClusterError(f"{url}: not a Redis URL (expected redis://HOST:PORT/DB)")
    return url


def connect(url: str) -> redis.Redis:
    """A client on url (strings decoded), checked with a PING: one line when it fails."""
    check_url(url)
    try:
        # The first contact does not retry: a wrong URL is said at once, not in minutes.
        probe = redis.Redis.from_url(url, socket_connect_timeout=5, retry=Retry(NoBackoff(), 0))
        client = redis.Redis.from_url(url, decode_responses=True, **redis_params(url))
    except ValueError as e:
        raise ClusterError(f"{url}: {e}") from None
    try:
        probe.ping()
    except (redis.ConnectionError, redis.TimeoutError) as e:
        raise ClusterError(f"redis {url}: cannot connect: {e}") from None
    except ResponseError as e:  # a wrong password, an unknown database number
        raise ClusterError(f"redis {url}: {e}") from None
    finally:
        probe.close()
    return client


class Keys:
    """Every key arshif uses, under one prefix, so one Redis may serve other things too."""

    prefix = "arshif"
    stream = f"{prefix}:rows"  # the rows for archive.db, read by the one ingest
    group = "ingest"  # the stream's consumer group
    due = f"{prefix}:due"  # list of site keys waiting for a worker
    queued = f"{prefix}:queued"  # set mirror of `due`, so a site is pushed once
    active = f"{prefix}:active"  # hash site -> {worker, since, token}: taken, not done
    done = f"{prefix}:done"  # hash site -> {worker, finished, status}
    workers = f"{prefix}:workers"  # zset worker -> last heartbeat (unix time)
    # Kept in step by ingest, read by workers: what archive.db knows.
    known = f"{prefix}:known"  # hash url -> article facts (KnownArticle + words digest)
    status = f"{prefix}:status"  # hash url -> last HTTP status
    redirect = f"{prefix}:redirect"  # hash url -> Location of its last 3xx
    digest = f"{prefix}:digest"  # hash "url digest" -> WARC pointer of a full response
    page_kind = f"{prefix}:pagekind"  # hash "site url" -> kind
    seeded = f"{prefix}:seeded"  # set by ingest once the known state holds archive.db's

    @staticmethod
    def lease(site: str) -> str:
        return f"{Keys.prefix}:lease:{site}"

    @staticmethod
    def requests(site: str) -> str:
        return f"{Keys.prefix}:{site}:requests"

    @staticmethod
    def seen(site: str) -> str:
        return f"{Keys.prefix}:{site}:dupefilter"

    @staticmethod
    def inflight(site: str) -> str:
        return f"{Keys.prefix}:{site}:inflight"
