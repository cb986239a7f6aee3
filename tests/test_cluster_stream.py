"""The cluster's one writer: stream entries applied to archive.db once, whatever is killed.

Against a real redis-server (tests/redis_server.py); skipped without one outside CI.
"""

from __future__ import annotations

import json
import time

from archive.capture.warc import WarcPointer
from archive.cluster.connection import Keys, connect
from archive.cluster.ingest import Ingest, seed
from archive.cluster.stream import StreamArchive
from archive.discover.sites import load_registry
from archive.store.writer import Archive, RunFigures

SITE = load_registry()["hafryat"]


def pointer(n: int) -> WarcPointer:
    return WarcPointer(
        "w.warc.gz", 100 * n, 90, f"<urn:uuid:{n}>", f"sha1:D{n}", "2026-01-01T00:00:00Z"
    )


def article(n: int, url: str, title: str = "عنوان", text: str = "نص طويل", **kw) -> dict:
    p = pointer(n)
    row = {
        "url": url,
        "site": "hafryat",
        "title": title,
        "text": text,
        "published": "2026-01-01",
        "fetched_url": url,
        "fetched": f"2026-01-0{n}T00:00:00+00:00",
        "warc_filename": p.filename,
        "warc_offset": p.offset,
        "warc_length": p.length,
        "warc_record_id": p.record_id,
        "payload_digest": p.payload_digest,
    }
    return row | kw


def crawl_one_run(client, tmp_path) -> StreamArchive:
    """What a worker's crawl of one site sends: a run, captures, articles, an alias, a kind."""
    worker = StreamArchive(client, tmp_path / "data")
    run = worker.start_run(SITE)
    for n, url in enumerate(["https://hafryat.com/node/1", "https://hafryat.com/node/2"], 1):
        capture = worker.add_capture(
            run_id=run,
            site="hafryat",
            url=url,
            kind="article",
            status=200,
            fetched="2026-01-01T00:00:00+00:00",
            pointer=pointer(n),
            record_type="response",
        )
        row = article(n, url) | {"capture_id": capture, "run_id": run}
        assert worker.save_article(row, aliases=[url + "?amp"]) == "new"
    worker.add_capture(
        run_id=run,
        site="hafryat",
        url="https://hafryat.com/old",
        kind="article",
        status=404,
        fetched="2026-01-01T00:00:00+00:00",
    )
    worker.add_alias("https://hafryat.com/node/1", "https://hafryat.com/n1")
    worker.record_page_kind("hafryat", "https://hafryat.com/p", "listing", "og:type", run)
    worker.finish_run(run, RunFigures(status="ok", articles=2, responses=3, new_articles=2))
    return worker


