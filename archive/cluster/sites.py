"""Which site each worker crawls: a queue of due sites, and a lease per site taken.

A lease is a key set with NX and an expiry (PX), holding a token only its taker
knows; a thread renews it while the worker crawls. A worker that dies stops renewing,
the key expires, and another worker takes the site over, resuming its frontier
(kept in Redis by scrapy-redis). One worker per site at a time, so a site's
politeness (its delay, two requests at once) holds across the cluster.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis

from archive.cluster.connection import Keys

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30.0  # a dead worker's site is free again within this
# A site crawled this recently is not due again: the same cron line on every machine
# must not crawl one site three times in a row.
EVERY_SECONDS = 3600.0

# Renew only a lease that still holds our token: after an expiry another worker owns it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class Lease:
    site: str
    token: str
    worker: str
    since: float
    resumed: bool  # taken over from a worker that died with the site unfinished
    lost: bool = False


class SiteQueue:
    def __init__(
        self,
        client: redis.Redis,
        worker: str,
        lease_seconds: float = LEASE_SECONDS,
        every_seconds: float = EVERY_SECONDS,
    ) -> None:
        self.client = client
        self.worker = worker
        self.lease_ms = int(lease_seconds * 1000)
        self.every = every_seconds
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    # -- due sites -------------------------------------------------------------

    def push_due(self, keys: Iterable[str]) -> list[str]:
        """Queue the sites not queued, taken, or crawled within `every`; returns those queued."""
        pushed = []
        now = time.time()
        for key in keys:
            done = self.client.hget(Keys.done, key)
            if done and now - json.loads(done)["finished"] < self.every:
                continue
            if self.client.hexists(Keys.active, key):
                continue
            if self.client.sadd(Keys.queued, key):  # one worker wins the race to queue it
                self.client.rpush(Keys.due, key)
                pushed.append(key)
        return pushed

    # -- leases ----------------------------------------------------------------

    def _lease(self, site: str, resumed: bool) -> Lease | None:
        token = uuid.uuid4().hex
        if not self.client.set(Keys.lease(site), token, nx=True, px=self.lease_ms):
            return None
        since = time.time()
        info = {"worker": self.worker, "since": since, "token": token}
        self.client.hset(Keys.active, site, json.dumps(info))
        return Lease(site, token, self.worker, since, resumed)

    def take(self) -> Lease | None:
        """A site to crawl: first one a dead worker left, then the next due one."""
        for site in self.abandoned():
            if lease := self._lease(site, resumed=True):
                logger.info("%s: taking over from a worker that stopped renewing", site)
                return lease
        while (site := self.client.lpop(Keys.due)) is not None:
            self.client.srem(Keys.queued, site)
            if lease := self._lease(site, resumed=False):
                return lease
        return None

    def abandoned(self) -> list[str]:
        """Sites taken but unfinished whose lease expired: their worker is gone."""
        return [s for s in self.client.hkeys(Keys.active) if not self.client.exists(Keys.lease(s))]

    def busy(self) -> bool:
        """Whether any site is still leased by a live worker (which may yet die)."""
        return any(self.client.exists(Keys.lease(s)) for s in self.client.hkeys(Keys.active))

    def renew(self, lease: Lease) -> bool:
        ok = bool(self._renew(keys=[Keys.lease(lease.site)], args=[lease.token, self.lease_ms]))
        if not ok:
            lease.lost = True
        return ok

    def finish(self, lease: Lease, status: str) -> None:
        """The site is done: no longer active, its frontier gone, its lease released."""
        info = {"worker": self.worker, "finished": time.time(), "status": status}
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(Keys.done, lease.site, json.dumps(info))
        pipe.hdel(Keys.active, lease.site)
        pipe.delete(Keys.requests(lease.site), Keys.seen(lease.site), Keys.inflight(lease.site))
        pipe.execute()
        self._release(keys=[Keys.lease(lease.site)], args=[lease.token])

    def release(self, lease: Lease) -> None:
        """Stopped before the end (a signal): the site stays active for another worker."""
        self._release(keys=[Keys.lease(lease.site)], args=[lease.token])

    def heartbeat(self) -> None:
        self.client.zadd(Keys.workers, {self.worker: time.time()})


class Renewer(threading.Thread):
    """Renews a lease (and the worker's heartbeat) every third of its life."""

    def __init__(self, queue: SiteQueue, lease: Lease, on_lost: Callable[[], None]) -> None:
        super().__init__(name=f"lease-{lease.site}", daemon=True)
        self.queue = queue
        self.lease = lease
        self.on_lost = on_lost
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = self.queue.lease_ms / 3000
        while not self.stopped.wait(interval):
            try:
                self.queue.heartbeat()
                if not self.queue.renew(self.lease):
                    logger.error("%s: lease lost to another worker; stopping", self.lease.site)
                    self.on_lost()
                    return
            except redis.RedisError as e:  # the client retried for minutes already
                logger.error("%s: cannot renew the lease: %s", self.lease.site, e)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
