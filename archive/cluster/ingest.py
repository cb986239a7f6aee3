"""``arshif ingest``: the cluster's one writer of archive.db.

It reads the stream of rows the workers send, in a consumer group, and applies each
entry through ``Archive`` (the single-process crawl's own writer) in one SQLite
transaction together with a row in ``stream_applied`` naming the entry's key. Only
after that commits is the entry acknowledged (and deleted from the stream). Killed
at any point, the entry is applied again by the next ingest, which finds its key
and changes nothing; entries a dead ingest held are claimed (XAUTOCLAIM).

After each entry it brings the Redis state workers read (known URLs, last status,
redirects, full responses by digest, page kinds) in step with archive.db: also for
an entry found already applied, since a kill may fall between the two.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from archive.capture.warc import WarcPointer
from archive.cluster.connection import Keys
from archive.cluster.stream import (
    ALIAS,
    ARTICLE,
    CAPTURE,
    CAPTURE_ERROR,
    PAGE_KIND,
    RUN,
    RUN_END,
    words_digest,
)
from archive.store.writer import Archive, RunFigures, utcnow

logger = logging.getLogger(__name__)

# Only cluster archives have it: created by the first ingest, not by a migration.
APPLIED_TABLE = """
CREATE TABLE IF NOT EXISTS stream_applied (
    key TEXT PRIMARY KEY,
    kind TEXT,
    row_id INTEGER,
    applied TEXT NOT NULL
)
"""


# A worker silent this long (it beats every few seconds while it works) is gone.
DEAD_AFTER = 60.0


class NotYet(Exception):
    """The entry refers to one not applied yet (held by a dead ingest): later."""


def ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(Keys.stream, Keys.group, id="0", mkstream=True)
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise


class Ingest:
    def __init__(
        self,
        client: redis.Redis,
        archive: Archive,
        consumer: str,
        claim_after: float = 10.0,
        dead_after: float = DEAD_AFTER,
    ) -> None:
        self.client = client
        self.archive = archive
        self.consumer = consumer
        self.claim_after_ms = int(claim_after * 1000)
        self.dead_after = dead_after
        self.applied = 0
        self.replayed = 0
        archive.db.execute(APPLIED_TABLE)
        ensure_group(client)

    # -- one entry ---------------------------------------------------------------

    def _row_id(self, key: str | None) -> int | None:
        if key is None:
            return None
        found = self.archive.db.execute(
            "SELECT row_id FROM stream_applied WHERE key = ?", [key]
        ).fetchone()
        if found is None:
            raise NotYet(key)
        return found[0]

    def apply(self, fields: dict[str, str]) -> None:
        """Apply one entry to archive.db (unless applied before), then to Redis's state."""
        kind, key, data = fields["kind"], fields["key"], json.loads(fields["data"])
        db = self.archive.db
        with self.archive.unit():
            found = db.execute("SELECT row_id FROM stream_applied WHERE key = ?", [key]).fetchone()
            if found is None:
                row_id = self._apply(kind, data)
                db.execute(
                    "INSERT INTO stream_applied (key, kind, row_id, applied) VALUES (?, ?, ?, ?)",
                    [key, kind, row_id, utcnow()],
                )
                self.applied += 1
            else:
                row_id = found[0]
                self.replayed += 1
        self._share(kind, data, row_id)

    def _apply(self, kind: str, data: dict[str, Any]) -> int | None:
        archive = self.archive
        if kind == RUN:
            return archive.start_run(
                data["site"], started=data["started"], pid=data["pid"], host=data["host"]
            )
        if kind == RUN_END:
            archive.finish_run(self._row_id(data["run"]), RunFigures(**data["figures"]))
            return None
        if kind == CAPTURE:
            data = dict(data)  # _share reads the entry's own fields afterwards
            pointer = data.pop("pointer")
            data["run_id"] = self._row_id(data.pop("run_id", None))
            return archive.add_capture(pointer=WarcPointer(**pointer) if pointer else None, **data)
        if kind == CAPTURE_ERROR:
            archive.set_capture_error(self._row_id(data["capture"]), data["error"])
            return None
        if kind == ARTICLE:
            row = data["row"]
            row["run_id"] = self._row_id(row.get("run_id"))
            row["capture_id"] = self._row_id(row.get("capture_id"))
            archive.save_article(row, aliases=data["aliases"])
            return archive.article_id(row["url"], data["aliases"])
        if kind == ALIAS:
            archive.add_alias(data["url"], data["alias"])
            return None
        if kind == PAGE_KIND:
            run_id = self._row_id(data["run"])
            archive.record_page_kind(
                data["site"], data["url"], data["kind"], data["reason"], run_id
            )
            return None
        raise ValueError(f"unknown stream entry kind {kind!r}")

    # -- the state workers read ----------------------------------------------------

    def _share(self, kind: str, data: dict[str, Any], row_id: int | None) -> None:
        if kind == CAPTURE:
            share_capture(self.client, data)
        elif kind == ARTICLE and row_id is not None:
            share_article(self.client, self.archive, row_id)
        elif kind == ALIAS:
            article_id = self.archive.article_id(data["url"])
            if article_id is not None:
                share_article(self.client, self.archive, article_id)
        elif kind == PAGE_KIND:
            self.client.hset(Keys.page_kind, f"{data['site']} {data['url']}", data["kind"])

    # -- the loop --------------------------------------------------------------------

    def _process(self, entries: list[tuple[str, dict[str, str]]]) -> bool:
        """Apply and acknowledge entries in order; False when one must wait."""
        for entry_id, fields in entries:
            if not fields:  # deleted from the stream while pending: nothing to apply
                self._ack(entry_id)
                continue
            try:
                self.apply(fields)
            except NotYet as e:
                logger.info("stream entry %s waits for %s", entry_id, e)
                return False
            self._ack(entry_id)
        return True

    def _ack(self, entry_id: str) -> None:
        # Only now, after the commit: a kill before this line replays the entry.
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(Keys.stream, Keys.group, entry_id)
        pipe.xdel(Keys.stream, entry_id)
        pipe.execute()

    def step(self, block_ms: int = 1000, count: int = 200) -> int:
        """One pass: entries claimed from dead consumers, this one's pending, then new."""
        handled = 0
        _, claimed, *_ = self.client.xautoclaim(
            Keys.stream, Keys.group, self.consumer, self.claim_after_ms, "0-0", count=count
        )
        if claimed:
            logger.info("claimed %d pending entries of a dead ingest", len(claimed))
        mine = self.client.xreadgroup(Keys.group, self.consumer, {Keys.stream: "0"}, count=count)
        pending = mine[0][1] if mine else []
        if pending:  # claimed entries join this consumer's pending list, in id order
            handled += len(pending)
            if not self._process(pending):
                time.sleep(block_ms / 1000)
                return handled
        new = self.client.xreadgroup(
            Keys.group, self.consumer, {Keys.stream: ">"}, count=count, block=block_ms
        )
        entries = new[0][1] if new else []
        handled += len(entries)
        self._process(entries)
        return handled

    def lag(self) -> int:
        """Entries not yet applied: pending anywhere plus never delivered."""
        return lag(self.client)

    def close_dead_runs(self, now: float | None = None) -> list[int]:
        """Mark interrupted the cluster runs still ``running`` whose worker has not been
        heard from for dead_after seconds: a killed worker never sends its run's end.
        Runs a local crawl made are left to Archive.close_interrupted_runs."""
        now = time.time() if now is None else now
        closed = []
        for run_id, host, pid in self.archive.db.execute(
            "SELECT r.id, r.host, r.pid FROM crawl_runs r JOIN stream_applied s"
            " ON s.kind = 'run' AND s.row_id = r.id WHERE r.status = 'running'"
        ).fetchall():
            seen = self.client.zscore(Keys.workers, f"{host}:{pid}")
            if seen is not None and now - seen < self.dead_after:
                continue
            with self.archive.unit():
                self.archive.db.execute(
                    "UPDATE crawl_runs SET status = 'interrupted', finished = ?, message = ?"
                    " WHERE id = ? AND status = 'running'",
                    [utcnow(), f"worker {host}:{pid} stopped before the run finished", run_id],
                )
            closed.append(run_id)
        return closed

    def run(self, *, once: bool = False, stop: Callable[[], bool] = lambda: False) -> None:
        checked = 0.0
        while not stop():
            handled = self.step()
            if time.monotonic() - checked > min(self.dead_after / 6, 10):
                self.close_dead_runs()
                checked = time.monotonic()
            if once and not handled and self.lag() == 0:
                return


