"""A cluster worker (arshif crawl --redis) and the ingest, over the offline mirror.

Real redis-server (tests/redis_server.py) and real sockets; skipped without
redis-server outside CI.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import BIN, crawl_env, run

pytestmark = pytest.mark.e2e

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0"]


def arshif(*args: str, proxy: str | None = None, timeout: int = 300):
    return run([str(BIN / "arshif"), *args], crawl_env(proxy), timeout=timeout)


def articles(data: Path) -> list[str]:
    with sqlite3.connect(data / "archive.db") as db:
        return [r[0] for r in db.execute("SELECT url FROM articles ORDER BY url")]


def test_a_worker_and_ingest_archive_what_a_single_crawl_does(redis_server, mirror_proxy, tmp_path):
    url, data = redis_server.url, tmp_path / "cluster"
    worker = arshif(
        "crawl", "--redis", url, "--data", str(data), "hafryat", *FAST, proxy=mirror_proxy
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr[-3000:]
    assert not (data / "archive.db").exists()  # a worker never opens it
    # Its WARC files carry host and pid: workers on several machines share warc/.
    (warc,) = (data / "warc").iterdir()
    assert warc.name.startswith("hafryat-") and warc.name.count("-") >= 3
    status = arshif("cluster", "status", "--redis", url, "--json")
    state = json.loads(status.stdout)
    assert [d["site"] for d in state["done"]] == ["hafryat"] and state["stream_undelivered"] > 0
    ingest = arshif("ingest", "--redis", url, "--data", str(data), "--once")
    assert ingest.returncode == 0, ingest.stderr
    single = tmp_path / "single"
    alone = arshif("crawl", "--data", str(single), "hafryat", *FAST, proxy=mirror_proxy)
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert articles(data) == articles(single) and len(articles(data)) > 20
    assert arshif("verify", "--data", str(data)).returncode == 0
    stats = arshif("stats", "--data", str(data))
    assert "hafryat" in stats.stdout and " ok " in stats.stdout

    # Crawled within --every: not due; the worker says so and exits 0.
    again = arshif(
        "crawl", "--redis", url, "--data", str(data), "hafryat", *FAST, proxy=mirror_proxy
    )
    assert again.returncode == 0 and "no site due" in again.stdout
    # Due again: incremental through Redis, not archive.db: no article fetched again.
    again = arshif(
        "crawl", "--redis", url, "--data", str(data), "hafryat", "--every", "0", *FAST,
        proxy=mirror_proxy,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert arshif("ingest", "--redis", url, "--data", str(data), "--once").returncode == 0
    with sqlite3.connect(data / "archive.db") as db:
        run_id = db.execute("SELECT max(id) FROM crawl_runs").fetchone()[0]
        refetched = db.execute(
            "SELECT count(*) FROM captures WHERE run_id = ? AND kind = 'article'"
            " AND record_type = 'response'",
            [run_id],
        ).fetchone()[0]
        second = db.execute(
            "SELECT status, new_articles FROM crawl_runs WHERE id = ?", [run_id]
        ).fetchone()
    assert refetched == 0 and second == ("ok", 0)
    assert len(articles(data)) == len(articles(single))


def test_a_worker_says_in_one_line_when_redis_is_unreachable(tmp_path):
    result = arshif("crawl", "--redis", "redis://127.0.0.1:1/0", "--data", str(tmp_path), "hafryat")
    assert result.returncode == 1
    assert "redis://127.0.0.1:1/0" in result.stderr and "Traceback" not in result.stderr
    result = arshif("cluster", "status", "--redis", "http://x")
    assert result.returncode == 1 and "not a Redis URL" in result.stderr
