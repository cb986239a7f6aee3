"""What a cluster worker writes instead of archive.db: entries on one Redis stream.

``StreamArchive`` stands in for ``archive.store.writer.Archive`` in a worker: the
crawler calls the same methods, and every row becomes a stream entry with a key
that names it for good (the run, or the run plus a sequence number), so the ingest
can tell an entry it has applied from a new one. Reads (what is known, what was
captured) ask the state ingest keeps in Redis, after this worker's own writes,
which ingest may not have applied yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import redis

from archive.capture.warc import WarcPointer
from archive.cluster.connection import Keys
from archive.discover.sites import Site
from archive.store.writer import WARC_DIR, KnownArticle, RunFigures, site_row, utcnow

# The kinds of entry, one per write of Archive the crawl makes.
RUN, RUN_END, CAPTURE, CAPTURE_ERROR, ARTICLE, ALIAS, PAGE_KIND = (
    "run", "run-end", "capture", "capture-error", "article", "alias", "page-kind",
)  # fmt: skip


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def words_digest(title: str | None, text: str | None) -> str:
    """What save_article compares (title and text, whitespace aside), in 16 hex digits."""
    words = " ".join((title or "").split()) + "\0" + " ".join((text or "").split())
    return hashlib.sha1(words.encode()).hexdigest()[:16]


def entry(kind: str, key: str, data: dict[str, Any]) -> dict[str, str]:
    return {"kind": kind, "key": key, "data": json.dumps(data, ensure_ascii=False)}


def known_from(facts: dict[str, Any] | None) -> KnownArticle | None:
    if facts is None:
        return None
    return KnownArticle(
        id=facts.get("id") or 0,
        published=facts.get("published"),
        last_checked=facts.get("last_checked"),
        versions=facts.get("versions") or 1,
        first_fetched=facts.get("first_fetched"),
    )


class StreamArchive:
    """A worker's archive: writes go to the stream, reads to Redis (and its own writes)."""

    def __init__(self, client: redis.Redis, data_dir: str | Path) -> None:
        self.client = client
        self.data_dir = Path(data_dir)
        self.host, self.pid = socket.gethostname(), os.getpid()
        self._seq = 0
        self.run_key: str | None = None
        self.figures: RunFigures | None = None
        # This worker's own writes, newest word first: ingest may lag behind them.
        self._known: dict[str, dict[str, Any]] = {}
        self._status: dict[str, int] = {}
        self._redirect: dict[str, str] = {}
        self._digest: dict[str, WarcPointer] = {}
        self._kinds: dict[str, str] = {}

    @property
    def worker(self) -> str:
        """host:pid, the name its heartbeat and its runs go by."""
        return f"{self.host}:{self.pid}"

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / WARC_DIR

    def close(self) -> None:
        """Nothing to close: the client belongs to the worker."""

    def _next_key(self) -> str:
        self._seq += 1
        return f"{self.run_key or self.worker}:{self._seq}"

    def _publish(self, kind: str, key: str, data: dict[str, Any]) -> None:
        self.client.xadd(Keys.stream, entry(kind, key, data))

    # -- runs ------------------------------------------------------------------

    def start_run(self, site: Site) -> str:
        self.run_key = f"{self.worker}:{site.key}:{time.time_ns()}"
        data = {
            "site": site_row(site),
            "started": utcnow(),
            "pid": self.pid,
            "host": self.host,
        }
        self._publish(RUN, self.run_key, data)
        return self.run_key

    def finish_run(self, run_id: str, figures: RunFigures) -> None:
        self.figures = figures
        data = asdict(figures)
        data["warc_files"] = list(figures.warc_files)
        for name in ("by_status", "error_kinds"):
            data[name] = dict(data[name] or {})
        self._publish(RUN_END, f"{run_id}:end", {"run": run_id, "figures": data})

    # -- captures --------------------------------------------------------------

    def add_capture(self, *, pointer: WarcPointer | None = None, **fields: Any) -> str:
        key = self._next_key()
        data = dict(fields) | {"pointer": asdict(pointer) if pointer is not None else None}
        self._publish(CAPTURE, key, data)
        url, status = fields["url"], fields.get("status")
        if status is not None:
            self._status[url] = status
            if 300 <= status < 400 and fields.get("location"):
                self._redirect[url] = fields["location"]
            if pointer is not None and fields.get("record_type") == "response" and status < 400:
                self._digest[f"{url} {pointer.payload_digest}"] = pointer
        return key

    def set_capture_error(self, capture_id: str, error: str) -> None:
        self._publish(CAPTURE_ERROR, f"{capture_id}:error", {"capture": capture_id, "error": error})

    def earlier_capture(self, url: str, digest: str) -> WarcPointer | None:
        field = f"{url} {digest}"
        if field in self._digest:
            return self._digest[field]
        found = self.client.hget(Keys.digest, field)
        return WarcPointer(**json.loads(found)) if found else None

    def gone(self, url: str) -> bool:
        status = self._status.get(url)
        if status is None:
            found = self.client.hget(Keys.status, url)
            status = int(found) if found else None
        return status in (404, 410)

    # -- articles --------------------------------------------------------------

    def _facts(self, url: str) -> dict[str, Any] | None:
        if url in self._known:
            return self._known[url]
        found = self.client.hget(Keys.known, url)
        return json.loads(found) if found else None

    def known(self, url: str, hops: int = 3) -> KnownArticle | None:
        found = self._facts(url)
        while found is None and hops > 0:
            location = self._redirect.get(url) or self.client.hget(Keys.redirect, url)
            if location is None:
                return None
            url, hops = location, hops - 1
            found = self._facts(url)
        return known_from(found)

    def save_article(
        self,
        article: dict[str, Any],
        aliases: list[str] | tuple = (),
        *,
        known_simhash: tuple[str | None, int | None] | None = None,
    ) -> str:
        """Send the article to ingest; the outcome is judged as save_article would.
        known_simhash is for the one writer, which computes it again (entries stay
        what the archive stores)."""
        row = dict(article)
        if isinstance(row.get("discovery"), dict):
            row["discovery"] = json.dumps(row["discovery"], ensure_ascii=False, sort_keys=True)
        self._publish(ARTICLE, self._next_key(), {"row": row, "aliases": list(aliases)})
        urls = [row["url"], *aliases]
        facts = next((f for u in urls if (f := self._facts(u)) is not None), None)
        words = words_digest(row.get("title"), row.get("text"))
        if facts is None:
            outcome = "new"
            facts = {
                "published": row.get("published"),
                "first_fetched": row["fetched"],
                "versions": 1,
            }
        elif (
            facts.get("warc_record_id") == row.get("warc_record_id")  # the same capture
            or row.get("fetched", "") < (facts.get("fetched") or "")  # an earlier one
            or facts.get("words") == words
        ):
            outcome = "unchanged"
        else:
            outcome = "updated"
            facts = facts | {"versions": (facts.get("versions") or 1) + 1, "words": words}
        if outcome != "unchanged" or "words" not in facts:
            facts = facts | {"words": words, "warc_record_id": row.get("warc_record_id")}
            facts["fetched"] = row["fetched"]
        facts = facts | {"last_checked": row.get("last_checked") or row["fetched"]}
        for url in {*urls, row.get("fetched_url")} - {None}:
            self._known[url] = facts
        return outcome

    def add_alias(self, url: str, alias: str) -> bool:
        facts = self._facts(url)
        if facts is None:
            return False
        self._publish(ALIAS, self._next_key(), {"url": url, "alias": alias})
        self._known[alias] = facts
        return True

    def record_page_kind(
        self, site: str, url: str, kind: str, reason: str | None, run_id: str | None = None
    ) -> None:
        data = {"site": site, "url": url, "kind": kind, "reason": reason, "run": run_id}
        self._publish(PAGE_KIND, self._next_key(), data)
        self._kinds[f"{site} {url}"] = kind

    def page_kind(self, site: str, url: str) -> str | None:
        field = f"{site} {url}"
        return self._kinds.get(field) or self.client.hget(Keys.page_kind, field)
