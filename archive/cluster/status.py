"""What the cluster is doing, read from Redis alone: for ``arshif cluster status``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from archive.cluster.connection import Keys

SEEN_WITHIN = 60.0  # a worker heard from in the last minute counts as alive


@dataclass
class ClusterStatus:
    due: list[str] = field(default_factory=list)
    leased: list[dict[str, Any]] = field(default_factory=list)  # site, worker, since, alive
    abandoned: list[str] = field(default_factory=list)  # taken, lease expired: to take over
    done: list[dict[str, Any]] = field(default_factory=list)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)  # site -> queue lengths
    stream_pending: int = 0  # delivered to an ingest, not yet acknowledged
    stream_undelivered: int = 0
    workers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def cluster_status(client: redis.Redis, now: float | None = None) -> ClusterStatus:
    now = time.time() if now is None else now
    status = ClusterStatus(due=client.lrange(Keys.due, 0, -1))
    for site, raw in sorted(client.hgetall(Keys.active).items()):
        info = json.loads(raw)
        if client.exists(Keys.lease(site)):
            status.leased.append({"site": site, "worker": info["worker"], "since": info["since"]})
        else:
            status.abandoned.append(site)
    for site, raw in sorted(client.hgetall(Keys.done).items()):
        status.done.append({"site": site, **json.loads(raw)})
    for site in {*status.due, *status.abandoned, *(s["site"] for s in status.leased)}:
        status.queues[site] = {
            "requests": int(client.zcard(Keys.requests(site))),
            "seen": int(client.scard(Keys.seen(site))),
            "inflight": int(client.hlen(Keys.inflight(site))),
        }
    # Acknowledged entries are deleted: the stream holds only entries not yet applied.
    length = int(client.xlen(Keys.stream))
    try:
        pending = int(client.xpending(Keys.stream, Keys.group)["pending"])
    except redis.ResponseError:  # no ingest has created the group yet
        pending = 0
    status.stream_pending, status.stream_undelivered = pending, max(length - pending, 0)
    for worker, seen in client.zrangebyscore(
        Keys.workers, now - SEEN_WITHIN, "+inf", withscores=True
    ):
        status.workers.append({"worker": worker, "seen": seen})
    return status


def status_lines(status: ClusterStatus, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now

    def ago(t: float) -> str:
        return f"{now - t:.0f} s ago"

    lines = [f"due: {len(status.due)}" + (f" ({', '.join(status.due)})" if status.due else "")]
    lines.append(f"leased: {len(status.leased)}")
    for lease in status.leased:
        queue = status.queues.get(lease["site"], {})
        lines.append(
            f"  {lease['site']:<16} by {lease['worker']} since {ago(lease['since'])};"
            f" {queue.get('requests', 0)} queued, {queue.get('inflight', 0)} in flight,"
            f" {queue.get('seen', 0)} seen"
        )
    if status.abandoned:
        lines.append(
            f"abandoned (lease expired, waiting for a worker): {', '.join(status.abandoned)}"
        )
    lines.append(f"done: {len(status.done)}")
    for done in status.done:
        lines.append(
            f"  {done['site']:<16} {done['status']:<12} by {done['worker']} {ago(done['finished'])}"
        )
    lines.append(
        f"stream: {status.stream_pending} pending, {status.stream_undelivered} undelivered"
        " (entries ingest has not applied yet)"
    )
    lines.append(f"workers seen in the last minute: {len(status.workers)}")
    for worker in status.workers:
        lines.append(f"  {worker['worker']} {ago(worker['seen'])}")
    return lines