def snapshot(archive: Archive) -> dict:
    tables = [
        "crawl_runs",
        "captures",
        "articles",
        "article_versions",
        "article_aliases",
        "page_kinds",
    ]
    return {t: archive.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


def test_ingest_applies_every_row_a_crawl_would_write(redis_server, tmp_path):
    client = connect(redis_server.url)
    crawl_one_run(client, tmp_path)
    archive = Archive.open(tmp_path / "data")
    ingest = Ingest(client, archive, "ingest-1")
    ingest.run(once=True)
    run = archive.db.execute("SELECT status, articles, host, pid FROM crawl_runs").fetchone()
    assert run[:2] == ("ok", 2) and run[3] is not None
    assert archive.article_count() == 2
    captures = archive.db.execute("SELECT run_id, status FROM captures ORDER BY id").fetchall()
    assert [c[1] for c in captures] == [200, 200, 404] and {c[0] for c in captures} == {1}
    # The article rows point at their capture rows, by archive.db's own ids.
    assert (
        archive.db.execute(
            "SELECT count(*) FROM articles a JOIN captures c ON c.id = a.capture_id"
            " WHERE c.url = a.url"
        ).fetchone()[0]
        == 2
    )
    assert archive.article_id("https://hafryat.com/n1") == archive.article_id(
        "https://hafryat.com/node/1?amp"
    )
    assert archive.page_kind("hafryat", "https://hafryat.com/p") == "listing"
    assert client.xlen(Keys.stream) == 0  # acknowledged entries leave the stream
    # The state workers read is in step: a fresh worker knows what archive.db knows.
    fresh = StreamArchive(client, tmp_path / "data")
    assert fresh.known("https://hafryat.com/n1") is not None
    assert fresh.known("https://hafryat.com/node/3") is None
    assert fresh.gone("https://hafryat.com/old")
    assert fresh.earlier_capture("https://hafryat.com/node/2", "sha1:D2") == pointer(2)
    assert fresh.page_kind("hafryat", "https://hafryat.com/p") == "listing"


def test_an_entry_applied_twice_changes_nothing(redis_server, tmp_path):
    client = connect(redis_server.url)
    crawl_one_run(client, tmp_path)
    entries = client.xrange(Keys.stream)
    archive = Archive.open(tmp_path / "data")
    ingest = Ingest(client, archive, "ingest-1")
    for _, fields in entries:
        ingest.apply(fields)
    before = snapshot(archive)
    for _, fields in entries:  # a kill after the commit, before XACK: all of them again
        ingest.apply(fields)
    assert snapshot(archive) == before
    assert ingest.applied == len(entries) and ingest.replayed == len(entries)


def test_a_dead_ingests_pending_entries_are_claimed_and_applied_once(redis_server, tmp_path):
    client = connect(redis_server.url)
    crawl_one_run(client, tmp_path)
    total = client.xlen(Keys.stream)
    archive = Archive.open(tmp_path / "data")
    dead = Ingest(client, archive, "dead")
    # The dead ingest read everything and applied the first three, then was killed
    # before acknowledging the third.
    delivered = client.xreadgroup(Keys.group, "dead", {Keys.stream: ">"})[0][1]
    assert len(delivered) == total
    for entry_id, fields in delivered[:3]:
        dead.apply(fields)
        if entry_id != delivered[2][0]:
            dead._ack(entry_id)
    replacement = Ingest(client, archive, "replacement", claim_after=0)
    replacement.run(once=True)
    assert client.xpending(Keys.stream, Keys.group)["pending"] == 0
    assert replacement.replayed == 1 and replacement.applied == total - 3
    assert archive.article_count() == 2
    assert archive.db.execute("SELECT count(*) FROM captures").fetchone()[0] == 3


def test_a_worker_judges_new_updated_unchanged_as_the_archive_would(redis_server, tmp_path):
    client = connect(redis_server.url)
    crawl_one_run(client, tmp_path)
    Ingest(client, Archive.open(tmp_path / "data"), "i").run(once=True)
    worker = StreamArchive(client, tmp_path / "data")
    url = "https://hafryat.com/node/1"
    assert worker.save_article(article(5, url)) == "unchanged"  # same words, a later capture
    assert worker.save_article(article(6, url, text="نص آخر")) == "updated"
    archive = Archive.open(tmp_path / "data")
    Ingest(client, archive, "i").run(once=True)
    versions = archive.db.execute("SELECT versions FROM articles WHERE url = ?", [url]).fetchone()
    assert versions == (2,)
    known = json.loads(client.hget(Keys.known, url))
    assert known["versions"] == 2 and worker.known(url).versions == 2


def test_seed_fills_the_known_state_from_an_existing_archive(redis_server, tmp_path):
    archive = Archive.open(tmp_path / "data")
    archive.register_site(SITE)
    archive.save_article(
        article(1, "https://hafryat.com/node/9"), aliases=["https://hafryat.com/x"]
    )
    client = connect(redis_server.url)
    assert seed(client, archive) == 1
    assert seed(client, archive) == 0  # once
    assert StreamArchive(client, tmp_path / "data").known("https://hafryat.com/x") is not None


def test_a_run_whose_worker_went_silent_is_marked_interrupted(redis_server, tmp_path):
    client = connect(redis_server.url)
    alive, dead = StreamArchive(client, tmp_path / "data"), StreamArchive(client, tmp_path / "data")
    dead.host, dead.pid = "elsewhere", 4242  # another machine's worker, killed: it beats no more
    dead.start_run(SITE)
    alive.start_run(SITE)
    client.zadd(Keys.workers, {alive.worker: time.time()})
    archive = Archive.open(tmp_path / "data")
    ingest = Ingest(client, archive, "i")
    ingest.run(once=True)  # closes, on its way, the run of the worker never heard from
    statuses = archive.db.execute("SELECT status FROM crawl_runs ORDER BY id").fetchall()
    assert statuses == [("interrupted",), ("running",)]
    assert ingest.close_dead_runs() == []  # the other beat just now: it may still work
    assert ingest.close_dead_runs(now=time.time() + 120) == [2]  # silent for two minutes
    rows = archive.db.execute("SELECT status, message FROM crawl_runs ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["interrupted", "interrupted"]
    assert "elsewhere:4242" in rows[0][1]