def lag(client: redis.Redis) -> int:
    # Acknowledged entries are deleted, so the stream holds exactly those not applied.
    return int(client.xlen(Keys.stream))


def share_capture(client: redis.Redis, data: dict[str, Any]) -> None:
    url, status, pointer = data["url"], data.get("status"), data.get("pointer")
    if status is None:
        return
    pipe = client.pipeline(transaction=False)
    pipe.hset(Keys.status, url, status)
    if 300 <= status < 400 and data.get("location"):
        pipe.hset(Keys.redirect, url, data["location"])
    if pointer and data.get("record_type") == "response" and status < 400:
        pipe.hset(Keys.digest, f"{url} {pointer['payload_digest']}", json.dumps(pointer))
    pipe.execute()


def article_facts(archive: Archive, article_id: int) -> tuple[dict[str, Any], list[str]]:
    """What a worker needs to know of a stored article, and every URL it goes by."""
    row = archive.db.execute(
        "SELECT a.id, a.published, a.last_checked, a.versions,"
        " (SELECT min(fetched) FROM article_versions v WHERE v.article_id = a.id),"
        " a.title, a.text, a.warc_record_id, a.fetched FROM articles a WHERE a.id = ?",
        [article_id],
    ).fetchone()
    facts = {
        "id": row[0],
        "published": row[1],
        "last_checked": row[2],
        "versions": row[3],
        "first_fetched": row[4],
        "words": words_digest(row[5], row[6]),
        "warc_record_id": row[7],
        "fetched": row[8],
    }
    urls = [
        r[0]
        for r in archive.db.execute(
            "SELECT url FROM article_aliases WHERE article_id = ?", [article_id]
        )
    ]
    return facts, urls


def share_article(client: redis.Redis, archive: Archive, article_id: int) -> None:
    facts, urls = article_facts(archive, article_id)
    if urls:
        client.hset(Keys.known, mapping=dict.fromkeys(urls, json.dumps(facts)))


def seed(client: redis.Redis, archive: Archive, batch: int = 1000) -> int:
    """Fill the known state from an archive.db that existed before the cluster: once."""
    if client.exists(Keys.seeded):
        return 0
    ids = [r[0] for r in archive.db.execute("SELECT id FROM articles")]
    for article_id in ids:
        share_article(client, archive, article_id)
    statuses = archive.db.execute(
        "SELECT url, status FROM captures WHERE id IN"
        " (SELECT max(id) FROM captures WHERE status IS NOT NULL GROUP BY url)"
    )
    pipe = client.pipeline(transaction=False)
    for n, (url, status) in enumerate(statuses, 1):
        pipe.hset(Keys.status, url, status)
        if n % batch == 0:
            pipe.execute()
    pipe.execute()
    client.set(Keys.seeded, "1")
    return len(ids)
